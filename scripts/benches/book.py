"""Order book throughput: per-event L2 updates, the array path, L3 messages, signals.

`bench.py book --json [--deltas FILE.csv] [--updates N] [--l3-messages N]
[--pipeline-events N] [--queue-places N] [--repeat R]`. The deltas file holds rows
`side,price,size` (side 0 bid / 1 ask, price in ticks, size 0 deletes); without it a seeded
synthetic stream is used. `pipeline_events_per_s` times the synthetic L3 feed through the
rolling book and every signal detector (what a backtest pays per event).
`queue_places_per_s` places N simulated limit orders, one behind the other, at one bid level
of an `L2QueueTracker` (what the simulator's resting orders pay). Each figure is the median
of R runs, by wall time (`*_per_s`) and by this process's CPU time (`*_per_cpu_s`, which a
busy machine inflates less).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from oms.market.batch import NO_ASK, NO_BID, best_prices
from oms.market.book import L2Book
from oms.market.events import MarketEvent
from oms.market.feeds.synthetic import L2Stream, l2_stream, l3_stream, synthetic_events
from oms.market.l3 import L3Book, apply_message
from oms.market.queue import L2QueueTracker
from oms.market.rolling import RollingBook
from oms.market.signals import SignalEngine


def load_deltas(path: Path) -> L2Stream:
    """Read `side,price,size` rows (an optional header line is skipped)."""
    with path.open() as fh:
        first = fh.readline()
    skip = 0 if first.strip()[:1].lstrip("-").isdigit() else 1
    data = np.loadtxt(path, delimiter=",", dtype=np.int64, skiprows=skip, ndmin=2)
    if data.shape[1] != 3:
        raise SystemExit(f"{path}: expected 3 columns side,price,size, found {data.shape[1]}")
    return L2Stream(data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy())


class Clock:
    """Wall time and this process's CPU time of one measured section."""

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def per_event_rate(rows: list[tuple[int, int, int]]) -> tuple[Clock, L2Book]:
    """Time `L2Book.update` over the rows, reading the touch after every update."""
    book = L2Book()
    update = book.update
    with Clock() as clock:
        for side, price, size in rows:
            update(side, price, size)
            _bid = book.best_bid
            _ask = book.best_ask
    return clock, book


def batch_rate(stream: L2Stream) -> tuple[Clock, np.ndarray, np.ndarray]:
    """Time the array path (the touch after every update, as arrays)."""
    with Clock() as clock:
        bids, asks = best_prices(stream.sides, stream.prices, stream.sizes, L2Book())
    return clock, bids, asks


def touch_sequence(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The per-event path's touch after each update, for the identity check (not timed)."""
    book = L2Book()
    bids: list[int] = []
    asks: list[int] = []
    for side, price, size in rows:
        book.update(side, price, size)
        bids.append(NO_BID if book.best_bid is None else book.best_bid)
        asks.append(NO_ASK if book.best_ask is None else book.best_ask)
    return np.asarray(bids, dtype=np.int64), np.asarray(asks, dtype=np.int64)


def l3_rate(rows: list[tuple[int, int, int, int, int]]) -> Clock:
    """Time L3 messages through `apply_message` (book and its L2 projection)."""
    book = L3Book()
    with Clock() as clock:
        for kind, order_id, side, price, size in rows:
            apply_message(book, kind, order_id, side, price, size)
    return clock


def pipeline_rate(events: list[MarketEvent]) -> Clock:
    """Time feed events through the rolling L3 book and every signal detector."""
    rolling = RollingBook(l3=True)
    engine = SignalEngine()
    with Clock() as clock:
        for event in events:
            engine.on_event(event.ts_ns, rolling.apply(event), rolling.book)
    return clock


def queue_place_rate(n: int) -> Clock:
    """Time placing n simulated orders, one behind the other, at the best bid's level."""
    book = L2Book()
    book.update(0, 100, 50)
    book.update(1, 101, 50)
    tracker = L2QueueTracker(book)
    place = tracker.place
    with Clock() as clock:
        for order_id in range(1, n + 1):
            place(order_id, 0, 100, 1)
    return clock


def _rates(n: int, clocks: list[Clock]) -> tuple[int, int]:
    """Median rate by wall time and by CPU time (the latter shows contention on the machine)."""
    wall = statistics.median(n / c.wall for c in clocks)
    cpu = statistics.median(n / c.cpu for c in clocks if c.cpu > 0) if clocks else 0.0
    return round(wall), round(cpu)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the three measurements and return the figures."""
    parser = argparse.ArgumentParser(prog="bench.py book")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--deltas", type=Path)
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--l3-messages", type=int, default=1_000_000)
    parser.add_argument("--pipeline-events", type=int, default=200_000)
    parser.add_argument("--queue-places", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    stream = load_deltas(args.deltas) if args.deltas else l2_stream(args.updates, seed=args.seed)
    rows = stream.rows()
    per_event: list[Clock] = []
    batch: list[Clock] = []
    book = L2Book()
    for _ in range(args.repeat):
        clock, book = per_event_rate(rows)
        per_event.append(clock)
        clock, bids, asks = batch_rate(stream)
        batch.append(clock)
    want_bids, want_asks = touch_sequence(rows)
    identical = bool(np.array_equal(bids, want_bids) and np.array_equal(asks, want_asks))

    l3_rows = l3_stream(args.l3_messages, seed=args.seed).rows()
    l3 = [l3_rate(l3_rows) for _ in range(args.repeat)]
    updates_wall, updates_cpu = _rates(len(rows), per_event)
    batch_wall, batch_cpu = _rates(len(rows), batch)
    l3_wall, l3_cpu = _rates(len(l3_rows), l3)
    events = list(synthetic_events(args.pipeline_events, seed=args.seed))
    pipeline = [pipeline_rate(events) for _ in range(args.repeat)]
    pipe_wall, pipe_cpu = _rates(len(events), pipeline)
    places = [queue_place_rate(args.queue_places) for _ in range(args.repeat)]
    places_wall, places_cpu = _rates(args.queue_places, places)
    return {
        "updates": len(rows),
        "updates_per_s": updates_wall,
        "updates_per_cpu_s": updates_cpu,
        "batch_updates_per_s": batch_wall,
        "batch_updates_per_cpu_s": batch_cpu,
        "identical_best_sequences": identical,
        "l3_messages": len(l3_rows),
        "l3_messages_per_s": l3_wall,
        "l3_messages_per_cpu_s": l3_cpu,
        "pipeline_events": len(events),
        "pipeline_events_per_s": pipe_wall,
        "pipeline_events_per_cpu_s": pipe_cpu,
        "queue_places": args.queue_places,
        "queue_places_per_s": places_wall,
        "queue_places_per_cpu_s": places_cpu,
        "final_best_bid": book.best_bid,
        "final_best_ask": book.best_ask,
        "source": str(args.deltas) if args.deltas else f"synthetic seed {args.seed}",
    }
