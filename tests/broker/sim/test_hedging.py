"""Market orders on a hedging account: positions per order, closes, close-by, money checks."""

from __future__ import annotations

import datetime as dt

from oms.broker.sim import SimulatedTerminal

from .conftest import market, set_eurusd


def test_market_buy_records(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 0.5, magic=77, comment="abc"))
    assert res.retcode == 10009 and res.comment == "Request executed"
    assert res.volume == 0.5 and res.price == 1.0851 and (res.bid, res.ask) == (0.0, 0.0)
    assert res.order > 0 and res.deal > 0 and res.request_id > 0
    (order,) = mt5.history_orders_get(ticket=res.order)
    assert order.state == mt5.ORDER_STATE_FILLED and order.type == mt5.ORDER_TYPE_BUY
    assert order.volume_initial == 0.5 and order.volume_current == 0.0
    assert order.position_id == res.order and order.magic == 77 and order.comment == "abc"
    assert order.reason == mt5.ORDER_REASON_EXPERT
    (deal,) = mt5.history_deals_get(ticket=res.order)  # ticket= is the ORDER ticket
    assert deal.ticket == res.deal and deal.order == res.order
    assert deal.entry == mt5.DEAL_ENTRY_IN and deal.type == mt5.DEAL_TYPE_BUY
    assert deal.position_id == res.order and deal.magic == 77 and deal.comment == "abc"
    assert deal.reason == mt5.DEAL_REASON_EXPERT and deal.volume == 0.5
    (pos,) = mt5.positions_get(symbol="EURUSD")
    assert pos.ticket == pos.identifier == res.order
    assert pos.type == mt5.POSITION_TYPE_BUY and pos.price_open == 1.0851
    assert pos.price_current == 1.085 and pos.profit == -5.0
    assert mt5.orders_get() == () and mt5.orders_total() == 0


def test_book_walk_gives_vwap_and_consumes_depth(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=1.0)
    res = mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 2.5))
    assert res.retcode == 10009
    assert res.price == round((1.0851 + 1.08511 + 0.5 * 1.08512) / 2.5, 8)
    assert mt5.symbol_info_tick("EURUSD").ask == 1.08512  # two levels taken
    res = mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 0.3))
    assert res.price == 1.085  # selling hits the bid


def test_two_buys_make_two_positions_and_close_one(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    first = mt5.order_send(market(mt5, 0, 0.2))
    second = mt5.order_send(market(mt5, 0, 0.3))
    sell = mt5.order_send(market(mt5, 1, 0.1))  # no position: opens a short, never nets
    assert mt5.positions_total() == 3
    assert {p.ticket for p in mt5.positions_get()} == {first.order, second.order, sell.order}
    set_eurusd(mt5, 1.08600, 1.08610)
    close = mt5.order_send(market(mt5, 1, 0.2, position=first.order, magic=8, comment="close"))
    assert close.retcode == 10009 and close.price == 1.086
    (deal,) = mt5.history_deals_get(ticket=close.order)
    assert deal.entry == mt5.DEAL_ENTRY_OUT and deal.position_id == first.order
    assert deal.profit == round((1.086 - 1.0851) * 0.2 * 100_000, 2)
    assert deal.magic == 8 and deal.comment == "close"
    (order,) = mt5.history_orders_get(ticket=close.order)
    assert order.position_id == first.order
    assert [d.entry for d in mt5.history_deals_get(position=first.order)] == [0, 1]
    assert mt5.positions_total() == 2
    assert mt5.account_info().balance == round(100_000 + deal.profit, 2)


def test_partial_close_keeps_the_position(mt5: SimulatedTerminal) -> None:
    res = mt5.order_send(market(mt5, 0, 1.0))
    part = mt5.order_send(market(mt5, 1, 0.4, position=res.order))
    assert part.retcode == 10009
    (pos,) = mt5.positions_get(ticket=res.order)
    assert pos.volume == 0.6 and pos.identifier == res.order
    too_much = mt5.order_send(market(mt5, 1, 0.7, position=res.order))
    assert too_much.retcode == mt5.TRADE_RETCODE_INVALID_CLOSE_VOLUME
    gone = mt5.order_send(market(mt5, 1, 0.1, position=123))
    assert gone.retcode == mt5.TRADE_RETCODE_POSITION_CLOSED
    same_side = mt5.order_send(market(mt5, 0, 0.1, position=res.order))
    assert same_side.retcode == mt5.TRADE_RETCODE_INVALID


def test_close_by(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    buy = mt5.order_send(market(mt5, 0, 0.5))
    set_eurusd(mt5, 1.08600, 1.08610)
    sell = mt5.order_send(market(mt5, 1, 0.3))
    res = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_CLOSE_BY,
            "position": buy.order,
            "position_by": sell.order,
            "magic": 5,
            "comment": "cb",
        }
    )
    assert res.retcode == 10009 and res.volume == 0.3
    (order,) = mt5.history_orders_get(ticket=res.order)
    assert order.type == mt5.ORDER_TYPE_CLOSE_BY and order.state == mt5.ORDER_STATE_FILLED
    assert (order.position_id, order.position_by_id) == (buy.order, sell.order)
    deals = mt5.history_deals_get(ticket=res.order)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_OUT_BY] * 2
    assert [d.position_id for d in deals] == [buy.order, sell.order]
    assert [d.type for d in deals] == [mt5.DEAL_TYPE_SELL, mt5.DEAL_TYPE_BUY]
    assert deals[0].profit == round((1.086 - 1.0851) * 0.3 * 100_000, 2) and deals[1].profit == 0
    (left,) = mt5.positions_get()
    assert left.ticket == buy.order and left.volume == 0.2
    bad = mt5.order_send({"action": 10, "position": buy.order, "position_by": buy.order})
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID


def test_no_money_volume_and_filling_checks(mt5: SimulatedTerminal) -> None:
    # 100 lots of EURUSD at 1:100 need about 108,500 USD of margin: more than the balance
    assert mt5.order_send(market(mt5, 0, 100.0)).retcode == mt5.TRADE_RETCODE_NO_MONEY
    for volume in (0.001, 0.015, 101.0):
        assert mt5.order_send(market(mt5, 0, volume)).retcode == mt5.TRADE_RETCODE_INVALID_VOLUME
    bits = mt5.symbol_info("EURUSD").filling_mode
    bad = mt5.order_send(market(mt5, 0, 0.1, type_filling=bits))  # the classic bug: 3 is BOC
    assert (
        bad.retcode == mt5.TRADE_RETCODE_INVALID_FILL and bad.comment == "Unsupported filling mode"
    )
    assert mt5.positions_total() == 0 and mt5.history_orders_total(0, 2**40) == 0


def test_stops_on_market_orders(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    bad = mt5.order_send(market(mt5, 0, 0.1, sl=1.0851))  # SL above the bid
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    ok = mt5.order_send(market(mt5, 0, 0.1, sl=1.0840, tp=1.0900))
    assert ok.retcode == 10009
    (pos,) = mt5.positions_get()
    assert (pos.sl, pos.tp) == (1.084, 1.09)
    gold = {"symbol": "XAUUSD", "type_filling": mt5.ORDER_FILLING_FOK}
    ask = mt5.symbol_info_tick("XAUUSD").ask
    near = mt5.order_send(market(mt5, 0, 0.1, sl=round(ask - 0.4, 2), **gold))  # level 50 pts
    assert near.retcode == mt5.TRADE_RETCODE_INVALID_STOPS


def test_commission_and_account_figures() -> None:
    mt5 = SimulatedTerminal(seed=3, commission_per_lot=3.5, balance=10_000.0, leverage=50)
    assert mt5.initialize()
    set_eurusd(mt5, 1.10000, 1.10010)
    res = mt5.order_send(market(mt5, 0, 2.0))
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.commission == -7.0
    info = mt5.account_info()
    assert info.balance == 9_993.0 and info.leverage == 50
    assert info.margin == round(2 * 100_000 * 1.10005 / 50, 2)
    assert info.profit == -20.0 and info.equity == 9_973.0
    assert info.margin_free == round(info.equity - info.margin, 2)


def test_history_ranges_accept_seconds_and_datetimes(mt5: SimulatedTerminal) -> None:
    mt5.order_send(market(mt5, 0))
    mt5.market.advance(3600)
    mt5.order_send(market(mt5, 1))
    start = mt5.market.time_msc // 1000 - 3600
    assert mt5.history_deals_total(start, start + 10) == 1
    assert mt5.history_orders_total(start, start + 3600) == 2
    when = dt.datetime.fromtimestamp(start + 3600, tz=dt.UTC)
    (deal,) = mt5.history_deals_get(when, when + dt.timedelta(seconds=1))
    assert deal.type == mt5.DEAL_TYPE_SELL
    assert len(mt5.history_deals_get(start, start + 7200, group="EUR*")) == 2
    assert mt5.history_deals_get(start, start + 7200, group="GBP*") == ()
    assert mt5.history_deals_get() is None and mt5.last_error()[0] == -2
    assert mt5.history_orders_get("yesterday", start) is None
