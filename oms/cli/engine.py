"""`oms run`, `oms recover` and `oms order place|modify|cancel`: the engine from the command line.

Every command starts the engine the same way a process would: connect to the configured
terminal, recover from the journal (replay, look up unanswered orders, never resend), and
only then trade. `oms run` then keeps the status listener and the scheduled reconciler going
until it is stopped; the others do their one thing, wait for the broker's answer, and exit.
With the default simulated backend each process has its own simulated terminal; point
several processes at one terminal with `OMS_MT5_BACKEND=mt5linux` (`oms sim serve`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from journal import AsyncJournal
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.factory import build_broker
from oms.cli.main import app
from oms.cli.reconcile import hedging_account, settings_for
from oms.cli.render import DbOption, JsonOption, emit_json, table, utc_text
from oms.config import Settings
from oms.domain.commands import ModifyOrder, PlaceOrder
from oms.domain.order import Order
from oms.engine import eventlog, runtime
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery, RecoveryReport
from oms.engine.router import OrderRouter
from oms.reconcile.lock import lock_for
from oms.reconcile.reconciler import Reconciler
from oms.reconcile.snapshot import TerminalSnapshotSource

order_app = typer.Typer(no_args_is_help=True, help="Place, modify and cancel one order.")
app.add_typer(order_app, name="order")


@dataclass
class Running:
    """A recovered engine and the reconciler sharing its terminal connection."""

    journal: AsyncJournal
    broker: Mt5Broker
    manager: OrderManager
    listener: StatusListener
    reconciler: Reconciler
    recovery: RecoveryReport


@asynccontextmanager
async def running_engine(
    settings: Settings, log_file: Path | None = None, level: int = logging.ERROR
) -> AsyncIterator[Running]:
    """Connect, recover, yield the ready engine; drain and close on the way out.

    The operators' log goes to stderr (errors only unless `level` says otherwise) and, with
    `log_file`, to JSON lines; the MT5 password is masked in both.
    """
    handlers = _console_log(settings, log_file, level)
    try:
        async with _engine(settings) as engine:
            yield engine
    finally:
        eventlog.remove(handlers)


def _console_log(settings: Settings, log_file: Path | None, level: int) -> list[logging.Handler]:
    """The operators' log on stderr (stdout is for reports) and optionally in a file."""
    handlers = eventlog.configure(
        log_file, console=True, secrets=[settings.mt5_password], level=level
    )
    for handler in handlers:
        if hasattr(handler, "console"):
            handler.console = Console(stderr=True)
    return handlers


@asynccontextmanager
async def _engine(settings: Settings) -> AsyncIterator[Running]:
    broker = build_broker(settings)
    await broker.connect()
    journal = await AsyncJournal.open(settings.database_url)
    try:
        manager = OrderManager(journal, OrderRouter.single(broker))
        listener = StatusListener(manager)
        report = await Recovery(manager, listener).run()
        reconciler = Reconciler(
            journal.journal, TerminalSnapshotSource(broker.worker),
            account=settings.reconcile_account, hedging=hedging_account(settings),
            lock=lock_for(settings.database_url),
            lock_timeout_s=settings.reconcile_lock_timeout_s,
        )  # fmt: skip
        yield Running(journal, broker, manager, listener, reconciler, report)
        await manager.drain()
    finally:
        await journal.close()
        await broker.close()


def _order_row(o: Order) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id, "status": o.status.value, "symbol": o.symbol,
        "side": str(o.side), "order_type": str(o.order_type), "volume": o.volume,
        "filled_volume": o.filled_volume, "avg_fill_price": o.avg_fill_price or None,
        "price": o.price, "broker_order_id": o.broker_order_id, "retcode": o.retcode,
        "reason": o.reason, "updated_at": utc_text(o.updated_ns),
    }  # fmt: skip


def _show_order(order: Order, as_json: bool) -> None:
    row = _order_row(order)
    if as_json:
        emit_json(row)
        return
    table(f"Order {order.client_order_id}", ["field", "value"], [[k, v] for k, v in row.items()])


async def _settled(engine: Running, coid: str) -> Order:
    """Wait for the send and one listener round; the order as the journal now has it."""
    await engine.manager.drain()
    await engine.listener.poll_once()
    await engine.manager.drain()
    return engine.manager.states.orders[coid]


@order_app.command("place")
def place(
    symbol: Annotated[str, typer.Option(help="Symbol, as the terminal names it.")],
    side: Annotated[str, typer.Option(help="buy or sell.")],
    volume: Annotated[float, typer.Option(help="Lots.")],
    order_type: Annotated[str, typer.Option("--type", help="market, limit, stop, stop_limit.")] = (
        "market"
    ),
    price: Annotated[float | None, typer.Option(help="Limit or stop price.")] = None,
    stop_limit_price: Annotated[float | None, typer.Option(help="For stop_limit.")] = None,
    sl: Annotated[float | None, typer.Option(help="Stop loss.")] = None,
    tp: Annotated[float | None, typer.Option(help="Take profit.")] = None,
    filling: Annotated[str, typer.Option(help="fok, ioc, return or boc (limits only).")] = "fok",
    account: Annotated[str | None, typer.Option(help="Account code (OMS_RECONCILE_ACCOUNT).")] = (
        None
    ),
    strategy: Annotated[str, typer.Option(help="Strategy tag.")] = "manual",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Place one order through the engine (journaled before it is sent) and show its state.

    Example: oms order place --symbol EURUSD --side buy --volume 0.1 --type limit --price 1.08
    """
    settings = settings_for(db)
    command = PlaceOrder.parse(
        {
            "account": account or settings.reconcile_account,
            "strategy": strategy,
            "symbol": symbol,
            "side": side,
            "order_type": order_type,
            "volume": volume,
            "price": price,
            "stop_limit_price": stop_limit_price,
            "sl": sl,
            "tp": tp,
            "filling": filling,
        }
    )  # fmt: skip  (checked before anything starts)

    async def go() -> Order:
        async with running_engine(settings) as engine:
            coid = await engine.manager.place(command)
            return await _settled(engine, coid)

    _show_order(runtime.run(go()), as_json)


@order_app.command("modify")
def modify(
    client_order_id: Annotated[str, typer.Argument(help="The order's client order id.")],
    price: Annotated[float | None, typer.Option(help="New price.")] = None,
    stop_limit_price: Annotated[float | None, typer.Option(help="New stop-limit price.")] = None,
    sl: Annotated[float | None, typer.Option(help="New stop loss (0 removes it).")] = None,
    tp: Annotated[float | None, typer.Option(help="New take profit (0 removes it).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a working order's price or stops and show its state.

    Example: oms order modify A1.manual.3 --price 1.0812
    """
    settings = settings_for(db)
    command = ModifyOrder.parse(
        {"client_order_id": client_order_id, "price": price,
         "stop_limit_price": stop_limit_price, "sl": sl, "tp": tp}
    )  # fmt: skip

    async def go() -> Order:
        async with running_engine(settings) as engine:
            await engine.manager.modify(command)
            return await _settled(engine, client_order_id)

    _show_order(runtime.run(go()), as_json)


@order_app.command("cancel")
def cancel(
    client_order_id: Annotated[str, typer.Argument(help="The order's client order id.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel a working order and show its state.

    Example: oms order cancel A1.manual.3
    """
    settings = settings_for(db)

    async def go() -> Order:
        async with running_engine(settings) as engine:
            await engine.manager.cancel({"client_order_id": client_order_id})
            return await _settled(engine, client_order_id)

    _show_order(runtime.run(go()), as_json)


@app.command("recover")
def recover(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Replay the journal and settle every unanswered order at the broker, without resending.

    Example: oms recover --db sqlite:///oms.db
    """
    settings = settings_for(db)

    async def go() -> RecoveryReport:
        async with running_engine(settings) as engine:
            return engine.recovery

    report = runtime.run(go())
    data = {"replayed": report.replayed, "resolved": report.resolved,
            "confirmed": report.confirmed, "polled_events": report.polled_events}  # fmt: skip
    if as_json:
        emit_json(data)
        return
    table("Recovery", ["step", "result"], [
        ["events replayed", report.replayed],
        ["unanswered orders looked up", ", ".join(report.resolved) or "none"],
        ["pending cancels confirmed", ", ".join(report.confirmed) or "none"],
        ["events from the broker's changes", report.polled_events],
    ])  # fmt: skip
    typer.echo("recovered: the engine would now accept new orders")


@app.command("run")
def run(
    db: DbOption = None,
    poll_interval: Annotated[float, typer.Option(help="Seconds between broker polls.")] = 0.25,
    reconcile_interval: Annotated[
        float | None,
        typer.Option(help="Seconds between reconciliations (OMS_RECONCILE_INTERVAL_S)."),
    ] = None,
    log: Annotated[
        Path | None, typer.Option(help="Also write the operators' log here as JSON lines.")
    ] = None,
) -> None:
    """Run the engine: recover, reconcile, then poll the broker and reconcile on a schedule.

    Example: oms run --db postgresql+psycopg://oms@db/oms --log oms.jsonl
    """
    settings = settings_for(db)
    interval = reconcile_interval or settings.reconcile_interval_s
    runtime.run(_run(settings, poll_interval, interval, log))


async def _run(
    settings: Settings, poll_interval: float, reconcile_interval: float, log: Path | None
) -> None:
    """The assembled engine with checkpointed projections, plus the scheduled reconciler.

    New orders wait for the start-up reconciliation: the manager is closed again right
    after recovery and reopened once the reconciler has compared journal and broker.
    """
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from oms.domain.enums import AccountMode
    from oms.engine.app import Engine
    from oms.projections import standard_set
    from oms.projections.store import CheckpointStore
    from oms.reconcile.schedule import reconcile_before_trading, schedule_reconciler

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    handlers = _console_log(settings, log, logging.INFO)
    broker = build_broker(settings)
    await broker.connect()
    journal = await AsyncJournal.open(settings.database_url)
    store = CheckpointStore.open(settings.database_url)
    mode = AccountMode.HEDGING if hedging_account(settings) else AccountMode.NETTING
    engine = Engine(
        journal, OrderRouter.single(broker), store=store,
        projections=standard_set(default_mode=mode), poll_interval_s=poll_interval,
    )  # fmt: skip
    scheduler = AsyncIOScheduler(event_loop=loop)
    try:
        async with engine:
            engine.manager.ready = False  # not before the start-up reconciliation
            reconciler = Reconciler(
                journal.journal, TerminalSnapshotSource(broker.worker),
                account=settings.reconcile_account, hedging=mode is AccountMode.HEDGING,
                lock=lock_for(settings.database_url),
                lock_timeout_s=settings.reconcile_lock_timeout_s,
            )  # fmt: skip
            first = await reconcile_before_trading(reconciler)
            await engine.manager.catch_up()  # the heals, before any new order is judged
            engine.manager.mark_ready()
            replayed = engine.report.replayed if engine.report else 0
            typer.echo(
                f"recovered {replayed} events; start-up reconciliation: "
                f"{len(first.detected)} discrepancies, {first.open_discrepancies} open",
            )
            schedule_reconciler(
                scheduler, reconciler, reconcile_interval, after=engine.manager.catch_up
            )
            scheduler.start()
            typer.echo(
                f"running: polling every {poll_interval:g} s, reconciling every "
                f"{reconcile_interval:g} s; Ctrl-C stops",
                err=True,
            )
            await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await journal.close()
        store.close()
        await broker.close()
        eventlog.remove(handlers)
    typer.echo("stopped", err=True)
