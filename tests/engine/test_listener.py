"""StatusListener: what changed at the broker becomes events exactly once."""

from __future__ import annotations

from oms.domain.ids import deal_event_id
from oms.engine.listener import StatusListener
from tests.engine.conftest import Rig, sim_broker
from tests.engine.test_manager import limit, next_kind


async def test_fills_made_at_the_broker_are_journaled_once(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    coid = await rig.manager.place(limit(1.0, volume=0.3))
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    first = rig.terminal.faults.fill_order(ticket, price=1.0, volume=0.1)
    report = await rig.listener.poll_once()
    assert report.events_planned == 1
    partial = await next_kind(updates, "order.partially_filled")
    assert partial.detail["deal_ticket"] == first and partial.detail["volume"] == 0.1
    second = rig.terminal.faults.fill_order(ticket, price=1.0)
    await rig.listener.poll_once()
    filled = await next_kind(updates, "order.filled")
    assert filled.detail["deal_ticket"] == second and filled.detail["volume"] == 0.2
    assert (await rig.listener.poll_once()).events_planned == 0
    # A listener starting from an empty watermark re-reads all history: nothing new is written.
    fresh_broker = sim_broker(rig.terminal)
    await fresh_broker.connect()
    rig.manager.router.ports["default"] = fresh_broker
    again = StatusListener(rig.manager)
    await again.poll_once()
    events = await rig.journal.read_stream(f"order-{coid}")
    assert [e.type for e in events] == [
        "order.submitted", "order.accepted", "order.partially_filled", "order.filled"]
    account = events[0].payload["account"]
    assert [e.event_id for e in events[2:]] == [
        deal_event_id(account, first), deal_event_id(account, second)]


async def test_a_replayed_poll_is_an_idempotent_append(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    coid = await rig.manager.place(limit(1.0))
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    rig.terminal.faults.fill_order(ticket, price=1.0)
    changes = await rig.broker.poll()
    plans, _ = rig.listener._plan("default", changes)
    for _ in range(2):
        for order_id, planned in plans.items():
            await rig.manager.append(order_id, planned)
    types = [e.type for e in await rig.journal.read_stream(f"order-{coid}")]
    assert types == ["order.submitted", "order.accepted", "order.filled"]


async def test_an_order_canceled_at_the_terminal_is_journaled_canceled(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    await rig.manager.place(limit(1.0))
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    rig.terminal.faults.cancel_order(ticket)
    await rig.listener.poll_once()
    canceled = await next_kind(updates, "order.canceled")
    assert canceled.detail["reason"] == "broker"


async def test_a_manual_trade_is_not_taken_for_ours(rig: Rig) -> None:
    rig.terminal.faults.manual_trade({
        "action": rig.terminal.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
        "type": rig.terminal.ORDER_TYPE_BUY, "price": rig.terminal.symbol_info_tick("EURUSD").ask,
        "type_filling": rig.terminal.ORDER_FILLING_FOK,
    })
    report = await rig.listener.poll_once()
    assert report.events_planned == 0 and report.unmatched_deals == 1
    assert (await rig.listener.poll_once()).unmatched_deals == 0


async def test_run_polls_until_stopped(rig: Rig) -> None:
    import asyncio

    updates = rig.manager.subscribe()
    await rig.manager.place(limit(1.0))
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    task = asyncio.create_task(rig.listener.run(interval_s=0.01))
    rig.terminal.faults.fill_order(ticket, price=1.0)
    rig.listener.kick()
    await next_kind(updates, "order.filled")
    rig.listener.stop()
    await asyncio.wait_for(task, 5)
