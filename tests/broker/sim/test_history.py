"""The simulator's tick history and bars: copy_ticks_* and copy_rates_* against what it recorded."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import pytest

from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.constants import C
from oms.broker.sim.history import RATE_DTYPE, TICK_DTYPE, bar_open

SYMBOL = "EURUSD"
QUOTE = C.TICK_FLAG_BID | C.TICK_FLAG_ASK
TRADE = C.TICK_FLAG_LAST | C.TICK_FLAG_VOLUME


def _stepped(steps: int = 2_000, **options: Any) -> SimulatedTerminal:
    term = SimulatedTerminal(seed=5, margin_mode="netting", **options)
    assert term.initialize()
    term.market.step(steps)
    return term


def _all_ticks(term: SimulatedTerminal, flags: int = C.COPY_TICKS_ALL) -> Any:
    now = term.market.time_msc // 1000
    return term.copy_ticks_range(SYMBOL, 0, now + 1, flags)


def _bars_by_hand(ticks: Any, seconds: int) -> list[tuple[int, float, float, float, float, int]]:
    """M-style bars of the ticks that moved the bid: open time, OHLC of the bid, tick count."""
    bars: dict[int, list[float]] = {}
    for tick in ticks:
        if tick["flags"] & C.TICK_FLAG_BID:
            bars.setdefault(int(tick["time"]) // seconds * seconds, []).append(float(tick["bid"]))
    return [(t, b[0], max(b), min(b), b[-1], len(b)) for t, b in sorted(bars.items())]


def test_ticks_are_the_market_updates_in_time_order() -> None:
    term = _stepped()
    ticks = _all_ticks(term)
    assert ticks.dtype == TICK_DTYPE
    assert len(ticks) > 2_000
    assert (ticks["time_msc"][1:] >= ticks["time_msc"][:-1]).all()
    assert (ticks["time"] == ticks["time_msc"] // 1000).all()
    assert (ticks["ask"] > ticks["bid"]).all()
    last = ticks[-1]
    tick = term.symbol_info_tick(SYMBOL)
    assert tick is not None
    assert (float(last["bid"]), float(last["ask"])) == (tick.bid, tick.ask)


def test_selections_split_quote_ticks_from_trade_ticks() -> None:
    term = _stepped()
    every = _all_ticks(term)
    info = _all_ticks(term, C.COPY_TICKS_INFO)
    trades = _all_ticks(term, C.COPY_TICKS_TRADE)
    assert len(info) > 0 and len(trades) > 0
    assert ((info["flags"] & QUOTE) != 0).all()
    assert ((trades["flags"] & TRADE) == TRADE).all()
    assert ((trades["flags"] & (C.TICK_FLAG_BUY | C.TICK_FLAG_SELL)) != 0).all()
    assert (trades["volume_real"] > 0).all()
    assert len(info) + len(trades) == len(every)  # a tick is either a quote or a print


def test_copy_ticks_from_counts_forward_from_the_date() -> None:
    term = _stepped()
    every = _all_ticks(term)
    middle = int(every["time"][len(every) // 2])
    got = term.copy_ticks_from(SYMBOL, middle, 25, C.COPY_TICKS_ALL)
    assert got is not None and len(got) == 25
    first = int((every["time_msc"] < middle * 1000).sum())
    assert got.tolist() == every[first : first + 25].tolist()
    as_datetime = dt.datetime.fromtimestamp(middle, dt.UTC)
    again = term.copy_ticks_from(SYMBOL, as_datetime, 25, C.COPY_TICKS_ALL)
    assert again is not None and again.tolist() == got.tolist()


def test_bars_are_built_from_the_bid_ticks() -> None:
    term = _stepped()
    now = term.market.time_msc // 1000
    rates = term.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, 0, now)
    assert rates is not None and rates.dtype == RATE_DTYPE
    expected = _bars_by_hand(_all_ticks(term), 60)
    got = [(int(r["time"]), float(r["open"]), float(r["high"]), float(r["low"]),
            float(r["close"]), int(r["tick_volume"])) for r in rates]
    assert got == expected
    assert (rates["spread"] == 10).all()  # the default symbols quote 10 points wide
    traded = _all_ticks(term, C.COPY_TICKS_TRADE)
    lots = float(traded["volume_real"].sum())
    assert int(rates["real_volume"].sum()) == pytest.approx(lots, abs=len(rates))


def test_bars_by_date_and_by_position() -> None:
    term = _stepped()
    now = term.market.time_msc // 1000
    every = term.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, 0, now)
    assert every is not None and len(every) >= 4
    times = [int(t) for t in every["time"]]
    # copy_rates_from: bars opened at or before the date, the last `count` of them
    got = term.copy_rates_from(SYMBOL, C.TIMEFRAME_M1, times[2], 2)
    assert got is not None and [int(t) for t in got["time"]] == times[1:3]
    got = term.copy_rates_from(SYMBOL, C.TIMEFRAME_M1, times[2] + 59, 10)
    assert got is not None and [int(t) for t in got["time"]] == times[:3]
    # copy_rates_range: both ends included
    got = term.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, times[1], times[2])
    assert got is not None and [int(t) for t in got["time"]] == times[1:3]
    # copy_rates_from_pos: 0 is the bar still forming
    got = term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, 0, 2)
    assert got is not None and [int(t) for t in got["time"]] == times[-2:]
    got = term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, 1, 2)
    assert got is not None and [int(t) for t in got["time"]] == times[-3:-1]
    got = term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, len(times) + 5, 2)
    assert got is not None and len(got) == 0 and got.dtype == RATE_DTYPE


def test_the_forming_bar_grows_as_the_market_moves() -> None:
    term = _stepped(600)
    before = term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_H1, 0, 1)
    term.market.step(50)
    after = term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_H1, 0, 1)
    assert before is not None and after is not None
    assert int(after["time"][0]) == int(before["time"][0])
    assert int(after["tick_volume"][0]) > int(before["tick_volume"][0])
    assert float(after["high"][0]) >= float(before["high"][0])


def test_bars_outlive_trimmed_ticks() -> None:
    full = _stepped(3_000)
    bounded = SimulatedTerminal(seed=5, margin_mode="netting", max_history_ticks=200)
    assert bounded.initialize()
    bounded.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, 0, 1)  # from now on M1 bars are kept
    bounded.market.step(3_000)
    assert len(bounded.market.history[SYMBOL].ticks) <= 400
    now = full.market.time_msc // 1000
    kept = bounded.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, 0, now)
    whole = full.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, 0, now)
    assert kept is not None and whole is not None
    assert kept.tolist() == whole.tolist()
    oldest = int(_all_ticks(bounded)["time_msc"][0])
    assert oldest > int(_all_ticks(full)["time_msc"][0])


def test_bars_first_asked_after_trimming_start_at_the_oldest_kept_tick() -> None:
    term = SimulatedTerminal(seed=5, margin_mode="netting", max_history_ticks=300)
    assert term.initialize()
    term.market.step(3_000)
    oldest = int(_all_ticks(term)["time"][0])
    rates = term.copy_rates_range(SYMBOL, C.TIMEFRAME_M1, 0, term.market.time_msc // 1000)
    assert rates is not None and len(rates) > 0
    assert int(rates["time"][0]) == oldest // 60 * 60


@pytest.mark.parametrize(
    ("timeframe", "moment", "opened"),
    [
        (C.TIMEFRAME_M15, (2026, 3, 4, 10, 44, 59), (2026, 3, 4, 10, 30, 0)),
        (C.TIMEFRAME_H4, (2026, 3, 4, 10, 44, 59), (2026, 3, 4, 8, 0, 0)),
        (C.TIMEFRAME_D1, (2026, 3, 4, 23, 59, 59), (2026, 3, 4, 0, 0, 0)),
        (C.TIMEFRAME_W1, (2026, 3, 4, 10, 0, 0), (2026, 3, 1, 0, 0, 0)),  # a Wednesday
        (C.TIMEFRAME_W1, (2026, 3, 1, 0, 0, 0), (2026, 3, 1, 0, 0, 0)),  # a Sunday
        (C.TIMEFRAME_W1, (2026, 2, 28, 23, 0, 0), (2026, 2, 22, 0, 0, 0)),  # a Saturday
        (C.TIMEFRAME_MN1, (2026, 2, 28, 23, 0, 0), (2026, 2, 1, 0, 0, 0)),
    ],
)
def test_bar_open_times(timeframe: int, moment: tuple[int, ...], opened: tuple[int, ...]) -> None:
    assert bar_open(calendar.timegm(moment), timeframe) == calendar.timegm(opened)


@pytest.mark.parametrize(
    ("call", "args"),
    [
        ("copy_rates_from", (SYMBOL, 7, 0, 10)),  # no such timeframe
        ("copy_rates_from", (SYMBOL, C.TIMEFRAME_M1, "2026-01-05", 10)),
        ("copy_rates_from", (SYMBOL, C.TIMEFRAME_M1, 0, -1)),
        ("copy_rates_from_pos", (SYMBOL, C.TIMEFRAME_M1, -1, 10)),
        ("copy_rates_from_pos", (SYMBOL, C.TIMEFRAME_M1, 0, True)),
        ("copy_rates_range", (SYMBOL, C.TIMEFRAME_M1, 0, None)),
        ("copy_ticks_from", (SYMBOL, 0, 10, 3)),  # not a COPY_TICKS_* value
        ("copy_ticks_from", (SYMBOL, 0, 1.5, C.COPY_TICKS_ALL)),
        ("copy_ticks_range", (SYMBOL, 0, object(), C.COPY_TICKS_ALL)),
        ("copy_ticks_range", (42, 0, 10, C.COPY_TICKS_ALL)),
    ],
)
def test_bad_arguments_give_none_and_invalid_params(call: str, args: tuple[Any, ...]) -> None:
    term = _stepped(10)
    assert getattr(term, call)(*args) is None
    assert term.last_error() == (C.RES_E_INVALID_PARAMS, "Invalid arguments")


def test_unknown_symbol_and_keywords() -> None:
    term = _stepped(10)
    assert term.copy_rates_from_pos("NO_SUCH", C.TIMEFRAME_M1, 0, 1) is None
    assert term.last_error() == (C.RES_E_NOT_FOUND, "Terminal: Not found")
    assert term.copy_ticks_from("NO_SUCH", 0, 1, C.COPY_TICKS_ALL) is None
    assert term.last_error()[0] == C.RES_E_NOT_FOUND
    with pytest.raises(TypeError):
        term.copy_rates_from_pos(SYMBOL, C.TIMEFRAME_M1, 0, count=1)  # type: ignore[call-arg]


def test_history_needs_a_connection() -> None:
    term = _stepped(10)
    term.shutdown()
    assert term.copy_ticks_from(SYMBOL, 0, 1, C.COPY_TICKS_ALL) is None
    assert term.last_error()[0] < 0


def test_max_history_ticks_must_be_positive() -> None:
    with pytest.raises(Exception, match="max_history_ticks"):
        SimulatedTerminal(max_history_ticks=0)
