"""Our own executions move the simulated quotes, and our other orders react to that at once."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal

from .conftest import market, pending, set_eurusd


def _stop(mt5: SimulatedTerminal, price: float, volume: float = 0.1) -> int:
    placed = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_STOP, price, volume))
    assert placed.retcode == mt5.TRADE_RETCODE_PLACED
    return int(placed.order)


def _filled_at(mt5: SimulatedTerminal, order: int) -> list[tuple[float, int]]:
    """Price and time of each deal of an order."""
    return [(d.price, d.time_msc) for d in mt5.history_deals_get(ticket=order)]


def test_our_buy_lifting_the_ask_through_our_buy_stop_fills_it_in_the_same_send(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    stop = _stop(mt5, 1.08512)
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.0)).retcode == 10009
    now = mt5.market.time_msc
    assert not mt5.orders_get(ticket=stop)
    (done,) = mt5.history_orders_get(ticket=stop)
    assert done.state == mt5.ORDER_STATE_FILLED
    assert _filled_at(mt5, stop) == [(1.08512, now)]
    assert mt5.symbol_info_tick("EURUSD").ask == 1.08512  # 0.4 lots left at the stop's level


def test_a_fill_that_leaves_the_touch_alone_triggers_nothing(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    stop = _stop(mt5, 1.08511)
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 0.2)).retcode == 10009
    (working,) = mt5.orders_get(ticket=stop)
    assert working.state == mt5.ORDER_STATE_PLACED


def test_stops_cascade_until_nothing_moves(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    first = _stop(mt5, 1.08512, 0.5)  # takes its whole level: the ask moves on to the next
    second = _stop(mt5, 1.08513)
    third = _stop(mt5, 1.08515)  # beyond what the cascade reaches
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.0)).retcode == 10009
    now = mt5.market.time_msc
    assert _filled_at(mt5, first) == [(1.08512, now)]
    assert _filled_at(mt5, second) == [(1.08513, now)]
    assert [o.ticket for o in mt5.orders_get()] == [third]


def test_our_buy_lifting_the_ask_hits_a_short_positions_stop_loss(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    short = mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 0.1, sl=1.08512))
    assert short.retcode == 10009
    (position,) = mt5.positions_get()
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.0)).retcode == 10009
    assert [p.ticket for p in mt5.positions_get()] != [position.ticket]
    closing = [d for d in mt5.history_deals_get(position=position.ticket)
               if d.entry == mt5.DEAL_ENTRY_OUT]  # fmt: skip
    assert [(d.reason, d.price) for d in closing] == [(mt5.DEAL_REASON_SL, 1.08512)]
