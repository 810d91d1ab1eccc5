"""Replay benchmark: fold a synthetic journal through every projection.

`bench.py replay [--json] [--events N] [--page N] [--preload] [--seed N] [--profile]`

The journal is handed over the way the engine's start-up does it: one
`ProjectionSet.replay` call (a fold with the collector paused, then the state frozen) over an
iterator that decodes a page of records at a time. Making each page (the synthetic
generator standing in for reading and decoding) is timed separately and taken out, so
`events_per_s` is folding alone: events per second of wall time, all projections together.
`events_per_cpu_s` is the same per second of this process's CPU time (steadier on a shared
machine). `index_s` is the order book's query indexes, built by the first query after the
replay. `peak_rss_mb` is the process's high-water mark (taken before the snapshots).
`snapshot_s`/`snapshot_mb` are every projection's snapshot as canonical JSON bytes (what a
checkpoint table would store) and `restore_s` is loading them back. With `--preload` the
whole journal is built in memory first and folded from there (cold caches: a harsher case), and
`journal_rss_mb` says what the records took.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import time
from collections.abc import Iterator
from typing import Any

import orjson

from oms.domain.enums import AccountMode
from oms.domain.records import Record
from oms.projections import (
    FillsBlotter,
    OrderBook,
    Positions,
    canonical_json,
    gc_paused,
    standard_set,
)
from oms.projections.synthetic import HEDGING_ACCOUNT, session


def _rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


class _Pages:
    """Records page by page from a source, keeping the time spent making the pages."""

    def __init__(self, source: Iterator[Record], page: int) -> None:
        self.source = source
        self.page = page
        self.making_s = 0.0
        self.making_cpu_s = 0.0

    def __iter__(self) -> Iterator[Record]:
        while True:
            started = time.perf_counter()
            cpu_started = time.process_time()
            page = list(itertools.islice(self.source, self.page))
            self.making_s += time.perf_counter() - started
            self.making_cpu_s += time.process_time() - cpu_started
            if not page:
                return
            yield from page


def main(argv: list[str]) -> dict[str, Any]:
    """Run the replay and return its figures."""
    parser = argparse.ArgumentParser(prog="bench.py replay")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--page", type=int, default=1_000, help="records decoded per page")
    parser.add_argument("--preload", action="store_true", help="build the journal first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the folding")
    args = parser.parse_args(argv)

    before = _rss_mb()
    source: Iterator[Record] = session(seed=args.seed, events=args.events)
    journal_mb = 0.0
    if args.preload:
        preloaded = list(source)
        gc.collect()
        journal_mb = _rss_mb() - before
        source = iter(preloaded)
    pages = _Pages(source, args.page)

    projections = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    cpu_started = time.process_time()
    projections.replay(pages)
    fold_s = time.perf_counter() - started - pages.making_s
    fold_cpu_s = time.process_time() - cpu_started - pages.making_cpu_s
    book, positions, fills, _ = projections.projections
    assert isinstance(book, OrderBook)
    assert isinstance(positions, Positions) and isinstance(fills, FillsBlotter)
    started = time.perf_counter()
    open_orders = len(book.open)
    index_s = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    snapshots = {p.name: canonical_json(p.snapshot()) for p in projections.projections}
    snapshot_s = time.perf_counter() - started
    started = time.perf_counter()
    restored = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
    for projection in restored.projections:
        with gc_paused():  # decoding makes millions of lists; nothing to collect meanwhile
            stored = orjson.loads(snapshots[projection.name])  # as the checkpoint store reads
        projection.restore(stored)
    restore_s = time.perf_counter() - started
    same = restored.state_hashes() == projections.state_hashes()
    events = book.position
    return {
        "events": events,
        "events_per_s": round(events / fold_s),
        "events_per_cpu_s": round(events / fold_cpu_s),
        "fold_s": round(fold_s, 3),
        "index_s": round(index_s, 3),
        "making_pages_s": round(pages.making_s, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "journal_rss_mb": round(journal_mb, 1),
        "preload": args.preload,
        "orders": len(book.orders),
        "open_orders": open_orders,
        "positions": len(positions.positions),
        "fills": len(fills.rows),
        "snapshot_s": round(snapshot_s, 3),
        "snapshot_mb": round(sum(len(b) for b in snapshots.values()) / 2**20, 1),
        "restore_s": round(restore_s, 3),
        "restored_state_equal": same,
        "state_hashes": projections.state_hashes(),
    }
