"""The simulated market: seeded feed, explicit clock, recording and replay, thread safety."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.feed import randints
from oms.errors import OmsError

from .conftest import market


def test_clock_moves_only_when_told(mt5: SimulatedTerminal) -> None:
    t0 = mt5.market.time_msc
    assert mt5.symbol_info_tick("EURUSD").time_msc == t0
    mt5.market.step(3)
    assert mt5.market.time_msc == t0 + 300
    mt5.market.advance(10.5)
    assert mt5.market.time_msc == t0 + 300 + 10_500
    with pytest.raises(OmsError, match="forward"):
        mt5.market.advance(-1)


def test_book_has_ten_levels_in_integer_ticks(mt5: SimulatedTerminal) -> None:
    for _ in range(20):
        mt5.market.step()
        bids, asks = mt5.market.books["XAUUSD"].depth()
        assert len(bids) == len(asks) == 10
        assert all(isinstance(p, int) and isinstance(q, int) and q > 0 for p, q in bids + asks)
        assert bids[0][0] < asks[0][0]
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)


def test_record_then_replay_reproduces_the_prices(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    live = SimulatedTerminal(seed=4)
    live.initialize()
    live.market.record(path)
    live.market.step(30)
    live.market.record(None)
    lines = path.read_text().splitlines()
    assert len(lines) == 30 * 5

    replay = SimulatedTerminal(seed=999, replay=path)
    replay.initialize()
    replay.market.step(len(lines) - 5)  # the first five lines are the opening books
    for name in ("EURUSD", "XAUUSD", "USDJPY"):
        assert replay.symbol_info_tick(name) == live.symbol_info_tick(name)
    before = replay.market.time_msc
    replay.market.step(3)  # the recording is exhausted: nothing moves
    assert replay.market.time_msc == before
    res = replay.order_send(market(replay, 0))
    assert res.retcode == 10009 and res.price == live.symbol_info_tick("EURUSD").ask


def test_bad_recording_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"time_msc": 1, "symbol": "EURUSD", "bids": [[1.0]], "asks": []}\n')
    with pytest.raises(OmsError, match=r"bad.jsonl:1: not a book snapshot"):
        SimulatedTerminal(replay=path)
    with pytest.raises(OmsError, match="cannot read"):
        SimulatedTerminal(replay=tmp_path / "missing.jsonl")
    with pytest.raises(OmsError, match="margin_mode"):
        SimulatedTerminal(margin_mode="both")
    with pytest.raises(OmsError, match="leverage must be at least 1, not 0"):
        SimulatedTerminal(leverage=0)
    with pytest.raises(OmsError, match="balance must be at least 0"):
        SimulatedTerminal(balance=-1.0)
    with pytest.raises(OmsError, match="unknown symbol"):
        SimulatedTerminal().market.set_open("NOPE", False)


def test_concurrent_senders_and_market_steps_keep_the_ledger_consistent() -> None:
    mt5 = SimulatedTerminal(seed=2, margin_mode="hedging")
    mt5.initialize()
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def trader(n: int) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(200):
                res = mt5.order_send(market(mt5, 0, 0.01, magic=n))
                assert res.retcode == 10009
                closed = mt5.order_send(market(mt5, 1, 0.01, magic=n, position=res.order))
                assert closed.retcode == 10009
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    def stepper() -> None:
        start.wait(timeout=10)
        for _ in range(200):
            mt5.market.step()

    threads = [threading.Thread(target=trader, args=(n,)) for n in range(1, 5)]
    threads.append(threading.Thread(target=stepper))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert mt5.positions_total() == 0
    deals = mt5.history_deals_get(0, 2**40)
    assert len(deals) == 4 * 200 * 2 == len({d.ticket for d in deals})
    assert len({d.order for d in deals}) == len(deals)
    balance = 100_000 + sum(d.profit for d in deals)
    assert mt5.account_info().balance == pytest.approx(balance, abs=0.01)


def test_pacer_moves_the_market_in_real_time() -> None:
    from oms.broker.sim.pacer import Pacer

    mt5 = SimulatedTerminal(seed=3, step_msc=5)
    mt5.initialize()
    wall = [mt5.market.time_msc + 60_000]  # a wall clock one minute ahead of the simulation
    pacer = Pacer(mt5.market, wall_ms=lambda: wall[0]).start()
    try:
        assert mt5.market.time_msc >= wall[0]  # caught up at start
        assert pacer.wait_steps(3, timeout=10)
    finally:
        pacer.stop()
    assert pacer.steps >= 3 and mt5.market.time_msc >= wall[0] + 3 * 5


@pytest.mark.parametrize(("lo", "hi"), [(1, 1), (1, 2), (3, 17), (5, 64), (1, 1000)])
def test_feed_draws_the_same_numbers_as_randint(lo: int, hi: int) -> None:
    ours, theirs = random.Random(9), random.Random(9)
    assert randints(ours, lo, hi, 200) == [theirs.randint(lo, hi) for _ in range(200)]
    assert ours.random() == theirs.random()  # and leave the generator in the same state
    with pytest.raises(ValueError, match="empty range"):
        randints(ours, 2, 1, 1)
