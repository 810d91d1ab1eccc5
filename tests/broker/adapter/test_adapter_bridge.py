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
from typing import Any

import pytest

from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.port import (
    CancelOrder,
    ConnectionState,
    ModifyOrder,
    OrderQuery,
    OutcomeStatus,
    PlaceOrder,
)
from oms.broker.worker import Mt5LinuxClient, ThreadWorker
from oms.domain.enums import OrderType, Side
from tests.broker.adapter.conftest import market

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


REAL = os.environ.get("OMS_TEST_MT5LINUX", "")
"""`host:port` of a real Wine-side mt5linux server (demo account!) to run the trading test on."""
SYMBOL = os.environ.get("OMS_TEST_MT5_SYMBOL", "EURUSD")
MAGIC = 990_077
RUN = f"{os.getpid() % 100_000}"


@pytest.fixture(scope="module")
def bridge_address() -> Iterator[tuple[str, int]]:
    """A real mt5linux server when OMS_TEST_MT5LINUX is set, else `oms sim serve`."""
    if REAL:
        host, _, port = REAL.rpartition(":")
        yield host, int(port)
        return
    port = _free_port()
    with served_simulator(port):
        yield "127.0.0.1", port


def _order(tag: str, side: Side, kind: OrderType, volume: float, **kw: Any) -> PlaceOrder:
    return PlaceOrder(f"{tag}-{RUN}", MAGIC, SYMBOL, side, kind, volume, **kw)


def _on_grid(value: float, tick: Decimal) -> float:
    return float((Decimal(repr(value)) / tick).to_integral_value() * tick)


@pytest.mark.slow
async def test_trading_through_mt5linux_over_the_bridge(bridge_address: tuple[str, int]) -> None:
    host, port = bridge_address
    broker = Mt5Broker(
        ThreadWorker(Mt5LinuxClient(host, port, 30.0)),
        policy=AdapterPolicy(call_timeout_s=30, reconnect_delays_s=(0.1,)),
        rebuild_on_reconnect=True,
    )
    try:
        assert await broker.connect() is ConnectionState.CONNECTED
        spec = await broker.symbol(SYMBOL)
        quote = await broker.quote(SYMBOL)
        assert quote is not None and quote.bid > 0
        lot = float(spec.volume_min)
        far_below = _on_grid(quote.bid * 0.95, spec.tick_size)
        further = float(Decimal(repr(far_below)) - 10 * spec.tick_size)

        bought = await broker.place(_order("BR1", Side.BUY, OrderType.MARKET, lot))
        assert bought.status is OutcomeStatus.FILLED, bought.reason
        assert bought.filled_volume == lot and bought.deal_ticket

        resting = await broker.place(_order("BR2", Side.BUY, OrderType.LIMIT, lot, price=far_below))
        assert resting.status is OutcomeStatus.PLACED, resting.reason
        ticket = resting.order_ticket
        assert ticket is not None
        change = ModifyOrder(f"BR2-{RUN}", ticket, price=further)
        moved = await broker.modify(change)
        assert moved.status is OutcomeStatus.MODIFIED, moved.reason
        confirmed = await broker.confirm_modify(change)
        assert confirmed.status is OutcomeStatus.MODIFIED
        assert confirmed.order is not None and confirmed.order.price_open == further

        changes = await broker.poll()
        ours = [p for p in changes.positions if p.magic == MAGIC]
        assert [p.identifier for p in ours] == [bought.order_ticket]
        assert ticket in {o.ticket for o in changes.open_orders}
        assert bought.deal_ticket in {d.ticket for d in changes.deals}

        canceled = await broker.cancel(CancelOrder(f"BR2-{RUN}", ticket))
        assert canceled.status is OutcomeStatus.CANCELED, canceled.reason
        closing = _order("BR3", Side.SELL, OrderType.MARKET, lot, position=bought.order_ticket)
        closed = await broker.place(closing)
        assert closed.status is OutcomeStatus.FILLED, closed.reason

        history = await broker.poll()
        assert not [p for p in history.positions if p.magic == MAGIC]
        assert ticket not in {o.ticket for o in history.open_orders}
        assert {o.comment for o in history.history_orders if o.magic == MAGIC} >= {
            f"BR2-{RUN}",
            f"BR3-{RUN}",
        }
        assert closed.order_ticket in {d.order for d in history.deals}

        found = await broker.lookup(OrderQuery.for_order(closing))
        assert found.status is OutcomeStatus.FILLED and found.matched_by == "comment"
        assert found.order_ticket == closed.order_ticket
        known = frozenset(t for t in (bought.order_ticket, ticket, closed.order_ticket) if t)
        never_sent = _order("BR9", Side.BUY, OrderType.MARKET, lot)
        missing = await broker.lookup(OrderQuery.for_order(never_sent, known_tickets=known))
        assert missing.status is OutcomeStatus.NOT_FOUND
        by_ticket = await broker.lookup(
            OrderQuery.for_order(
                _order("BR1", Side.BUY, OrderType.MARKET, lot), ticket=bought.order_ticket
            )
        )
        assert by_ticket.status is OutcomeStatus.FILLED and by_ticket.matched_by == "ticket"
    finally:
        await broker.close()


@pytest.mark.slow
def test_the_bridge_runs_no_code_but_terminal_calls(bridge_address: tuple[str, int]) -> None:
    from mt5linux import MetaTrader5

    if REAL:
        pytest.skip("a real Wine-side server is a classic RPyC server: it runs any code")
    client = MetaTrader5(host=bridge_address[0], port=bridge_address[1])
    assert client.initialize() is True
    assert client.symbol_info("EURUSD").digits == 5
    for code in ("__import__('os').getcwd()", "mt5.__class__", "open('/etc/passwd').read()"):
        with pytest.raises(Exception, match="BridgeError"):
            client.eval(code)
    with pytest.raises(Exception, match="runs no code"):
        client.execute("import os")


@pytest.mark.slow
@pytest.mark.skipif(bool(REAL), reason="restarts the local simulated server")
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
