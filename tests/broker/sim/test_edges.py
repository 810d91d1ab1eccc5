"""Less common paths: filling policies of pending orders, netting stops, margin at trigger."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal

from .conftest import market, pending, set_eurusd


def test_netting_stop_loss_and_pending_fill_on_the_one_position(netting: SimulatedTerminal) -> None:
    mt5 = netting
    set_eurusd(mt5, 1.08500, 1.08510)
    first = mt5.order_send(market(mt5, 0, 0.2, sl=1.0800))
    limit = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0840, volume=0.1))
    set_eurusd(mt5, 1.08380, 1.08390)  # the limit adds to the position
    (pos,) = mt5.positions_get()
    assert pos.volume == 0.3 and pos.identifier == first.order
    assert mt5.history_deals_get(ticket=limit.order)[0].position_id == first.order
    set_eurusd(mt5, 1.07990, 1.08000)  # the SL closes all of it
    assert mt5.positions_total() == 0
    last = mt5.history_deals_get(position=first.order)[-1]
    assert last.reason == mt5.DEAL_REASON_SL and last.entry == mt5.DEAL_ENTRY_OUT
    assert last.volume == 0.3


def test_pending_filling_policies(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    boc = mt5.order_send(
        pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, type_filling=mt5.ORDER_FILLING_BOC)
    )
    assert boc.retcode == mt5.TRADE_RETCODE_INVALID_FILL  # EURUSD has no BOC bit
    fok = mt5.order_send(
        pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.084, 2.0, type_filling=mt5.ORDER_FILLING_FOK)
    )
    ioc = mt5.order_send(
        pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.086, 2.0, type_filling=mt5.ORDER_FILLING_IOC)
    )
    mt5.market.set_book("EURUSD", [(1.0861, 1.0)], [(1.0838, 1.0)])  # 1 lot each side
    # FOK limit waits for the whole volume; IOC fills one lot and cancels the rest
    assert [o.ticket for o in mt5.orders_get()] == [fok.order]
    (hist,) = mt5.history_orders_get(ticket=ioc.order)
    assert hist.state == mt5.ORDER_STATE_CANCELED and hist.volume_current == 1.0
    assert mt5.history_deals_get(ticket=fok.order) == ()
    mt5.market.set_book("EURUSD", [(1.0837, 5.0)], [(1.0838, 1.0), (1.0839, 1.0)])
    assert mt5.orders_total() == 0
    assert sum(d.volume for d in mt5.history_deals_get(ticket=fok.order)) == 2.0


def test_fok_stop_is_canceled_when_the_book_is_thin(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(
        pending(mt5, mt5.ORDER_TYPE_BUY_STOP, 1.0860, 3.0, type_filling=mt5.ORDER_FILLING_FOK)
    )
    mt5.market.set_book("EURUSD", [(1.0860, 5.0)], [(1.0861, 1.0)])
    assert mt5.orders_total() == 0 and mt5.positions_total() == 0
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_CANCELED


def test_trigger_without_margin_is_rejected() -> None:
    mt5 = SimulatedTerminal(seed=1, balance=1_000.0)
    assert mt5.initialize()
    set_eurusd(mt5, 1.08500, 1.08510)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0840, volume=5.0))
    assert res.retcode == 10008  # pending orders reserve no margin
    set_eurusd(mt5, 1.08380, 1.08390)
    assert mt5.orders_total() == 0 and mt5.positions_total() == 0
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_REJECTED


def test_hedging_pending_fill_is_its_own_position(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510)
    held = mt5.order_send(market(mt5, 0, 0.1))
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_SELL_STOP, 1.0845, 0.1, sl=1.0860))
    set_eurusd(mt5, 1.08440, 1.08450)
    tickets = {p.ticket for p in mt5.positions_get()}
    assert tickets == {held.order, res.order}  # a sell never nets a buy on hedging
    short = mt5.positions_get(ticket=res.order)[0]
    assert short.sl == 1.086 and short.type == mt5.POSITION_TYPE_SELL


def test_trade_modes_freeze_level_and_order_limit() -> None:
    import dataclasses

    from oms.broker.sim import default_symbols

    modes = {"EURUSD": 1, "GBPUSD": 2}  # LONGONLY, SHORTONLY
    specs = [
        dataclasses.replace(s, trade_mode=modes.get(s.name, 4), freeze_level=20)
        for s in default_symbols()
    ]
    mt5 = SimulatedTerminal(seed=1, symbols=specs, limit_orders=2)
    assert mt5.initialize()
    assert mt5.order_send(market(mt5, 1)).retcode == mt5.TRADE_RETCODE_LONG_ONLY
    assert mt5.order_send(market(mt5, 0, symbol="GBPUSD")).retcode == mt5.TRADE_RETCODE_SHORT_ONLY
    set_eurusd(mt5, 1.08500, 1.08510)
    near = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0850))  # 10 points away
    far = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0800))
    assert near.retcode == far.retcode == 10008
    extra = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0790))
    assert extra.retcode == mt5.TRADE_RETCODE_LIMIT_ORDERS
    remove = {"action": mt5.TRADE_ACTION_REMOVE}
    assert mt5.order_send({**remove, "order": near.order}).retcode == mt5.TRADE_RETCODE_FROZEN
    assert mt5.order_send({**remove, "order": far.order}).retcode == 10009
    assert mt5.account_info().limit_orders == 2


def test_stop_out_closes_the_most_losing_position() -> None:
    mt5 = SimulatedTerminal(seed=1, balance=1_000.0)
    assert mt5.initialize()
    set_eurusd(mt5, 1.08500, 1.08510)
    big = mt5.order_send(market(mt5, 0, 0.6))
    small = mt5.order_send(market(mt5, 0, 0.2))
    assert big.retcode == small.retcode == 10009
    set_eurusd(mt5, 1.08000, 1.08010)  # equity 600, margin ~864: level ~69%, above 30%
    assert mt5.positions_total() == 2
    set_eurusd(mt5, 1.07600, 1.07610)  # equity 280, margin ~861: level ~32.5%
    assert mt5.positions_total() == 2
    set_eurusd(mt5, 1.07500, 1.07510)  # equity 200: level ~23% -> the 0.6 lot position goes
    (left,) = mt5.positions_get()
    assert left.ticket == small.order
    out = mt5.history_deals_get(position=big.order)[-1]
    assert out.reason == mt5.DEAL_REASON_SO and out.comment.startswith("[so ")
    assert mt5.history_orders_get(ticket=out.order)[0].reason == mt5.ORDER_REASON_SO
    info = mt5.account_info()
    assert info.margin_so_so == 30.0 and info.margin_level >= 30.0


def test_balance_operation_is_a_deal_without_order(mt5: SimulatedTerminal) -> None:
    ticket = mt5.faults.balance_operation(2_500.0, "deposit")
    assert mt5.account_info().balance == 102_500.0
    (deal,) = mt5.history_deals_get(0, 2**40)
    assert deal.ticket == ticket and deal.type == mt5.DEAL_TYPE_BALANCE
    assert (deal.order, deal.position_id, deal.profit, deal.comment) == (0, 0, 2_500.0, "deposit")
    mt5.faults.balance_operation(-500.0)
    assert mt5.account_info().balance == 102_000.0
