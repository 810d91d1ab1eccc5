"""Every fault of the simulated terminal, injected through the adapter, with the outcome."""

from __future__ import annotations

import pytest

from oms.broker.mt5 import constants as c
from oms.broker.mt5.adapter import AdapterPolicy, BrokerUnavailableError, Mt5Broker
from oms.broker.port import (
    CancelOrder,
    ConnectionState,
    ModifyOrder,
    OrderQuery,
    OutcomeStatus,
)
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import SameObject, ThreadWorker
from tests.broker.adapter.conftest import Instrumented, limit, market


async def test_lost_ack_is_unknown_then_found_filled_without_a_resend(
    broker: Mt5Broker, sim: SimulatedTerminal, terminal: Instrumented
) -> None:
    order = market("A-1")
    sim.faults.drop_next_ack()
    out = await broker.place(order)
    assert out.status is OutcomeStatus.UNKNOWN and str(c.RES_E_INTERNAL_FAIL_TIMEOUT) in out.reason
    assert not out.definite and out.attempts[0].error_code == c.RES_E_INTERNAL_FAIL_TIMEOUT

    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.FILLED and found.matched_by == "comment"
    (position,) = sim.positions_get()
    assert found.order_ticket == position.identifier
    assert found.filled_volume == 0.1 and [d.order for d in found.deals] == [
        found.order_ticket
    ]
    assert terminal.calls["order_send"] == 1


async def test_lost_ack_of_a_pending_order_is_found_working(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    order = limit("A-2", 1.08000)
    sim.faults.drop_next_ack()
    assert (await broker.place(order)).status is OutcomeStatus.UNKNOWN
    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.PLACED and found.open_volume == 0.1
    assert found.order is not None and found.order.live


async def test_decorated_comment_is_matched_by_token(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    sim.faults.rewrite_comments(lambda comment: f"[b] {comment}")
    order = market("A-4")
    sim.faults.drop_next_ack()
    assert (await broker.place(order)).status is OutcomeStatus.UNKNOWN
    await broker.place(market("A-40"))  # holds "A-4" as a substring, not as a token
    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.FILLED and found.matched_by == "comment_token"
    assert found.order is not None and found.order.comment == "[b] A-4"


async def test_rewritten_comment_is_matched_by_fingerprint(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    earlier = await broker.place(market("A-3"))
    sim.faults.rewrite_comments(lambda comment: "[broker]")
    order = market("A-5")
    sim.faults.drop_next_ack()
    assert (await broker.place(order)).status is OutcomeStatus.UNKNOWN
    query = OrderQuery.for_order(order, known_tickets=frozenset({earlier.order_ticket or 0}))
    found = await broker.lookup(query)
    assert found.status is OutcomeStatus.FILLED and found.matched_by == "fingerprint"
    assert found.order is not None and found.order.comment == "[broker]"
    # without the tickets already ours, the same-shaped order A-3 makes the answer ambiguous
    ambiguous = await broker.lookup(OrderQuery.for_order(order))
    assert ambiguous.status is OutcomeStatus.UNKNOWN and "several" in ambiguous.reason


async def test_lost_acks_of_modify_and_cancel_are_confirmed_by_ticket(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    placed = await broker.place(limit("A-5", 1.08000))
    ticket = placed.order_ticket
    assert ticket is not None
    change = ModifyOrder("A-5", ticket, price=1.07950)
    sim.faults.drop_next_ack()
    assert (await broker.modify(change)).status is OutcomeStatus.UNKNOWN
    assert (await broker.confirm_modify(change)).status is OutcomeStatus.MODIFIED
    other = ModifyOrder("A-5", ticket, price=1.07000)
    assert (await broker.confirm_modify(other)).status is OutcomeStatus.NOT_FOUND

    cancel = CancelOrder("A-5", ticket)
    assert (await broker.confirm_cancel(cancel)).status is OutcomeStatus.NOT_FOUND
    sim.faults.drop_next_ack()
    assert (await broker.cancel(cancel)).status is OutcomeStatus.UNKNOWN
    assert (await broker.confirm_cancel(cancel)).status is OutcomeStatus.CANCELED


@pytest.mark.parametrize(
    ("kind", "code"),
    [("ipc", c.RES_E_INTERNAL_FAIL_CONNECT), ("hang", c.RES_E_INTERNAL_FAIL_TIMEOUT)],
)
async def test_terminal_disconnect_then_reconnect(
    broker: Mt5Broker, sim: SimulatedTerminal, terminal: Instrumented, kind: str, code: int
) -> None:
    states: list[ConnectionState] = []
    broker.on_state = states.append
    await broker.symbol("EURUSD")
    sim.faults.disconnect(kind)
    order = market("D-1")
    out = await broker.place(order)
    assert out.status is OutcomeStatus.UNKNOWN
    assert out.attempts[0].error_code == code
    assert broker.state is ConnectionState.DISCONNECTED

    still_down = await broker.lookup(OrderQuery.for_order(order))
    assert still_down.status is OutcomeStatus.UNKNOWN and "lookup failed" in still_down.reason
    with pytest.raises(BrokerUnavailableError, match="unreachable"):
        await broker.poll()
    refused = await broker.place(market("D-2"))
    assert refused.status is OutcomeStatus.REJECTED and refused.attempts == ()
    assert terminal.calls["order_send"] == 1

    sim.faults.reconnect()
    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.NOT_FOUND
    assert broker.state is ConnectionState.CONNECTED
    assert terminal.calls["shutdown"] >= 1 and terminal.calls["initialize"] >= 2
    assert states[0] is ConnectionState.DISCONNECTED and states[-1] is ConnectionState.CONNECTED
    assert ConnectionState.CONNECTING in states


async def test_reconnect_backs_off_and_gives_up(sim: SimulatedTerminal) -> None:
    waited: list[float] = []

    async def record(delay: float) -> None:
        waited.append(delay)

    broker = Mt5Broker(
        ThreadWorker(SameObject(sim)),
        policy=AdapterPolicy(reconnect_delays_s=(0.5, 1.0, 2.0)),
        sleep=record,
    )
    sim.faults.disconnect("ipc")
    with pytest.raises(BrokerUnavailableError, match="after 4 attempts"):
        await broker.connect()
    assert waited == [0.5, 1.0, 2.0] and broker.state is ConnectionState.DISCONNECTED
    sim.faults.reconnect()
    assert await broker.connect() is ConnectionState.CONNECTED
    await broker.close()


async def test_trade_server_lost(broker: Mt5Broker, sim: SimulatedTerminal) -> None:
    sim.faults.disconnect("server")
    assert await broker.refresh_state() is ConnectionState.NO_TRADE_SERVER
    out = await broker.place(market("N-1"))
    assert out.status is OutcomeStatus.REJECTED and out.retcode == c.RETCODE_CONNECTION
    sim.faults.reconnect()
    assert await broker.refresh_state() is ConnectionState.CONNECTED


async def test_wrong_credentials_fail_to_connect() -> None:
    from oms.broker.mt5.calls import LoginArgs

    sim = SimulatedTerminal(seed=1, password="right")
    broker = Mt5Broker(
        ThreadWorker(SameObject(sim)),
        LoginArgs(login=5_000_001, password="wrong"),
        AdapterPolicy(reconnect_delays_s=()),
    )
    with pytest.raises(BrokerUnavailableError, match="-6"):
        await broker.connect()
    assert "wrong" not in repr(LoginArgs(login=1, password="wrong"))
    await broker.close()
