"""First slice: a hedging account opens and closes a market position."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal


def test_open_and_close_a_hedging_position() -> None:
    mt5 = SimulatedTerminal(seed=1, margin_mode="hedging")
    assert mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    res = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": 0,
            "price": tick.ask,
            "magic": 42,
            "comment": "x",
            "type_filling": mt5.ORDER_FILLING_IOC,
        }
    )
    assert res.retcode == mt5.TRADE_RETCODE_DONE
    (pos,) = mt5.positions_get()
    assert pos.ticket == pos.identifier == res.order
    close = mt5.order_send(
        {
            "action": 1,
            "symbol": "EURUSD",
            "volume": 0.1,
            "type": 1,
            "position": pos.ticket,
            "type_filling": mt5.ORDER_FILLING_IOC,
        }
    )
    assert close.retcode == 10009
    assert mt5.positions_get() == ()
    deals = mt5.history_deals_get(position=pos.ticket)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
