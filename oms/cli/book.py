"""`oms book SYMBOL`: a live depth ladder; `oms book replay FILE`: the signals in a recording."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from oms.cli.book_terminal import TerminalBook
from oms.cli.main import app
from oms.config import Settings
from oms.engine import runtime
from oms.errors import OmsError
from oms.market.book import IntegrityIssue, L2Book
from oms.market.events import (
    HiddenExecuted,
    MarketEvent,
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
)
from oms.market.feeds.lobster import check_replay, lobster_events
from oms.market.feeds.recording import HEADER, RecordingWriter, read_recording
from oms.market.feeds.synthetic import synthetic_events
from oms.market.rolling import RollingBook
from oms.market.sides import ASK, BID, side_name
from oms.market.signals import Signal, SignalEngine

_L3_EVENTS = (
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderModified,
    OrderExecuted,
    HiddenExecuted,
)


def _price(ticks: int | float | None, tick_size: float, extra: int = 0) -> str:
    if ticks is None:
        return "-"
    decimals = max(0, len(f"{tick_size:.10f}".rstrip("0").split(".")[1])) + extra
    return f"{ticks * tick_size:.{decimals}f}"


def describe(signal: Signal, tick_size: float) -> str:
    """One line for a signal: kind, side, price and its evidence."""
    fields = {
        f.name: getattr(signal, f.name)
        for f in dataclasses.fields(signal)
        if f.name not in ("ts_ns", "side", "price")
    }
    evidence = " ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items()
    )
    price = _price(signal.price, tick_size)
    return f"{signal.kind:<8} {side_name(signal.side):<3} {price:>10}  {evidence}"


def render_ladder(
    symbol: str,
    book: L2Book,
    levels: int,
    signals: Iterable[str],
    tick_size: float,
    events: int,
    lot_units: int | None = None,
    note: str = "",
) -> Group:
    """The depth ladder with spread, imbalance, weighted mid, last trade and recent signals.

    Sizes are in book units, or in lots when `lot_units` (units per lot) is given.
    """

    def size(units: int) -> str:
        return str(units) if lot_units is None else _price(units, 1 / lot_units)

    table = Table(title=f"{symbol} depth", expand=False)
    table.add_column("bid size", justify="right", style="green")
    table.add_column("price", justify="right")
    table.add_column("ask size", justify="right", style="red")
    table.add_column("cum", justify="right", style="dim")
    asks = book.cumulative_depth(ASK, levels)
    ask_sizes = dict(book.depth(ASK, levels))
    for price, cum in reversed(asks):
        table.add_row("", _price(price, tick_size), size(ask_sizes[price]), size(cum))
    spread = book.spread
    table.add_row("", f"spread {spread if spread is not None else '-'}", "", "", style="bold")
    bid_sizes = dict(book.depth(BID, levels))
    for price, cum in book.cumulative_depth(BID, levels):
        table.add_row(size(bid_sizes[price]), _price(price, tick_size), "", size(cum))
    imb1, imb_n = book.imbalance(1), book.imbalance(levels)
    trade = book.last_trade
    last = (
        f"{size(trade.size)} @ {_price(trade.price, tick_size)}"
        + (f" by {side_name(trade.aggressor)}" if trade.aggressor is not None else "")
        if trade
        else "-"
    )
    flags = []
    if book.stale:
        flags.append("[bold red]STALE[/]")
    if book.crossed:
        flags.append("[bold red]CROSSED[/]")
    stats = (
        f"mid {_price(book.mid, tick_size, 1)}  "
        f"weighted mid {_price(book.weighted_mid(), tick_size, 2)}"
        f"\nimbalance top1 {_fmt(imb1)}  top{levels} {_fmt(imb_n)}"
        f"\nlast trade {last}   events {events}{note}  {' '.join(flags)}"
    )
    recent = "\n".join(signals) or "(none yet)"
    return Group(table, Panel(stats, title="book"), Panel(recent, title="last signals"))


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}"


def load_feed(path: Path, orderbook: Path | None, tick: int) -> tuple[Iterator[MarketEvent], bool]:
    """Events of a recording or a LOBSTER message file, and whether they are L3."""
    if not path.is_file():
        raise OmsError(f"no such file: {path}")
    with path.open() as fh:
        first = fh.readline().strip()
    if first == HEADER:
        events = read_recording(path)
        head = list(islice(events, 1_000))
        l3 = any(isinstance(e, _L3_EVENTS) for e in head)
        return _chain(head, events), l3
    return lobster_events(path, orderbook, tick=tick), True


def _chain(head: list[MarketEvent], rest: Iterator[MarketEvent]) -> Iterator[MarketEvent]:
    yield from head
    yield from rest


@app.command("book")
def book_command(
    target: Annotated[str, typer.Argument(help="a symbol for the live ladder, or `replay`")],
    file: Annotated[
        Path | None, typer.Argument(help="with `replay`: recording or LOBSTER file")
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            help="live: `synthetic` (seeded feed) or `terminal` (market_book_get of the "
            "terminal OMS_MT5_BACKEND names)"
        ),
    ] = "synthetic",
    levels: Annotated[int, typer.Option(help="levels shown per side")] = 10,
    events: Annotated[
        int,
        typer.Option(help="stop after this many events, or terminal snapshots (0: no limit)"),
    ] = 0,
    rate: Annotated[float, typer.Option(help="synthetic: events per second")] = 2_000.0,
    seed: Annotated[int, typer.Option(help="synthetic: seed of the feed")] = 11,
    interval: Annotated[float, typer.Option(help="terminal: seconds between snapshots")] = 0.1,
    tick_size: Annotated[
        float, typer.Option(help="price of one tick, for display (terminal: from symbol_info)")
    ] = 0.01,
    once: Annotated[
        bool, typer.Option(help="live: print the ladder once at the end, no Live view")
    ] = False,
    orderbook: Annotated[
        Path | None, typer.Option(help="replay: LOBSTER orderbook file to check")
    ] = None,
    lobster_tick: Annotated[int, typer.Option(help="replay: LOBSTER price units per tick")] = 100,
    limit: Annotated[int, typer.Option(help="replay: signals listed (all are counted)")] = 50,
    record: Annotated[
        Path | None, typer.Option(help="live: also write the feed to this recording file")
    ] = None,
) -> None:
    """Show a live depth ladder, or replay a recorded feed and list the signals it fires."""
    console = Console()
    if target == "replay":
        if file is None:
            raise OmsError("oms book replay needs a FILE (a recording or LOBSTER messages)")
        _replay(console, file, orderbook, lobster_tick, tick_size, limit, events)
        return
    if file is not None:
        raise OmsError(f"unexpected argument {file}; did you mean `oms book replay {file}`?")
    if source not in ("synthetic", "terminal"):
        raise OmsError(f"--source must be `synthetic` or `terminal`, got {source!r}")
    if levels < 1:
        raise OmsError(f"--levels must be at least 1, got {levels}")
    if rate <= 0:
        raise OmsError(f"--rate must be positive, got {rate}")
    if interval < 0:
        raise OmsError(f"--interval must not be negative, got {interval}")
    if record is not None and record.exists():
        raise OmsError(f"{record} already exists; choose a new file for the recording")
    if source == "synthetic" and once and events <= 0:
        raise OmsError("--once needs --events N (the ladder is printed after N events)")
    writer = RecordingWriter(record) if record is not None else None
    view = LiveView(console, target, levels, events, once)
    try:
        if source == "terminal":
            _run_terminal(view, Settings(), interval, writer)
        else:
            _run_synthetic(view, rate, seed, tick_size, writer)
    finally:
        if writer is not None:
            writer.close()
            console.print(f"recorded {writer.count} events to {record}")


@dataclasses.dataclass(frozen=True)
class LiveView:
    """Where and how the live ladder is shown, and when it stops (limit 0: never)."""

    console: Console
    symbol: str
    levels: int
    limit: int
    once: bool


class Ladder:
    """The rolling book and signal engine behind the live ladder, fed one event at a time."""

    def __init__(self, tick_size: float, writer: RecordingWriter | None, l3: bool) -> None:
        self.rolling = RollingBook(l3=l3)
        self.engine = SignalEngine(Settings().market_signals)
        self.recent: deque[str] = deque(maxlen=8)
        self.tick_size = tick_size
        self.writer = writer
        self.count = 0

    def apply(self, event: MarketEvent) -> None:
        """Record the event, update the book and keep the signals it fires."""
        if self.writer is not None:
            self.writer.write(event)
        observations = self.rolling.apply(event)
        for signal in self.engine.on_event(event.ts_ns, observations, self.rolling.book):
            self.recent.append(describe(signal, self.tick_size))
        self.count += 1

    def render(self, view: LiveView, lot_units: int | None = None, note: str = "") -> Group:
        """The ladder as it stands."""
        return render_ladder(
            view.symbol, self.rolling.book, view.levels, self.recent, self.tick_size,
            self.count, lot_units, note,
        )  # fmt: skip


def _run_synthetic(
    view: LiveView, rate: float, seed: int, tick_size: float, writer: RecordingWriter | None
) -> None:
    ladder = Ladder(tick_size, writer, l3=True)
    total = view.limit if view.limit > 0 else None
    feed = synthetic_events(total, seed=seed)

    def step(n: int) -> bool:
        for event in islice(feed, n):
            ladder.apply(event)
        return total is None or ladder.count < total

    if view.once:
        while step(10_000):
            pass
        view.console.print(ladder.render(view))
        return
    started = time.monotonic()
    with Live(console=view.console, refresh_per_second=4) as live:
        try:
            while True:
                due = int((time.monotonic() - started) * rate) - ladder.count
                more = step(max(1, due))
                live.update(ladder.render(view))
                if not more:
                    break
                time.sleep(0.05)  # pacing the display, not synchronisation
        except KeyboardInterrupt:
            pass


def _run_terminal(
    view: LiveView, settings: Settings, interval: float, writer: RecordingWriter | None
) -> None:
    """Poll the terminal's depth; `--once` alone prints the first snapshot."""
    limit = 1 if view.once and view.limit <= 0 else view.limit
    with contextlib.suppress(KeyboardInterrupt):
        runtime.run(_watch_terminal(view, settings, interval, limit, writer))


async def _watch_terminal(
    view: LiveView,
    settings: Settings,
    interval: float,
    limit: int,
    writer: RecordingWriter | None,
) -> None:
    async with TerminalBook(settings, view.symbol) as terminal:
        differ = terminal.differ
        ladder = Ladder(differ.tick_size, writer, l3=False)

        async def poll() -> bool:
            for event in await terminal.poll():
                ladder.apply(event)
            return limit <= 0 or terminal.polls < limit

        def render() -> Group:
            note = f"  snapshots {terminal.polls}"
            return ladder.render(view, differ.units_per_lot, note)

        if view.once:
            while await poll():
                pass
            view.console.print(render())
            return
        with Live(console=view.console, refresh_per_second=4) as live:
            while await poll():
                live.update(render())
                await asyncio.sleep(interval)  # the polling rate, not synchronisation
            live.update(render())


def _replay(
    console: Console,
    path: Path,
    orderbook: Path | None,
    lobster_tick: int,
    tick_size: float,
    limit: int,
    max_events: int,
) -> None:
    feed, l3 = load_feed(path, orderbook, lobster_tick)
    if max_events > 0:
        feed = islice(feed, max_events)
    rolling = RollingBook(l3=l3)
    engine = SignalEngine(Settings().market_signals)
    counts: Counter[str] = Counter()
    issues: Counter[str] = Counter()
    listed = 0
    n = 0
    for event in feed:
        n += 1
        observations = rolling.apply(event)
        for obs in observations:
            if isinstance(obs, IntegrityIssue):
                issues[obs.kind] += 1
        for signal in engine.on_event(event.ts_ns, observations, rolling.book):
            counts[signal.kind] += 1
            if listed < limit:
                console.print(f"{signal.ts_ns:>20}  {describe(signal, tick_size)}")
                listed += 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "no signals"
    console.print(f"{n} events ({'L3' if l3 else 'L2'}): {summary}")
    if issues:
        console.print("integrity: " + ", ".join(f"{k} {v}" for k, v in sorted(issues.items())))
    if orderbook is not None:
        check = check_replay(path, orderbook, tick=lobster_tick)
        console.print(
            f"orderbook check: {check.messages} messages, {check.mismatches} mismatches"
            + (f" (first at message {check.first_mismatch})" if check.first_mismatch else "")
            + f", {check.unplaced} unplaced, {check.halts} halts"
        )
