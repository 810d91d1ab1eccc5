"""The APScheduler job and the start-up run, on a real scheduler (no sleeps)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from oms.broker.sim import SimulatedTerminal
from oms.errors import OmsError
from oms.reconcile.events import RECONCILER_STREAM
from oms.reconcile.schedule import reconcile_before_trading, schedule_reconciler
from oms.reconcile.snapshot import SnapshotError
from tests.reconcile.support import PaperSession, make_reconciler, open_journal


async def test_interval_job_runs_when_triggered(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    terminal = SimulatedTerminal(seed=5)
    terminal.initialize()
    session = PaperSession(journal, terminal)
    _coid, result = session.place("EURUSD", "buy", 0.1, kind="limit")
    session.flush()
    reconciler = await make_reconciler(journal, terminal, sqlite_url, locked=True)
    loop = asyncio.get_running_loop()
    done: asyncio.Queue[JobExecutionEvent] = asyncio.Queue()
    scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
    scheduler.add_listener(
        lambda event: loop.call_soon_threadsafe(done.put_nowait, event),
        EVENT_JOB_EXECUTED | EVENT_JOB_ERROR,
    )
    job = schedule_reconciler(scheduler, reconciler, interval_s=3600)
    assert job.max_instances == 1 and job.coalesce is True
    scheduler.start()
    try:
        terminal.faults.fill_order(result.order)
        job.modify(next_run_time=datetime.now(UTC))
        event = await asyncio.wait_for(done.get(), timeout=30)
        assert event.exception is None
        assert event.retval is not None and [d.kind.value for d in event.retval.detected] == [
            "fill_missing_here"
        ]
        job.modify(next_run_time=datetime.now(UTC))
        event = await asyncio.wait_for(done.get(), timeout=30)
        assert event.retval is not None and event.retval.detected == []
    finally:
        scheduler.shutdown(wait=False)
        journal.close()


async def test_interval_must_be_positive(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    try:
        terminal = SimulatedTerminal(seed=5)
        reconciler = await make_reconciler(journal, terminal, sqlite_url)
        with pytest.raises(OmsError, match="interval must be positive"):
            schedule_reconciler(AsyncIOScheduler(), reconciler, interval_s=0)
    finally:
        journal.close()


async def test_startup_run_records_a_completed_run(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    try:
        terminal = SimulatedTerminal(seed=5)
        reconciler = await make_reconciler(journal, terminal, sqlite_url, locked=True)
        report = await reconcile_before_trading(reconciler)
        assert report.clean
        types = [e.type for e in journal.read_stream(RECONCILER_STREAM)]
        assert types == ["reconcile.run_started", "reconcile.run_completed"]
        started = journal.read_stream(RECONCILER_STREAM)[0].payload
        assert started["trigger"] == "startup"
    finally:
        journal.close()


async def test_unreachable_terminal_fails_the_run_in_the_journal(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    try:
        terminal = SimulatedTerminal(seed=5)
        reconciler = await make_reconciler(journal, terminal, sqlite_url, locked=True)
        terminal.faults.disconnect("ipc")
        with pytest.raises(SnapshotError, match="-10004"):
            await reconciler.run()
        last = journal.read_stream(RECONCILER_STREAM)[-1]
        assert last.type == "reconcile.run_failed" and "-10004" in last.payload["reason"]
        terminal.faults.reconnect()
        assert terminal.initialize()
        report = await reconciler.run()  # the lock was released despite the failure
        assert report is not None and report.clean
    finally:
        journal.close()
