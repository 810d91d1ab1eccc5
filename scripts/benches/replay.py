"""Replay benchmark: fold a synthetic journal through every projection.

`bench.py replay [--json] [--events N] [--batch N] [--seed N] [--profile]` prints
`events_per_s` (events folded per second of wall time, all projections together, one
`apply_many` over the whole journal the way a start-up replay hands over a reader),
`events_per_cpu_s` (the same per second of this process's CPU time, steadier on a shared
machine), `index_s` (the order book's query indexes, built by the first query after the
replay), `peak_rss_mb` (high-water mark of the process), `journal_rss_mb` (of which the
in-memory journal of decoded records) and the state hashes. The journal is generated before
the clock starts; reading it from a real journal is a separate figure. With `--batch N`
the records are folded in calls of N instead.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
from typing import Any

from oms.domain.enums import AccountMode
from oms.projections import FillsBlotter, OrderBook, Positions, standard_set
from oms.projections.synthetic import HEDGING_ACCOUNT, session


def _rss_mb() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(argv: list[str]) -> dict[str, Any]:
    """Run the replay and return its figures."""
    parser = argparse.ArgumentParser(prog="bench.py replay")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=0, help="fold in calls of N records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the folding")
    args = parser.parse_args(argv)

    before = _rss_mb()
    started = time.perf_counter()
    records = list(session(seed=args.seed, events=args.events))
    generate_s = time.perf_counter() - started
    gc.collect()
    journal_mb = _rss_mb() - before
    batches = (
        [records[i : i + args.batch] for i in range(0, len(records), args.batch)]
        if args.batch
        else [records]
    )

    projections = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    cpu_started = time.process_time()
    for batch in batches:
        projections.apply_many(batch)
    fold_s = time.perf_counter() - started
    fold_cpu_s = time.process_time() - cpu_started
    book, positions, fills = projections.projections
    assert isinstance(book, OrderBook)
    assert isinstance(positions, Positions) and isinstance(fills, FillsBlotter)
    started = time.perf_counter()
    open_orders = len(book.open)
    index_s = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "events": len(records),
        "events_per_s": round(len(records) / fold_s),
        "events_per_cpu_s": round(len(records) / fold_cpu_s),
        "fold_s": round(fold_s, 3),
        "index_s": round(index_s, 3),
        "generate_s": round(generate_s, 3),
        "peak_rss_mb": round(peak_mb, 1),
        "journal_rss_mb": round(journal_mb, 1),
        "orders": len(book.orders),
        "open_orders": open_orders,
        "positions": len(positions.positions),
        "fills": len(fills.rows),
        "state_hashes": projections.state_hashes(),
    }
