"""The journal as the reconciler compares it: orders, fills and its own open discrepancies.

One incremental fold over the journal (`JournalView.apply`), kept between runs so a run
only reads the events appended since the last one. Orders are the domain `Order`
aggregate; fills are kept by deal ticket; positions are derived in `oms.reconcile.diff`
from the fills, in deal-ticket order (the broker's order), so no second fold is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oms.domain.ids import account_tickets
from oms.domain.order import ORDER_EVENT_TYPES, Order
from oms.domain.records import JournalRecord
from oms.domain.transitions import (
    FILLED_T,
    PARTIALLY_FILLED_T,
)
from oms.projections.base import gc_paused
from oms.reconcile.events import (
    RECONCILER_STREAM,
    DiscrepancyDetected,
    DiscrepancyResolved,
    ReconcileRunCompleted,
)

_FILL_TYPES = frozenset({PARTIALLY_FILLED_T, FILLED_T})


@dataclass(frozen=True, slots=True)
class ViewFill:
    """One journaled deal, as the reconciler compares it with the broker's deal."""

    deal_ticket: int
    client_order_id: str
    symbol: str
    side: str
    volume: float
    price: float
    fill_ns: int
    position_id: int | None
    journal_position: int


@dataclass(frozen=True, slots=True)
class OpenDiscrepancy:
    """A discrepancy detected and not yet resolved, as the reconciler stream says."""

    kind: str
    key: str
    event_id: str
    action: str
    detected_position: int
    journal: dict[str, Any] | None
    broker: dict[str, Any] | None


class JournalView:
    """Everything the diff needs from the journal, folded incrementally."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.last_position: dict[str, int] = {}
        # Fills by account, then deal ticket: two brokers may number their deals alike.
        self.fills: dict[str, dict[int, ViewFill]] = {}
        self.open_discrepancies: dict[tuple[str, str], OpenDiscrepancy] = {}
        self.detections: dict[tuple[str, str], int] = {}
        self.deals_from_msc = 0
        self.orders_from_msc = 0
        self.runs = 0
        self.position = 0
        self.settled_position = 0

    def apply_all(self, records: Iterable[JournalRecord]) -> None:
        """Fold records in position order; everything folded counts as settled."""
        with gc_paused():
            for record in records:
                self.apply(record)
        self.settled_position = self.position

    def apply(self, record: JournalRecord) -> None:
        """Fold one record (order events and reconciler events; others are skipped)."""
        self.position = record.position
        event_type = record.type
        if event_type in ORDER_EVENT_TYPES:
            self._order_event(record)
        elif record.stream_id == RECONCILER_STREAM:
            self._reconciler_event(record)

    def _order_event(self, record: JournalRecord) -> None:
        payload = record.payload
        coid = payload["client_order_id"]
        order = self.orders.get(coid)
        if order is None:
            order = self.orders[coid] = Order(coid)
        event_type = record.type
        order.fold(event_type, payload, record.recorded_at_ns)
        self.last_position[coid] = record.position
        if event_type in _FILL_TYPES:
            deal = payload["deal_ticket"]
            fills = account_tickets(self.fills, payload["account"])
            if deal not in fills:
                fills[deal] = ViewFill(
                    deal,
                    coid,
                    payload["symbol"],
                    payload["side"],
                    payload["volume"],
                    payload["price"],
                    payload["fill_ns"],
                    payload.get("position_id"),
                    record.position,
                )

    def fills_of(self, account: str) -> dict[int, ViewFill]:
        """One account's journaled fills by deal ticket."""
        return self.fills.get(account, {})

    def _reconciler_event(self, record: JournalRecord) -> None:
        p = record.payload
        if record.type == DiscrepancyDetected.TYPE:
            key = (p["kind"], p["key"])
            self.detections[key] = self.detections.get(key, 0) + 1
            if p["action"] != "healed":
                self.open_discrepancies[key] = OpenDiscrepancy(
                    p["kind"], p["key"], record.event_id, p["action"], record.position,
                    p.get("journal"), p.get("broker"),
                )  # fmt: skip
        elif record.type == DiscrepancyResolved.TYPE:
            self.open_discrepancies.pop((p["kind"], p["key"]), None)
        elif record.type == ReconcileRunCompleted.TYPE:
            self.deals_from_msc = p["deals_from_msc"]
            self.orders_from_msc = p["orders_from_msc"]
            self.runs += 1

    def open_tickets(self, account: str | None) -> frozenset[int]:
        """Broker tickets of orders the journal holds as working (for the broker lookup)."""
        out = set()
        for order in self.orders.values():
            if (
                order.broker_order_id is not None
                and order.is_open
                and (account is None or order.account == account)
            ):
                out.add(order.broker_order_id)
        return frozenset(out)
