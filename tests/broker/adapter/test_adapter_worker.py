"""Calls run off the event loop; a slow or silent broker never stalls it and never duplicates."""

from __future__ import annotations

import asyncio
import threading

import pytest

from oms.broker.mt5 import calls
from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.mt5.factory import NewSimulator
from oms.broker.port import ConnectionState, OrderQuery, OutcomeStatus
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import ProcessWorker, SameObject, ThreadWorker
from oms.domain.enums import Filling
from tests.broker.adapter.conftest import Instrumented, market


async def test_loop_keeps_running_while_a_broker_call_is_in_progress(
    broker: Mt5Broker, terminal: Instrumented
) -> None:
    await broker.symbol("EURUSD")
    terminal.gate = threading.Event()
    send = asyncio.create_task(broker.place(market("S-1")))
    assert await asyncio.to_thread(terminal.entered.wait, 10), "order_send never started"

    # order_send is now held inside the terminal; the loop must still run other work
    ran = asyncio.Event()
    asyncio.get_running_loop().call_soon(ran.set)
    await asyncio.wait_for(ran.wait(), timeout=10)
    ticks = 0
    for _ in range(100):
        await asyncio.sleep(0)
        ticks += 1
    assert ticks == 100 and not send.done()

    terminal.gate.set()
    out = await asyncio.wait_for(send, timeout=10)
    assert out.status is OutcomeStatus.FILLED, out.reason


async def test_no_answer_in_time_is_unknown_and_resolved_by_lookup_not_resend(
    sim: SimulatedTerminal, terminal: Instrumented
) -> None:
    broker = Mt5Broker(
        ThreadWorker(SameObject(terminal)),
        policy=AdapterPolicy(call_timeout_s=0.2, reconnect_delays_s=()),
    )
    await broker.connect()
    await broker.symbol("EURUSD")
    terminal.gate = threading.Event()
    order = market("T-1")
    out = await broker.place(order)
    assert out.status is OutcomeStatus.UNKNOWN and "no answer within" in out.reason
    terminal.gate.set()  # the terminal finishes the send after the adapter gave up waiting

    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.FILLED and found.matched_by == "comment"
    assert terminal.calls["order_send"] == 1
    assert len(sim.positions_get()) == 1
    await broker.close()


async def test_native_style_process_worker_runs_the_terminal_in_a_child_process() -> None:
    broker = Mt5Broker(ProcessWorker(NewSimulator(seed=3, margin_mode="netting")))
    try:
        assert (await broker.connect()).value == "connected"
        out = await broker.place(market("W-1"))
        assert out.status is OutcomeStatus.FILLED, out.reason
        refused = await broker.place(market("W-2", filling=Filling.BOC))  # raised in the child
        assert refused.status is OutcomeStatus.REJECTED and "BOC" in refused.reason
        changes = await broker.poll()
        assert [d.order for d in changes.deals] == [out.order_ticket]
        assert [p.volume for p in changes.positions] == [out.filled_volume]
    finally:
        await broker.close()


class GarbledResults:
    """The simulator, except that order_send answers with a record missing its fields."""

    def __init__(self, terminal: SimulatedTerminal) -> None:
        self.terminal = terminal

    def __getattr__(self, name: str) -> object:
        return getattr(self.terminal, name)

    def order_send(self, request: dict[str, object]) -> object:
        self.terminal.order_send(request)
        return ("garbled",)


async def test_unreadable_result_is_unknown_and_found_by_lookup(sim: SimulatedTerminal) -> None:
    broker = Mt5Broker(ThreadWorker(SameObject(GarbledResults(sim))))
    await broker.connect()
    order = market("G-1")
    out = await broker.place(order)
    assert out.status is OutcomeStatus.UNKNOWN and "unreadable result" in out.reason
    assert broker.state is ConnectionState.CONNECTED  # the link is fine, the answer is not
    found = await broker.lookup(OrderQuery.for_order(order))
    assert found.status is OutcomeStatus.FILLED and len(sim.positions_get()) == 1
    await broker.close()


def hang_forever(session: object) -> None:
    """A terminal call that never returns, like a native call into a hung terminal."""
    threading.Event().wait()


async def test_a_hung_call_in_the_process_worker_is_killed_and_replaced() -> None:
    worker = ProcessWorker(NewSimulator(seed=5))
    try:
        ok, connected, _ = await worker.run(calls.connect, LoginArgs(), False)
        assert ok and connected
        first = worker.pid
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(worker.run(hang_forever), timeout=1.0)
        assert worker.pid is None  # killed: a hung native call cannot be interrupted
        ok, connected, _ = await worker.run(calls.connect, LoginArgs(), False)
        assert ok and connected
        assert worker.pid not in (None, first) and worker.restarts == 1
    finally:
        await worker.close()
    assert worker.pid is None
