"""The reconciler stream read back as a list of discrepancies with their fate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oms.domain.records import JournalRecord
from oms.reconcile.events import DiscrepancyDetected, DiscrepancyResolved


@dataclass(slots=True)
class DiscrepancyRecord:
    """One detected discrepancy: open (alerted, not resolved), or resolved and how."""

    event_id: str
    position: int
    detected_ns: int
    kind: str
    key: str
    action: str
    detail: str
    journal: dict[str, Any] | None
    broker: dict[str, Any] | None
    status: str = "open"
    resolved_ns: int | None = None
    how: str | None = None


def discrepancy_history(records: Iterable[JournalRecord]) -> list[DiscrepancyRecord]:
    """Every detection in journal order, each marked open or resolved."""
    rows: dict[str, DiscrepancyRecord] = {}
    for record in records:
        p = record.payload
        if record.type == DiscrepancyDetected.TYPE:
            rows[record.event_id] = DiscrepancyRecord(
                record.event_id, record.position, record.recorded_at_ns, p["kind"], p["key"],
                p["action"], p.get("detail", ""), p.get("journal"), p.get("broker"),
            )  # fmt: skip
        elif record.type == DiscrepancyResolved.TYPE:
            row = rows.get(p["detected_event_id"])
            if row is not None:
                row.status = "resolved"
                row.resolved_ns = record.recorded_at_ns
                row.how = p["how"]
    return list(rows.values())
