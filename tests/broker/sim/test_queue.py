"""Resting limit orders fill by the `oms.market` queue-position estimate of their level."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oms.broker.sim import SimulatedTerminal
from oms.errors import OmsError

from .conftest import market, pending

LOT = 100  # volume steps per lot (EURUSD step 0.01)


def _terminal(model: str = "conservative") -> SimulatedTerminal:
    mt5 = SimulatedTerminal(seed=1, queue_model=model)  # type: ignore[arg-type]
    assert mt5.initialize()
    return mt5


def _book(mt5: SimulatedTerminal, bid_lots: float) -> None:
    """EURUSD 1.0850 / 1.0851 with `bid_lots` at the best bid and 5 lots everywhere else."""
    mt5.market.set_book(
        "EURUSD",
        [(1.0850, bid_lots), (1.0849, 5.0), (1.0848, 5.0)],
        [(1.0851, 5.0), (1.0852, 5.0), (1.0853, 5.0)],
    )


def _rest_at_bid(mt5: SimulatedTerminal, volume: float = 1.0, **extra: object) -> int:
    """A buy limit joining the 1.0850 bid, behind the 5 lots there."""
    _book(mt5, 5.0)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.0850, volume, **extra))
    assert res.retcode == mt5.TRADE_RETCODE_PLACED
    return int(res.order)


def _ahead(mt5: SimulatedTerminal, ticket: int) -> float:
    return mt5.market.books["EURUSD"].position(ticket).ahead


def test_a_limit_behind_five_lots_fills_only_once_they_have_traded(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5)
    assert _ahead(mt5, ticket) == 5 * LOT
    _book(mt5, 9.0)  # 4 lots join behind us
    assert _ahead(mt5, ticket) == 5 * LOT
    mt5.market.trade("EURUSD", 1.0850, 3.0)
    assert _ahead(mt5, ticket) == 2 * LOT
    assert mt5.orders_get(ticket=ticket)[0].state == mt5.ORDER_STATE_PLACED
    assert mt5.history_deals_get(ticket=ticket) == ()

    mt5.market.trade("EURUSD", 1.0850, 2.5)  # 5.5 lots traded: half a lot reaches us
    (order,) = mt5.orders_get(ticket=ticket)
    assert order.state == mt5.ORDER_STATE_PARTIAL and order.volume_current == 0.5
    (deal,) = mt5.history_deals_get(ticket=ticket)
    assert (deal.price, deal.volume, deal.entry) == (1.085, 0.5, mt5.DEAL_ENTRY_IN)
    assert _ahead(mt5, ticket) == 0

    mt5.market.trade("EURUSD", 1.0850, 1.0)  # more than we still need: the rest fills
    assert mt5.orders_total() == 0
    assert mt5.history_orders_get(ticket=ticket)[0].state == mt5.ORDER_STATE_FILLED
    assert [d.volume for d in mt5.history_deals_get(ticket=ticket)] == [0.5, 0.5]
    (pos,) = mt5.positions_get()
    assert pos.volume == 1.0 and pos.price_open == 1.085


def test_a_trade_through_the_price_fills_all_of_it(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5, 2.0)
    mt5.market.trade("EURUSD", 1.0849, 0.5)  # sweeps the 5 lots at 1.0850 on the way
    assert mt5.orders_total() == 0
    (deal,) = mt5.history_deals_get(ticket=ticket)
    assert deal.volume == 2.0 and deal.price == 1.085  # our price, not the print's
    assert mt5.history_orders_get(ticket=ticket)[0].state == mt5.ORDER_STATE_FILLED


def test_a_limit_inside_the_spread_is_first_in_line(mt5: SimulatedTerminal) -> None:
    _book(mt5, 5.0)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_BUY_LIMIT, 1.08505, 0.5))
    assert _ahead(mt5, res.order) == 0
    mt5.market.trade("EURUSD", 1.0850, 0.1)  # a seller reaching the bid went through us
    (deal,) = mt5.history_deals_get(ticket=res.order)
    assert (deal.volume, deal.price) == (0.5, 1.08505)


def test_sell_limit_at_the_ask_waits_for_buyers(mt5: SimulatedTerminal) -> None:
    _book(mt5, 5.0)
    res = mt5.order_send(pending(mt5, mt5.ORDER_TYPE_SELL_LIMIT, 1.0851, 1.0))
    assert _ahead(mt5, res.order) == 5 * LOT
    mt5.market.trade("EURUSD", 1.0850, 5.0)  # sellers at the bid do not reach an ask
    assert mt5.orders_get(ticket=res.order)[0].volume_current == 1.0
    mt5.market.set_book("EURUSD", [(1.0849, 5.0)], [(1.0851, 8.0)])  # 3 lots join behind
    mt5.market.trade("EURUSD", 1.0851, 5.4)
    (order,) = mt5.orders_get(ticket=res.order)
    assert order.volume_current == 0.6
    assert mt5.history_deals_get(ticket=res.order)[0].type == mt5.DEAL_TYPE_SELL


@pytest.mark.parametrize(
    ("model", "ahead", "fills"), [("conservative", 5, 0.0), ("probabilistic", 3, 1.0)]
)
def test_the_probabilistic_model_advances_on_cancels_ahead(
    model: str, ahead: int, fills: float
) -> None:
    mt5 = _terminal(model)
    ticket = _rest_at_bid(mt5)
    _book(mt5, 10.0)  # 5 ahead of us, 5 behind
    _book(mt5, 6.0)  # 4 lots withdrawn: half of them counted ahead (power 2, 5 vs 5)
    assert _ahead(mt5, ticket) == ahead * LOT
    mt5.market.trade("EURUSD", 1.0850, 4.0)
    assert sum(d.volume for d in mt5.history_deals_get(ticket=ticket)) == fills


def test_withdrawals_beyond_the_volume_ahead_move_the_conservative_estimate(
    mt5: SimulatedTerminal,
) -> None:
    ticket = _rest_at_bid(mt5)
    _book(mt5, 2.0)  # the level can no longer hold 5 lots ahead of us
    assert _ahead(mt5, ticket) == 2 * LOT
    mt5.market.trade("EURUSD", 1.0850, 2.0)
    assert mt5.orders_total() == 1 and _ahead(mt5, ticket) == 0


def test_our_own_market_order_takes_the_volume_ahead_without_filling_us(
    mt5: SimulatedTerminal,
) -> None:
    ticket = _rest_at_bid(mt5)
    sold = mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 2.0))
    assert sold.retcode == mt5.TRADE_RETCODE_DONE and sold.price == 1.085
    assert _ahead(mt5, ticket) == 3 * LOT
    assert mt5.history_deals_get(ticket=ticket) == ()
    _book(mt5, 6.0)  # the 3 lots left, and 3 more behind us
    mt5.market.trade("EURUSD", 1.0850, 3.5)
    assert mt5.orders_get(ticket=ticket)[0].volume_current == 0.5


def test_ioc_limit_cancels_what_the_queue_did_not_fill(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5, type_filling=mt5.ORDER_FILLING_IOC)
    _book(mt5, 9.0)
    mt5.market.trade("EURUSD", 1.0850, 5.3)
    (hist,) = mt5.history_orders_get(ticket=ticket)
    assert hist.state == mt5.ORDER_STATE_CANCELED and hist.volume_current == 0.7
    assert mt5.history_deals_get(ticket=ticket)[0].volume == 0.3


def test_fok_limit_ignores_the_queue(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5, type_filling=mt5.ORDER_FILLING_FOK)
    assert mt5.market.books["EURUSD"].tracked() == []
    mt5.market.trade("EURUSD", 1.0850, 5.0)
    mt5.market.set_book("EURUSD", [(1.0850, 9.0)], [(1.0851, 5.0)])
    mt5.market.trade("EURUSD", 1.0850, 9.0)
    assert mt5.orders_get(ticket=ticket)[0].volume_current == 1.0
    mt5.market.set_book("EURUSD", [(1.0840, 5.0)], [(1.0850, 1.0)])  # the ask offers it all
    assert mt5.history_deals_get(ticket=ticket)[0].volume == 1.0


def test_a_new_price_joins_the_back_of_that_queue(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5)
    mt5.market.trade("EURUSD", 1.0850, 4.0)
    assert _ahead(mt5, ticket) == 1 * LOT
    modify = {
        "action": mt5.TRADE_ACTION_MODIFY,
        "order": ticket,
        "price": 1.0849,
        "type_time": mt5.ORDER_TIME_GTC,
    }
    assert mt5.order_send(modify).retcode == mt5.TRADE_RETCODE_DONE
    assert _ahead(mt5, ticket) == 5 * LOT  # everyone at 1.0849 is ahead now


def test_a_triggered_stop_limit_joins_the_back_of_the_queue(mt5: SimulatedTerminal) -> None:
    _book(mt5, 5.0)
    stop_limit = pending(mt5, mt5.ORDER_TYPE_SELL_STOP_LIMIT, 1.0848, stoplimit=1.0849)
    placed = mt5.order_send(stop_limit)
    assert placed.retcode == mt5.TRADE_RETCODE_PLACED
    mt5.market.set_book(
        "EURUSD", [(1.0848, 3.0), (1.0847, 5.0)], [(1.0849, 2.0), (1.0850, 5.0)]
    )  # the bid reaches the stop; the ask stands at the new limit: it rests, behind 2 lots
    (order,) = mt5.orders_get(ticket=placed.order)
    assert order.type == mt5.ORDER_TYPE_SELL_LIMIT and order.price_open == 1.0849
    assert _ahead(mt5, placed.order) == 2 * LOT


def test_a_removed_or_expired_order_leaves_the_queue(mt5: SimulatedTerminal) -> None:
    ticket = _rest_at_bid(mt5)
    removed = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": ticket})
    assert removed.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.market.books["EURUSD"].tracked() == []
    mt5.market.trade("EURUSD", 1.0850, 5.0)
    assert mt5.history_deals_get(ticket=ticket) == ()


def test_trades_outside_the_touch_are_refused(mt5: SimulatedTerminal) -> None:
    _book(mt5, 5.0)
    with pytest.raises(OmsError, match="inside the spread"):
        mt5.market.trade("EURUSD", 1.08505, 1.0)
    with pytest.raises(OmsError, match="positive volume"):
        mt5.market.trade("EURUSD", 1.0850, 0.0)
    with pytest.raises(OmsError, match="unknown queue model"):
        SimulatedTerminal(seed=1, queue_model="fifo")  # type: ignore[arg-type]


def _run_feed(seed: int, model: str) -> list[tuple[float, float, int]]:
    """A buy and a sell limit at the touch on the seeded feed; the deals they get."""
    mt5 = SimulatedTerminal(seed=seed, queue_model=model)  # type: ignore[arg-type]
    assert mt5.initialize()
    tick = mt5.symbol_info_tick("EURUSD")
    for type_, price in (
        (mt5.ORDER_TYPE_BUY_LIMIT, tick.bid),
        (mt5.ORDER_TYPE_SELL_LIMIT, tick.ask),
    ):
        assert mt5.order_send(pending(mt5, type_, price, 3.0)).retcode == 10008
    mt5.market.step(40)
    return [(d.price, d.volume, d.time_msc) for d in mt5.history_deals_get(0, 2**40)]


@pytest.mark.parametrize("model", ["conservative", "probabilistic"])
def test_fills_from_the_synthetic_feed_are_reproducible(model: str) -> None:
    first = _run_feed(3, model)
    assert first == _run_feed(3, model)
    assert first != _run_feed(4, model)
    assert first  # the touch trades: resting orders there get fills


def test_the_synthetic_feed_prints_trades_that_survive_a_recording(tmp_path: Path) -> None:
    live = _terminal()
    path = tmp_path / "feed.jsonl"
    live.market.record(path)
    live.market.step(20)
    live.market.record(None)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    printed = [t for row in rows for t in row.get("trades", [])]
    assert printed and all(a in (0, 1) and v > 0 for _, v, a in printed)
    replay = SimulatedTerminal(seed=99, replay=path)
    assert replay.initialize()
    replay.market.step(len(rows) - 5)
    for name in ("EURUSD", "XAUUSD"):
        assert replay.market.books[name].book.last_trade == live.market.books[name].book.last_trade


def test_a_recorded_trade_needs_a_known_aggressor(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    row = {"time_msc": 1, "symbol": "EURUSD", "bids": [[1.085, 1.0]], "asks": [[1.0851, 1.0]]}
    path.write_text(json.dumps({**row, "trades": [[1.085, 1.0, 2]]}) + "\n")
    with pytest.raises(OmsError, match=r"bad.jsonl:1: .*aggressor must be 0 \(buyer\) or 1"):
        SimulatedTerminal(seed=1, replay=path)
