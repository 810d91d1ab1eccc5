"""Order pipeline: `bench.py pipeline [--orders N] [--in-flight K] [--no-log] --json`.

A strategy keeps K orders in flight through the engine (validate, risk, durable journal
append, background send) against the in-process simulated terminal with zero latency
(calls run inline), on a SQLite journal with full durability, every event also written to
the operators' JSON-lines log as a running engine does (`--no-log` leaves the log out). The
simulated market steps
once every 16 orders so the book the market orders take from refills. Half the orders are market
orders (submitted, accepted, filled), half are limit orders away from the market that are
canceled once accepted (submitted, accepted, cancel requested, canceled).

Figures: `orders_per_s` and `events_per_s` end to end (an order counts when its last event
is journaled), `p50_us`/`p99_us` from entering place() to the broker send (monotonic stage
stamps of the journaled events), `journal_p50_us` the part of that until the intent's
durable commit came back, `commit_to_send_p50_us` the rest (the background task starting
and building the request), the process's CPU time per order (all threads; the event-loop
thread alone in `loop_cpu_us_per_order`, every other thread, mostly the journal writer, in
`other_cpu_us_per_order`), `loop_busy_share` (the loop thread's CPU time over the wall time:
what is missing is the loop waiting, mostly for commits) and the journal's commits per order.

Latency under load and without it are different questions. With K orders in flight the
loop is closed, so by Little's law an order lives K / throughput on average
(`mean_order_life_us`, 12.8 ms for 64 at 5,000/s), and place→send holds the intent's
durable commit plus the wait behind the other orders' work on the one event loop: the
64-in-flight percentiles measure queueing, not the path. `unloaded_p50_us` /
`unloaded_p99_us` (and `unloaded_journal_p50_us`) come from a separate run with one order
in flight (`--unloaded-orders`, 1,000 by default, 0 skips it): the path itself, the durable
commit included.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from journal import AsyncJournal, migrate
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.engine import eventlog
from oms.engine.manager import OrderManager
from oms.engine.router import OrderRouter
from oms.engine.runtime import loop_kind, run
from oms.engine.updates import OrderUpdate

DONE = frozenset({"order.filled", "order.canceled", "order.rejected", "order.denied"})
FIRST = DONE | {"order.accepted"}


def percentile(values: list[int], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


async def session(url: str, orders: int, in_flight: int, durability: str) -> dict[str, Any]:
    terminal = SimulatedTerminal(seed=1, margin_mode="netting",
                                 start_msc=time.time_ns() // 10**6, balance=1e9)
    broker = Mt5Broker(InlineWorker(SameObject(terminal)), LoginArgs(),
                       clock=lambda: terminal.market.time_msc / 1000)
    await broker.connect()
    journal = await AsyncJournal.open(url, durability=durability)  # type: ignore[arg-type]
    manager = OrderManager(journal, OrderRouter.single(broker))
    manager.mark_ready()
    loop = asyncio.get_running_loop()
    waiting: dict[str, tuple[frozenset[str], asyncio.Future[str]]] = {}
    seen: list[str] = []  # every update's kind; figures are worked out after the timing
    accepted: list[dict[str, Any]] = []  # the acknowledgements' stage stamps

    def on_update(update: OrderUpdate) -> None:
        kind = update.kind
        seen.append(kind)
        if kind == "order.accepted":
            accepted.append(update.metadata["stages"])
        wanted = waiting.get(update.client_order_id)
        if wanted is not None and kind in wanted[0] and not wanted[1].done():
            wanted[1].set_result(kind)

    manager.on_update(on_update)
    tick = terminal.symbol_info_tick("EURUSD")
    assert tick is not None
    far_below = round(tick.bid - 0.01, 5)
    per_worker = max(1, orders // in_flight)

    step = terminal.market.step
    placed_count = 0

    async def worker(n: int) -> None:
        nonlocal placed_count
        for i in range(per_worker):
            placed_count += 1
            if placed_count % 16 == 0:
                step()  # the market moves on and its book refills, as a feed would
            side = "buy" if (n + i) % 2 else "sell"
            if i % 2:
                cmd = {"account": "B1", "strategy": "bench", "symbol": "EURUSD", "side": side,
                       "order_type": "market", "volume": 0.1}
            else:
                price = far_below if side == "buy" else round(tick.ask + 0.01, 5)
                cmd = {"account": "B1", "strategy": "bench", "symbol": "EURUSD", "side": side,
                       "order_type": "limit", "volume": 0.1, "price": price,
                       "filling": "return"}
            future: asyncio.Future[str] = loop.create_future()
            coid = await manager.place(cmd)
            limit = cmd["order_type"] == "limit"
            waiting[coid] = (FIRST if limit else DONE, future)
            kind = await future
            if kind == "order.accepted":
                future = loop.create_future()
                waiting[coid] = (DONE, future)
                await manager.cancel({"client_order_id": coid})
                await future
            del waiting[coid]

    started = time.perf_counter()
    cpu_started = time.process_time()
    loop_cpu_started = time.thread_time()
    await asyncio.gather(*(worker(n) for n in range(in_flight)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    loop_cpu = time.thread_time() - loop_cpu_started
    await manager.drain()
    commits = journal.journal.writer.commits
    events = len(seen)
    kinds = dict(Counter(seen))
    send_ns, journal_ns, handoff_ns = [], [], []
    for stages in accepted:
        submit = stages["submit"]["mono_ns"]
        sent = stages["broker_send"]["mono_ns"]
        journaled = stages["journal"]["mono_ns"]
        send_ns.append(sent - submit)
        journal_ns.append(journaled - submit)
        handoff_ns.append(sent - journaled)
    await journal.close()
    placed = per_worker * in_flight
    return {
        "orders": placed,
        "orders_per_s": round(placed / elapsed),
        "events_per_s": round(events / elapsed),
        "events_per_order": round(events / placed, 2),
        "p50_us": round(percentile(send_ns, 0.5) / 1000, 1),
        "p99_us": round(percentile(send_ns, 0.99) / 1000, 1),
        "journal_p50_us": round(percentile(journal_ns, 0.5) / 1000, 1),
        "journal_p99_us": round(percentile(journal_ns, 0.99) / 1000, 1),
        "commit_to_send_p50_us": round(percentile(handoff_ns, 0.5) / 1000, 1),
        "commit_to_send_p99_us": round(percentile(handoff_ns, 0.99) / 1000, 1),
        "cpu_us_per_order": round(cpu / placed * 1e6, 1),
        "loop_cpu_us_per_order": round(loop_cpu / placed * 1e6, 1),
        "other_cpu_us_per_order": round((cpu - loop_cpu) / placed * 1e6, 1),
        "loop_busy_share": round(loop_cpu / elapsed, 3),
        "orders_per_cpu_s": round(placed / cpu),
        "commits_per_order": round(commits / placed, 3),
        "events_by_type": kinds,
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="bench.py pipeline")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-log", dest="log", action="store_false",
                        help="leave out the operators' JSON-lines log (on by default)")
    parser.add_argument("--durability", choices=("full", "normal", "off"), default="full",
                        help="journal durability; anything but full is for diagnosis only")
    parser.add_argument("--unloaded-orders", type=int, default=1000,
                        help="orders of the one-in-flight latency run (0 skips it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = [_run(args.orders, args.in_flight, args) for _ in range(args.repeat)]
    best = sorted(runs, key=lambda r: r["orders_per_s"])[len(runs) // 2]
    figures = {
        **best,
        "orders_per_s_runs": [r["orders_per_s"] for r in runs],
        "p99_us_runs": [r["p99_us"] for r in runs],
        "median_of": len(runs),
        "in_flight": args.in_flight,
        "mean_order_life_us": round(args.in_flight / best["orders_per_s"] * 1e6, 1),
        "loop": loop_kind(),
        "log_file": args.log,
        "durability": args.durability,
        "p50_us_median": statistics.median(r["p50_us"] for r in runs),
    }
    if args.unloaded_orders > 0:
        alone = _run(args.unloaded_orders, 1, args)
        figures.update(
            unloaded_orders=alone["orders"],
            unloaded_p50_us=alone["p50_us"],
            unloaded_p99_us=alone["p99_us"],
            unloaded_journal_p50_us=alone["journal_p50_us"],
            unloaded_commit_to_send_p50_us=alone["commit_to_send_p50_us"],
        )
    return figures


def _run(orders: int, in_flight: int, args: argparse.Namespace) -> dict[str, Any]:
    """One session on a fresh journal."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'journal.db'}"
        migrate(url)
        handlers = (eventlog.configure(Path(tmp) / "oms.jsonl", console=False)
                    if args.log else [])
        try:
            return run(session(url, orders, in_flight, args.durability))
        finally:
            eventlog.remove(handlers)
