"""A journal with a small reconciled session in it, for the report commands."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from journal import NewEvent
from oms.broker.sim import SimulatedTerminal
from oms.domain.events import OrderAccepted, OrderSubmitted
from oms.domain.ids import order_stream_id
from tests.reconcile.support import PaperSession, make_reconciler, open_journal

STAGE_STREAM = "order-B2.lat.0"


@dataclass
class Session:
    url: str
    filled_coid: str
    vanished_coid: str
    fill_deal: int


def _stamp(wall: int, mono: int) -> dict[str, int]:
    return {"wall_ns": wall, "mono_ns": mono}


@pytest.fixture
def session_db(sqlite_url: str) -> Session:
    """Market and limit orders, a missed fill (healed), a vanished order (alert), and one
    order whose events carry stage timestamps 1, 2, 4 and 8 microseconds apart."""
    journal = open_journal(sqlite_url)
    try:
        terminal = SimulatedTerminal(seed=2)
        terminal.initialize()
        paper = PaperSession(journal, terminal)
        paper.place("EURUSD", "buy", 0.2)
        filled, filled_result = paper.place("EURUSD", "sell", 0.1, kind="limit")
        vanished, vanished_result = paper.place("GBPUSD", "buy", 0.1, kind="limit")
        paper.flush()
        deal = terminal.faults.fill_order(filled_result.order)
        terminal.faults.vanish_order(vanished_result.order)
        submitted = OrderSubmitted(
            client_order_id="B2.lat.0", account="B2", strategy="lat", symbol="EURUSD",
            side="buy", order_type="limit", volume=0.1, price=1.0,  # type: ignore[arg-type]
        )  # fmt: skip
        base = 1_767_600_000_000_000_000
        journal.append(
            STAGE_STREAM,
            [
                NewEvent(
                    submitted.TYPE, submitted.to_payload(), None,
                    {"stages": {"signal": _stamp(base, 1000), "submit": _stamp(base, 2000),
                                "journal": _stamp(base, 4000)}},
                ),
                NewEvent(
                    OrderAccepted.TYPE,
                    OrderAccepted(client_order_id="B2.lat.0", broker_order_id=1).to_payload(),
                    None,
                    {"stages": {"broker_send": _stamp(base, 8000),
                                "broker_ack": _stamp(base, 16000)}},
                ),
            ],
        )  # fmt: skip

        async def reconcile() -> None:
            reconciler = await make_reconciler(journal, terminal, sqlite_url)
            await reconciler.run()

        asyncio.run(reconcile())
    finally:
        journal.close()
    assert order_stream_id(filled)
    return Session(sqlite_url, filled, vanished, deal)
