"""The simulated market: one shared L2 book per symbol, a clock that only moves when told to.

Tests and backtests drive it explicitly (`step`, `advance`), so nothing depends on the wall
clock. After every update the trade server is told which symbols moved, so resting orders,
stops and expirations react in the same call.
"""

from __future__ import annotations

import calendar
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from oms.broker.sim.book import SimBook, Trades
from oms.broker.sim.constants import C
from oms.broker.sim.feed import (
    BUYER,
    SELLER,
    Feed,
    Snapshot,
    snapshot_line,
    to_steps,
    to_ticks,
)
from oms.broker.sim.history import DEFAULT_MAX_TICKS, SymbolHistory
from oms.broker.sim.symbols import SymbolSpec
from oms.errors import OmsError
from oms.market.queue import QueueModel

DEFAULT_START_MSC = calendar.timegm((2026, 1, 5, 9, 0, 0)) * 1000  # a Monday, 09:00 UTC
DAY_MSC = 86_400_000
WEEKEND = (C.DAY_OF_WEEK_SATURDAY, C.DAY_OF_WEEK_SUNDAY)


def day_of_week(msc: int) -> int:
    """MT5's `DAY_OF_WEEK_*` (0 = Sunday) of a time on the simulated clock, UTC."""
    return (msc // DAY_MSC + C.DAY_OF_WEEK_THURSDAY) % 7  # 1970-01-01 was a Thursday


class Market:
    """Books, last update times and the simulated clock (milliseconds since the epoch, UTC)."""

    def __init__(
        self,
        specs: Sequence[SymbolSpec],
        feed: Feed,
        lock: threading.RLock,
        start_msc: int = DEFAULT_START_MSC,
        step_msc: int = 100,
        weekend_closed: bool = False,
        queue_model: QueueModel = "conservative",
        queue_power: float = 2.0,
        max_history_ticks: int = DEFAULT_MAX_TICKS,
    ) -> None:
        if max_history_ticks < 1:
            raise OmsError(f"max_history_ticks must be at least 1, not {max_history_ticks}")
        self.specs: dict[str, SymbolSpec] = {s.name: s for s in specs}
        self.history: dict[str, SymbolHistory] = {
            s.name: SymbolHistory(s.point, max_history_ticks) for s in specs
        }
        self.books: dict[str, SimBook] = {s.name: SimBook(queue_model, queue_power) for s in specs}
        self.updated_msc: dict[str, int] = dict.fromkeys(self.specs, start_msc)
        self.time_msc = start_msc
        self.step_msc = step_msc
        self.weekend_closed = weekend_closed
        self._closed: set[str] = set()
        self._feed = feed
        self._lock = lock
        self._listener: Callable[[Sequence[str]], None] | None = None
        self._moved_by_us: set[str] = set()
        self._recording: TextIO | None = None
        self._apply(feed.start(specs, start_msc))

    def listen(self, listener: Callable[[Sequence[str]], None]) -> None:
        """Call `listener(symbols)` after each update, under the terminal's lock."""
        self._listener = listener

    def step(self, n: int = 1) -> None:
        """Take `n` feed steps (a replay's clock follows the recording), reacting after each."""
        with self._lock:
            for _ in range(n):
                if self._feed.drives_clock:
                    self._update(self._feed.step(self.time_msc + self.step_msc))
                else:
                    self.time_msc += self.step_msc
                    self._update(self._feed.step(self.time_msc))

    def advance(self, seconds: float) -> None:
        """Jump the clock forward (e.g. past midnight for DAY orders), then take one feed step."""
        if seconds < 0:
            raise OmsError(f"the simulated clock only moves forward, not by {seconds} s")
        with self._lock:
            self.time_msc += round(seconds * 1000)
            self._update(self._feed.step(self.time_msc))

    def set_open(self, symbol: str, is_open: bool) -> None:
        """Open or close trading in one symbol (closed: order_send gives 10018)."""
        with self._lock:
            self.spec(symbol)
            if is_open:
                self._closed.discard(symbol)
            else:
                self._closed.add(symbol)

    def is_open(self, symbol: str) -> bool:
        """Whether the symbol trades now."""
        if symbol in self._closed:
            return False
        if self.weekend_closed:
            return day_of_week(self.time_msc) not in WEEKEND
        return True

    def spec(self, symbol: str) -> SymbolSpec:
        """The specification of a known symbol."""
        try:
            return self.specs[symbol]
        except KeyError:
            raise OmsError(f"unknown symbol {symbol!r}; known: {sorted(self.specs)}") from None

    def set_book(
        self,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
    ) -> None:
        """Install a hand-made book of (price, lots) levels, best first, and let orders react."""
        with self._lock:
            spec = self.spec(symbol)
            snap = Snapshot(
                self.time_msc,
                symbol,
                [(to_ticks(p, spec), to_steps(v, spec)) for p, v in bids],
                [(to_ticks(p, spec), to_steps(v, spec)) for p, v in asks],
            )
            self._update([snap])

    def trade(self, symbol: str, price: float, volume: float) -> None:
        """Print a trade of `volume` lots at `price` by someone else, and let orders react.

        A price at or below the best bid is a seller hitting the bids, at or above the best
        ask a buyer lifting the asks; better levels on the way are swept first (printed at
        their whole size). The level at `price` loses what traded (all of it, and the excess
        counts as hidden, when the print is larger than the level).
        """
        with self._lock:
            spec = self.spec(symbol)
            px, size = to_ticks(price, spec), to_steps(volume, spec)
            if size <= 0:
                raise OmsError(f"a trade needs a positive volume, not {volume}")
            bids, asks = self.books[symbol].depth()
            if bids and px <= bids[0][0]:
                aggressor, hit = SELLER, bids
            elif asks and px >= asks[0][0]:
                aggressor, hit = BUYER, asks
            else:
                raise OmsError(f"{symbol} trade at {price}: inside the spread, nobody rests there")
            sell = aggressor == SELLER
            swept = [(p, q) for p, q in hit if (p > px if sell else p < px)]
            trades = [(p, q, aggressor) for p, q in swept]
            trades.append((px, size, aggressor))
            left = [(p, q - size if p == px else q) for p, q in hit[len(swept) :]]
            left = [(p, q) for p, q in left if q > 0]
            bids, asks = (left, asks) if aggressor == SELLER else (bids, left)
            self._update([Snapshot(self.time_msc, symbol, bids, asks, tuple(trades))])

    def take(self, symbol: str, buy: bool, wanted: int, limit: int = 0) -> tuple[int, int]:
        """Execute one of our orders against the book, up to `limit` ticks if set; return
        (size filled, sum of size x price in ticks).

        The deal prints at once (one print per level traded, the aggressor ours) and the quote
        it moved is recorded with it: a real terminal's tick stream shows our trades among
        everyone else's, not at the next update.
        """
        with self._lock:
            book = self.books[symbol]
            touch = book.best_bid, book.best_ask
            prints = book.take(buy, wanted, limit)
            if not prints:
                return 0, 0
            if (book.best_bid, book.best_ask) != touch:
                self._moved_by_us.add(symbol)
            self.updated_msc[symbol] = self.time_msc
            self._record(symbol, prints)
            filled = cost = 0
            for price, size, _ in prints:
                filled += size
                cost += price * size
            return filled, cost

    def moved_by_us(self) -> list[str]:
        """The symbols whose touch our own executions moved since the last call (then none)."""
        if not self._moved_by_us:  # the common case, asked after every deal: no lock
            return []
        with self._lock:
            moved = sorted(self._moved_by_us)
            self._moved_by_us.clear()
            return moved

    def record(self, path: str | Path | None) -> None:
        """Append every snapshot from now on to a JSON-lines file (None stops recording)."""
        with self._lock:
            if self._recording is not None:
                self._recording.close()
                self._recording = None
            if path is not None:
                self._recording = Path(path).open("a")  # noqa: SIM115 - kept open while recording

    def _apply(self, snaps: list[Snapshot]) -> list[str]:
        moved = []
        for snap in snaps:
            book = self.books.get(snap.symbol)
            if book is None:
                continue
            book.apply(snap.time_msc * 1_000_000, snap.bids, snap.asks, snap.trades)
            if snap.time_msc > self.time_msc:
                self.time_msc = snap.time_msc
            self.updated_msc[snap.symbol] = max(snap.time_msc, self.time_msc)
            self._record(snap.symbol, snap.trades)
            moved.append(snap.symbol)
            if self._recording is not None:
                self._recording.write(snapshot_line(snap, self.specs[snap.symbol]) + "\n")
        return moved

    def _record(self, symbol: str, trades: Trades) -> None:
        """The ticks of an update or of our own deal, for copy_ticks_* and copy_rates_* (empty
        sides keep their price)."""
        spec = self.specs[symbol]
        history = self.history[symbol]
        book = self.books[symbol]
        tick, digits, step = spec.tick_size, spec.digits, spec.volume_step
        best_bid, best_ask = book.best_bid, book.best_ask
        bid = round(best_bid * tick, digits) if best_bid else history.bid
        ask = round(best_ask * tick, digits) if best_ask else history.ask
        prints = [(round(price * tick, digits), round(size * step, 8), aggressor == BUYER)
                  for price, size, aggressor in trades]
        history.record(self.updated_msc[symbol], bid, ask, prints)

    def _update(self, snaps: list[Snapshot]) -> None:
        moved = self._apply(snaps)
        if self._listener is not None:
            self._listener(moved)
