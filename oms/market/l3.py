"""Market-by-order (L3) book: every resting order in FIFO order at its price, projected to L2.

A level's queue is an insertion-ordered dict of order id to None, so appending, removing from
anywhere and walking from the front are all dict operations. Sizes live in `orders`, and the
level totals in the embedded `L2Book`, which therefore always shows the L2 projection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from oms.market.book import L2Book
from oms.market.errors import MarketDataError
from oms.market.sides import BID, side_name


@dataclass(frozen=True, slots=True)
class Execution:
    """A visible resting order traded: what the book learned from an execution message."""

    order_id: int
    side: int
    price: int
    size: int
    remaining: int

    @property
    def aggressor(self) -> int:
        """The side that crossed the spread: the opposite of the resting order's side."""
        return 1 - self.side


@dataclass(frozen=True, slots=True)
class QueueSpot:
    """Where an order stands in its level's FIFO queue."""

    order_id: int
    side: int
    price: int
    size: int
    ahead_orders: int
    ahead_volume: int
    behind_volume: int


class L3Book:
    """Resting orders by id with price-time priority; `l2` is its market-by-price projection."""

    __slots__ = ("l2", "orders", "queues", "totals")

    def __init__(self) -> None:
        self.l2 = L2Book()
        # order id -> [side, price, size]
        self.orders: dict[int, list[int]] = {}
        self.queues: tuple[dict[int, dict[int, None]], dict[int, dict[int, None]]] = ({}, {})
        self.totals: tuple[dict[int, int], dict[int, int]] = ({}, {})

    def add(self, order_id: int, side: int, price: int, size: int) -> None:
        """A new limit order joins the back of its level's queue."""
        if order_id in self.orders:
            raise MarketDataError(f"order {order_id} is already in the book")
        if size <= 0:
            raise MarketDataError(f"order {order_id} added with size {size}; must be > 0")
        if side != 0 and side != 1:
            raise MarketDataError(f"order {order_id}: unknown side {side!r}")
        self.orders[order_id] = [side, price, size]
        queue = self.queues[side].get(price)
        totals = self.totals[side]
        if queue is None:
            self.queues[side][price] = {order_id: None}
            total = size
        else:
            queue[order_id] = None
            total = totals[price] + size
        totals[price] = total
        self.l2.update(side, price, total)

    def cancel(self, order_id: int, size: int | None = None) -> int:
        """Withdraw `size` (all when None or more than what rests); returns what was removed."""
        order = self.orders.get(order_id)
        if order is None:
            raise MarketDataError(f"order {order_id} is not in the book")
        if size is not None and size <= 0:
            raise MarketDataError(f"cancel of order {order_id} with size {size}; must be > 0")
        remaining = order[2]
        removed = remaining if size is None or size >= remaining else size
        self._reduce(order_id, order, removed)
        return removed

    def delete(self, order_id: int) -> int:
        """Remove the order entirely; returns the size that was resting."""
        return self.cancel(order_id, None)

    def modify(self, order_id: int, price: int, size: int) -> None:
        """Change price or size; a new price or a larger size sends the order to the back."""
        order = self._get(order_id)
        if size <= 0:
            raise MarketDataError(f"modify of order {order_id} to size {size}; must be > 0")
        side, old_price, old_size = order
        if price == old_price and size <= old_size:
            if size < old_size:
                self._reduce(order_id, order, old_size - size)
            return
        self._reduce(order_id, order, old_size)
        self.add(order_id, side, price, size)

    def execute(self, order_id: int, size: int) -> Execution:
        """A visible order traded (partly or fully); the caller records the print."""
        order = self.orders.get(order_id)
        if order is None:
            raise MarketDataError(f"order {order_id} is not in the book")
        if size <= 0:
            raise MarketDataError(f"execution of order {order_id} with size {size}; must be > 0")
        side, price, remaining = order
        if size > remaining:
            raise MarketDataError(
                f"execution of {size} on order {order_id} exceeds its resting {remaining}"
            )
        self._reduce(order_id, order, size)
        return Execution(order_id, side, price, size, remaining - size)

    def clear(self) -> None:
        """Forget every order (a feed reset)."""
        self.orders.clear()
        self.queues = ({}, {})
        self.totals = ({}, {})
        self.l2.clear()

    def snapshot(self, orders: Iterable[tuple[int, int, int, int]], seq: int | None = None) -> None:
        """Replace the book with (order id, side, price, size) in queue order; clears staleness."""
        self.clear()
        for order_id, side, price, size in orders:
            self.add(order_id, side, price, size)
        self.l2.mark_fresh(seq)

    def queue_spot(self, order_id: int) -> QueueSpot:
        """Exact FIFO position: the orders and volume ahead of and behind this one."""
        side, price, size = self._get(order_id)
        ahead_orders = ahead_volume = 0
        orders = self.orders
        for other in self.queues[side][price]:
            if other == order_id:
                break
            ahead_orders += 1
            ahead_volume += orders[other][2]
        behind = self.totals[side][price] - ahead_volume - size
        return QueueSpot(order_id, side, price, size, ahead_orders, ahead_volume, behind)

    def level_orders(self, side: int, price: int) -> list[tuple[int, int]]:
        """The queue at a price, front first, as (order id, size)."""
        queue = self.queues[side].get(price, {})
        return [(oid, self.orders[oid][2]) for oid in queue]

    def _get(self, order_id: int) -> list[int]:
        order = self.orders.get(order_id)
        if order is None:
            raise MarketDataError(f"order {order_id} is not in the book")
        return order

    def _reduce(self, order_id: int, order: list[int], amount: int) -> None:
        """Take `amount` off an order, removing it (and maybe its level) when nothing is left."""
        side, price, size = order
        totals = self.totals[side]
        total = totals[price] - amount
        if amount >= size:
            del self.orders[order_id]
            queue = self.queues[side][price]
            del queue[order_id]
            if not queue:
                del self.queues[side][price]
        else:
            order[2] = size - amount
        if total:
            totals[price] = total
        else:
            del totals[price]
        self.l2.update(side, price, total)

    def check_consistent(self) -> None:
        """Verify the level totals against the orders; for tests and replay checks."""
        for side in (BID, 1 - BID):
            sums: dict[int, int] = {}
            for price, queue in self.queues[side].items():
                sums[price] = sum(self.orders[oid][2] for oid in queue)
            levels = self.l2.bids if side == BID else self.l2.asks
            if sums != self.totals[side] or sums != levels:
                raise MarketDataError(f"{side_name(side)} level totals disagree with the orders")


ADD = 1
CANCEL = 2
DELETE = 3
EXECUTE = 4
EXECUTE_HIDDEN = 5
MODIFY = 8
"""L3 message kinds: 1-5 are LOBSTER's event types; 8 (modify) is ours."""


def apply_message(
    book: L3Book, kind: int, order_id: int, side: int, price: int, size: int
) -> Execution | None:
    """Apply one L3 message given as plain values; executions (hidden too) are returned."""
    if kind == ADD:
        book.add(order_id, side, price, size)
    elif kind == DELETE:
        book.cancel(order_id, None)
    elif kind == EXECUTE:
        return book.execute(order_id, size)
    elif kind == CANCEL:
        book.cancel(order_id, size)
    elif kind == MODIFY:
        book.modify(order_id, price, size)
    elif kind == EXECUTE_HIDDEN:
        if size <= 0:
            raise MarketDataError(f"hidden execution with size {size}; must be > 0")
        return Execution(order_id, side, price, size, 0)
    else:
        raise MarketDataError(f"unknown L3 message kind {kind!r}")
    return None
