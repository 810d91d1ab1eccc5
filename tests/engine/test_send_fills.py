"""A fill journaled from an order_send answer carries what only the deal record knows."""

from __future__ import annotations

import time
from dataclasses import replace

from journal import migrate
from oms.broker.sim import SimulatedTerminal, default_symbols
from tests.engine.conftest import open_rig
from tests.engine.test_manager import market


async def test_a_market_fill_carries_position_entry_and_commission(sqlite_url: str) -> None:
    migrate(sqlite_url)
    terminal = SimulatedTerminal(
        seed=1, margin_mode="hedging", commission_per_lot=7.0,
        start_msc=time.time_ns() // 10**6,
    )  # fmt: skip
    rig = await open_rig(sqlite_url, terminal)
    try:
        coid = await rig.manager.place(market(0.2))
        await rig.manager.drain()
        fill = (await rig.journal.read_stream(f"order-{coid}"))[-1]
        assert fill.type == "order.filled"
        (deal,) = terminal.history_deals_get(ticket=rig.manager.states.get(coid).broker_order_id)
        assert fill.payload["deal_ticket"] == deal.ticket
        assert fill.payload["position_id"] == deal.position_id != 0
        assert fill.payload["entry"] == "in"
        assert fill.payload["commission"] == deal.commission != 0.0
    finally:
        await rig.manager.drain()
        await rig.journal.close()


async def test_a_position_held_over_rollovers_closes_with_its_swap(sqlite_url: str) -> None:
    migrate(sqlite_url)
    (eurusd,) = [s for s in default_symbols() if s.name == "EURUSD"]
    terminal = SimulatedTerminal(
        seed=1, margin_mode="hedging", symbols=[replace(eurusd, swap_long=-7.0)],
        start_msc=time.time_ns() // 10**6,
    )  # fmt: skip
    rig = await open_rig(sqlite_url, terminal)
    try:
        opened = await rig.manager.place(market(0.2))
        await rig.manager.drain()
        (pos,) = terminal.positions_get()
        # any seven midnights end each weekday once: 1 + 1 + 3 (Wednesday) + 1 + 1 + 0 + 0 days
        terminal.market.advance(7 * 86_400)
        assert terminal.positions_get()[0].swap == -9.8  # 7 days x -7 points x 0.2 lots
        closing = await rig.manager.place(market(0.2, side="sell", position_id=pos.ticket))
        await rig.manager.drain()
        fill = (await rig.journal.read_stream(f"order-{closing}"))[-1]
        assert fill.type == "order.filled"
        assert fill.payload["entry"] == "out" and fill.payload["position_id"] == pos.identifier
        assert fill.payload["swap"] == -9.8
        assert rig.manager.states.get(closing).swap == -9.8
        assert rig.manager.states.get(opened).swap == 0.0
    finally:
        await rig.manager.drain()
        await rig.journal.close()
