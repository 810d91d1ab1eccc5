"""The reconciler: one run = lock, catch up the journal, read the broker, diff, record.

Recording is idempotent: a discrepancy is journaled once when it appears (its event id
counts its appearances, so a repeated append is a no-op), nothing is written while it
persists, and a `discrepancy resolved` event says how it went away. Safe cases are healed
in the same run (the heal events, then `resolved` naming them).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from journal import Journal, NewEvent
from journal.errors import JournalError
from journal.writer import ThreadWaiter
from oms.errors import OmsError
from oms.reconcile.diff import Discrepancy, HealEvent, Kind, diff
from oms.reconcile.events import (
    RECONCILER_STREAM,
    DiscrepancyDetected,
    DiscrepancyResolved,
    ReconcileRunCompleted,
    ReconcileRunFailed,
    ReconcileRunStarted,
)
from oms.reconcile.lock import RunLock
from oms.reconcile.snapshot import BrokerSnapshot, SnapshotSource
from oms.reconcile.view import JournalView, OpenDiscrepancy


@dataclass(frozen=True, slots=True)
class Resolution:
    """A discrepancy that went away in a run, and how."""

    kind: str
    key: str
    how: str


@dataclass(slots=True)
class RunReport:
    """What one run found and did."""

    run_id: str
    detected: list[Discrepancy] = field(default_factory=list)
    persisting: list[Discrepancy] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)
    healed: int = 0
    alerts: int = 0
    open_discrepancies: int = 0
    broker_records: int = 0
    journal_position: int = 0
    duration_ns: int = 0

    @property
    def clean(self) -> bool:
        """True when nothing differs and nothing is left open."""
        return not self.detected and not self.persisting and self.open_discrepancies == 0


class Reconciler:
    """Compares the journal with one broker account and records what differs."""

    def __init__(
        self,
        journal: Journal,
        source: SnapshotSource,
        *,
        account: str,
        hedging: bool,
        lock: RunLock | None = None,
        lock_timeout_s: float = 30.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.journal = journal
        self.source = source
        self.account = account
        self.hedging = hedging
        self.lock = lock
        self.lock_timeout_s = lock_timeout_s
        self.clock = clock
        self.view = JournalView()

    async def run(
        self, trigger: str = "schedule", wait: bool = True, full: bool = False
    ) -> RunReport | None:
        """One run; None when `wait` is off and another process holds the lock.

        `full` reads the broker's whole history instead of what followed the watermark.
        """
        if self.lock is not None:
            taken = await asyncio.to_thread(self.lock.acquire, wait, self.lock_timeout_s)
            if not taken:
                return None
        try:
            return await self._run(trigger, full)
        finally:
            if self.lock is not None:
                await asyncio.to_thread(self.lock.release)

    def diff(self, journal_view: JournalView, broker_snapshot: BrokerSnapshot) -> list[Discrepancy]:
        """The pure comparison for this reconciler's account (no I/O, nothing journaled)."""
        return diff(journal_view, broker_snapshot, account=self.account, hedging=self.hedging)

    def run_blocking(
        self, trigger: str = "once", wait: bool = True, full: bool = False
    ) -> RunReport | None:
        """`run` for callers without an event loop."""
        return asyncio.run(self.run(trigger, wait, full))

    async def _run(self, trigger: str, full: bool) -> RunReport:
        started = self.clock()
        run_id = f"{uuid.uuid4().hex[:12]}"
        view = self.view
        await asyncio.to_thread(self.catch_up)
        settled = view.position
        await self._append(
            RECONCILER_STREAM,
            [
                _new(
                    ReconcileRunStarted(
                        run_id=run_id, account=self.account, pid=os.getpid(), trigger=trigger,
                        started_ns=started,
                    ),
                    f"run-{run_id}-started",
                )
            ],
        )  # fmt: skip
        deals_from, orders_from = (0, 0) if full else (self._deals_from(), view.orders_from_msc)
        try:
            snapshot = await self.source.snapshot(
                deals_from, orders_from, view.open_tickets(self.account)
            )
        except OmsError as exc:
            failed = ReconcileRunFailed(
                run_id=run_id, account=self.account, pid=os.getpid(), reason=str(exc)
            )
            await self._append(RECONCILER_STREAM, [_new(failed, f"run-{run_id}-failed")])
            raise
        await asyncio.to_thread(self.catch_up)
        view.settled_position = settled
        found = diff(view, snapshot, account=self.account, hedging=self.hedging)
        report = RunReport(run_id, broker_records=snapshot.records_read)
        current = {d.identity: d for d in found}

        new = [d for ident, d in current.items() if ident not in view.open_discrepancies]
        report.persisting = [d for ident, d in current.items() if ident in view.open_discrepancies]
        # Heals first, each its own append: a discrepancy counts as healed only when all of
        # its events are in the journal; otherwise it is an alert that names the failure.
        failures = await asyncio.to_thread(self._append_heals, [h for d in new for h in d.heals])
        detected_events: list[NewEvent] = []
        resolved_events: list[NewEvent] = []
        for d in new:
            ident = d.identity
            n = view.detections.get(ident, 0) + 1
            event_id = f"discrepancy-{d.kind.value}-{d.key}-{n}"
            problems = [failures[h.event_id] for h in d.heals if h.event_id in failures]
            healed = bool(d.heals) and not problems
            detail = d.detail if not problems else f"{d.detail}; heal failed: {problems[0]}"
            detected_events.append(
                _new(
                    DiscrepancyDetected(
                        run_id=run_id, kind=d.kind.value, key=d.key, journal=d.journal,
                        broker=d.broker, action="healed" if healed else "alert",
                        detail=detail, heal_event_ids=[h.event_id for h in d.heals],
                    ),
                    event_id,
                )
            )  # fmt: skip
            report.detected.append(d)
            if not healed:
                report.alerts += 1
                continue
            report.healed += 1
            how = "healed: journaled " + ", ".join(h.event_id for h in d.heals)
            resolved_events.append(
                _new(
                    DiscrepancyResolved(
                        run_id=run_id, kind=d.kind.value, key=d.key, how=how,
                        detected_event_id=event_id,
                    ),
                    f"resolved-{d.kind.value}-{d.key}-{n}",
                )
            )  # fmt: skip
            report.resolved.append(Resolution(d.kind.value, d.key, how))
        for ident, old in sorted(view.open_discrepancies.items()):
            if ident in current or not self._judged(old):
                continue
            how = _how_resolved(old)
            n = view.detections.get(ident, 1)
            resolved_events.append(
                _new(
                    DiscrepancyResolved(
                        run_id=run_id, kind=old.kind, key=old.key, how=how,
                        detected_event_id=old.event_id,
                    ),
                    f"resolved-{old.kind}-{old.key}-{n}",
                )
            )  # fmt: skip
            report.resolved.append(Resolution(old.kind, old.key, how))
        if detected_events:
            await self._append(RECONCILER_STREAM, detected_events)
        open_after = (
            len(view.open_discrepancies)
            + report.alerts
            - sum(1 for r in report.resolved if (r.kind, r.key) in view.open_discrepancies)
        )
        report.open_discrepancies = open_after
        report.duration_ns = self.clock() - started
        report.journal_position = view.position
        completed = ReconcileRunCompleted(
            run_id=run_id,
            account=self.account,
            pid=os.getpid(),
            detected=len(report.detected),
            resolved=len(report.resolved),
            healed=report.healed,
            open_discrepancies=open_after,
            deals_from_msc=snapshot.next_deals_from_msc,
            orders_from_msc=snapshot.next_orders_from_msc,
            journal_position=view.position,
            broker_records=snapshot.records_read,
            duration_ns=report.duration_ns,
        )
        await self._append(
            RECONCILER_STREAM, [*resolved_events, _new(completed, f"run-{run_id}-completed")]
        )
        await asyncio.to_thread(self.catch_up)
        return report

    def catch_up(self) -> None:
        """Fold what the journal gained since the view's position (blocking; warms a new
        reconciler before its first run)."""
        self.view.apply_all(self.journal.read_all(self.view.position))

    def _deals_from(self) -> int:
        """The watermark, pulled back to the oldest fill still reported missing at the broker."""
        start = self.view.deals_from_msc
        for open_ in self.view.open_discrepancies.values():
            if open_.kind == Kind.FILL_MISSING_AT_BROKER and open_.journal:
                start = min(start, int(open_.journal["fill_ns"]) // 1_000_000)
        return start

    def _judged(self, old: OpenDiscrepancy) -> bool:
        """False when this run could not judge the discrepancy (its order is still moving)."""
        if old.key.startswith("order:"):
            coid = old.key[len("order:") :]
            return self.view.last_position.get(coid, 0) <= self.view.settled_position
        return True

    async def _append(self, stream: str, events: list[NewEvent]) -> None:
        await asyncio.to_thread(self.journal.append, stream, events)

    def _append_heals(self, heals: list[HealEvent]) -> dict[str, str]:
        """Every heal event as its own append (an id already recorded is a no-op), committed
        together; returns the reason of each that failed, by event id."""
        if not heals:
            return {}
        requests, waiters = [], []
        for heal in heals:
            request = self.journal.prepare(heal.stream_id, [_new(heal.event, heal.event_id)], None)
            waiter = ThreadWaiter()
            request.waiter = waiter
            requests.append(request)
            waiters.append((heal.event_id, waiter))
        self.journal.submit_many(requests)
        failures: dict[str, str] = {}
        for event_id, waiter in waiters:
            try:
                waiter.wait()
            except JournalError as exc:
                failures[event_id] = " ".join(str(exc).split())
        return failures


def _new(event: object, event_id: str) -> NewEvent:
    from oms.domain.events import Event

    assert isinstance(event, Event)
    return NewEvent(
        type=event.TYPE,
        payload=event.to_payload(),
        event_id=event_id,
        schema_version=event.SCHEMA_VERSION,
    )


def _how_resolved(old: OpenDiscrepancy) -> str:
    """Why an alerted discrepancy no longer shows."""
    return {
        Kind.ORDER_MISSING_AT_BROKER.value: "the order is now found at the broker or closed here",
        Kind.STATE_DIFFERS.value: "journal and broker now agree on the order's state",
        Kind.FILL_MISSING_AT_BROKER.value: "the broker now reports the deal",
        Kind.VOLUME_OR_PRICE_DIFFERS.value: "volume and price now agree",
        Kind.POSITION_DIFFERS.value: "the positions now agree",
        Kind.POSITION_UNKNOWN_HERE.value: "the position is closed or now explained by deals",
    }.get(old.kind, "journal and broker now agree")
