"""The engine process of `oms demo`: trades against the terminal the demo process serves.

Run by `oms demo` as `python -m oms.cli.demo_session PHASE URL PORT LOG`. It reaches the
simulated terminal over RPyC through the mt5linux client, as an engine reaches a Wine-side
terminal, so the terminal outlives this process. The `first` phase recovers an empty journal,
trades, goes through the faults and places a burst, then announces it and waits for the
SIGKILL; the `restart` phase is a fresh engine over the same journal: recovery, a start-up
reconciliation, more trading. It talks to the demo process in lines: `SAY <text>` is a step
of the story, `ASK <action> <args>` asks it to act on the terminal (move the market, inject a
fault) and waits for its answer on stdin, and `BURST <order ids>` marks the kill point.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from journal import AsyncJournal
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.worker import Mt5LinuxClient, ThreadWorker
from oms.engine import eventlog, runtime
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter
from oms.errors import OmsError
from oms.reconcile.lock import lock_for
from oms.reconcile.reconciler import Reconciler, RunReport
from oms.reconcile.schedule import reconcile_before_trading
from oms.reconcile.snapshot import TerminalSnapshotSource

ACCOUNT: Final = "A1"
STRATEGY: Final = "demo"
SYMBOL: Final = "EURUSD"

FIRST: Final = "first"
RESTART: Final = "restart"

SAY: Final = "SAY"
ASK: Final = "ASK"
BURST: Final = "BURST"

STEP: Final = "step"
"""Move the market on by `<steps>` ticks."""
FILL: Final = "fill"
"""Fill the working order `<client order id> <ticket>` at the terminal, behind our back."""
MANUAL_TRADE: Final = "manual_trade"
"""A trader's own order in the terminal."""
DROP_NEXT_ACK: Final = "drop_next_ack"
"""The next send executes, but its answer is lost."""
HOLD_ANSWERS: Final = "hold_answers"
"""Sends execute, but the terminal keeps their answers until the engine process is dead."""

TERMINAL_TIMEOUT_S: Final = 10.0


@dataclass
class Engine:
    """One engine process's worth of objects (they die with it)."""

    journal: AsyncJournal
    broker: Mt5Broker
    manager: OrderManager
    listener: StatusListener
    reconciler: Reconciler
    resting: list[str] = field(default_factory=list)


def tell(*parts: object) -> None:
    """One line to the demo process, flushed: it may be the last thing this process does."""
    print(*parts, flush=True)


async def ask(action: str, *args: object) -> str:
    """Have the demo process act on the terminal; returns once it has."""
    tell(ASK, action, *args)
    answer: str = await asyncio.to_thread(sys.stdin.readline)
    if not answer:
        raise OmsError(f"the demo process went away while asked to {action}")
    return answer.strip()


async def _engine(url: str, port: int) -> Engine:
    """Open the journal and connect to the served terminal, as a real engine would."""
    journal = await AsyncJournal.open(url)
    worker = ThreadWorker(Mt5LinuxClient("127.0.0.1", port, TERMINAL_TIMEOUT_S))
    broker = Mt5Broker(worker, LoginArgs())
    await broker.connect()
    manager = OrderManager(journal, OrderRouter.single(broker))
    reconciler = Reconciler(
        journal.journal, TerminalSnapshotSource(worker), account=ACCOUNT, hedging=True,
        lock=lock_for(url),
    )  # fmt: skip
    return Engine(journal, broker, manager, StatusListener(manager), reconciler)


def _order(kind: str, side: str, volume: float, **extra: Any) -> dict[str, Any]:
    return {"account": ACCOUNT, "strategy": STRATEGY, "symbol": SYMBOL, "side": side,
            "order_type": kind, "volume": volume, **extra}  # fmt: skip


async def _settle(engine: Engine, steps: int = 1) -> None:
    """Let sends finish, have the market move on, and let the listener journal what changed."""
    await engine.manager.drain()
    await ask(STEP, steps)
    await engine.listener.poll_once()
    await engine.manager.drain()


async def _reconcile(engine: Engine, label: str, report: RunReport | None) -> None:
    """Tell what a reconciliation found, then take in what it journaled."""
    if report is None:
        tell(SAY, f"{label}: another process was reconciling")
    else:
        kinds = ", ".join(
            f"{d.kind.value} ({'healed' if d.heals else 'alert'})" for d in report.detected
        )
        found = f" — {kinds}" if kinds else ""
        tell(SAY, f"{label}: {len(report.detected)} discrepancies{found}; "
             f"{report.open_discrepancies} left open")  # fmt: skip
    await engine.manager.catch_up()


async def _trade(engine: Engine) -> None:
    """The strategy: market, IOC, FOK and limit orders; modify some limits, cancel others."""
    manager = engine.manager
    point = float((await engine.broker.symbol(SYMBOL)).point)
    placed = 0
    for i in range(6):
        side = "buy" if i % 2 == 0 else "sell"
        await manager.place(_order("market", side, 0.1, filling=("ioc", "fok", "ioc")[i % 3]))
        placed += 1
        await _settle(engine)
    for i in range(8):
        quote = await engine.broker.quote(SYMBOL)
        assert quote is not None
        side = "buy" if i % 2 == 0 else "sell"
        away = (60 + 40 * i) * point
        price = round(quote.bid - away if side == "buy" else quote.ask + away, 5)
        engine.resting.append(
            await manager.place(_order("limit", side, 0.2, price=price, filling="return"))
        )
        placed += 1
    await _settle(engine)
    tell(SAY, f"placed {placed} orders: 6 market (IOC/FOK), 8 limit")
    for coid in engine.resting[:3]:
        order = manager.states.orders[coid]
        if order.is_open and order.price is not None:
            nudge = 20 * point if order.side == "buy" else -20 * point
            await manager.modify({"client_order_id": coid, "price": round(order.price - nudge, 5)})
    for coid in engine.resting[3:5]:
        if manager.states.orders[coid].is_open:
            await manager.cancel({"client_order_id": coid})
    await _settle(engine, steps=20)
    tell(SAY, "modified 3 limit orders, canceled 2; the market moved on for 20 steps")


async def _faults(engine: Engine) -> None:
    """A missed fill, a manual trade and a dropped acknowledgement; the reconciler heals."""
    manager = engine.manager
    working = [c for c in engine.resting if manager.states.orders[c].is_open]
    if working:
        ticket = manager.states.orders[working[-1]].broker_order_id
        assert ticket is not None
        await ask(FILL, working[-1], ticket)
    await ask(MANUAL_TRADE)
    await _reconcile(engine, "reconciler", await engine.reconciler.run(trigger="demo"))
    await ask(DROP_NEXT_ACK)
    coid = await manager.place(_order("market", "buy", 0.1, filling="ioc"))
    await _settle(engine)
    tell(SAY, f"the terminal executed {coid} but its answer was lost; the engine looked it up "
         f"instead of resending: {manager.states.orders[coid].status.value}")  # fmt: skip
    await _reconcile(engine, "reconciler", await engine.reconciler.run(trigger="demo"))


async def _burst(engine: Engine) -> None:
    """Place a burst whose answers the terminal holds, announce it, and wait for the kill."""
    await ask(HOLD_ANSWERS)
    burst = [await engine.manager.place(_order("market", side, 0.1, filling="ioc"))
             for side in ("buy", "sell", "buy")]  # fmt: skip
    tell(BURST, *burst)
    await asyncio.Future()  # never resolves: the demo process kills this one here


async def first_session(url: str, port: int) -> None:
    """Recover the empty journal, trade, go through the faults, die in the burst."""
    engine = await _engine(url, port)
    await Recovery(engine.manager, engine.listener).run()
    await _reconcile(engine, "start-up reconciliation",
                     await reconcile_before_trading(engine.reconciler))  # fmt: skip
    await _trade(engine)
    await _faults(engine)
    await _burst(engine)


async def restart_session(url: str, port: int) -> None:
    """A fresh engine over the killed one's journal: recovery, reconciliation, more trading."""
    engine = await _engine(url, port)
    try:
        report = await Recovery(engine.manager, engine.listener).run()
        found = ", ".join(
            f"{coid} {engine.manager.states.orders[coid].status.value}" for coid in report.resolved
        )
        tell(SAY, f"restarted: replayed {report.replayed} events, looked up "
             f"{len(report.resolved)} unanswered orders at the broker (none resent)"
             + (f": {found}" if found else "") + "; then opened for new orders")  # fmt: skip
        await _reconcile(engine, "start-up reconciliation",
                         await reconcile_before_trading(engine.reconciler))  # fmt: skip
        for side in ("sell", "buy"):
            await engine.manager.place(_order("market", side, 0.1, filling="ioc"))
        await _settle(engine, steps=5)
        await _reconcile(engine, "closing reconciliation",
                         await engine.reconciler.run(trigger="demo"))  # fmt: skip
    finally:
        await engine.manager.drain()
        await engine.broker.close()
        await engine.journal.close()


def main(argv: list[str]) -> None:
    """Run one phase with the operators' log going to the demo's log file."""
    phase, url, port, log = argv
    sessions = {FIRST: first_session, RESTART: restart_session}
    handlers = eventlog.configure(Path(log), console=False)
    logging.getLogger("oms").propagate = False
    try:
        runtime.run(sessions[phase](url, int(port)))
    finally:
        eventlog.remove(handlers)


if __name__ == "__main__":
    main(sys.argv[1:])
