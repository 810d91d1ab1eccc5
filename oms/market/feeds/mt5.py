"""MetaTrader 5 depth of market: `market_book_get` snapshots diffed into L2 level updates.

A snapshot is a tuple of BookInfo records (type, price, volume, volume_dbl) with BOOK_TYPE
SELL 1 and BUY 2 as price levels; SELL_MARKET 3 and BUY_MARKET 4 are market interest without
a price level and are counted, not booked. Prices become integer ticks and volumes integer
units (lots times `units_per_lot`) here, at the edge, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from oms.market.errors import MarketDataError
from oms.market.events import LevelSet
from oms.market.sides import ASK, BID

BOOK_TYPE_SELL = 1
BOOK_TYPE_BUY = 2
BOOK_TYPE_SELL_MARKET = 3
BOOK_TYPE_BUY_MARKET = 4


class BookSource(Protocol):
    """The part of the MetaTrader5 module surface this reader needs."""

    def market_book_get(self, symbol: str, /) -> Any: ...

    def last_error(self) -> tuple[int, str]: ...


class Mt5BookDiffer:
    """Turns successive depth snapshots of one symbol into the level updates between them."""

    def __init__(self, tick_size: float, units_per_lot: int | None = None) -> None:
        if tick_size <= 0:
            raise MarketDataError(f"tick size must be positive, got {tick_size}")
        if units_per_lot is not None and units_per_lot <= 0:
            raise MarketDataError(f"units per lot must be positive, got {units_per_lot}")
        self.tick_size = tick_size
        self.units_per_lot = units_per_lot
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.market_interest = [0, 0]  # last SELL_MARKET / BUY_MARKET volume seen
        self.seq = 0

    def diff(self, records: Sequence[Any], ts_ns: int) -> list[LevelSet]:
        """Level updates that take the previous snapshot to this one (deletes first)."""
        new: tuple[dict[int, int], dict[int, int]] = ({}, {})
        market = [0, 0]
        for i, record in enumerate(records):
            kind, price, volume, volume_dbl = _fields(record, i)
            size = self._size(volume, volume_dbl, i)
            if kind in (BOOK_TYPE_SELL_MARKET, BOOK_TYPE_BUY_MARKET):
                market[kind - BOOK_TYPE_SELL_MARKET] += size
                continue
            if kind == BOOK_TYPE_SELL:
                side = ASK
            elif kind == BOOK_TYPE_BUY:
                side = BID
            else:
                raise MarketDataError(f"book record {i}: unknown BOOK_TYPE {kind!r}")
            if size <= 0:
                continue
            ticks = self._ticks(price, i)
            if ticks in new[side]:
                raise MarketDataError(f"book record {i}: price {price} appears twice on one side")
            new[side][ticks] = size
        out: list[LevelSet] = []
        for side in (BID, ASK):
            old = self.levels[side]
            for ticks in old.keys() - new[side].keys():
                out.append(LevelSet(ts_ns, side, ticks, 0))
        for side in (BID, ASK):
            old = self.levels[side]
            for ticks, size in new[side].items():
                if old.get(ticks) != size:
                    out.append(LevelSet(ts_ns, side, ticks, size))
        self.levels = new
        self.market_interest = market
        return out

    def poll(self, mt5: BookSource, symbol: str, ts_ns: int) -> list[LevelSet]:
        """Read the symbol's book from the terminal (after `market_book_add`) and diff it."""
        records = mt5.market_book_get(symbol)
        if records is None:
            code, message = mt5.last_error()
            raise MarketDataError(f"market_book_get({symbol!r}) failed: {code} {message}")
        return self.diff(records, ts_ns)

    def _ticks(self, price: float, index: int) -> int:
        ticks = round(price / self.tick_size)
        if abs(ticks * self.tick_size - price) > self.tick_size * 1e-6:
            raise MarketDataError(
                f"book record {index}: price {price} is not a multiple of tick {self.tick_size}"
            )
        return ticks

    def _size(self, volume: int, volume_dbl: float, index: int) -> int:
        if self.units_per_lot is None:
            if volume < 0:
                raise MarketDataError(f"book record {index}: negative volume {volume}")
            return int(volume)
        units = round(volume_dbl * self.units_per_lot)
        if units < 0 or abs(units - volume_dbl * self.units_per_lot) > 1e-6:
            raise MarketDataError(
                f"book record {index}: volume {volume_dbl} is not a whole number of "
                f"1/{self.units_per_lot} lots"
            )
        return units


def _fields(record: Any, index: int) -> tuple[int, float, int, float]:
    """(type, price, volume, volume_dbl) from a BookInfo record or a plain 4-tuple."""
    try:
        if hasattr(record, "volume_dbl"):
            return (
                int(record.type),
                float(record.price),
                int(record.volume),
                float(record.volume_dbl),
            )
        kind, price, volume, volume_dbl = record
        return int(kind), float(price), int(volume), float(volume_dbl)
    except (TypeError, ValueError) as exc:
        raise MarketDataError(f"book record {index} is not a BookInfo: {record!r}") from exc
