"""Two brokers hand out the same tickets: every fill still lands on its own order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from journal import AsyncJournal
from oms.domain.order import Order
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter, Route
from oms.engine.state import OrderStates
from tests.engine.conftest import sim_broker, sim_terminal
from tests.engine.test_manager import limit, next_kind


@pytest.fixture
async def venues(journal_url: str) -> AsyncIterator[dict[str, Any]]:
    """Accounts A1 and B2 on two terminals that number their orders and deals alike."""
    journal = await AsyncJournal.open(journal_url)
    terminals = {"a": sim_terminal(), "b": sim_terminal()}
    brokers = {name: sim_broker(t) for name, t in terminals.items()}
    for broker in brokers.values():
        await broker.connect()
    router = OrderRouter(brokers, [Route("a", account="A1"), Route("b", account="B2")])
    manager = OrderManager(journal, router)
    listener = StatusListener(manager)
    await Recovery(manager, listener).run()
    try:
        yield {"journal": journal, "terminals": terminals, "brokers": brokers,
               "manager": manager, "listener": listener}
    finally:
        await manager.drain()
        await journal.close()


async def test_fills_with_colliding_tickets_land_on_their_own_orders(
    venues: dict[str, Any],
) -> None:
    manager: OrderManager = venues["manager"]
    updates = manager.subscribe()
    first = await manager.place(limit(1.0, volume=0.3))
    ticket_a = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    second = await manager.place({**limit(1.0, volume=0.2), "account": "B2"})
    ticket_b = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    assert ticket_a == ticket_b  # the precondition: both brokers number alike

    deal_b = venues["terminals"]["b"].faults.fill_order(ticket_b, price=1.0)
    await venues["listener"].poll_once()
    filled = await next_kind(updates, "order.filled")
    assert filled.client_order_id == second and filled.detail["deal_ticket"] == deal_b

    deal_a = venues["terminals"]["a"].faults.fill_order(ticket_a, price=1.0, volume=0.1)
    assert deal_a == deal_b  # the deal tickets collide too
    await venues["listener"].poll_once()
    partial = await next_kind(updates, "order.partially_filled")
    assert partial.client_order_id == first and partial.detail["volume"] == 0.1

    states = manager.states
    assert states.orders[first].filled_volume == pytest.approx(0.1)
    assert states.orders[second].filled_volume == pytest.approx(0.2)
    journal: AsyncJournal = venues["journal"]
    types_a = [e.type for e in await journal.read_stream(f"order-{first}")]
    types_b = [e.type for e in await journal.read_stream(f"order-{second}")]
    assert types_a == ["order.submitted", "order.accepted", "order.partially_filled"]
    assert types_b == ["order.submitted", "order.accepted", "order.filled"]


async def test_ticket_index_survives_snapshots_old_and_new(venues: dict[str, Any]) -> None:
    manager: OrderManager = venues["manager"]
    updates = manager.subscribe()
    first = await manager.place(limit(1.0))
    await next_kind(updates, "order.accepted")
    second = await manager.place({**limit(1.0), "account": "B2"})
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    states = manager.states
    assert {o.client_order_id for o in states.with_ticket(ticket)} == {first, second}
    assert list(states.tickets_of("B2")) == [ticket]

    snapshot = states.to_snapshot()
    restored = OrderStates()
    restored.restore(snapshot)
    assert restored.by_ticket == states.by_ticket == {"A1": {ticket: first}, "B2": {ticket: second}}
    # Snapshots written before tickets were scoped by account held [ticket, coid] pairs.
    old = {**snapshot, "by_ticket": [[ticket, first]]}
    restored.restore(old)
    assert restored.by_ticket == {"A1": {ticket: first}}


async def test_an_order_no_rule_routes_belongs_only_to_a_lone_port(venues: dict[str, Any]) -> None:
    adopted = Order("C3.external.1")
    adopted.account, adopted.symbol, adopted.strategy = "C3", "EURUSD", "external"
    listener: StatusListener = venues["listener"]
    assert not listener._routed_to(adopted, "a") and not listener._routed_to(adopted, "b")
    lone = OrderRouter({"a": venues["brokers"]["a"]}, [Route("a", account="A1")])
    assert StatusListener(OrderManager(venues["journal"], lone))._routed_to(adopted, "a")
