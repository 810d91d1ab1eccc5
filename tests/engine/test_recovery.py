"""Recovery in one process: unanswered intents are looked up, never resent, and settled."""

from __future__ import annotations

from journal import AsyncJournal
from oms.domain.commands import PlaceOrder
from oms.domain.enums import OrderStatus
from oms.domain.intents import submitted_event
from oms.engine import mapping
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter
from oms.engine.state import OrderStates
from tests.engine.conftest import sim_broker, sim_terminal
from tests.engine.test_manager import market


async def test_twin_intents_are_told_apart_by_comment_not_fingerprint(journal_url: str) -> None:
    terminal = sim_terminal()
    broker = sim_broker(terminal)
    await broker.connect()
    async with await AsyncJournal.open(journal_url) as journal:
        crashed = OrderManager(journal, OrderRouter.single(broker))
        crashed.mark_ready()
        cmd = PlaceOrder.parse(market())
        for seq in (0, 1):  # two identical intents journaled, then the process "died"
            intent = submitted_event(cmd, seq)
            await crashed.append(intent.client_order_id, [
                (intent.TYPE, intent.to_payload(), f"{intent.client_order_id}:submitted")])
        # Only the second one had reached the broker.
        sent = await broker.place(mapping.place_request(crashed.states.orders["A1.mm.1"]))
        assert sent.deal_ticket is not None

        manager = OrderManager(journal, OrderRouter.single(broker))
        report = await Recovery(manager, StatusListener(manager)).run()
        assert report.resolved == ["A1.mm.0", "A1.mm.1"]
        never_sent, sent_order = manager.states.orders["A1.mm.0"], manager.states.orders["A1.mm.1"]
        assert never_sent.status is OrderStatus.REJECTED and never_sent.filled_volume == 0
        assert sent_order.status is OrderStatus.FILLED
        assert set(sent_order.deal_tickets) == {sent.deal_ticket}
        assert len(terminal.history_orders_get(0, 2**40)) == 1  # nothing was resent
        # New orders continue the sequence after the journal's last one.
        assert await manager.place(market()) == "A1.mm.2"
        await manager.drain()
        rebuilt = OrderStates()
        rebuilt.absorb([r async for r in journal.read_all()])
        assert rebuilt.orders.keys() == manager.states.orders.keys()
        assert all(rebuilt.orders[c].to_dict() == o.to_dict()
                   for c, o in manager.states.orders.items())


async def test_modify_requests_left_unanswered_are_confirmed_at_the_broker(
    journal_url: str,
) -> None:
    from oms.domain.commands import ModifyOrder
    from oms.domain.intents import modify_requested_event
    from tests.engine.test_manager import limit, next_kind

    terminal = sim_terminal()
    broker = sim_broker(terminal)
    await broker.connect()
    async with await AsyncJournal.open(journal_url) as journal:
        crashed = OrderManager(journal, OrderRouter.single(broker))
        crashed.mark_ready()
        updates = crashed.subscribe()
        applied, lost = await crashed.place(limit(1.0)), await crashed.place(limit(1.0))
        await next_kind(updates, "order.accepted")
        await next_kind(updates, "order.accepted")
        await crashed.drain()
        for coid, rid in ((applied, "m3"), (lost, "m3")):
            order = crashed.states.orders[coid]
            event = modify_requested_event(
                order, ModifyOrder.parse({"client_order_id": coid, "price": 1.001}), rid)
            await crashed.append(coid, [(event.TYPE, event.to_payload(),
                                         f"{coid}:modify_requested:{rid}")])
        # The first request reached the broker before the crash; the second never left.
        order = crashed.states.orders[applied]
        await broker.modify(mapping.modify_request(order, {"price": 1.001}))

        manager = OrderManager(journal, OrderRouter.single(broker))
        report = await Recovery(manager, StatusListener(manager)).run()
        assert sorted(report.confirmed) == sorted([applied, lost])
        types = {c: [e.type for e in await journal.read_stream(f"order-{c}")][-1]
                 for c in (applied, lost)}
        assert types == {applied: "order.modified", lost: "order.modify_rejected"}
        assert manager.states.orders[applied].price == 1.001
        assert manager.states.orders[lost].price == 1.0
        assert manager.states.orders[lost].pending_modify is None


async def test_recovery_that_cannot_reach_the_broker_keeps_orders_blocked(
    journal_url: str,
) -> None:
    import pytest

    from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
    from oms.broker.mt5.calls import LoginArgs
    from oms.broker.worker import InlineWorker, SameObject
    from oms.engine.errors import NotReadyError
    from oms.engine.recovery import RecoveryError

    terminal = sim_terminal()
    broker = Mt5Broker(InlineWorker(SameObject(terminal)), LoginArgs(),
                       AdapterPolicy(reconnect_delays_s=()))
    async with await AsyncJournal.open(journal_url) as journal:
        crashed = OrderManager(journal, OrderRouter.single(broker))
        intent = submitted_event(PlaceOrder.parse(market()), 0)
        await crashed.append(intent.client_order_id, [
            (intent.TYPE, intent.to_payload(), f"{intent.client_order_id}:submitted")])
        terminal.faults.disconnect("ipc")
        manager = OrderManager(journal, OrderRouter.single(broker))
        with pytest.raises(RecoveryError, match=r"A1\.mm\.0 is still unknown"):
            await Recovery(manager, StatusListener(manager), attempts=2, retry_delay_s=0).run()
        with pytest.raises(NotReadyError):
            await manager.place(market())
        terminal.faults.reconnect()
        report = await Recovery(manager, StatusListener(manager)).run()
        assert report.resolved == ["A1.mm.0"]
        assert manager.states.orders["A1.mm.0"].status is OrderStatus.REJECTED  # not found
        assert await manager.place(market()) == "A1.mm.1"


async def test_a_fresh_start_replays_history_without_publishing_it_again(
    journal_url: str,
) -> None:
    from oms.engine.recovery import RecoveryReport
    from oms.engine.updates import OrderUpdate

    terminal = sim_terminal()
    broker = sim_broker(terminal)
    await broker.connect()
    async with await AsyncJournal.open(journal_url) as journal:
        first = OrderManager(journal, OrderRouter.single(broker))
        first.mark_ready()
        for _ in range(3):
            await first.place(market())
        await first.drain()

        manager = OrderManager(journal, OrderRouter.single(broker))
        heard: list[OrderUpdate] = []
        manager.on_update(heard.append)
        report = RecoveryReport()
        await Recovery(manager, StatusListener(manager)).replay(report)
        assert report.replayed == (await journal.head()).position >= 9
        assert heard == []
        assert manager.states.orders.keys() == first.states.orders.keys()
        # Folds after the replay are heard again.
        manager.mark_ready()
        await manager.place(market())
        await manager.drain()
        assert heard and {u.client_order_id for u in heard} == {"A1.mm.3"}
