"""When the reconciler runs: an APScheduler interval job, and once before trading starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from oms.errors import OmsError
from oms.reconcile.reconciler import Reconciler, RunReport

JOB_ID = "reconcile"


class ReconcileNotRun(OmsError):
    """The start-up reconciliation could not take the lock in time."""


def schedule_reconciler(
    scheduler: AsyncIOScheduler,
    reconciler: Reconciler,
    interval_s: float,
    *,
    job_id: str = JOB_ID,
    after: Callable[[], Awaitable[object]] | None = None,
) -> Job:
    """Add the interval job: one run at a time, missed runs coalesced into one.

    A scheduled run does not wait for the lock: when another process is reconciling, this
    run is skipped (that process's run covers it). `after` runs once each run is recorded,
    e.g. to fold the heals into a live engine's order state.
    """
    if interval_s <= 0:
        raise OmsError(f"the reconcile interval must be positive, got {interval_s} s")

    async def run_then_after(trigger: str, wait: bool) -> RunReport | None:
        report = await reconciler.run(trigger=trigger, wait=wait)
        if after is not None:
            await after()
        return report

    return scheduler.add_job(
        reconciler.run if after is None else run_then_after,
        "interval",
        seconds=interval_s,
        kwargs={"trigger": "schedule", "wait": False},
        id=job_id,
        name="reconcile journal with broker",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(interval_s)),
        replace_existing=True,
    )


async def reconcile_before_trading(reconciler: Reconciler) -> RunReport:
    """The start-up run the engine awaits before it accepts new orders."""
    report = await reconciler.run(trigger="startup", wait=True)
    if report is None:
        raise ReconcileNotRun(
            f"start-up reconciliation could not take the reconcile lock within "
            f"{reconciler.lock_timeout_s} s: another process holds it"
        )
    return report
