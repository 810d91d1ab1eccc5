"""`oms book SYMBOL`: a live depth ladder; `oms book replay FILE`: the signals in a recording."""

from __future__ import annotations

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

from oms.cli.main import app
from oms.config import Settings
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
) -> Group:
    """The depth ladder with spread, imbalance, weighted mid, last trade and recent signals."""
    table = Table(title=f"{symbol} depth", expand=False)
    table.add_column("bid size", justify="right", style="green")
    table.add_column("price", justify="right")
    table.add_column("ask size", justify="right", style="red")
    table.add_column("cum", justify="right", style="dim")
    asks = book.cumulative_depth(ASK, levels)
    ask_sizes = dict(book.depth(ASK, levels))
    for price, cum in reversed(asks):
        table.add_row("", _price(price, tick_size), str(ask_sizes[price]), str(cum))
    spread = book.spread
    table.add_row("", f"spread {spread if spread is not None else '-'}", "", "", style="bold")
    bid_sizes = dict(book.depth(BID, levels))
    for price, cum in book.cumulative_depth(BID, levels):
        table.add_row(str(bid_sizes[price]), _price(price, tick_size), "", str(cum))
    imb1, imb_n = book.imbalance(1), book.imbalance(levels)
    trade = book.last_trade
    last = (
        f"{trade.size} @ {_price(trade.price, tick_size)}"
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
        f"\nlast trade {last}   events {events}  {' '.join(flags)}"
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
    levels: Annotated[int, typer.Option(help="levels shown per side")] = 10,
    events: Annotated[int, typer.Option(help="stop after this many events (0: no limit)")] = 0,
    rate: Annotated[float, typer.Option(help="live: synthetic events per second")] = 2_000.0,
    seed: Annotated[int, typer.Option(help="live: seed of the synthetic feed")] = 11,
    tick_size: Annotated[float, typer.Option(help="price of one tick, for display")] = 0.01,
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
    if levels < 1:
        raise OmsError(f"--levels must be at least 1, got {levels}")
    if rate <= 0:
        raise OmsError(f"--rate must be positive, got {rate}")
    _live(console, target, levels, events, rate, seed, tick_size, once, record)


def _live(
    console: Console,
    symbol: str,
    levels: int,
    limit: int,
    rate: float,
    seed: int,
    tick_size: float,
    once: bool,
    record: Path | None,
) -> None:
    if record is not None and record.exists():
        raise OmsError(f"{record} already exists; choose a new file for the recording")
    writer = RecordingWriter(record) if record is not None else None
    try:
        _run_live(console, symbol, levels, limit, rate, seed, tick_size, once, writer)
    finally:
        if writer is not None:
            writer.close()
            console.print(f"recorded {writer.count} events to {record}")


def _run_live(
    console: Console,
    symbol: str,
    levels: int,
    limit: int,
    rate: float,
    seed: int,
    tick_size: float,
    once: bool,
    writer: RecordingWriter | None,
) -> None:
    rolling = RollingBook(l3=True)
    engine = SignalEngine(Settings().market_signals)
    recent: deque[str] = deque(maxlen=8)
    if once and limit <= 0:
        raise OmsError("--once needs --events N (the ladder is printed after N events)")
    total = limit if limit > 0 else None
    feed = synthetic_events(total, seed=seed)
    count = 0

    def step(n: int) -> bool:
        nonlocal count
        for event in islice(feed, n):
            if writer is not None:
                writer.write(event)
            for signal in engine.on_event(event.ts_ns, rolling.apply(event), rolling.book):
                recent.append(describe(signal, tick_size))
            count += 1
        return total is None or count < total

    if once:
        while step(10_000):
            pass
        console.print(render_ladder(symbol, rolling.book, levels, recent, tick_size, count))
        return
    started = time.monotonic()
    with Live(console=console, refresh_per_second=4) as live:
        try:
            while True:
                due = int((time.monotonic() - started) * rate) - count
                more = step(max(1, due))
                live.update(render_ladder(symbol, rolling.book, levels, recent, tick_size, count))
                if not more:
                    break
                time.sleep(0.05)  # pacing the display, not synchronisation
        except KeyboardInterrupt:
            pass


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
