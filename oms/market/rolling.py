"""The rolling book: applies feed events in order and says what each one changed.

Signals and queue estimates need more than the new state: they need to know whether a level
shrank because it traded or because it was withdrawn. On an L2 feed a trade print arrives
before the level update it explains, so the traded volume (up to the size displayed) is held per
(resting side, price) and matched against the next update there, for at most
`pending_ttl_ns`; the rest of a decrease is a cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from oms.market.book import IntegrityIssue, L2Book
from oms.market.errors import MarketDataError
from oms.market.events import (
    BookCleared,
    BookSnapshot,
    HiddenExecuted,
    LevelSet,
    MarketEvent,
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)
from oms.market.l3 import L3Book
from oms.market.sides import ASK, BID


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A level moved from `before` to `after`; a decrease split into traded and cancelled."""

    ts_ns: int
    side: int
    price: int
    before: int
    after: int
    traded: int
    cancelled: int
    refilled: int = 0
    """Traded volume the displayed size did not lose: hidden size shown again (L2 feeds)."""

    @property
    def added(self) -> int:
        """Volume that joined the level."""
        return max(0, self.after - self.before)


@dataclass(frozen=True, slots=True)
class Print:
    """A trade with its aggressor resolved and the size that was displayed where it hit."""

    ts_ns: int
    price: int
    size: int
    aggressor: int | None
    displayed: int
    hidden: bool

    @property
    def resting_side(self) -> int | None:
        """The side whose resting interest traded."""
        return None if self.aggressor is None else 1 - self.aggressor


OrderAction = Literal["add", "cancel", "execute"]


@dataclass(frozen=True, slots=True)
class OrderLife:
    """L3: one step in an order's life, with the level and touch it met."""

    ts_ns: int
    action: OrderAction
    order_id: int
    side: int
    price: int
    size: int
    remaining: int
    level_before: int
    touch: int | None


Observation = LevelChange | Print | OrderLife | IntegrityIssue


class RollingBook:
    """An L2 book (or an L3 book and its L2 projection) kept current from feed events."""

    def __init__(self, l3: bool = False, pending_ttl_ns: int = 1_000_000_000) -> None:
        self.l3: L3Book | None = L3Book() if l3 else None
        self.book: L2Book = self.l3.l2 if self.l3 is not None else L2Book()
        self.ts_ns: int | None = None
        # traded volume waiting for the level update that shows it: key -> (first ts, volume)
        self._pending: dict[tuple[int, int], tuple[int, int]] = {}
        self.pending_ttl_ns = pending_ttl_ns

    def apply(self, event: MarketEvent) -> list[Observation]:
        """Apply one event; return what it changed, including any integrity issue raised."""
        book = self.book
        n_issues = len(book.issues)
        if self.ts_ns is not None and event.ts_ns < self.ts_ns:
            raise MarketDataError(f"event time went backwards: {event.ts_ns} < {self.ts_ns}")
        self.ts_ns = event.ts_ns
        snapshot = isinstance(event, (BookSnapshot, OrderBookSnapshot))
        if event.seq is not None and not snapshot and not book.check_seq(event.seq):
            return list(book.issues[n_issues:])  # a duplicate: reported, not applied
        out: list[Observation] = []
        if isinstance(event, LevelSet):
            self._need_l2(event)
            out.append(self._level_set(event))
        elif isinstance(event, TradePrint):
            out.append(self._trade(event))
        elif isinstance(event, BookSnapshot):
            self._need_l2(event)
            book.snapshot(event.bids, event.asks, event.seq)
            self._pending.clear()
        elif isinstance(event, OrderBookSnapshot):
            if self.l3 is None:
                raise MarketDataError("OrderBookSnapshot needs an L3 book (RollingBook(l3=True))")
            self.l3.snapshot(event.orders, event.seq)
        elif isinstance(event, BookCleared):
            if self.l3 is not None:
                self.l3.clear()
            else:
                book.clear()
            self._pending.clear()
        else:
            self._l3_event(event, out)
        if len(book.issues) > n_issues:
            out.extend(book.issues[n_issues:])
        return out

    def _need_l2(self, event: MarketEvent) -> None:
        if self.l3 is not None:
            raise MarketDataError(f"{type(event).__name__} cannot be applied to an L3 book")

    def _level_set(self, event: LevelSet) -> LevelChange:
        book = self.book
        before = book.size_at(event.side, event.price)
        book.update(event.side, event.price, event.size)
        since, pending = self._pending.pop((event.side, event.price), (0, 0))
        if pending and event.ts_ns - since > self.pending_ttl_ns:
            pending = 0  # a print whose level update never came must not explain later cancels
        decrease = before - event.size
        traded = min(decrease, pending) if decrease > 0 else 0
        cancelled = decrease - traded if decrease > 0 else 0
        refilled = pending - traded if event.size > 0 else 0
        return LevelChange(
            event.ts_ns, event.side, event.price, before, event.size, traded, cancelled, refilled
        )

    def _trade(self, event: TradePrint) -> Print:
        if event.size <= 0:
            raise MarketDataError(f"trade of size {event.size} at {event.price}; must be > 0")
        book = self.book
        aggressor = event.aggressor
        if aggressor is None:
            if book.best_ask is not None and event.price >= book.best_ask:
                aggressor = BID
            elif book.best_bid is not None and event.price <= book.best_bid:
                aggressor = ASK
        book.record_trade(event.ts_ns, event.price, event.size, aggressor)
        if aggressor is None:
            return Print(event.ts_ns, event.price, event.size, None, 0, False)
        resting = 1 - aggressor
        displayed = book.size_at(resting, event.price)
        if self.l3 is None:
            key = (resting, event.price)
            since, volume = self._pending.get(key, (event.ts_ns, 0))
            # only the displayed part can show up as a decrease; the rest was hidden
            self._pending[key] = (since, min(volume + event.size, displayed))
        return Print(
            event.ts_ns, event.price, event.size, aggressor, displayed, event.size > displayed
        )

    def _l3_event(self, event: MarketEvent, out: list[Observation]) -> None:
        l3 = self.l3
        if l3 is None:
            raise MarketDataError(f"{type(event).__name__} needs an L3 book (RollingBook(l3=True))")
        book = self.book
        ts = event.ts_ns
        if isinstance(event, OrderAdded):
            before = book.size_at(event.side, event.price)
            touch = book.best_bid if event.side == BID else book.best_ask
            l3.add(event.order_id, event.side, event.price, event.size)
            out.append(
                OrderLife(
                    ts,
                    "add",
                    event.order_id,
                    event.side,
                    event.price,
                    event.size,
                    event.size,
                    before,
                    touch,
                )
            )
            out.append(LevelChange(ts, event.side, event.price, before, before + event.size, 0, 0))
        elif isinstance(event, OrderCancelled):
            side, price, size = _resting(l3, event.order_id)
            before = book.size_at(side, price)
            touch = book.best_bid if side == BID else book.best_ask
            removed = l3.cancel(event.order_id, event.size)
            out.append(
                OrderLife(
                    ts,
                    "cancel",
                    event.order_id,
                    side,
                    price,
                    removed,
                    size - removed,
                    before,
                    touch,
                )
            )
            out.append(LevelChange(ts, side, price, before, before - removed, 0, removed))
        elif isinstance(event, OrderModified):
            side, price, size = _resting(l3, event.order_id)
            old_before = book.size_at(side, price)
            new_before = book.size_at(side, event.price)
            touch = book.best_bid if side == BID else book.best_ask
            l3.modify(event.order_id, event.price, event.size)
            oid = event.order_id
            if event.price == price and event.size <= size:
                cut = size - event.size
                if cut:
                    out.append(
                        OrderLife(
                            ts, "cancel", oid, side, price, cut, event.size, old_before, touch
                        )
                    )
                    out.append(LevelChange(ts, side, price, old_before, old_before - cut, 0, cut))
            else:
                # priority lost: the order leaves its queue and joins the back of the new one
                left = old_before - size
                out.append(OrderLife(ts, "cancel", oid, side, price, size, 0, old_before, touch))
                out.append(LevelChange(ts, side, price, old_before, left, 0, size))
                join = left if event.price == price else new_before
                out.append(
                    OrderLife(
                        ts, "add", oid, side, event.price, event.size, event.size, join, touch
                    )
                )
                out.append(LevelChange(ts, side, event.price, join, join + event.size, 0, 0))
        elif isinstance(event, OrderExecuted):
            side, price, _ = _resting(l3, event.order_id)
            before = book.size_at(side, price)
            touch = book.best_bid if side == BID else book.best_ask
            ex = l3.execute(event.order_id, event.size)
            book.record_trade(ts, price, ex.size, ex.aggressor)
            out.append(Print(ts, price, ex.size, ex.aggressor, before, False))
            out.append(
                OrderLife(
                    ts, "execute", event.order_id, side, price, ex.size, ex.remaining, before, touch
                )
            )
            out.append(LevelChange(ts, side, price, before, before - ex.size, ex.size, 0))
        elif isinstance(event, HiddenExecuted):
            if event.size <= 0:
                raise MarketDataError(f"hidden execution of size {event.size}; must be > 0")
            aggressor = 1 - event.side
            book.record_trade(ts, event.price, event.size, aggressor)
            displayed = book.size_at(event.side, event.price)
            out.append(Print(ts, event.price, event.size, aggressor, displayed, True))
        else:
            raise MarketDataError(f"unknown market event {event!r}")


def _resting(l3: L3Book, order_id: int) -> tuple[int, int, int]:
    """Side, price and size of a resting order, or a clear error naming it."""
    order = l3.orders.get(order_id)
    if order is None:
        raise MarketDataError(f"order {order_id} is not in the book")
    return order[0], order[1], order[2]
