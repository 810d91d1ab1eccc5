"""Market-by-price (L2) order book: the state every feed, signal and simulator reads.

Prices are integer ticks and sizes integers. The hot path (`update`) keeps one dict per side
and the best price of each side cached, so reading the touch after every event costs two
attribute reads. The best is recomputed only when the best level itself is deleted: by
probing the next few ticks (dense books), else from a heap of live prices with lazy deletion,
so a deep book with a sparse top costs O(log n), never a scan of every level.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from heapq import heapify, heappop, heappush
from typing import Literal

from oms.market.errors import MarketDataError
from oms.market.sides import ASK, BID, side_name

_PROBE_TICKS = 32
"""Ticks probed one by one for the next best level before scanning the whole side."""

IssueKind = Literal["gap", "duplicate", "crossed", "locked", "uncrossed", "snapshot"]


@dataclass(frozen=True, slots=True)
class IntegrityIssue:
    """Something about the book that a consumer must not trust silently."""

    kind: IssueKind
    seq: int | None
    best_bid: int | None
    best_ask: int | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class FillEstimate:
    """What sweeping the book for a quantity would cost, from the current displayed depth."""

    side: int
    quantity: int
    filled: int
    average_price: float | None
    worst_price: int | None
    levels: int

    @property
    def complete(self) -> bool:
        """Whether the displayed depth covers the whole quantity."""
        return self.filled >= self.quantity


@dataclass(frozen=True, slots=True)
class LastTrade:
    """The most recent print seen by the book."""

    ts_ns: int
    price: int
    size: int
    aggressor: int | None


class L2Book:
    """Aggregated depth per price with cached touch, integrity flags and derived measures."""

    __slots__ = (
        "_ask_heap",
        "_bid_heap",
        "asks",
        "best_ask",
        "best_bid",
        "bids",
        "crossed",
        "issues",
        "last_seq",
        "last_trade",
        "stale",
    )

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.best_bid: int | None = None
        self.best_ask: int | None = None
        self.crossed = False
        self.stale = False
        self.last_seq: int | None = None
        self.issues: list[IntegrityIssue] = []
        self.last_trade: LastTrade | None = None
        # every live price (max-heap of bids as negatives, min-heap of asks), plus stale
        # entries of deleted levels that are dropped when they surface
        self._bid_heap: list[int] = []
        self._ask_heap: list[int] = []

    # ---- hot path -------------------------------------------------------------------------

    def update(self, side: int, price: int, size: int) -> None:
        """Set a level's size, or delete it when size is 0; the touch stays current."""
        if side == 0:
            bids = self.bids
            if size > 0:
                if price not in bids:
                    heap = self._bid_heap
                    heappush(heap, -price)
                    if len(heap) > 2 * len(bids) + 64:
                        self._rebuild_heaps()
                bids[price] = size
                bb = self.best_bid
                if bb is None or price > bb:
                    self.best_bid = price
                    ba = self.best_ask
                    if ba is not None and price >= ba:
                        self.check_cross()
            elif size == 0:
                if bids.pop(price, None) is not None and price == self.best_bid:
                    # the next level is usually a few ticks away: probe before the heap
                    p = price - 1
                    stop = price - _PROBE_TICKS
                    while p > stop and p not in bids:
                        p -= 1
                    if p > stop:
                        self.best_bid = p
                    else:
                        heap = self._bid_heap
                        while heap and -heap[0] not in bids:
                            heappop(heap)
                        self.best_bid = -heap[0] if heap else None
                    if self.crossed:
                        self.check_cross()
            else:
                raise MarketDataError(f"negative size {size} for bid level {price}")
        elif side == 1:
            asks = self.asks
            if size > 0:
                if price not in asks:
                    heap = self._ask_heap
                    heappush(heap, price)
                    if len(heap) > 2 * len(asks) + 64:
                        self._rebuild_heaps()
                asks[price] = size
                ba = self.best_ask
                if ba is None or price < ba:
                    self.best_ask = price
                    bb = self.best_bid
                    if bb is not None and price <= bb:
                        self.check_cross()
            elif size == 0:
                if asks.pop(price, None) is not None and price == self.best_ask:
                    p = price + 1
                    stop = price + _PROBE_TICKS
                    while p < stop and p not in asks:
                        p += 1
                    if p < stop:
                        self.best_ask = p
                    else:
                        heap = self._ask_heap
                        while heap and heap[0] not in asks:
                            heappop(heap)
                        self.best_ask = heap[0] if heap else None
                    if self.crossed:
                        self.check_cross()
            else:
                raise MarketDataError(f"negative size {size} for ask level {price}")
        else:
            raise MarketDataError(f"unknown book side {side!r} (0 bid, 1 ask)")

    def _rebuild_heaps(self) -> None:
        """Index every live level again (after wholesale changes, or when stale entries pile up)."""
        bid_heap = [-p for p in self.bids]
        heapify(bid_heap)
        ask_heap = list(self.asks)
        heapify(ask_heap)
        self._bid_heap = bid_heap
        self._ask_heap = ask_heap

    def replace_levels(self, bids: dict[int, int], asks: dict[int, int]) -> None:
        """Install whole sides at once (snapshots, the array path) and recompute the touch."""
        self.bids = bids
        self.asks = asks
        self.best_bid = max(bids) if bids else None
        self.best_ask = min(asks) if asks else None
        self._rebuild_heaps()

    # ---- integrity ------------------------------------------------------------------------

    def check_cross(self) -> None:
        """Flag a crossed or locked touch when it appears, and note when it clears."""
        bb, ba = self.best_bid, self.best_ask
        now_crossed = bb is not None and ba is not None and bb >= ba
        if now_crossed and not self.crossed:
            kind: IssueKind = "locked" if bb == ba else "crossed"
            self.issues.append(IntegrityIssue(kind, self.last_seq, bb, ba, f"bid {bb} ask {ba}"))
        elif self.crossed and not now_crossed:
            self.issues.append(IntegrityIssue("uncrossed", self.last_seq, bb, ba))
        self.crossed = now_crossed

    def update_seq(self, seq: int, side: int, price: int, size: int) -> bool:
        """Apply a sequenced update; False when it was a duplicate and was not applied."""
        if not self.check_seq(seq):
            return False
        self.update(side, price, size)
        return True

    def check_seq(self, seq: int) -> bool:
        """Advance the sequence number; a gap marks the book stale until the next snapshot.

        A number at or below the last one is a duplicate or a late message: it is reported
        and must not be applied (returns False), since its effect is already in the book.
        """
        last = self.last_seq
        if last is not None and seq != last + 1:
            if seq <= last:
                self.issues.append(
                    IntegrityIssue(
                        "duplicate", seq, self.best_bid, self.best_ask, f"after {last}; skipped"
                    )
                )
                return False
            self.stale = True
            self.issues.append(
                IntegrityIssue(
                    "gap", seq, self.best_bid, self.best_ask, f"expected {last + 1}, got {seq}"
                )
            )
        self.last_seq = seq
        return True

    def snapshot(
        self,
        bids: Iterable[tuple[int, int]],
        asks: Iterable[tuple[int, int]],
        seq: int | None = None,
    ) -> None:
        """Replace the whole book with a full picture; this is what clears staleness."""
        self.replace_levels(_levels(bids, "bid"), _levels(asks, "ask"))
        self.mark_fresh(seq)

    def mark_fresh(self, seq: int | None) -> None:
        """A full picture was just loaded: clear staleness and re-check the touch."""
        if seq is not None:
            self.last_seq = seq
        if self.stale:
            self.stale = False
            self.issues.append(
                IntegrityIssue("snapshot", seq, self.best_bid, self.best_ask, "stale cleared")
            )
        self.check_cross()

    def clear(self) -> None:
        """Empty both sides (a feed reset); sequence tracking is kept."""
        self.replace_levels({}, {})
        if self.crossed:
            self.check_cross()

    def record_trade(self, ts_ns: int, price: int, size: int, aggressor: int | None) -> None:
        """Remember the last print; trades on an L2 feed do not change levels by themselves."""
        if size <= 0:
            raise MarketDataError(f"trade size must be positive, got {size}")
        self.last_trade = LastTrade(ts_ns, price, size, aggressor)

    # ---- reads ------------------------------------------------------------------------------

    @property
    def spread(self) -> int | None:
        """Ask minus bid in ticks, None when a side is empty."""
        bb, ba = self.best_bid, self.best_ask
        return None if bb is None or ba is None else ba - bb

    @property
    def mid(self) -> float | None:
        """Midpoint of the touch in ticks."""
        bb, ba = self.best_bid, self.best_ask
        return None if bb is None or ba is None else (bb + ba) / 2

    def size_at(self, side: int, price: int) -> int:
        """Displayed size at a price, 0 when the level is absent."""
        return (self.bids if side == BID else self.asks).get(price, 0)

    def depth(self, side: int, n: int) -> list[tuple[int, int]]:
        """The best n levels of one side, best first, as (price, size)."""
        if side == BID:
            prices = heapq.nlargest(n, self.bids)
            return [(p, self.bids[p]) for p in prices]
        if side == ASK:
            prices = heapq.nsmallest(n, self.asks)
            return [(p, self.asks[p]) for p in prices]
        raise MarketDataError(f"unknown book side {side!r}")

    def cumulative_depth(self, side: int, n: int) -> list[tuple[int, int]]:
        """The best n levels with running total size, as (price, cumulative size)."""
        total = 0
        out: list[tuple[int, int]] = []
        for price, size in self.depth(side, n):
            total += size
            out.append((price, total))
        return out

    def imbalance(self, n: int = 1) -> float | None:
        """(bid - ask) / (bid + ask) volume over the top n levels, in [-1, 1]."""
        bid_vol = sum(s for _, s in self.depth(BID, n))
        ask_vol = sum(s for _, s in self.depth(ASK, n))
        total = bid_vol + ask_vol
        return None if total == 0 else (bid_vol - ask_vol) / total

    def weighted_mid(self) -> float | None:
        """Stoikov's weighted mid: the touch weighted by the opposite queue, I*ask + (1-I)*bid."""
        bb, ba = self.best_bid, self.best_ask
        if bb is None or ba is None:
            return None
        qb, qa = self.bids[bb], self.asks[ba]
        weight = qb / (qb + qa)
        return weight * ba + (1.0 - weight) * bb

    def fill_estimate(self, side: int, quantity: int) -> FillEstimate:
        """Average and worst price for an aggressor on `side` taking `quantity` from the book."""
        if quantity <= 0:
            raise MarketDataError(f"quantity must be positive, got {quantity}")
        if side == BID:
            book, prices = self.asks, sorted(self.asks)
        elif side == ASK:
            book, prices = self.bids, sorted(self.bids, reverse=True)
        else:
            raise MarketDataError(f"unknown book side {side!r}")
        remaining, notional, worst, levels = quantity, 0, None, 0
        for price in prices:
            if remaining == 0:
                break
            take = min(remaining, book[price])
            notional += take * price
            remaining -= take
            worst = price
            levels += 1
        filled = quantity - remaining
        avg = notional / filled if filled else None
        return FillEstimate(side, quantity, filled, avg, worst, levels)

    def available(self, side: int, limit: int | None = None) -> int:
        """Size an aggressor on `side` could take, at prices no worse than `limit` if given."""
        if side == BID:
            return sum(s for p, s in self.asks.items() if limit is None or p <= limit)
        if side == ASK:
            return sum(s for p, s in self.bids.items() if limit is None or p >= limit)
        raise MarketDataError(f"unknown book side {side!r}")

    def take(self, side: int, quantity: int, limit: int | None = None) -> list[tuple[int, int]]:
        """Consume liquidity best first for an aggressor on `side`; the (price, size) taken at
        each level, best first.

        For a matching engine that trades against this book (the simulated terminal, which
        prints each level); the levels it empties are deleted and the touch moves as with any
        update.
        """
        if quantity <= 0:
            raise MarketDataError(f"quantity must be positive, got {quantity}")
        if side not in (BID, ASK):
            raise MarketDataError(f"unknown book side {side!r}")
        opposite = 1 - side
        taken: list[tuple[int, int]] = []
        left = quantity
        while left > 0:
            best = self.best_ask if side == BID else self.best_bid
            if best is None or (
                limit is not None and (best > limit if side == BID else best < limit)
            ):
                break
            size = self.size_at(opposite, best)
            take = min(size, left)
            taken.append((best, take))
            left -= take
            self.update(opposite, best, size - take)
        return taken

    def __repr__(self) -> str:
        return (
            f"L2Book(bid={self.best_bid}, ask={self.best_ask}, levels={len(self.bids)}/"
            f"{len(self.asks)}, stale={self.stale}, crossed={self.crossed})"
        )


def _levels(pairs: Iterable[tuple[int, int]], label: str) -> dict[int, int]:
    """Validate snapshot levels: positive sizes, no price twice."""
    out: dict[int, int] = {}
    for price, size in pairs:
        if size <= 0:
            raise MarketDataError(f"snapshot {label} level {price} has size {size}; must be > 0")
        if price in out:
            raise MarketDataError(f"snapshot {label} level {price} appears twice")
        out[price] = size
    return out


__all__ = ["FillEstimate", "IntegrityIssue", "L2Book", "LastTrade", "side_name"]
