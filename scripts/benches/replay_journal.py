"""Replay from a real journal: `bench.py replay_journal [--db PATH] [--breakdown] --json`.

`bench.py replay` folds records already in memory; this one starts where a restart starts:
a SQLite journal file of N events (the same seeded synthetic session, appended once and
kept in the temporary folder for later runs). A fresh process reads it from position 0 in
batches (`Journal.column_batches`, the rebuild's lighter read; the next batch fetched on the
journal's reader thread meanwhile), decodes every row and folds it into every projection
(order book, positions, fills). Figures: `events_per_s` (read + decode + fold, wall time),
`read_columns_per_s` (that read + decode alone), `read_events_per_s` (`read_all`, every
column as RecordedEvents), `peak_rss_mb` of that process, and the state hashes (they differ from
`bench.py replay`'s because the journal stamps its own `recorded_at_ns` on every row).

The same process then replays the way a start without snapshots does, through the engine:
`projector_*` is `Projector.catch_up()` from 0 (standard set, a real checkpoint store) and
`recovery_*` is `Recovery.replay()` from 0 (the order manager's working state), and
`startup_*` both from one read of the journal, as `Engine.start` does it. Every rate
comes as wall time and as CPU time of the process (`*_per_cpu_s`), with the load average
seen at the start of the run (`load_avg_1m`): the machine is shared, so CPU time is the
figure to compare between runs. `--breakdown` then times the folds alone over the same
decoded batches read beforehand (`fold_alone_per_s`), and again with their payload keys
interned (`fold_alone_interned_keys_per_s`), to split the rebuild's cost into read + decode
and fold.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from journal import AsyncJournal, Journal, NewEvent, migrate

BUILD_CHUNK = 4_096
# Rows per read: a decoded batch of a few thousand order events still fits the CPU's caches
# while it is folded; 20,000 did not (read and fold both ran about a third slower).
READ_BATCH = 2_000


async def _build(url: str, events: int, seed: int) -> None:
    from oms.projections.synthetic import session

    journal = await AsyncJournal.open(url, max_batch_events=BUILD_CHUNK)
    try:
        pending = []
        for record in session(seed=seed, events=events):
            pending.append(journal.append(record.stream_id, [
                NewEvent(record.type, record.payload, record.event_id, record.metadata)]))
            if len(pending) == BUILD_CHUNK:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await journal.close()


def ensure_journal(path: Path, events: int, seed: int) -> tuple[str, float]:
    """The journal file of the synthetic session (built when missing); seconds spent building."""
    url = f"sqlite:///{path}"
    if path.exists():
        with Journal.open(url) as journal:
            if journal.head().position == events:
                return url, 0.0
        path.unlink()
    started = time.perf_counter()
    migrate(url)
    asyncio.run(_build(url, events, seed))
    return url, time.perf_counter() - started


async def _engine_paths(url: str, store_url: str) -> dict[str, Any]:
    """Projector.catch_up and Recovery.replay from position 0, timed (wall and CPU)."""
    from oms.domain.enums import AccountMode
    from oms.engine.listener import StatusListener
    from oms.engine.manager import OrderManager
    from oms.engine.projector import Projector
    from oms.engine.recovery import Recovery, RecoveryReport
    from oms.engine.router import OrderRouter
    from oms.projections import standard_set
    from oms.projections.store import CheckpointStore
    from oms.projections.synthetic import HEDGING_ACCOUNT

    out: dict[str, Any] = {}
    migrate(store_url)
    store = CheckpointStore.open(store_url)
    journal = await AsyncJournal.open(url, read_batch_size=READ_BATCH)
    try:
        projector = Projector(journal, store, standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING}),
                              snapshot_every=10**9)
        started, cpu = time.perf_counter(), time.process_time()
        folded = await projector.catch_up()
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        out["projector_events_per_s"] = round(folded / wall_s)
        out["projector_events_per_cpu_s"] = round(folded / cpu_s)
        out["projector_hashes_equal"] = projector.state_hashes()
        del projector
        manager = OrderManager(journal, OrderRouter({}, []))
        report = RecoveryReport()
        started, cpu = time.perf_counter(), time.process_time()
        await Recovery(manager, StatusListener(manager)).replay(report)
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        out["recovery_events_per_s"] = round(report.replayed / wall_s)
        out["recovery_events_per_cpu_s"] = round(report.replayed / cpu_s)
        del manager
        projector = Projector(journal, store, standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING}),
                              snapshot_every=10**9)
        manager = OrderManager(journal, OrderRouter({}, []))
        report = RecoveryReport()
        started, cpu = time.perf_counter(), time.process_time()
        await Recovery(manager, StatusListener(manager), projector=projector).replay(report)
        wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        out["startup_events_per_s"] = round(report.replayed / wall_s)
        out["startup_events_per_cpu_s"] = round(report.replayed / cpu_s)
    finally:
        await journal.close()
        store.close()
    return out


def _fold_alone(url: str) -> dict[str, Any]:
    """The folds by themselves over this journal's decoded batches, all read beforehand.

    Splits the rebuild's cost: the same payload dicts the rebuild folds (orjson's, whose keys
    are not the interned strings the folds look up with), then the same batches with their
    payloads' keys interned, which is what the folds cost over ideal dicts.
    """
    import sys

    from oms.domain.enums import AccountMode
    from oms.projections import standard_set
    from oms.projections.base import gc_paused
    from oms.projections.synthetic import HEDGING_ACCOUNT

    def fold_per_s(batches: list[Any], count: int) -> int:
        projections = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
        started = time.perf_counter()
        for columns in batches:
            projections.apply_columns(columns)
        return round(count / (time.perf_counter() - started))

    with gc_paused(), Journal.open(url, read_batch_size=READ_BATCH) as journal:
        batches = [columns for columns, _ in journal.column_batches()]
        count = sum(len(columns) for columns in batches)
        out = {"fold_alone_per_s": fold_per_s(batches, count)}
        intern = sys.intern
        for columns in batches:
            payloads = columns.payloads
            for i, payload in enumerate(payloads):
                payloads[i] = {intern(key): value for key, value in payload.items()}
        out["fold_alone_interned_keys_per_s"] = fold_per_s(batches, count)
    return out


def _measure(url: str, store_url: str, out: Any, breakdown: bool = False) -> None:
    """Runs in a fresh process so its peak memory is the replay's own."""
    from oms.domain.enums import AccountMode
    from oms.projections import standard_set
    from oms.projections.base import gc_paused
    from oms.projections.synthetic import HEDGING_ACCOUNT

    load = os.getloadavg()[0]
    with Journal.open(url, read_batch_size=READ_BATCH) as journal:
        started = time.perf_counter()
        cpu = time.process_time()
        with gc_paused():
            count = sum(1 for _ in journal.read_all())
        read_s = time.perf_counter() - started
        read_cpu_s = time.process_time() - cpu
        started = time.perf_counter()
        cpu = time.process_time()
        with gc_paused():
            columns_count = sum(len(columns) for columns, _ in journal.column_batches())
        columns_s = time.perf_counter() - started
        columns_cpu_s = time.process_time() - cpu
        projections = standard_set({HEDGING_ACCOUNT: AccountMode.HEDGING})
        started = time.perf_counter()
        cpu = time.process_time()
        with gc_paused():  # the fold creates no cycles; sweeps would re-walk the live state
            for columns, _ in journal.column_batches():  # the next batch is read meanwhile
                projections.apply_columns(columns)
        replay_s = time.perf_counter() - started
        replay_cpu_s = time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hashes = projections.state_hashes()
    del projections
    figures: dict[str, Any] = {
        "events": count,
        "load_avg_1m": round(load, 2),
        "events_per_s": round(count / replay_s),
        "events_per_cpu_s": round(count / replay_cpu_s),
        "replay_s": round(replay_s, 3),
        "read_events_per_s": round(count / read_s),
        "read_events_per_cpu_s": round(count / read_cpu_s),
        "read_columns_per_s": round(columns_count / columns_s),
        "read_columns_per_cpu_s": round(columns_count / columns_cpu_s),
        "peak_rss_mb": round(peak_mb, 1),
        "state_hashes": hashes,
    }
    engine = asyncio.run(_engine_paths(url, store_url))
    engine["projector_hashes_equal"] = engine["projector_hashes_equal"] == hashes
    figures.update(engine)
    if breakdown:  # last: holding every batch at once would set the peak memory
        figures.update(_fold_alone(url))
    out.put(figures)


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="bench.py replay_journal")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=None,
                        help="journal file to use (built when missing or of another size)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the folds alone over the journal's decoded batches")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    path = args.db or Path(tempfile.gettempdir()) / f"oms-replay-{args.events}-{args.seed}.db"
    url, build_s = ensure_journal(path, args.events, args.seed)
    ctx = multiprocessing.get_context("spawn")
    runs = []
    for i in range(args.repeat):
        store_path = Path(tempfile.gettempdir()) / f"oms-replay-store-{os.getpid()}-{i}.db"
        store_path.unlink(missing_ok=True)
        queue = ctx.Queue()
        proc = ctx.Process(target=_measure, args=(url, f"sqlite:///{store_path}", queue,
                                                    args.breakdown))
        proc.start()
        runs.append(queue.get())
        proc.join()
        store_path.unlink(missing_ok=True)
    runs.sort(key=lambda r: r["events_per_s"])
    median = dict(runs[len(runs) // 2])
    median["events_per_s_runs"] = [r["events_per_s"] for r in runs]
    median["events_per_cpu_s_runs"] = [r["events_per_cpu_s"] for r in runs]
    median["projector_events_per_cpu_s_runs"] = [r["projector_events_per_cpu_s"] for r in runs]
    median["recovery_events_per_cpu_s_runs"] = [r["recovery_events_per_cpu_s"] for r in runs]
    median["startup_events_per_cpu_s_runs"] = [r["startup_events_per_cpu_s"] for r in runs]
    median["build_s"] = round(build_s, 1)
    median["journal_mb"] = round(path.stat().st_size / 2**20, 1)
    return median
