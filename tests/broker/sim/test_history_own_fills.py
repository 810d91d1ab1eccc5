"""Our own deals in the simulator's tick history: printed, with the quote they moved, at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from oms.broker.sim import SimulatedTerminal, default_symbols
from oms.broker.sim.constants import C

from .conftest import market, pending, set_eurusd

SYMBOL = "EURUSD"
TRADE = C.TICK_FLAG_LAST | C.TICK_FLAG_VOLUME
BUY_PRINT = TRADE | C.TICK_FLAG_BUY
SELL_PRINT = TRADE | C.TICK_FLAG_SELL


def _ticks(mt5: SimulatedTerminal) -> Any:
    now = mt5.market.time_msc // 1000
    ticks = mt5.copy_ticks_range(SYMBOL, 0, now + 1, C.COPY_TICKS_ALL)
    assert ticks is not None
    return ticks


def _rows(ticks: Any) -> list[tuple[int, float, float, float, int, float]]:
    """time_msc, bid, ask, last, flags, volume_real of each tick."""
    return [(int(t["time_msc"]), float(t["bid"]), float(t["ask"]), float(t["last"]),
             int(t["flags"]), float(t["volume_real"])) for t in ticks]


def _agrees_with_last_tick(mt5: SimulatedTerminal) -> None:
    last = _ticks(mt5)[-1]
    tick = mt5.symbol_info_tick(SYMBOL)
    assert tick is not None
    assert (tick.time_msc, tick.bid, tick.ask) == (
        int(last["time_msc"]), float(last["bid"]), float(last["ask"]))
    trades = [t for t in _ticks(mt5) if int(t["flags"]) & C.TICK_FLAG_LAST]
    if trades:  # the last trade's price and volume, as a real terminal's tick carries them
        assert (tick.last, tick.volume, tick.volume_real) == (
            float(trades[-1]["last"]), int(trades[-1]["volume"]),
            float(trades[-1]["volume_real"]))


def test_a_buy_sweeping_two_ask_levels_prints_each_then_the_new_ask(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=1.0)
    seen = len(_ticks(mt5))
    res = mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.5))
    assert res.retcode == 10009
    now = mt5.market.time_msc
    assert _rows(_ticks(mt5)[seen:]) == [
        (now, 1.085, 1.0851, 1.0851, BUY_PRINT, 1.0),
        (now, 1.085, 1.0851, 1.08511, BUY_PRINT, 0.5),
        (now, 1.085, 1.08511, 1.08511, C.TICK_FLAG_ASK, 0.0),  # half the second level is left
    ]
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.time_msc == now
    _agrees_with_last_tick(mt5)


def test_a_sell_that_empties_the_bid_prints_a_sell_and_the_new_bid(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    seen = len(_ticks(mt5))
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 0.5)).retcode == 10009
    now = mt5.market.time_msc
    assert _rows(_ticks(mt5)[seen:]) == [
        (now, 1.085, 1.0851, 1.085, SELL_PRINT, 0.5),
        (now, 1.08499, 1.0851, 1.085, C.TICK_FLAG_BID, 0.0),
    ]
    _agrees_with_last_tick(mt5)


def test_a_fill_that_leaves_the_quote_alone_only_prints(mt5: SimulatedTerminal) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    seen = len(_ticks(mt5))
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 0.2)).retcode == 10009
    assert _rows(_ticks(mt5)[seen:]) == [
        (mt5.market.time_msc, 1.085, 1.0851, 1.085, SELL_PRINT, 0.2),
    ]
    _agrees_with_last_tick(mt5)


def test_the_forming_bar_holds_the_bid_our_sell_moved_and_its_lots(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=1.0)
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 2.5)).retcode == 10009
    bar = mt5.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, 0, 1)
    assert bar is not None and len(bar) == 1
    assert float(bar["low"][0]) == float(bar["close"][0]) == 1.08498
    assert int(bar["real_volume"][0]) == 2  # 2.5 lots printed, in whole lots


def test_ticks_stay_in_order_around_market_updates_in_the_same_millisecond(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=1.0)
    seen = len(_ticks(mt5))
    now = mt5.market.time_msc
    assert mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.0)).retcode == 10009
    mt5.market.trade(SYMBOL, 1.085, 1.0)  # someone else sells, in the same millisecond
    mt5.market.step()
    ticks = _ticks(mt5)[seen:]
    assert [int(t["flags"]) for t in ticks if int(t["time_msc"]) == now] == [
        BUY_PRINT, C.TICK_FLAG_ASK, SELL_PRINT, C.TICK_FLAG_BID,
    ]
    assert (ticks["time_msc"][1:] >= ticks["time_msc"][:-1]).all()
    assert int(ticks["time_msc"][-1]) == now + mt5.market.step_msc
    _agrees_with_last_tick(mt5)


def test_our_print_carries_the_deal_time_when_the_symbol_last_moved_earlier(
    tmp_path: Path,
) -> None:
    start = 1_767_603_600_000
    book = {"bids": [[1.085, 1.0]], "asks": [[1.0851, 1.0], [1.08511, 1.0]]}
    lines = [
        {"time_msc": start, "symbol": SYMBOL, **book},
        {"time_msc": start, "symbol": "GBPUSD", "bids": [[1.27, 1.0]], "asks": [[1.2701, 1.0]]},
        {"time_msc": start + 500, "symbol": "GBPUSD",
         "bids": [[1.2702, 1.0]], "asks": [[1.2703, 1.0]]},
    ]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    specs = [s for s in default_symbols() if s.name in (SYMBOL, "GBPUSD")]
    mt5 = SimulatedTerminal(symbols=specs, replay=path, start_msc=start)
    assert mt5.initialize()
    mt5.market.step()  # only GBPUSD moves; the clock follows it
    assert mt5.market.time_msc == start + 500
    res = mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 1.0))
    assert res.retcode == 10009
    assert _rows(_ticks(mt5))[-2:] == [
        (start + 500, 1.085, 1.0851, 1.0851, BUY_PRINT, 1.0),
        (start + 500, 1.085, 1.08511, 1.0851, C.TICK_FLAG_ASK, 0.0),
    ]
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert deal.time_msc == start + 500
    _agrees_with_last_tick(mt5)


def test_a_take_profit_close_prints_at_the_update_that_triggered_it(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    opened = mt5.order_send(market(mt5, mt5.ORDER_TYPE_BUY, 0.5, tp=1.086))
    assert opened.retcode == 10009
    mt5.market.step()
    seen = len(_ticks(mt5))
    set_eurusd(mt5, 1.08600, 1.08610, lots=0.5)  # the bid reaches the take profit
    assert mt5.positions_total() == 0
    now = mt5.market.time_msc
    (close,) = [d for d in mt5.history_deals_get(position=opened.order)
                if d.entry == mt5.DEAL_ENTRY_OUT]
    assert close.reason == mt5.DEAL_REASON_TP and close.time_msc == now
    assert _rows(_ticks(mt5)[seen:])[-2:] == [
        (now, 1.086, 1.0861, 1.086, SELL_PRINT, 0.5),
        (now, 1.08599, 1.0861, 1.086, C.TICK_FLAG_BID, 0.0),
    ]
    _agrees_with_last_tick(mt5)


def test_a_triggered_buy_stop_prints_at_the_update_that_triggered_it(
    mt5: SimulatedTerminal,
) -> None:
    set_eurusd(mt5, 1.08500, 1.08510, lots=0.5)
    placed = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_STOP, 1.0853, 0.5))
    assert placed.retcode == 10008
    mt5.market.step()
    seen = len(_ticks(mt5))
    set_eurusd(mt5, 1.08520, 1.08530, lots=0.5)
    assert mt5.orders_total() == 0 and mt5.positions_total() == 1
    now = mt5.market.time_msc
    assert _rows(_ticks(mt5)[seen:])[-2:] == [
        (now, 1.0852, 1.0853, 1.0853, BUY_PRINT, 0.5),
        (now, 1.0852, 1.08531, 1.0853, C.TICK_FLAG_ASK, 0.0),
    ]
    _agrees_with_last_tick(mt5)


def test_bars_keep_our_lots_after_the_ticks_are_trimmed() -> None:
    mt5 = SimulatedTerminal(seed=1, margin_mode="netting", max_history_ticks=20)
    assert mt5.initialize()
    set_eurusd(mt5, 1.08500, 1.08510, lots=50.0)
    mt5.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_H1, 0, 1)  # from now on H1 bars are kept
    for _ in range(30):
        for type_ in (mt5.ORDER_TYPE_BUY, mt5.ORDER_TYPE_SELL):
            assert mt5.order_send(market(mt5, type_, 1.0)).retcode == 10009
    assert len(mt5.market.history[SYMBOL].ticks) <= 40
    bar = mt5.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_H1, 0, 1)
    assert bar is not None and int(bar["real_volume"][0]) == 60
    _agrees_with_last_tick(mt5)
