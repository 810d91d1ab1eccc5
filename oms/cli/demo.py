"""`oms demo`: a paper-trading session on a fresh SQLite journal against the simulated terminal.

A small strategy places market, limit, IOC and FOK orders, modifies and cancels some; the
terminal then fills an order behind the engine's back, takes a manual trade and drops an
acknowledgement; the reconciler finds and heals them; the engine is stopped dead in the
middle of a burst (its event loop halted with sends in flight, nothing drained) and a new
engine recovers from the journal; finally the reports and `verify` are printed. The journal
(`demo.db`) and the operators' log (`demo.log`) stay for exploring.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from journal import AsyncJournal, migrate
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.cli.journal import verify
from oms.cli.main import app
from oms.engine import eventlog, runtime
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter
from oms.reconcile.lock import lock_for
from oms.reconcile.reconciler import Reconciler, RunReport
from oms.reconcile.schedule import reconcile_before_trading
from oms.reconcile.snapshot import TerminalSnapshotSource

ACCOUNT = "A1"
STRATEGY = "demo"
SYMBOL = "EURUSD"
DEMO_DB = "demo.db"
DEMO_LOG = "demo.log"

COMMAND = "demo"


@dataclass
class Engine:
    """One engine process's worth of objects (they die with it)."""

    journal: AsyncJournal
    broker: Mt5Broker
    manager: OrderManager
    listener: StatusListener
    reconciler: Reconciler


@dataclass
class Story:
    """What the session did, for the closing summary."""

    console: Console
    placed: list[str] = field(default_factory=list)
    resting: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        """One narrated step."""
        self.console.print(f"[bold cyan]•[/bold cyan] {text}")


async def _engine(url: str, terminal: SimulatedTerminal) -> Engine:
    """Open the journal, connect to the terminal, recover, reconcile: ready to trade."""
    journal = await AsyncJournal.open(url)
    worker = InlineWorker(SameObject(terminal))
    broker = Mt5Broker(worker, LoginArgs(), clock=lambda: terminal.market.time_msc / 1000)
    await broker.connect()
    manager = OrderManager(journal, OrderRouter.single(broker))
    listener = StatusListener(manager)
    reconciler = Reconciler(
        journal.journal, TerminalSnapshotSource(worker, clock=broker_clock(terminal)),
        account=ACCOUNT, hedging=True, lock=lock_for(url),
    )  # fmt: skip
    return Engine(journal, broker, manager, listener, reconciler)


def broker_clock(terminal: SimulatedTerminal) -> Any:
    """The terminal's own clock, as the adapter reads history windows by it."""
    return lambda: terminal.market.time_msc / 1000


def _quote(terminal: SimulatedTerminal) -> tuple[float, float]:
    """Bid and ask of the demo symbol."""
    tick = terminal.symbol_info_tick(SYMBOL)
    assert tick is not None
    return tick.bid, tick.ask


def _order(kind: str, side: str, volume: float, **extra: Any) -> dict[str, Any]:
    return {"account": ACCOUNT, "strategy": STRATEGY, "symbol": SYMBOL, "side": side,
            "order_type": kind, "volume": volume, **extra}  # fmt: skip


async def _settle(engine: Engine, terminal: SimulatedTerminal, steps: int = 1) -> None:
    """Let sends finish, move the market on, and let the listener journal what changed."""
    await engine.manager.drain()
    for _ in range(steps):
        terminal.market.step()
    await engine.listener.poll_once()
    await engine.manager.drain()


def _report_line(story: Story, label: str, report: RunReport | None) -> None:
    if report is None:
        story.say(f"{label}: another process was reconciling")
        return
    kinds = ", ".join(
        f"{d.kind.value} ({'healed' if d.heals else 'alert'})" for d in report.detected
    )
    story.say(
        f"{label}: {len(report.detected)} discrepancies"
        + (f" — {kinds}" if kinds else "")
        + f"; {report.open_discrepancies} left open"
    )


async def _trade(engine: Engine, terminal: SimulatedTerminal, story: Story) -> None:
    """The strategy: market, IOC, FOK and limit orders; modify some limits, cancel others."""
    manager = engine.manager
    info = terminal.symbol_info(SYMBOL)
    assert info is not None
    point = info.point
    for i in range(6):
        side = "buy" if i % 2 == 0 else "sell"
        filling = ("ioc", "fok", "ioc")[i % 3]
        story.placed.append(await manager.place(_order("market", side, 0.1, filling=filling)))
        await _settle(engine, terminal)
    for i in range(8):
        bid, ask = _quote(terminal)
        side = "buy" if i % 2 == 0 else "sell"
        away = (60 + 40 * i) * point
        price = round(bid - away if side == "buy" else ask + away, 5)
        coid = await manager.place(_order("limit", side, 0.2, price=price, filling="return"))
        story.placed.append(coid)
        story.resting.append(coid)
    await _settle(engine, terminal)
    story.say(f"placed {len(story.placed)} orders: 6 market (IOC/FOK), 8 limit")
    for coid in story.resting[:3]:
        order = manager.states.orders[coid]
        if order.is_open and order.price is not None:
            nudge = 20 * point if order.side == "buy" else -20 * point
            await manager.modify({"client_order_id": coid, "price": round(order.price - nudge, 5)})
    for coid in story.resting[3:5]:
        if manager.states.orders[coid].is_open:
            await manager.cancel({"client_order_id": coid})
    await _settle(engine, terminal, steps=20)
    story.say("modified 3 limit orders, canceled 2; the market moved on for 20 steps")


async def _faults(engine: Engine, terminal: SimulatedTerminal, story: Story) -> None:
    """A missed fill, a manual trade and a dropped acknowledgement; the reconciler heals."""
    manager = engine.manager
    working = [c for c in story.resting if manager.states.orders[c].is_open]
    if working:
        ticket = manager.states.orders[working[-1]].broker_order_id
        assert ticket is not None
        terminal.faults.fill_order(ticket)
        story.say(f"the terminal filled {working[-1]} (ticket {ticket}) while nobody looked")
    manual = terminal.faults.manual_trade(
        {
            "action": 1,
            "symbol": SYMBOL,
            "volume": 0.3,
            "type": 1,
            "price": _quote(terminal)[0],
            "type_filling": 1,
            "comment": "by hand",
        }
    )
    story.say(f"a trader sold 0.3 {SYMBOL} by hand in the terminal (ticket {manual.order})")
    _report_line(story, "reconciler", await engine.reconciler.run(trigger="demo"))
    await engine.manager.catch_up()
    terminal.faults.drop_next_ack()
    coid = await manager.place(_order("market", "buy", 0.1, filling="ioc"))
    story.placed.append(coid)
    await _settle(engine, terminal)
    order = manager.states.orders[coid]
    story.say(
        f"the terminal executed {coid} but its answer was lost; the engine looked it up "
        f"instead of resending: {order.status.value}"
    )
    _report_line(story, "reconciler", await engine.reconciler.run(trigger="demo"))
    await engine.manager.catch_up()


async def _burst_then_die(engine: Engine, story: Story) -> None:
    """Place a burst and stop the event loop dead before the sends are answered."""
    tick_side = ("buy", "sell", "buy")
    for side in tick_side:
        story.placed.append(await engine.manager.place(_order("market", side, 0.1, filling="ioc")))
    story.say("the engine placed 3 more orders and was stopped dead mid-burst, sends in flight")
    asyncio.get_running_loop().stop()
    await asyncio.Future()  # never resumes: this loop is abandoned like a killed process


async def _after_restart(url: str, terminal: SimulatedTerminal, story: Story) -> None:
    """A new engine: recovery from the journal, a start-up reconciliation, more trading."""
    engine = await _engine(url, terminal)
    try:
        report = await Recovery(engine.manager, engine.listener).run()
        story.say(
            f"restarted: replayed {report.replayed} events, looked up {len(report.resolved)} "
            f"unanswered orders at the broker (none resent), then opened for new orders"
        )
        _report_line(story, "start-up reconciliation",
                     await reconcile_before_trading(engine.reconciler))  # fmt: skip
        await engine.manager.catch_up()
        for side in ("sell", "buy"):
            story.placed.append(
                await engine.manager.place(_order("market", side, 0.1, filling="ioc"))
            )
        await _settle(engine, terminal, steps=5)
        _report_line(story, "closing reconciliation", await engine.reconciler.run(trigger="demo"))
        await engine.manager.catch_up()
    finally:
        await engine.manager.drain()
        await engine.journal.close()


def _first_session(url: str, terminal: SimulatedTerminal, story: Story) -> None:
    """Session one on its own event loop, which is left stopped: the 'killed' engine."""
    loop = asyncio.new_event_loop()
    holder: dict[str, Engine] = {}

    async def session() -> None:
        engine = holder["engine"] = await _engine(url, terminal)
        await Recovery(engine.manager, engine.listener).run()
        _report_line(story, "start-up reconciliation",
                     await reconcile_before_trading(engine.reconciler))  # fmt: skip
        await engine.manager.catch_up()
        await _trade(engine, terminal, story)
        await _faults(engine, terminal, story)
        await _burst_then_die(engine, story)

    with contextlib.suppress(RuntimeError):  # "Event loop stopped before Future completed."
        loop.run_until_complete(session())
    # The dead engine's journal connection goes away as a killed process's would; its
    # unfinished sends stay unfinished (the interpreter reports them at exit, so hush it).
    holder["engine"].journal.journal.close()
    _ABANDONED.append(loop)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited")


_ABANDONED: list[asyncio.AbstractEventLoop] = []


def _reports(url: str, console: Console) -> None:
    """The reports a trader and a compliance officer look at first."""
    from oms.cli import reports

    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("orders", lambda: reports.orders(url, None, None, None, False, 0, False)),
        ("positions", lambda: reports.positions(url, None, None, False, None, False)),
        ("fills", lambda: reports.fills(url, None, None, None, None, 0, False)),
        ("discrepancies", lambda: reports.discrepancies(url, False, None, False)),
        ("latency", lambda: reports.latency(url, False)),
    )
    for title, call in steps:
        console.rule(f"oms {title}")
        call()
    console.rule("oms verify")
    verify(db=url, as_json=False, expect_head=None)


@app.command(COMMAND)
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write demo.db and demo.log.")
    ] = Path("."),
    seed: Annotated[int, typer.Option(help="Seed of the simulated market.")] = 7,
) -> None:
    """A paper-trading session with faults, a crash and recovery; then the reports.

    Example: oms demo --dir /tmp/oms-demo
    """
    console = Console()
    directory.mkdir(parents=True, exist_ok=True)
    path = (directory / DEMO_DB).resolve()
    for leftover in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        path.with_name(path.name + ".reconcile.lock"),
        directory / DEMO_LOG,
    ):
        leftover.unlink(missing_ok=True)  # fmt: skip
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    migrate(url)
    handlers = eventlog.configure(directory / DEMO_LOG, console=False)
    logging.getLogger("oms").propagate = False
    story = Story(console)
    console.rule("paper-trading session")
    story.say(f"fresh journal {path}, simulated hedging account, seed {seed}")
    terminal = SimulatedTerminal(seed=seed, margin_mode="hedging",
                                 start_msc=time.time_ns() // 1_000_000)  # fmt: skip
    try:
        _first_session(url, terminal, story)
        runtime.run(_after_restart(url, terminal, story))
    finally:
        eventlog.remove(handlers)
    _reports(url, console)
    console.rule()
    console.print(
        f"finished in {time.perf_counter() - started:.1f} s. The journal stays for exploring:\n"
        f"  export OMS_DATABASE_URL=sqlite:///{path}\n"
        "  oms orders --open; oms events --type reconcile.; oms replay --position 40\n"
        "  oms audit export --format csv -o audit.csv; oms verify\n"
        f"operators' log (JSON lines): {directory / DEMO_LOG}"
    )
