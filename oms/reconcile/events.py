"""Events of the reconciler stream: runs, discrepancies detected and discrepancies resolved.

The domain catalogue (`oms.domain.events`) holds order and risk events only, so the
reconciler's own facts are defined here on the same `Event` base (same payload codec,
same rule: a type string once written keeps its meaning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from oms.domain.events import Event

RECONCILER_STREAM = "reconciler"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileRunStarted(Event):
    """A run took the lock and is about to read the broker."""

    TYPE: ClassVar[str] = "reconcile.run_started"
    run_id: str
    account: str
    pid: int
    trigger: str
    started_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscrepancyDetected(Event):
    """Journal and broker disagree; `action` says whether it was healed or only alerted."""

    TYPE: ClassVar[str] = "reconcile.discrepancy_detected"
    run_id: str
    kind: str
    key: str
    journal: dict[str, Any] | None
    broker: dict[str, Any] | None
    action: str
    detail: str = ""
    heal_event_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscrepancyResolved(Event):
    """A recorded discrepancy no longer holds; `how` says why."""

    TYPE: ClassVar[str] = "reconcile.discrepancy_resolved"
    run_id: str
    kind: str
    key: str
    how: str
    detected_event_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileRunCompleted(Event):
    """A run finished; the watermark is where the next run's broker history starts."""

    TYPE: ClassVar[str] = "reconcile.run_completed"
    run_id: str
    account: str
    pid: int
    detected: int
    resolved: int
    healed: int
    open_discrepancies: int
    deals_from_msc: int
    orders_from_msc: int
    journal_position: int
    broker_records: int
    duration_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileRunFailed(Event):
    """A run stopped before it could compare (the broker unreachable, a bad record)."""

    TYPE: ClassVar[str] = "reconcile.run_failed"
    run_id: str
    account: str
    pid: int
    reason: str


RECONCILE_EVENT_CLASSES: tuple[type[Event], ...] = (
    ReconcileRunStarted,
    DiscrepancyDetected,
    DiscrepancyResolved,
    ReconcileRunCompleted,
    ReconcileRunFailed,
)
"""The reconciler's catalogue; it only grows."""
