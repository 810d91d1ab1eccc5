"""Market data events every feed produces and the rolling book consumes; time in nanoseconds.

`seq` is the feed's sequence number when it has one (None otherwise). Sides are 0 bid and
1 ask; for a trade, `aggressor` is the side that crossed (0 buyer, 1 seller, None unknown).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LevelSet:
    """L2: the size at a price is now `size` (0 removes the level)."""

    ts_ns: int
    side: int
    price: int
    size: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class TradePrint:
    """A trade at a price; on an L2 feed it arrives before the level update it explains."""

    ts_ns: int
    price: int
    size: int
    aggressor: int | None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """The full book, best first or in any order; clears staleness."""

    ts_ns: int
    bids: tuple[tuple[int, int], ...]
    asks: tuple[tuple[int, int], ...]
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OrderBookSnapshot:
    """L3: every resting order as (order id, side, price, size), front of each queue first."""

    ts_ns: int
    orders: tuple[tuple[int, int, int, int], ...]
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class BookCleared:
    """The feed says the book is empty (a reset or a halt)."""

    ts_ns: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OrderAdded:
    """L3: a new limit order joins the back of its level."""

    ts_ns: int
    order_id: int
    side: int
    price: int
    size: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """L3: `size` withdrawn from an order (None withdraws all of it)."""

    ts_ns: int
    order_id: int
    size: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OrderModified:
    """L3: new price and size; a new price or a larger size loses priority."""

    ts_ns: int
    order_id: int
    price: int
    size: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class OrderExecuted:
    """L3: a visible resting order traded `size`."""

    ts_ns: int
    order_id: int
    size: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class HiddenExecuted:
    """L3: a hidden order on `side` traded at `price`; the displayed book does not change."""

    ts_ns: int
    side: int
    price: int
    size: int
    seq: int | None = None


MarketEvent = (
    LevelSet
    | TradePrint
    | BookSnapshot
    | BookCleared
    | OrderBookSnapshot
    | OrderAdded
    | OrderCancelled
    | OrderModified
    | OrderExecuted
    | HiddenExecuted
)
