"""Pending orders rest, trigger and fill as the book moves; SL/TP close; orders expire."""

from __future__ import annotations

import calendar

from oms.broker.sim import SimulatedTerminal

from .conftest import market, pending, set_eurusd


def test_buy_limit_rests_then_fills_as_the_market_comes_down(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0840, sl=1.0830, tp=1.0900))
    assert res.retcode == mt5.TRADE_RETCODE_PLACED and res.deal == 0 and res.order > 0
    (order,) = mt5.orders_get()
    assert order.state == mt5.ORDER_STATE_PLACED and order.price_open == 1.084
    assert order.price_current == 1.0851 and order.magic == 9
    set_eurusd(mt5, 1.08420, 1.08430)
    assert mt5.orders_total() == 1  # not yet
    set_eurusd(mt5, 1.08380, 1.08390)  # ask below the limit: fills at 1.08390 (improvement)
    assert mt5.orders_total() == 0
    (hist,) = mt5.history_orders_get(ticket=res.order)
    assert hist.state == mt5.ORDER_STATE_FILLED and hist.position_id == res.order
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.price == 1.0839 and deal.entry == mt5.DEAL_ENTRY_IN and deal.magic == 9
    (pos,) = mt5.positions_get()
    assert pos.identifier == res.order and (pos.sl, pos.tp) == (1.083, 1.09)


def test_limit_fills_only_up_to_its_price_and_stays_partial(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0840, volume=3.0))
    mt5.market.set_book("EURUSD", [(1.0838, 5.0)], [(1.0839, 1.0), (1.0840, 1.0), (1.0841, 9.0)])
    (order,) = mt5.orders_get()
    assert order.state == mt5.ORDER_STATE_PARTIAL
    assert order.volume_initial == 3.0 and order.volume_current == 1.0
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.volume == 2.0 and deal.price == round((1.0839 + 1.084) / 2, 8)
    set_eurusd(mt5, 1.08300, 1.08310)
    assert mt5.orders_total() == 0
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_FILLED
    assert sum(d.volume for d in mt5.history_deals_get(ticket=res.order)) == 3.0


def test_sell_stop_triggers_into_a_market_fill(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_SELL_STOP, 1.0845))
    assert res.retcode == 10008
    set_eurusd(mt5, 1.08440, 1.08450)  # bid through the stop: sells at the bid (slippage)
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.type == mt5.DEAL_TYPE_SELL and deal.price == 1.0844
    (pos,) = mt5.positions_get()
    assert pos.type == mt5.POSITION_TYPE_SELL and pos.ticket == res.order


def test_buy_stop_limit_becomes_a_limit(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_STOP_LIMIT, 1.0860, stoplimit=1.0855))
    assert res.retcode == 10008
    assert mt5.orders_get()[0].price_stoplimit == 1.0855
    set_eurusd(mt5, 1.08600, 1.08610)  # stop hit, ask above the limit: now a resting limit
    (order,) = mt5.orders_get()
    assert order.type == mt5.ORDER_TYPE_BUY_LIMIT and order.price_open == 1.0855
    set_eurusd(mt5, 1.08540, 1.08550)
    assert mt5.orders_total() == 0
    assert mt5.history_deals_get(ticket=res.order)[0].price == 1.0855


def test_pending_price_and_type_checks(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    checks = [
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0852), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.0849), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_BUY_STOP, 1.0850), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_SELL_STOP, 1.0851), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084005), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_BUY_STOP_LIMIT, 1.086), mt5.TRADE_RETCODE_INVALID_PRICE),
        (pending(mt5, mt5.ORDER_TYPE_BUY, 1.084), mt5.TRADE_RETCODE_INVALID_ORDER),
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, sl=1.0845), mt5.TRADE_RETCODE_INVALID_STOPS),
        (pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.086, tp=1.087), mt5.TRADE_RETCODE_INVALID_STOPS),
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, volume=0.003), 10014),
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, type_filling=7), 10030),
        (pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, type_time=9), 10022),
    ]
    for request, retcode in checks:
        assert mt5.order_send(request).retcode == retcode, request
    assert mt5.orders_total() == 0


def test_modify_and_remove(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.0860))
    base = {
        "action": mt5.TRADE_ACTION_MODIFY,
        "order": res.order,
        "price": 1.0860,
        "type_time": mt5.ORDER_TIME_GTC,
        "expiration": 0,
    }
    assert mt5.order_send(base).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    moved = mt5.order_send({**base, "price": 1.0870, "sl": 1.0880, "tp": 1.0800})
    assert moved.retcode == 10009 and moved.order == res.order
    (order,) = mt5.orders_get(ticket=res.order)
    assert (order.price_open, order.sl, order.tp, order.volume_initial) == (1.087, 1.088, 1.08, 0.1)
    assert mt5.order_send({**base, "price": 1.0849}).retcode == mt5.TRADE_RETCODE_INVALID_PRICE
    assert mt5.order_send({**base, "order": 1}).retcode == mt5.TRADE_RETCODE_INVALID
    gone = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": res.order})
    assert gone.retcode == 10009 and mt5.orders_total() == 0
    (hist,) = mt5.history_orders_get(ticket=res.order)
    assert hist.state == mt5.ORDER_STATE_CANCELED and hist.volume_current == 0.1
    again = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": res.order})
    assert again.retcode == mt5.TRADE_RETCODE_INVALID


def test_sl_and_tp_close_positions_with_their_reasons(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    long = mt5.order_send(market(mt5, 0, 0.1, sl=1.0840, tp=1.0900))
    short = mt5.order_send(market(mt5, 1, 0.2, sl=1.0870, tp=1.0800))
    set_eurusd(mt5, 1.08300, 1.08310)  # long hits its SL (bid), nothing for the short
    (pos,) = mt5.positions_get()
    assert pos.ticket == short.order
    out = mt5.history_deals_get(position=long.order)[-1]
    assert out.entry == mt5.DEAL_ENTRY_OUT and out.reason == mt5.DEAL_REASON_SL
    assert out.price == 1.083 and out.comment == "[sl 1.08400]" and out.magic == 7
    (order,) = mt5.history_orders_get(ticket=out.order)
    assert order.reason == mt5.ORDER_REASON_SL and order.position_id == long.order
    set_eurusd(mt5, 1.07980, 1.07990)  # short reaches its TP (ask)
    assert mt5.positions_total() == 0
    out = mt5.history_deals_get(position=short.order)[-1]
    assert out.reason == mt5.DEAL_REASON_TP and out.type == mt5.DEAL_TYPE_BUY
    assert out.profit == round((1.0850 - 1.0799) * 0.2 * 100_000, 2)


def test_sltp_action(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(market(mt5, 0, 0.1))
    req = {"action": mt5.TRADE_ACTION_SLTP, "position": res.order, "sl": 1.0800, "tp": 1.0900}
    assert mt5.order_send(req).retcode == 10009
    assert mt5.order_send(req).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    bad = mt5.order_send({**req, "sl": 1.0855})
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    assert mt5.order_send({**req, "position": 5}).retcode == mt5.TRADE_RETCODE_POSITION_CLOSED
    removed = mt5.order_send({**req, "sl": 0.0, "tp": 0.0})
    assert removed.retcode == 10009
    assert (mt5.positions_get()[0].sl, mt5.positions_get()[0].tp) == (0.0, 0.0)


def test_expirations(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    now = mt5.market.time_msc // 1000
    midnight = calendar.timegm((2026, 1, 6, 0, 0, 0))
    gtc = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.07))
    day = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.07, type_time=mt5.ORDER_TIME_DAY))
    spec = mt5.order_send(
        pending(mt5, 2, 1.07, type_time=mt5.ORDER_TIME_SPECIFIED, expiration=now + 60)
    )
    spec_day = mt5.order_send(
        pending(mt5, 2, 1.07, type_time=mt5.ORDER_TIME_SPECIFIED_DAY, expiration=midnight + 60)
    )
    assert {gtc.retcode, day.retcode, spec.retcode, spec_day.retcode} == {10008}
    assert mt5.orders_get(ticket=spec.order)[0].time_expiration == now + 60
    past = pending(mt5, 2, 1.07, type_time=mt5.ORDER_TIME_SPECIFIED, expiration=now - 1)
    assert mt5.order_send(past).retcode == mt5.TRADE_RETCODE_INVALID_EXPIRATION

    mt5.market.advance(61)
    assert {o.ticket for o in mt5.orders_get()} == {gtc.order, day.order, spec_day.order}
    mt5.market.advance(midnight - mt5.market.time_msc / 1000)  # to midnight: DAY ends
    assert {o.ticket for o in mt5.orders_get()} == {gtc.order, spec_day.order}
    mt5.market.advance(86_400)
    assert {o.ticket for o in mt5.orders_get()} == {gtc.order}
    expired = [mt5.history_orders_get(ticket=t)[0] for t in (day.order, spec.order, spec_day.order)]
    assert {o.state for o in expired} == {mt5.ORDER_STATE_EXPIRED}
    assert expired[1].time_done_msc == (now + 61) * 1000  # the first update after expiry


def test_feed_steps_are_deterministic() -> None:
    a, b = SimulatedTerminal(seed=5), SimulatedTerminal(seed=5)
    for term in (a, b):
        term.initialize()
        term.market.step(50)
    assert a.symbol_info_tick("GBPUSD") == b.symbol_info_tick("GBPUSD")
    c = SimulatedTerminal(seed=6)
    c.initialize()
    c.market.step(50)
    assert c.symbol_info_tick("GBPUSD") != a.symbol_info_tick("GBPUSD")
    assert a.symbol_info_tick("GBPUSD").time_msc == a.market.time_msc
