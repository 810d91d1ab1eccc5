"""Every injected fault, with what the module surface shows afterwards."""

from __future__ import annotations

import pytest

from oms.broker.sim import SimulatedTerminal
from oms.errors import OmsError

from .conftest import market, pending, set_eurusd


def test_ipc_disconnect_needs_reconnect_and_initialize(mt5: SimulatedTerminal) -> None:
    mt5.faults.disconnect("ipc")
    assert mt5.order_send(market(mt5, 0)) is None
    assert mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.terminal_info() is None and mt5.positions_get() is None
    assert not mt5.initialize() and mt5.last_error()[0] == -10003
    mt5.faults.reconnect()
    assert mt5.account_info() is None  # the old session is gone
    assert mt5.initialize() and mt5.terminal_info().connected
    assert mt5.order_send(market(mt5, 0)).retcode == 10009


def test_hung_terminal_times_out(mt5: SimulatedTerminal) -> None:
    mt5.faults.disconnect("hang")
    assert mt5.orders_get() is None and mt5.last_error() == (-10005, "IPC timeout")
    assert mt5.symbol_select("EURUSD") is False
    mt5.faults.reconnect()
    assert mt5.orders_get() is None and mt5.last_error()[0] == -10004
    assert mt5.initialize() and mt5.orders_get() == ()


def test_server_disconnect_shows_in_terminal_info(mt5: SimulatedTerminal) -> None:
    mt5.faults.disconnect("server")
    info = mt5.terminal_info()
    assert info is not None and not info.connected
    res = mt5.order_send(market(mt5, 0))
    assert res.retcode == mt5.TRADE_RETCODE_CONNECTION and mt5.positions_total() == 0
    mt5.faults.reconnect()
    assert mt5.terminal_info().connected
    with pytest.raises(OmsError, match="ipc"):
        mt5.faults.disconnect("cable")


def test_lost_ack_places_the_order_but_returns_none(mt5: SimulatedTerminal) -> None:
    mt5.faults.drop_next_ack()
    assert mt5.order_send(market(mt5, 0, magic=4242, comment="cid-1")) is None
    assert mt5.last_error() == (-10005, "IPC timeout")
    (pos,) = mt5.positions_get()  # it was executed all the same
    assert pos.magic == 4242 and pos.comment == "cid-1"
    (deal,) = mt5.history_deals_get(position=pos.identifier)
    assert deal.magic == 4242
    assert mt5.order_send(market(mt5, 0)).retcode == 10009  # only the next one was lost


def test_fill_while_nobody_looks(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0800, volume=0.5))
    deal = mt5.faults.fill_order(res.order, volume=0.2)
    (order,) = mt5.orders_get()
    assert order.state == mt5.ORDER_STATE_PARTIAL and order.volume_current == 0.3
    mt5.faults.fill_order(res.order)
    assert mt5.orders_total() == 0
    deals = mt5.history_deals_get(ticket=res.order)
    assert deals[0].ticket == deal and [d.price for d in deals] == [1.08, 1.08]
    (pos,) = mt5.positions_get()
    assert pos.volume == 0.5 and pos.ticket == res.order
    with pytest.raises(OmsError, match="not working"):
        mt5.faults.fill_order(res.order)


def test_cancel_while_nobody_looks(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.0900))
    mt5.faults.cancel_order(res.order)
    assert mt5.orders_get() == ()
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_CANCELED


def test_manual_trade_in_the_terminal(mt5: SimulatedTerminal) -> None:
    res = mt5.faults.manual_trade(
        {
            "action": 1,
            "symbol": "EURUSD",
            "volume": 0.3,
            "type": 1,
            "magic": 99,
            "type_filling": mt5.ORDER_FILLING_IOC,
        }
    )
    assert res.retcode == 10009
    (pos,) = mt5.positions_get()
    assert pos.magic == 0 and pos.reason == mt5.POSITION_REASON_CLIENT
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.reason == mt5.DEAL_REASON_CLIENT and deal.magic == 0
    assert mt5.history_orders_get(ticket=res.order)[0].reason == mt5.ORDER_REASON_CLIENT


def test_broker_rewrites_comments(mt5: SimulatedTerminal) -> None:
    mt5.faults.rewrite_comments(lambda c: f"[b] {c}"[:16])
    res = mt5.order_send(market(mt5, 0, comment="oms:0123456789abcdef"))
    assert res.request.comment == "oms:0123456789abcdef"  # the request is echoed as sent
    assert mt5.positions_get()[0].comment == "[b] oms:01234567"
    assert mt5.history_deals_get(ticket=res.order)[0].comment == "[b] oms:01234567"
    mt5.faults.rewrite_comments(None)
    res = mt5.order_send(market(mt5, 0, comment="plain"))
    assert mt5.history_orders_get(ticket=res.order)[0].comment == "plain"


def test_order_vanishes(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    working = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0800))
    done = mt5.order_send(market(mt5, 0))
    mt5.faults.vanish_order(working.order)
    mt5.faults.vanish_order(done.order)
    assert mt5.orders_get() == () and mt5.history_orders_get(ticket=working.order) == ()
    assert mt5.history_orders_get(ticket=done.order) == ()
    assert mt5.history_orders_total(0, 2**40) == 0
    assert len(mt5.history_deals_get(ticket=done.order)) == 1  # its deal is still there
    with pytest.raises(OmsError, match="unknown"):
        mt5.faults.vanish_order(working.order)


def test_rejects_and_algo_trading_button(mt5: SimulatedTerminal) -> None:
    mt5.faults.reject_next(mt5.TRADE_RETCODE_TOO_MANY_REQUESTS)
    assert mt5.order_send(market(mt5, 0)).retcode == 10024
    assert mt5.order_send(market(mt5, 0)).retcode == 10009
    mt5.faults.set_algo_trading(False)
    assert not mt5.terminal_info().trade_allowed
    res = mt5.order_send(market(mt5, 0))
    assert res.retcode == mt5.TRADE_RETCODE_CLIENT_DISABLES_AT
    assert mt5.positions_total() == 1


def test_latency_is_applied_per_call() -> None:
    calls: list[int] = []

    def delay() -> float:
        calls.append(1)
        return 0.0

    mt5 = SimulatedTerminal(seed=1, latency=delay)
    mt5.initialize()
    mt5.symbol_info_tick("EURUSD")
    mt5.order_send(market(mt5, 0))
    assert len(calls) == 2
