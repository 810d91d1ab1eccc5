"""Filling policies against a thin book, instant execution, closed and disabled markets."""

from __future__ import annotations

import dataclasses

from oms.broker.sim import SimulatedTerminal, default_symbols

from .conftest import market, set_eurusd


def test_fok_rejects_what_the_book_cannot_fill(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)  # 5 lots a side
    res = mt5.order_send(market(mt5, 0, 6.0, type_filling=mt5.ORDER_FILLING_FOK))
    assert res.retcode == mt5.TRADE_RETCODE_REJECT and res.order == 0 and res.deal == 0
    assert mt5.positions_total() == 0 and mt5.symbol_info_tick("EURUSD").ask == 1.0851
    res = mt5.order_send(market(mt5, 0, 5.0, type_filling=mt5.ORDER_FILLING_FOK))
    assert res.retcode == 10009 and res.volume == 5.0


def test_ioc_fills_what_it_can_and_cancels_the_rest(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    res = mt5.order_send(market(mt5, 0, 6.0))
    assert res.retcode == mt5.TRADE_RETCODE_DONE_PARTIAL and res.volume == 5.0
    (order,) = mt5.history_orders_get(ticket=res.order)
    assert order.state == mt5.ORDER_STATE_CANCELED
    assert (order.volume_initial, order.volume_current) == (6.0, 1.0)
    assert mt5.positions_get()[0].volume == 5.0 and mt5.orders_total() == 0
    empty = mt5.order_send(market(mt5, 0, 1.0))
    assert empty.retcode == mt5.TRADE_RETCODE_PRICE_OFF  # no asks left at all


def test_return_leaves_the_remainder_working(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    res = mt5.order_send(market(mt5, 0, 6.0, type_filling=mt5.ORDER_FILLING_RETURN))
    assert res.retcode == mt5.TRADE_RETCODE_DONE_PARTIAL and res.volume == 5.0
    (order,) = mt5.orders_get()
    assert order.ticket == res.order and order.state == mt5.ORDER_STATE_PARTIAL
    assert order.volume_current == 1.0
    set_eurusd(mt5, 1.08600, 1.08610)  # fresh liquidity: the remainder fills at market
    assert mt5.orders_total() == 0
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_FILLED
    (pos,) = mt5.positions_get()
    assert pos.volume == 6.0
    assert [d.volume for d in mt5.history_deals_get(ticket=res.order)] == [5.0, 1.0]


def test_instant_execution_requotes_and_off_quotes(mt5: SimulatedTerminal) -> None:
    tick = mt5.symbol_info_tick("AUDUSD")
    req = {
        "action": 1,
        "symbol": "AUDUSD",
        "volume": 0.1,
        "type": 0,
        "price": tick.ask,
        "deviation": 5,
        "type_filling": mt5.ORDER_FILLING_FOK,
    }
    ioc = mt5.order_send({**req, "type_filling": mt5.ORDER_FILLING_IOC})
    assert ioc.retcode == mt5.TRADE_RETCODE_INVALID_FILL  # instant execution: FOK only
    stale = round(tick.ask - 0.0001, 5)  # 10 points away
    requote = mt5.order_send({**req, "price": stale})
    assert requote.retcode == mt5.TRADE_RETCODE_REQUOTE and requote.comment == "Requote"
    assert (requote.bid, requote.ask) == (tick.bid, tick.ask) and requote.order == 0
    assert mt5.order_send({**req, "price": stale, "deviation": 10}).retcode == 10009
    wide = mt5.order_send({**req, "price": round(tick.ask - 0.004, 5), "deviation": 450})
    assert wide.retcode == 10009  # 400 points: within the deviation the client allows
    off = mt5.order_send({**req, "price": round(tick.ask - 0.01, 5), "deviation": 2000})
    assert off.retcode == mt5.TRADE_RETCODE_PRICE_OFF  # 1000 points: beyond the dealer's 500


def test_closed_and_disabled_markets() -> None:
    specs = [
        dataclasses.replace(s, trade_mode=0) if s.name == "GBPUSD" else s for s in default_symbols()
    ]
    mt5 = SimulatedTerminal(seed=1, symbols=specs)
    assert mt5.initialize()
    mt5.market.set_open("EURUSD", False)
    assert mt5.order_send(market(mt5, 0)).retcode == mt5.TRADE_RETCODE_MARKET_CLOSED
    assert mt5.order_send(market(mt5, 0)).comment == "Market closed"
    mt5.market.set_open("EURUSD", True)
    assert mt5.order_send(market(mt5, 0)).retcode == 10009
    gbp = market(mt5, 0, symbol="GBPUSD")
    assert mt5.order_send(gbp).retcode == mt5.TRADE_RETCODE_TRADE_DISABLED


def test_weekend_closes_the_market() -> None:
    mt5 = SimulatedTerminal(seed=1, weekend_closed=True)
    assert mt5.initialize()
    assert mt5.order_send(market(mt5, 0)).retcode == 10009  # Monday
    mt5.market.advance(5 * 86_400)  # Saturday
    assert mt5.order_send(market(mt5, 0)).retcode == mt5.TRADE_RETCODE_MARKET_CLOSED


def test_order_check(mt5: SimulatedTerminal) -> None:
    res = mt5.order_check(market(mt5, 0, 1.0))
    assert res.retcode == 0 and res.comment == "Done"
    assert res.balance == 100_000.0 and res.margin > 1000 and res.margin_free < 100_000
    assert res.request.volume == 1.0
    assert mt5.positions_total() == 0  # nothing was sent
    broke = mt5.order_check(market(mt5, 0, 100.0))
    assert broke.retcode == mt5.TRADE_RETCODE_NO_MONEY and broke.comment == "No money"
