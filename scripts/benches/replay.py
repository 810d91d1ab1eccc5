"""Replay benchmark: fold a synthetic journal through every projection.

`bench.py replay [--json] [--events N] [--batch N] [--seed N] [--profile]` prints
`events_per_s` (events folded per second of folding time, all projections together),
`fold_s`, `events_per_cpu_s` (the same per second of this process's CPU time, steadier
on a shared machine), `peak_rss_mb` (the process's high-water mark: projections plus one batch of
records) and the state hashes. Records are generated batch by batch outside the timed part,
the way a journal reader hands them over; reading them from a real journal is a separate
figure.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import time
from typing import Any

from oms.domain.enums import AccountMode
from oms.projections import standard_set
from oms.projections.synthetic import HEDGING_ACCOUNT, session


def main(argv: list[str]) -> dict[str, Any]:
    """Run the replay and return its figures."""
    parser = argparse.ArgumentParser(prog="bench.py replay")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="pyinstrument the folding")
    args = parser.parse_args(argv)

    projections = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
    records = session(seed=args.seed, events=args.events)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
    fold_s = 0.0
    fold_cpu_s = 0.0
    generate_s = 0.0
    folded = 0
    gc.collect()
    while True:
        started = time.perf_counter()
        batch = list(itertools.islice(records, args.batch))
        generate_s += time.perf_counter() - started
        if not batch:
            break
        if profiler is not None:
            profiler.start()
        started = time.perf_counter()
        cpu_started = time.process_time()
        projections.apply_many(batch)
        fold_s += time.perf_counter() - started
        fold_cpu_s += time.process_time() - cpu_started
        if profiler is not None:
            profiler.stop()
        folded += len(batch)
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    book, positions, fills = projections.projections
    return {
        "events": folded,
        "events_per_s": round(folded / fold_s),
        "fold_s": round(fold_s, 3),
        "events_per_cpu_s": round(folded / fold_cpu_s),
        "generate_s": round(generate_s, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "orders": len(book.orders),  # type: ignore[attr-defined]
        "positions": len(positions.positions),  # type: ignore[attr-defined]
        "fills": len(fills.rows),  # type: ignore[attr-defined]
        "state_hashes": projections.state_hashes(),
    }
