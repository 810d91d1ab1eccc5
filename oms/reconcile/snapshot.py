"""The broker's side of a run: working orders, positions, and history since a watermark.

The adapter's incremental poll already reads exactly this; the snapshot source gives the
reconciler its own adapter instance (its own connection and cursor), so the status
listener's cursor is never moved by a reconciliation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.port import BrokerDeal, BrokerOrder, BrokerPosition, HistoryCursor


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """What the broker showed in one read; every deal at or after `deals_from_msc` is here."""

    open_orders: tuple[BrokerOrder, ...]
    history_orders: tuple[BrokerOrder, ...]
    deals: tuple[BrokerDeal, ...]
    positions: tuple[BrokerPosition, ...]
    deals_from_msc: int = 0
    orders_from_msc: int = 0
    next_deals_from_msc: int = 0
    next_orders_from_msc: int = 0
    records_read: int = 0


class SnapshotSource(Protocol):
    """Reads a snapshot of the broker; `expected_open` are tickets the journal holds working."""

    async def snapshot(
        self, deals_from_msc: int, orders_from_msc: int, expected_open: frozenset[int]
    ) -> BrokerSnapshot:
        """Read the broker now."""
        ...


class AdapterSnapshotSource:
    """Snapshots through an `Mt5Broker` dedicated to the reconciler.

    History is read from the watermark less the adapter's overlap, rounded down to the
    second the terminal's date filter works in; `deals_from_msc` in the snapshot is that
    rounded start, so the diff knows which journal fills the broker was asked about.
    """

    def __init__(self, broker: Mt5Broker) -> None:
        self.broker = broker

    async def snapshot(
        self, deals_from_msc: int, orders_from_msc: int, expected_open: frozenset[int]
    ) -> BrokerSnapshot:
        """Poll once from the watermark, with no tickets marked as already seen."""
        overlap = self.broker.policy.poll_overlap_ms
        self.broker.resume_from(
            HistoryCursor(deals_from_msc=deals_from_msc, orders_from_msc=orders_from_msc),
            expected_open,
        )
        changes = await self.broker.poll()
        return BrokerSnapshot(
            open_orders=changes.open_orders,
            history_orders=changes.history_orders,
            deals=changes.deals,
            positions=changes.positions,
            deals_from_msc=_window_start(deals_from_msc, overlap),
            orders_from_msc=_window_start(orders_from_msc, overlap),
            next_deals_from_msc=changes.cursor.deals_from_msc,
            next_orders_from_msc=changes.cursor.orders_from_msc,
            records_read=changes.records_read,
        )


def _window_start(from_msc: int, overlap_ms: int) -> int:
    """The first millisecond the adapter's history read covers (whole seconds)."""
    return max(0, (from_msc - overlap_ms) // 1000) * 1000
