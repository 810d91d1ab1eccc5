"""Netting account: one position per symbol, add, reduce, close, reverse with INOUT."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal

from .conftest import market, set_eurusd


def test_add_reduce_reverse_close(netting: SimulatedTerminal) -> None:
    mt5 = netting
    set_eurusd(mt5, 1.08500, 1.08510)
    first = mt5.order_send(market(mt5, 0, 0.2, magic=1))
    (pos,) = mt5.positions_get()
    assert pos.ticket == pos.identifier == first.order
    set_eurusd(mt5, 1.08600, 1.08610)
    add = mt5.order_send(market(mt5, 0, 0.2, magic=2))
    (pos,) = mt5.positions_get()
    assert pos.volume == 0.4 and pos.price_open == round((1.0851 + 1.0861) / 2, 8)
    assert pos.identifier == first.order and pos.ticket == first.order
    assert mt5.history_deals_get(ticket=add.order)[0].entry == mt5.DEAL_ENTRY_IN

    reduce = mt5.order_send(market(mt5, 1, 0.1))
    (deal,) = mt5.history_deals_get(ticket=reduce.order)
    assert deal.entry == mt5.DEAL_ENTRY_OUT and deal.position_id == first.order
    assert deal.profit == round((1.086 - pos.price_open) * 0.1 * 100_000, 2)
    assert mt5.positions_get()[0].volume == 0.3

    set_eurusd(mt5, 1.08400, 1.08410)
    rev = mt5.order_send(market(mt5, 1, 0.5, magic=3))
    (deal,) = mt5.history_deals_get(ticket=rev.order)
    assert deal.entry == mt5.DEAL_ENTRY_INOUT and deal.volume == 0.5
    assert deal.position_id == first.order
    (pos,) = mt5.positions_get()
    assert pos.type == mt5.POSITION_TYPE_SELL and pos.volume == 0.2
    assert pos.identifier == first.order and pos.ticket == rev.order  # ticket moves, id stays
    assert pos.price_open == 1.084

    close = mt5.order_send(market(mt5, 0, 0.2, position=pos.ticket))
    assert close.retcode == 10009 and mt5.positions_total() == 0
    entries = [d.entry for d in mt5.history_deals_get(position=first.order)]
    assert entries == [0, 0, 1, 2, 1]
    balance = 100_000 + sum(d.profit for d in mt5.history_deals_get(position=first.order))
    assert mt5.account_info().balance == round(balance, 2)


def test_sltp_by_symbol_on_netting(netting: SimulatedTerminal) -> None:
    mt5 = netting
    set_eurusd(mt5, 1.08500, 1.08510)
    mt5.order_send(market(mt5, 0, 0.1))
    req = {"action": mt5.TRADE_ACTION_SLTP, "symbol": "EURUSD", "sl": 1.08, "tp": 1.09}
    assert mt5.order_send(req).retcode == 10009
    assert mt5.order_send(req).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    (pos,) = mt5.positions_get()
    assert (pos.sl, pos.tp) == (1.08, 1.09)


def test_close_by_is_refused_on_netting(netting: SimulatedTerminal) -> None:
    res = netting.order_send(
        {"action": netting.TRADE_ACTION_CLOSE_BY, "position": 1, "position_by": 2}
    )
    assert res.retcode == netting.TRADE_RETCODE_INVALID
