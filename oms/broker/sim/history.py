"""The simulated market's tick history and the bars built from it.

The real terminal answers `copy_ticks_*` and `copy_rates_*` from its history database; the
simulator answers from what its own market did. A tick is recorded whenever a symbol's best
bid or ask changes (flags BID/ASK) or a trade prints (LAST, VOLUME and the aggressor's
BUY/SELL), carrying the other prices of the moment as the real ticks do; our own deals against
the book print, and move the quote, when they execute, like anyone else's. Bars are built
from the ticks that moved the bid (as MetaTrader builds bars for Bid-charted symbols): open,
high, low and close of the bid, `tick_volume` the number of such ticks, `spread` the smallest
spread in points seen in the bar, `real_volume` the traded volume in whole lots. Ticks are
bounded per symbol (`max_ticks`, the oldest go first); bars are built as ticks arrive and
outlive the ticks they came from, as the terminal keeps bars longer than ticks.
"""

from __future__ import annotations

import bisect
import calendar
import time
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import numpy.typing as npt

from oms.broker.sim.constants import C

TICK_DTYPE = np.dtype(
    [("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
     ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8")]
)
RATE_DTYPE = np.dtype(
    [("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
     ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8")]
)
DEFAULT_MAX_TICKS = 200_000

# Bar lengths in seconds of the fixed timeframes; W1 and MN1 follow the calendar.
_FIXED_SECONDS = {
    C.TIMEFRAME_M1: 60, C.TIMEFRAME_M2: 120, C.TIMEFRAME_M3: 180, C.TIMEFRAME_M4: 240,
    C.TIMEFRAME_M5: 300, C.TIMEFRAME_M6: 360, C.TIMEFRAME_M10: 600, C.TIMEFRAME_M12: 720,
    C.TIMEFRAME_M15: 900, C.TIMEFRAME_M20: 1200, C.TIMEFRAME_M30: 1800,
    C.TIMEFRAME_H1: 3600, C.TIMEFRAME_H2: 7200, C.TIMEFRAME_H3: 10800, C.TIMEFRAME_H4: 14400,
    C.TIMEFRAME_H6: 21600, C.TIMEFRAME_H8: 28800, C.TIMEFRAME_H12: 43200,
    C.TIMEFRAME_D1: 86400,
}  # fmt: skip
TIMEFRAMES = frozenset(_FIXED_SECONDS) | {C.TIMEFRAME_W1, C.TIMEFRAME_MN1}
TICK_SELECTIONS = frozenset({C.COPY_TICKS_ALL, C.COPY_TICKS_INFO, C.COPY_TICKS_TRADE})
_QUOTE_FLAGS = C.TICK_FLAG_BID | C.TICK_FLAG_ASK
_TRADE_FLAGS = C.TICK_FLAG_LAST | C.TICK_FLAG_VOLUME
_DAY = 86_400
_SUNDAY = 3  # days after a Thursday (1970-01-01); weekly bars open on Sunday 00:00 UTC

# One recorded tick: time_msc, bid, ask, last, volume (whole lots), flags, volume_real (lots).
TickRow = tuple[int, float, float, float, int, int, float]
# One bar: open time (s), open, high, low, close, tick_volume, spread (points), real_volume.
Bar = tuple[int, float, float, float, float, int, int, int]
_NO_SPREAD = 2**31 - 1


def bar_open(seconds: int, timeframe: int) -> int:
    """Open time (epoch seconds, UTC) of the bar of `timeframe` that holds `seconds`."""
    length = _FIXED_SECONDS.get(timeframe)
    if length is not None:
        return seconds - seconds % length
    day = seconds - seconds % _DAY
    if timeframe == C.TIMEFRAME_W1:
        return day - ((day // _DAY - _SUNDAY) % 7) * _DAY
    if timeframe == C.TIMEFRAME_MN1:
        year, month = time.gmtime(seconds)[:2]
        return calendar.timegm((year, month, 1, 0, 0, 0))
    raise ValueError(f"unknown timeframe {timeframe}")


@dataclass
class SymbolHistory:
    """One symbol's ticks in time order, with the last prices that later ticks carry on."""

    point: float
    max_ticks: int
    ticks: list[TickRow] = field(default_factory=list)
    times: list[int] = field(default_factory=list)  # time_msc of each tick, for bisect
    bid: float = 0.0
    ask: float = 0.0
    last: float = 0.0
    last_lots: float = 0.0  # the last print's volume, as symbol_info_tick reports it
    dropped: int = 0  # ticks trimmed from the front so far
    _builders: dict[int, _BarBuilder] = field(default_factory=dict)

    def record(self, time_msc: int, bid: float, ask: float,
               trades: list[tuple[float, float, bool]]) -> None:
        """Ticks for one market update or one deal of ours: each print, then the quote if it
        moved."""
        for price, lots, buyer in trades:
            self.last, self.last_lots = price, lots
            flags = _TRADE_FLAGS | (C.TICK_FLAG_BUY if buyer else C.TICK_FLAG_SELL)
            self._append((time_msc, self.bid, self.ask, price, round(lots), flags, lots))
        flags = (C.TICK_FLAG_BID if bid != self.bid else 0) | (
            C.TICK_FLAG_ASK if ask != self.ask else 0)
        if flags:
            self.bid, self.ask = bid, ask
            self._append((time_msc, bid, ask, self.last, 0, flags, 0.0))

    def _append(self, row: TickRow) -> None:
        self.ticks.append(row)
        self.times.append(row[0])
        if len(self.ticks) > 2 * self.max_ticks:  # trim in halves: amortised O(1) per tick
            for builder in self._builders.values():  # bars asked for once miss no tick
                self._catch_up(builder)
            self.dropped += len(self.ticks) - self.max_ticks
            del self.ticks[: -self.max_ticks]
            del self.times[: -self.max_ticks]

    def ticks_from(self, from_msc: int, count: int, selection: int) -> npt.NDArray[np.void]:
        """Up to `count` ticks at or after `from_msc`, oldest first."""
        ticks = self.ticks
        start = bisect.bisect_left(self.times, from_msc)
        rows = (ticks[i] for i in range(start, len(ticks)) if _selected(ticks[i], selection))
        return _tick_array(list(islice(rows, count)))

    def ticks_range(self, from_msc: int, to_msc: int, selection: int) -> npt.NDArray[np.void]:
        """The ticks from `from_msc` to `to_msc`, both included, oldest first."""
        start = bisect.bisect_left(self.times, from_msc)
        end = bisect.bisect_right(self.times, to_msc)
        return _tick_array([row for row in self.ticks[start:end] if _selected(row, selection)])

    def bars(self, timeframe: int) -> list[Bar]:
        """Every bar so far, oldest first (the builder's own list: read it, do not change it);
        a bar exists only where the bid moved."""
        builder = self._builders.get(timeframe)
        if builder is None:
            builder = self._builders[timeframe] = _BarBuilder(timeframe, self.point)
            builder.seen = self.dropped  # a new timeframe starts at the oldest tick kept
        self._catch_up(builder)
        return builder.bars

    def _catch_up(self, builder: _BarBuilder) -> None:
        builder.feed(self.ticks[builder.seen - self.dropped :])
        builder.seen = self.dropped + len(self.ticks)


class _BarBuilder:
    """Bars of one timeframe, built incrementally as ticks arrive."""

    def __init__(self, timeframe: int, point: float) -> None:
        self.timeframe = timeframe
        self.point = point
        self.seen = 0  # ticks consumed, counted from the first tick ever recorded
        self.bars: list[Bar] = []  # closed bars, then the one still forming (if any)
        self.opened = -1
        self.first: float | None = None
        self.high = self.low = self.close = self.lots = 0.0
        self.count = 0
        self.spread = _NO_SPREAD

    def feed(self, rows: list[TickRow]) -> None:
        """Fold ticks into the open bar, closing it when a tick falls into a later one."""
        if not rows:
            return
        timeframe, point, bars = self.timeframe, self.point, self.bars
        if self.first is not None:
            bars.pop()  # the forming bar: it is written again below
        for time_msc, bid, ask, _last, _volume, flags, traded in rows:
            start = bar_open(time_msc // 1000, timeframe)
            if start != self.opened:
                if self.first is not None:
                    bars.append(self._bar())
                self.opened, self.first, self.count = start, None, 0
                self.spread, self.lots = _NO_SPREAD, 0.0
            if flags & _TRADE_FLAGS:
                self.lots += traded
            if not flags & C.TICK_FLAG_BID or not bid:
                continue
            if self.first is None:
                self.first = self.high = self.low = bid
            elif bid > self.high:
                self.high = bid
            elif bid < self.low:
                self.low = bid
            self.close = bid
            self.count += 1
            if ask:
                self.spread = min(self.spread, round((ask - bid) / point))
        if self.first is not None:
            bars.append(self._bar())

    def _bar(self) -> Bar:
        assert self.first is not None
        spread = 0 if self.spread == _NO_SPREAD else self.spread
        return (self.opened, self.first, self.high, self.low, self.close, self.count, spread,
                round(self.lots))


def _selected(row: TickRow, selection: int) -> bool:
    if selection == C.COPY_TICKS_INFO:
        return bool(row[5] & _QUOTE_FLAGS)
    if selection == C.COPY_TICKS_TRADE:
        return bool(row[5] & _TRADE_FLAGS)
    return True


def _tick_array(rows: list[TickRow]) -> npt.NDArray[np.void]:
    return np.array(
        [(msc // 1000, bid, ask, last, volume, msc, flags, real)
         for msc, bid, ask, last, volume, flags, real in rows],
        dtype=TICK_DTYPE,
    )


def rate_array(bars: list[Bar]) -> npt.NDArray[np.void]:
    """Bars as the numpy structured array copy_rates_* return."""
    return np.array(bars, dtype=RATE_DTYPE)
