"""Reconciliation speed: one run over 10,000 open orders, 2,000 positions and 50,000 deals.

`bench.py reconcile --json [--open-orders N] [--positions N] [--deals N] [--repeat R]`

A simulated hedging terminal is filled with the orders and deals, and a SQLite journal
(durability full for the timed runs) with the matching events. `reconcile_s` is one
`Reconciler.run(full=True)` with its journal view caught up, as in a live process: the
whole broker history read on the adapter's worker (open orders, positions, all 50,000
deals and every finished order), the diff, and the journaling of the outcome;
`incremental_reconcile_s` is the next run, which reads only what followed the watermark.
`disturbed_reconcile_s` is the same full run after 1% of the orders,
deals and positions were disturbed at the broker (fills nobody journaled, orders canceled
or lost by the broker, deals re-priced, positions changed). Figures are medians of R runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from journal import Journal, NewEvent, migrate
from journal.writer import ThreadWaiter
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.domain.events import Event, OrderAccepted, OrderFilled, OrderSubmitted
from oms.domain.ids import client_order_id, deal_event_id, magic_for, order_stream_id
from oms.reconcile.diff import diff
from oms.reconcile.reconciler import Reconciler
from oms.reconcile.snapshot import TerminalSnapshotSource

ACCOUNT, STRATEGY = "A1", "bench"
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")
ENTRIES = {0: "in", 1: "out", 2: "inout", 3: "out_by"}


def _new(event: Event, event_id: str | None = None) -> NewEvent:
    return NewEvent(event.TYPE, event.to_payload(), event_id, {}, event.SCHEMA_VERSION)


class World:
    """The terminal and the journal, built to the requested size."""

    def __init__(self, path: Path, open_orders: int, positions: int, deals: int) -> None:
        self.url = f"sqlite:///{path}"
        migrate(self.url)
        self.terminal = SimulatedTerminal(
            seed=1, margin_mode="hedging", limit_orders=open_orders + 10
        )
        self.terminal.initialize()
        self.seq = 0
        self.pending: list[tuple[str, list[NewEvent]]] = []
        self.resting: list[int] = []
        self.opened: list[int] = []
        self.deal_tickets: list[int] = []
        with Journal.open(self.url, durability="off") as journal:
            self.journal = journal
            # Each round trip is two deals; the positions left open add one deal each.
            closes = (deals - positions) // 2
            for i in range(closes + positions):
                self._market(SYMBOLS[i % 3], "buy" if i % 2 else "sell", 0.01 * (1 + i % 3))
                if i < closes:
                    ticket = self.opened.pop()
                    pos = self.terminal.positions_get(ticket=ticket)[0]
                    self._market(pos.symbol, "sell" if pos.type == 0 else "buy", pos.volume,
                                 position=ticket)  # fmt: skip
                if i % 10 == 9:
                    self.terminal.market.step()  # fresh liquidity for the next orders
                if len(self.pending) >= 2000:
                    self._flush()
            for i in range(open_orders):
                self._limit(SYMBOLS[i % 3], "buy" if i % 2 else "sell")
                if len(self.pending) >= 2000:
                    self._flush()
            self._flush()

    def _coid(self) -> str:
        coid = client_order_id(ACCOUNT, STRATEGY, self.seq)
        self.seq += 1
        return coid

    def _market(self, symbol: str, side: str, volume: float, position: int | None = None) -> None:
        mt5 = self.terminal
        coid = self._coid()
        tick = mt5.symbol_info_tick(symbol)
        buy = side == "buy"
        request: dict[str, Any] = {
            "action": 1, "symbol": symbol, "volume": float(volume), "type": 0 if buy else 1,
            "price": tick.ask if buy else tick.bid, "type_filling": 1, "deviation": 100,
            "magic": magic_for(ACCOUNT, STRATEGY), "comment": coid,
        }  # fmt: skip
        if position is not None:
            request["position"] = position
        result = mt5.order_send(request)
        if result is None or result.retcode != 10009:
            raise SystemExit(f"market order refused: {result or mt5.last_error()}")
        if position is None:
            self.opened.append(result.order)
        events = [
            _new(OrderSubmitted(
                client_order_id=coid, account=ACCOUNT, strategy=STRATEGY, symbol=symbol,
                side=side, order_type="market", volume=float(volume),  # type: ignore[arg-type]
                magic=request["magic"], position_id=position,
            )),
            _new(OrderAccepted(client_order_id=coid, broker_order_id=result.order)),
        ]  # fmt: skip
        for deal in mt5.history_deals_get(ticket=result.order):
            self.deal_tickets.append(deal.ticket)
            events.append(
                _new(OrderFilled(
                    client_order_id=coid, deal_ticket=deal.ticket, account=ACCOUNT,
                    symbol=deal.symbol, side="buy" if deal.type == 0 else "sell",  # type: ignore[arg-type]
                    volume=deal.volume, price=deal.price, fill_ns=deal.time_msc * 1_000_000,
                    position_id=deal.position_id, entry=ENTRIES[deal.entry],  # type: ignore[arg-type]
                ), deal_event_id(ACCOUNT, deal.ticket))
            )  # fmt: skip
        self.pending.append((order_stream_id(coid), events))

    def _limit(self, symbol: str, side: str) -> None:
        mt5 = self.terminal
        coid = self._coid()
        tick = mt5.symbol_info_tick(symbol)
        point = mt5.symbol_info(symbol).point
        buy = side == "buy"
        price = round(tick.bid - 800 * point if buy else tick.ask + 800 * point, 5)
        result = mt5.order_send({
            "action": 5, "symbol": symbol, "volume": 0.02, "type": 2 if buy else 3,
            "price": price, "type_filling": 2, "type_time": 0,
            "magic": magic_for(ACCOUNT, STRATEGY), "comment": coid,
        })  # fmt: skip
        if result is None or result.retcode != 10008:
            raise SystemExit(f"limit order refused: {result or mt5.last_error()}")
        self.resting.append(result.order)
        self.pending.append((order_stream_id(coid), [
            _new(OrderSubmitted(
                client_order_id=coid, account=ACCOUNT, strategy=STRATEGY, symbol=symbol,
                side=side, order_type="limit", volume=0.02, price=price,  # type: ignore[arg-type]
                magic=magic_for(ACCOUNT, STRATEGY),
            )),
            _new(OrderAccepted(client_order_id=coid, broker_order_id=result.order)),
        ]))  # fmt: skip

    def _flush(self) -> None:
        requests, waiters = [], []
        for stream, events in self.pending:
            request = self.journal.prepare(stream, events, None)
            waiter = ThreadWaiter()
            request.waiter = waiter
            requests.append(request)
            waiters.append(waiter)
        self.journal.submit_many(requests)
        for waiter in waiters:
            waiter.wait()
        self.pending.clear()

    def disturb(self, share: float) -> dict[str, int]:
        """Disturb `share` of the orders, deals and positions at the broker."""
        ledger = self.terminal._ledger
        faults = self.terminal.faults
        n_orders = max(3, int(len(self.resting) * share))
        chosen = self.resting[:n_orders]
        third = n_orders // 3
        for ticket in chosen[:third]:
            faults.fill_order(ticket)
        for ticket in chosen[third : 2 * third]:
            faults.cancel_order(ticket)
        for ticket in chosen[2 * third :]:
            faults.vanish_order(ticket)
        n_deals = max(1, int(len(self.deal_tickets) * share))
        wanted = set(self.deal_tickets[: n_deals * 7 : 7])
        for i, deal in enumerate(ledger.deals):
            if deal.ticket in wanted:
                fields = list(tuple(deal))
                fields[10] = round(deal.price * 1.001, 5)
                ledger.deals[i] = type(deal)(tuple(fields))
        positions = list(ledger.positions.values())
        n_positions = max(1, int(len(positions) * share))
        for pos in positions[:n_positions]:
            pos.volume += 1
        return {"orders": n_orders, "deals": len(wanted), "positions": n_positions}


async def _reconciler(world: World, journal: Journal) -> Reconciler:
    worker = InlineWorker(SameObject(world.terminal))
    await Mt5Broker(worker).connect()
    return Reconciler(journal, TerminalSnapshotSource(worker), account=ACCOUNT, hedging=True)


async def _timed_run(world: World, journal: Journal) -> dict[str, Any]:
    """One fresh reconciler, its view caught up first as in a live process: the catch-up,
    the diff alone, the full-history run (wall and CPU) and the incremental run after it."""
    reconciler = await _reconciler(world, journal)
    t0 = time.perf_counter()
    reconciler.catch_up()
    catch_up = time.perf_counter() - t0
    snapshot = await reconciler.source.snapshot(0, 0, reconciler.view.open_tickets(ACCOUNT))
    t0 = time.perf_counter()
    diff(reconciler.view, snapshot, account=ACCOUNT, hedging=True)
    diff_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    report = await reconciler.run(full=True)
    run_s, run_cpu = time.perf_counter() - t0, time.process_time() - c0
    world.terminal.market.advance(60)  # a minute later: the next run reads only what is new
    t0 = time.perf_counter()
    await reconciler.run()
    incremental_s = time.perf_counter() - t0
    assert report is not None
    return {
        "catch_up": catch_up, "diff": diff_s, "run": run_s, "cpu": run_cpu,
        "incremental": incremental_s, "report": report,
    }  # fmt: skip


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 4)


def main(argv: list[str]) -> dict[str, Any]:
    """Build the world once, time clean runs, disturb 1%, time disturbed runs."""
    parser = argparse.ArgumentParser(prog="bench.py reconcile")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--open-orders", type=int, default=10_000)
    parser.add_argument("--positions", type=int, default=2_000)
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        world = World(Path(tmp) / "journal.db", args.open_orders, args.positions, args.deals)
        setup_s = time.perf_counter() - t0
        clean: list[dict[str, Any]] = []
        disturbed: list[dict[str, Any]] = []
        sizes = {
            "open_orders": len(world.terminal.orders_get()),
            "positions": len(world.terminal.positions_get()),
            "deals": len(world.deal_tickets),
        }
        with Journal.open(world.url) as journal:
            sizes["journal_events"] = journal.head().position
            for _ in range(args.repeat):
                clean.append(asyncio.run(_timed_run(world, journal)))
            counts = world.disturb(0.01)
            for _ in range(args.repeat):
                disturbed.append(asyncio.run(_timed_run(world, journal)))
        first = disturbed[0]["report"]
        return {
            **sizes,
            "setup_s": round(setup_s, 2),
            "reconcile_s": _median(clean, "run"),
            "reconcile_cpu_s": _median(clean, "cpu"),
            "diff_s": _median(clean, "diff"),
            "catch_up_s": _median(clean, "catch_up"),
            "incremental_reconcile_s": _median(clean, "incremental"),
            "clean_discrepancies": len(clean[0]["report"].detected),
            "disturbed": counts,
            "disturbed_reconcile_s": _median(disturbed, "run"),
            "disturbed_reconcile_cpu_s": _median(disturbed, "cpu"),
            "disturbed_diff_s": _median(disturbed, "diff"),
            "disturbed_discrepancies": len(first.detected),
            "disturbed_healed": first.healed,
            "broker_records": clean[0]["report"].broker_records,
            "repeat": args.repeat,
        }
