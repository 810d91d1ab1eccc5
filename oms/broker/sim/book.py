"""One symbol's market as the simulated trade server sees it, on the shared `oms.market` book.

The depth lives in an `oms.market` L2 book kept current by a `RollingBook` from the feed's
trade prints and level updates, so the terminal, the engine and the backtests read one book.
Our resting limit orders stand in that book's `L2QueueTracker`, outside the displayed depth
(`in_book=False`: the market never sees the simulator's orders); it decides when trades at
their price reach them. What the server itself trades takes liquidity from the same book.

Prices are integer ticks and sizes integer volume steps; sides as in `oms.market` (0 bid,
1 ask; for a print, the aggressor 0 buyer, 1 seller).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from oms.market.errors import MarketDataError
from oms.market.events import BookSnapshot, LevelSet, TradePrint
from oms.market.queue import L2QueueTracker, QueueFill, QueueModel, QueuePosition
from oms.market.rolling import LevelChange, Observation, RollingBook
from oms.market.sides import ASK, BID

Levels = Sequence[tuple[int, int]]
Trades = Sequence[tuple[int, int, int]]
"""Prints as (price, size, aggressor), in the order they happened."""


class SimBook:
    """The shared L2 book of one symbol, the queue estimate of our resting orders in it, and
    the liquidity our own executions take."""

    __slots__ = ("_observed", "_placed", "book", "queue", "rolling")

    def __init__(self, model: QueueModel = "conservative", power: float = 2.0) -> None:
        self.rolling = RollingBook()
        self.book = self.rolling.book
        self.queue = L2QueueTracker(self.book, model, power)
        self._placed: dict[int, tuple[int, int, int]] = {}  # ticket -> side, price, size
        self._observed: list[Observation] = []  # what the market did since the queue last looked

    # ---- reads ------------------------------------------------------------------------------

    @property
    def best_bid(self) -> int:
        """Best bid in ticks, 0 when the side is empty."""
        return self.book.best_bid or 0

    @property
    def best_ask(self) -> int:
        """Best ask in ticks, 0 when the side is empty."""
        return self.book.best_ask or 0

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) as (price ticks, size steps) pairs, best first."""
        book = self.book
        return sorted(book.bids.items(), reverse=True), sorted(book.asks.items())

    def available(self, buy: bool, limit: int = 0) -> int:
        """Size a buy (taking asks) or sell (taking bids) could fill, up to `limit` ticks if set."""
        return self.book.available(BID if buy else ASK, limit or None)

    def covers(self, buy: bool, wanted: int, limit: int = 0) -> bool:
        """Whether a buy or sell of `wanted` could fill now (a FOK check): stops counting once
        it could, instead of summing every level of the book as `available` does."""
        levels = self.book.asks if buy else self.book.bids
        got = 0
        for price, size in levels.items():
            if limit and (price > limit if buy else price < limit):
                continue
            got += size
            if got >= wanted:
                return True
        return False

    def position(self, ticket: int) -> QueuePosition:
        """The queue estimate of a resting order (volume ahead and behind, in volume steps)."""
        return self.queue.position(ticket)

    # ---- the market moves ------------------------------------------------------------------

    def apply(self, ts_ns: int, bids: Levels, asks: Levels, trades: Trades = ()) -> None:
        """Apply the prints, then the level updates that take the book to (bids, asks).

        With no resting order in the queue the levels go in as one snapshot; otherwise as
        level updates (deletes first, so the book never crosses on the way), which is what
        the queue estimate reads. A printed level is always updated, even to the same size, so
        the print is matched there and not left to explain a later decrease.
        """
        rolling = self.rolling
        ts_ns = max(ts_ns, rolling.ts_ns or 0)
        if not self._placed:  # nobody to tell: only the last print and the levels matter
            if trades:
                price, size, aggressor = trades[-1]
                self.book.record_trade(ts_ns, price, size, aggressor)
            rolling.apply(BookSnapshot(ts_ns, tuple(bids), tuple(asks)))
            return
        observed = self._observed
        printed: set[tuple[int, int]] = set()
        for price, size, aggressor in trades:
            observed.extend(rolling.apply(TradePrint(ts_ns, price, size, aggressor)))
            printed.add((1 - aggressor, price))
        book = self.book
        new = (_levels(bids, "bid"), _levels(asks, "ask"))
        updates: list[LevelSet] = []
        for side, old in ((BID, book.bids), (ASK, book.asks)):
            updates.extend(LevelSet(ts_ns, side, p, 0) for p in old if p not in new[side])
        for side, old in ((BID, book.bids), (ASK, book.asks)):
            for p, q in new[side].items():
                if old.get(p) != q or (side, p) in printed:
                    updates.append(LevelSet(ts_ns, side, p, q))
        for update in updates:
            observed.extend(rolling.apply(update))

    def queue_fills(self) -> dict[int, int]:
        """Advance the queue estimate over what the market did since the last call; return
        the size each resting order filled by it, by ticket."""
        if not self._observed:
            return {}
        observed, self._observed = self._observed, []
        filled: dict[int, int] = {}
        for fill in self._follow(self.queue.on_observations(observed)):
            filled[fill.order_id] = filled.get(fill.order_id, 0) + fill.size
        return filled

    def _follow(self, fills: list[QueueFill]) -> list[QueueFill]:
        """Keep our record of each order's size in the queue equal to the estimate's."""
        placed = self._placed
        for fill in fills:
            side, price, size = placed.get(fill.order_id, (0, 0, 0))
            if size:
                placed[fill.order_id] = (side, price, size - fill.size)
        return fills

    # ---- our orders ---------------------------------------------------------------------------

    def track(self, ticket: int, buy: bool, price: int, size: int) -> None:
        """Keep a resting limit order in the queue: placed at the back of its level when new,
        moved to the back when its price or size no longer matches the estimate's."""
        side = BID if buy else ASK
        queue = self.queue
        if ticket in self._placed:
            if self._placed[ticket] == (side, price, size) and ticket in queue:
                return
            self.untrack(ticket)
        queue.place(ticket, side, price, size)
        self._placed[ticket] = (side, price, size)

    def untrack(self, ticket: int) -> None:
        """Take an order out of the queue (filled, cancelled, expired, triggered elsewhere)."""
        if self._placed.pop(ticket, None) is not None and ticket in self.queue:
            self.queue.cancel(ticket)
        if not self._placed:
            self._observed.clear()

    @property
    def queued(self) -> bool:
        """Whether any order of ours rests in the queue."""
        return bool(self._placed)

    def tracked(self) -> list[int]:
        """Tickets of the orders in the queue."""
        return list(self._placed)

    def take(self, buy: bool, wanted: int, limit: int = 0) -> list[tuple[int, int, int]]:
        """Consume liquidity best first for our own execution, up to `limit` ticks if set;
        return its prints: (price, size, aggressor) for each level traded, best first.

        Resting orders of ours on the side taken move up by the volume taken in front of them
        (from the front of the level, as trades do) but are not filled by it: the server does
        not trade with itself; the rest of what was taken counts as withdrawn behind them.
        """
        if wanted <= 0:
            return []
        book = self.book
        aggressor = BID if buy else ASK  # also the print's aggressor: 0 buyer, 1 seller
        side = 1 - aggressor  # the side taken from
        before = {p: book.size_at(side, p) for s, p, _ in self._placed.values() if s == side}
        taken = book.take(aggressor, wanted, limit or None)
        if before:
            self._taken_ahead(side, before)
        return [(price, size, aggressor) for price, size in taken]

    def _taken_ahead(self, side: int, before: dict[int, int]) -> None:
        """Tell the queue what our own execution took at the levels where we rest."""
        book, queue = self.book, self.queue
        ts_ns = self.rolling.ts_ns or 0
        changes = []
        for price, was in before.items():
            now = book.size_at(side, price)
            if now >= was:
                continue
            traded = min(was - now, math.ceil(queue.min_ahead(side, price)))
            changes.append(LevelChange(ts_ns, side, price, was, now, traded, was - now - traded))
        if changes:  # fills here can only come from a crossed book: the next requeue resets
            self._follow(queue.on_observations(changes))


def _levels(levels: Levels, label: str) -> dict[int, int]:
    """Levels as a dict, refusing what a snapshot would refuse: sizes not above 0, repeats."""
    out = dict(levels)
    if len(out) != len(levels) or any(q <= 0 for q in out.values()):
        raise MarketDataError(f"{label} levels need positive sizes at distinct prices: {levels}")
    return out
