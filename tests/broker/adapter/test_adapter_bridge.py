"""`oms sim serve` in a subprocess, driven through the real mt5linux client over the socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.port import (
    CancelOrder,
    ConnectionState,
    ModifyOrder,
    OrderQuery,
    OutcomeStatus,
    Side,
)
from oms.broker.worker import Mt5LinuxClient, ThreadWorker
from tests.broker.adapter.conftest import limit, market

ROOT = Path(__file__).resolve().parents[3]
READY_ATTEMPTS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int) -> None:
    """Poll the socket, a bounded number of times, waiting on the process between tries."""
    for _ in range(READY_ATTEMPTS):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        _, err = proc.communicate()
        pytest.fail(f"oms sim serve exited with {proc.returncode}: {err.decode()[-2000:]}")
    proc.kill()
    pytest.fail(f"oms sim serve did not listen on port {port} after {READY_ATTEMPTS} tries")


@contextmanager
def served_simulator(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`oms sim serve` on `port` in its own process, stopped on exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "oms", "sim", "serve", "--port", str(port), "--step-ms", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_listening(proc, port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def bridge_port() -> Iterator[int]:
    """The port of a simulated terminal served by `oms sim serve` in its own process."""
    port = _free_port()
    with served_simulator(port):
        yield port


@pytest.mark.slow
async def test_trading_through_mt5linux_over_the_bridge(bridge_port: int) -> None:
    broker = Mt5Broker(
        ThreadWorker(Mt5LinuxClient("127.0.0.1", bridge_port, 30.0)),
        policy=AdapterPolicy(call_timeout_s=30, reconnect_delays_s=(0.1,)),
        rebuild_on_reconnect=True,
    )
    try:
        assert await broker.connect() is ConnectionState.CONNECTED

        bought = await broker.place(market("BR-1", volume="0.30"))
        assert bought.status is OutcomeStatus.FILLED, bought.reason
        assert bought.filled_volume == Decimal("0.3") and bought.deal_ticket

        resting = await broker.place(limit("BR-2", Decimal("1.05000")))
        assert resting.status is OutcomeStatus.PLACED, resting.reason
        ticket = resting.order_ticket
        assert ticket is not None
        moved = await broker.modify(ModifyOrder("BR-2", ticket, price=Decimal("1.04900")))
        assert moved.status is OutcomeStatus.MODIFIED, moved.reason
        confirmed = await broker.confirm_modify(
            ModifyOrder("BR-2", ticket, price=Decimal("1.04900"))
        )
        assert confirmed.status is OutcomeStatus.MODIFIED
        assert confirmed.order is not None and confirmed.order.price_open == Decimal("1.049")

        changes = await broker.poll()
        assert [p.identifier for p in changes.positions] == [bought.order_ticket]
        assert [o.ticket for o in changes.open_orders] == [ticket]
        assert [d.ticket for d in changes.deals] == [bought.deal_ticket]

        canceled = await broker.cancel(CancelOrder("BR-2", ticket))
        assert canceled.status is OutcomeStatus.CANCELED, canceled.reason
        closed = await broker.place(
            market("BR-3", side=Side.SELL, volume="0.30", position=bought.order_ticket)
        )
        assert closed.status is OutcomeStatus.FILLED, closed.reason

        history = await broker.poll()
        assert history.positions == () and history.open_orders == ()
        assert {o.comment for o in history.history_orders} == {"BR-2", "BR-3"}
        assert [d.order for d in history.deals] == [closed.order_ticket]

        found = await broker.lookup(OrderQuery.for_order(market("BR-3", side=Side.SELL)))
        assert found.status is OutcomeStatus.FILLED and found.matched_by == "comment"
        assert found.order_ticket == closed.order_ticket
        never_sent = await broker.lookup(OrderQuery.for_order(market("BR-9")))
        assert never_sent.status is OutcomeStatus.NOT_FOUND
        found = await broker.lookup(
            OrderQuery.for_order(market("BR-1", volume="0.30"), ticket=bought.order_ticket)
        )
        assert found.status is OutcomeStatus.FILLED and found.matched_by == "ticket"
    finally:
        await broker.close()


@pytest.mark.slow
def test_the_bridge_runs_no_code_but_terminal_calls(bridge_port: int) -> None:
    from mt5linux import MetaTrader5

    client = MetaTrader5(host="127.0.0.1", port=bridge_port)
    assert client.initialize() is True
    assert client.symbol_info("EURUSD").digits == 5
    for code in ("__import__('os').getcwd()", "mt5.__class__", "open('/etc/passwd').read()"):
        with pytest.raises(Exception, match="BridgeRequestError"):
            client.eval(code)
    with pytest.raises(Exception, match="runs no code"):
        client.execute("import os")


@pytest.mark.slow
async def test_bridge_restart_is_survived_by_rebuilding_the_client() -> None:
    port = _free_port()
    broker = Mt5Broker(
        ThreadWorker(Mt5LinuxClient("127.0.0.1", port, 30.0)),
        policy=AdapterPolicy(call_timeout_s=30, reconnect_delays_s=(0.1, 0.1)),
        rebuild_on_reconnect=True,
    )
    try:
        with served_simulator(port):
            await broker.connect()
            first = await broker.place(market("RS-1"))
            assert first.status is OutcomeStatus.FILLED
        lost = await broker.place(market("RS-2"))
        assert lost.status is OutcomeStatus.UNKNOWN and lost.attempts[0].error_code is None
        assert broker.state is ConnectionState.DISCONNECTED
        with served_simulator(port):
            again = await broker.place(market("RS-3"))
            assert again.status is OutcomeStatus.FILLED, again.reason
            assert broker.state is ConnectionState.CONNECTED
            ours = frozenset({again.order_ticket or 0})
            found = await broker.lookup(OrderQuery.for_order(market("RS-2"), known_tickets=ours))
            assert found.status is OutcomeStatus.NOT_FOUND  # a fresh terminal never saw it
    finally:
        await broker.close()
