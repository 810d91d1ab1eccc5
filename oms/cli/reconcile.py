"""`oms reconcile`: compare the journal with the broker once, or on a schedule until stopped."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated, Any

import typer

from journal import Journal
from oms.cli.main import app
from oms.cli.render import DbOption, JsonOption, database_url, emit_json, table
from oms.config import Settings
from oms.engine import runtime
from oms.reconcile.reconciler import Reconciler, RunReport


def settings_for(db: str | None) -> Settings:
    """The configuration, with --db taking precedence over OMS_DATABASE_URL."""
    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    return settings


def hedging_account(settings: Settings) -> bool:
    """How the reconciled account keeps positions (the simulator's mode unless told)."""
    mode = settings.reconcile_account_mode or settings.mt5_sim_margin_mode
    return mode == "hedging"


async def build_reconciler(settings: Settings, journal: Journal) -> Reconciler:
    """A reconciler over its own connection to the configured terminal."""
    from oms.broker.mt5.factory import build_broker
    from oms.reconcile.lock import lock_for
    from oms.reconcile.snapshot import TerminalSnapshotSource

    broker = build_broker(settings)
    await broker.connect()
    return Reconciler(
        journal,
        TerminalSnapshotSource(broker.worker),
        account=settings.reconcile_account,
        hedging=hedging_account(settings),
        lock=lock_for(settings.database_url),
        lock_timeout_s=settings.reconcile_lock_timeout_s,
    )


def report_json(report: RunReport) -> dict[str, Any]:
    """A run as JSON."""
    return {
        "run_id": report.run_id,
        "detected": [
            {
                "kind": d.kind.value,
                "key": d.key,
                "action": "healed" if d.heals else "alert",
                "detail": d.detail,
                "journal": d.journal,
                "broker": d.broker,
                "heal_event_ids": [h.event_id for h in d.heals],
            }
            for d in report.detected
        ],
        "persisting": [{"kind": d.kind.value, "key": d.key} for d in report.persisting],
        "resolved": [{"kind": r.kind, "key": r.key, "how": r.how} for r in report.resolved],
        "healed": report.healed,
        "open_discrepancies": report.open_discrepancies,
        "broker_records": report.broker_records,
        "journal_position": report.journal_position,
        "duration_ms": round(report.duration_ns / 1e6, 3),
    }


def print_report(report: RunReport) -> None:
    """A run as tables and one summary line."""
    if report.detected:
        table(
            f"Discrepancies detected in run {report.run_id}",
            ["kind", "key", "action", "detail"],
            [
                [d.kind.value, d.key, "healed" if d.heals else "alert", d.detail]
                for d in report.detected
            ],
        )
    if report.resolved:
        table(
            "Discrepancies resolved",
            ["kind", "key", "how"],
            [[r.kind, r.key, r.how] for r in report.resolved],
        )
    typer.echo(
        f"run {report.run_id}: {len(report.detected)} detected ({report.healed} healed), "
        f"{len(report.resolved)} resolved, {report.open_discrepancies} open, "
        f"{report.broker_records} broker records read in {report.duration_ns / 1e6:.1f} ms"
    )


@app.command("reconcile")
def reconcile(
    db: DbOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run once and exit (default: on a schedule).")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(help="Seconds between scheduled runs (default OMS_RECONCILE_INTERVAL_S)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit with code 2 when discrepancies stay open.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare the journal with the broker; record, heal or alert on what differs.

    Example: oms reconcile --once --db sqlite:///oms.db --json
    """
    settings = settings_for(db)
    url = database_url(settings.database_url)
    if once:
        report = runtime.run(_once(settings, url))
        if as_json:
            emit_json(report_json(report))
        else:
            print_report(report)
        if strict and report.open_discrepancies:
            raise typer.Exit(2)
        return
    runtime.run(_scheduled(settings, url, interval or settings.reconcile_interval_s, as_json))


async def _once(settings: Settings, url: str) -> RunReport:
    from oms.reconcile.schedule import reconcile_before_trading

    journal = Journal.open(url)
    try:
        reconciler = await build_reconciler(settings, journal)
        return await reconcile_before_trading(reconciler)
    finally:
        journal.close()


async def _scheduled(settings: Settings, url: str, interval_s: float, as_json: bool) -> None:
    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from oms.reconcile.schedule import reconcile_before_trading, schedule_reconciler

    journal = Journal.open(url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    scheduler = AsyncIOScheduler(event_loop=loop)
    try:
        reconciler = await build_reconciler(settings, journal)
        first = await reconcile_before_trading(reconciler)
        show = (lambda r: emit_json(report_json(r))) if as_json else print_report
        show(first)

        def on_run(event: JobExecutionEvent) -> None:
            if event.retval is not None:
                show(event.retval)

        scheduler.add_listener(on_run, EVENT_JOB_EXECUTED)
        schedule_reconciler(scheduler, reconciler, interval_s)
        scheduler.start()
        typer.echo(f"reconciling every {interval_s:g} s; Ctrl-C stops", err=True)
        await stop.wait()
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        journal.close()
