"""Journal throughput: `bench.py journal --backend sqlite|postgres [--url URL] [--events N] --json`.

Figures (events per second, full durability unless --durability says otherwise):
- append_tx1_per_s: one event per append, each awaited before the next (one commit each);
- append_grouped_per_s: --producers asyncio tasks, each appending one event at a time and
  awaiting its durable acknowledgement (group commit shares the fsyncs); run as the engine
  runs its loop (`oms.engine.runtime.run`: uvloop when installed, young-generation
  collections less often);
- replay_per_s: read_all from position 0, payloads decoded into dicts;
- sqlite_floor_per_s (sqlite): the same rows as the grouped run, prebuilt, inserted by bare
  sqlite3 into the migrated schema in transactions of --producers events (one per stream, as
  the grouped run's batches are) with the journal's pragmas: what SQLite itself allows on
  this disk with no journal code at all, the ceiling for append_grouped_per_s;
- --streams long (default) gives each producer one stream for the whole run, SQLite's worst
  case: every commit dirties one leaf of the (stream_id, version) index per producer;
  --streams orders starts a new stream every 4 events, ids ordered by time, as the engine's
  order streams are;
- append_multiprocess_per_s (postgres): --processes writer processes, each with --producers
  tasks as above, all on one database.
Each figure also comes as `..._cpu_per_s`: events per CPU second of the benchmarking
process(es) (`time.process_time`, all threads), which a busy machine distorts less.
PostgreSQL: --url or OMS_PG_URL names the server; a fresh database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from journal import AsyncJournal, Journal, NewEvent, migrate
from journal.backends import COLUMNS
from journal.codec import encode_object
from oms.engine.runtime import loop_kind, run

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def payload(n: int) -> dict[str, Any]:
    """About 200 bytes of canonical JSON, shaped like an order event."""
    return {
        "account": 51234567,
        "client_order_id": f"c-{n:012d}-strategy-alpha",
        "comment": "bench",
        "magic": 777001,
        "price": 1.08765 + n % 100 * 1e-5,
        "side": "buy" if n % 2 else "sell",
        "symbol": "EURUSD",
        "type": "limit",
        "volume": 0.25,
        "ts_signal_ns": 1_790_000_000_000_000_000 + n,
    }


def _event(n: int) -> NewEvent:
    return NewEvent("OrderSubmitted", payload(n))


ORDER_EVENTS = 4  # events per order-shaped stream (submitted, accepted, partial fill, fill)
Rates = tuple[float, float]  # (events per wall second, events per CPU second of this process)


def _rates(count: int, wall_started: float, cpu_started: float) -> Rates:
    """Events per wall second and per CPU second (all threads of this process)."""
    wall = time.perf_counter() - wall_started
    cpu = time.process_time() - cpu_started
    return count / wall, count / cpu if cpu > 0 else float("inf")


def bench_tx1(url: str, count: int, durability: str) -> Rates:
    with Journal.open(url, durability=durability) as journal:  # type: ignore[arg-type]
        started, cpu = time.perf_counter(), time.process_time()
        for n in range(count):
            journal.append(f"tx1-{n % 100}", [_event(n)])
        return _rates(count, started, cpu)


def stream_name(shape: str, tag: str, producer: int, producers: int, n: int) -> str:
    """The stream of a producer's n-th event: its own stream, or a new order every 4 events."""
    if shape == "long":
        return f"{tag}-{producer}"
    return f"{tag}-o{(n // ORDER_EVENTS) * producers + producer:012d}"


async def _grouped(url: str, count: int, producers: int, durability: str, tag: str,
                   shape: str) -> Rates:
    journal = await AsyncJournal.open(url, durability=durability)  # type: ignore[arg-type]
    try:
        per_producer = count // producers

        async def produce(index: int) -> None:
            for n in range(per_producer):
                stream = stream_name(shape, tag, index, producers, n)
                await journal.append(stream, [_event(n)])

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(produce(i) for i in range(producers)))
        return _rates(per_producer * producers, started, cpu)
    finally:
        await journal.close()


def bench_grouped(url: str, count: int, producers: int, durability: str, tag: str = "g",
                  shape: str = "long") -> Rates:
    return run(_grouped(url, count, producers, durability, tag, shape))


def bench_replay(url: str) -> tuple[Rates, int]:
    with Journal.open(url) as journal:
        started, cpu = time.perf_counter(), time.process_time()
        count = 0
        for recorded in journal.read_all():
            count += 1
            if recorded.payload is None:  # touch the decoded payload
                raise AssertionError
        return _rates(count, started, cpu), count


def bench_sqlite_floor(url: str, count: int, producers: int, durability: str,
                       shape: str = "long") -> Rates:
    """Bare sqlite3, prebuilt rows, one transaction per round of one event per stream."""
    import sqlite3

    synchronous = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}[durability]
    conn = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA cache_size=-65536")
        (head,) = conn.execute("SELECT COALESCE(MAX(position), 0) FROM journal_events").fetchone()
        rounds = count // producers
        batches = []
        position = head
        for version in range(1, rounds + 1):
            batch = []
            for stream in range(producers):
                position += 1
                text = encode_object(payload(position), "payload")
                digest = f"{position:064x}"
                name = stream_name(shape, "floor", stream, producers, version - 1)
                number = version if shape == "long" else (version - 1) % ORDER_EVENTS + 1
                batch.append((position, name, number, f"floor-{position:026d}",
                              "OrderSubmitted", 1, text, "{}", time.time_ns(), digest, digest))
            batches.append(batch)
        sql = (f"INSERT INTO journal_events ({COLUMNS}) VALUES "
               f"({','.join('?' * len(batches[0][0]))})")
        started, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, batch)
            conn.execute("COMMIT")
        return _rates(rounds * producers, started, cpu)
    finally:
        conn.close()


def _process_main(url: str, count: int, producers: int, durability: str, tag: str,
                  barrier: Any) -> tuple[float, float, float, int]:
    async def main() -> tuple[float, float, float, int]:
        journal = await AsyncJournal.open(url, durability=durability)  # type: ignore[arg-type]
        per_producer = count // producers

        async def produce(index: int) -> None:
            for n in range(per_producer):
                await journal.append(f"{tag}-{index}", [_event(n)])

        await asyncio.to_thread(barrier.wait)
        started, cpu = time.time(), time.process_time()
        await asyncio.gather(*(produce(i) for i in range(producers)))
        ended, cpu = time.time(), time.process_time() - cpu
        await journal.close()
        return started, ended, cpu, per_producer * producers

    return run(main())


def bench_processes(url: str, count: int, processes: int, producers: int,
                    durability: str) -> Rates:
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(processes)
    with context.Pool(processes) as pool:
        runs = [
            pool.apply_async(_process_main,
                             (url, count // processes, producers, durability, f"mp{i}", barrier))
            for i in range(processes)
        ]
        results = [run.get() for run in runs]
    started = min(r[0] for r in results)
    ended = max(r[1] for r in results)
    events = sum(r[3] for r in results)
    return events / (ended - started), events / sum(r[2] for r in results)


@contextmanager
def fresh_database(backend: str, url: str | None) -> Iterator[str]:
    """A migrated, empty journal database, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="journal-bench-") as folder:
            target = f"sqlite:///{Path(folder) / 'bench.db'}"
            migrate(target)
            yield target
        return
    server = sa.make_url(url or os.environ.get("OMS_PG_URL") or DEFAULT_PG_URL)
    server = server.set(drivername="postgresql+psycopg")
    name = f"journal_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        target = server.set(database=name).render_as_string(hide_password=False)
        migrate(target)
        yield target
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main(argv: list[str]) -> dict[str, Any]:
    """Run the journal benchmarks and return their figures."""
    parser = argparse.ArgumentParser(prog="bench.py journal")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", default=None, help="PostgreSQL server URL")
    parser.add_argument("--events", type=int, default=64_000, help="events per grouped run")
    parser.add_argument("--tx1-events", type=int, default=2_000)
    parser.add_argument("--producers", type=int, default=64)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--durability", choices=["full", "normal", "off"], default="full")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; median kept")
    parser.add_argument("--streams", choices=["long", "orders"], default="long",
                        help="grouped and floor runs: one stream per producer, or order-shaped "
                        f"streams of {ORDER_EVENTS} events with time-ordered ids")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    figures: dict[str, Any] = {"backend": args.backend, "durability": args.durability,
                               "producers": args.producers, "streams": args.streams,
                               "loop": loop_kind(),
                               "load_average": os.getloadavg()[0]}

    def record(name: str, runs: list[Rates]) -> None:
        """Medians of the runs: `name` per wall second, `name`_cpu per CPU second."""
        figures[f"{name}_per_s"] = round(statistics.median(r[0] for r in runs))
        figures[f"{name}_cpu_per_s"] = round(statistics.median(r[1] for r in runs))

    with fresh_database(args.backend, args.url) as url:
        record("append_tx1", [bench_tx1(url, args.tx1_events, args.durability)
                              for _ in range(args.repeat)])
        record("append_grouped", [
            bench_grouped(url, args.events, args.producers, args.durability, f"g{i}",
                          args.streams)
            for i in range(args.repeat)])
        if args.backend == "postgres" and args.processes > 0:
            figures["processes"] = args.processes
            record("append_multiprocess", [
                bench_processes(url, args.events, args.processes, args.producers,
                                args.durability) for _ in range(args.repeat)])
        replays = [bench_replay(url) for _ in range(args.repeat)]
        record("replay", [r[0] for r in replays])
        figures["events"] = replays[0][1]
    if args.backend == "sqlite":
        # Databases of their own: the floor's rows would break the journal's hash chain.
        floors = []
        for _ in range(args.repeat):
            with fresh_database("sqlite", None) as floor_url:
                floors.append(bench_sqlite_floor(floor_url, args.events, args.producers,
                                                 args.durability, args.streams))
        record("sqlite_floor", floors)
    return figures
