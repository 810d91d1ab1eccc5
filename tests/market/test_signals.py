"""Each signal fires on its pattern and stays quiet on the near-misses."""

from __future__ import annotations

from oms.market.events import (
    BookSnapshot,
    HiddenExecuted,
    LevelSet,
    MarketEvent,
    OrderAdded,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)
from oms.market.replay import detect_signals
from oms.market.sides import ASK, BID
from oms.market.signals import (
    Fade,
    FlowImbalance,
    HiddenLiquidity,
    Iceberg,
    OfiConfig,
    Signal,
    SignalConfig,
    Spoof,
    Sweep,
)

MS = 1_000_000


def _kinds(signals: list[Signal], kind: type) -> list:
    return [s for s in signals if isinstance(s, kind)]


def _run(events: list[MarketEvent], l3: bool = False, config: SignalConfig | None = None) -> list:
    return list(detect_signals(events, config, l3=l3))


def _book(ts: int = 0) -> BookSnapshot:
    return BookSnapshot(ts, ((100, 10), (99, 20)), ((101, 5), (102, 5), (103, 5)))


# ---- sweep --------------------------------------------------------------------------------


def test_sweep_fires_when_one_direction_trades_through_two_levels() -> None:
    events: list[MarketEvent] = [
        _book(),
        TradePrint(1 * MS, 101, 5, BID),
        LevelSet(1 * MS, ASK, 101, 0),
        TradePrint(2 * MS, 102, 4, BID),
        LevelSet(2 * MS, ASK, 102, 1),
    ]
    (sweep,) = _kinds(_run(events), Sweep)
    assert (sweep.side, sweep.price, sweep.first_price) == (BID, 102, 101)
    assert (sweep.levels, sweep.volume, sweep.prints, sweep.ts_ns) == (2, 9, 2, 2 * MS)


def test_sweep_near_misses_one_level_too_slow_or_mixed_directions() -> None:
    one_level = [_book(), TradePrint(1 * MS, 101, 2, BID), TradePrint(2 * MS, 101, 2, BID)]
    too_slow = [_book(), TradePrint(1 * MS, 101, 5, BID), TradePrint(200 * MS, 102, 5, BID)]
    mixed = [
        _book(),
        TradePrint(1 * MS, 101, 5, BID),
        TradePrint(2 * MS, 100, 1, ASK),
        TradePrint(3 * MS, 102, 5, BID),
    ]
    for events in (one_level, too_slow, mixed):
        assert _kinds(_run(events), Sweep) == []  # type: ignore[arg-type]


def test_sweep_by_one_aggressor_on_l3() -> None:
    events: list[MarketEvent] = [
        OrderAdded(0, 1, ASK, 101, 5),
        OrderAdded(0, 2, ASK, 102, 5),
        OrderAdded(0, 3, BID, 100, 5),
        OrderExecuted(1 * MS, 1, 5),
        OrderExecuted(1 * MS, 2, 3),
    ]
    (sweep,) = _kinds(_run(events, l3=True), Sweep)
    assert (sweep.side, sweep.levels, sweep.volume) == (BID, 2, 8)


# ---- fade ---------------------------------------------------------------------------------


def test_fade_fires_when_asks_are_pulled_as_the_price_rises() -> None:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10),), ((101, 10), (102, 20), (103, 20))),
        LevelSet(10 * MS, ASK, 101, 0),  # pulled: mid rises to 101
        LevelSet(20 * MS, ASK, 102, 0),  # pulled again
    ]
    (fade,) = _kinds(_run(events), Fade)
    assert (fade.side, fade.price, fade.withdrawn, fade.levels) == (ASK, 102, 30, 2)
    assert fade.remaining_near == 20
    assert fade.mid_move_ticks == 1.0


def test_fade_near_misses_traded_not_pulled_flat_price_and_far_away() -> None:
    traded = [
        BookSnapshot(0, ((100, 10),), ((101, 10), (102, 20), (103, 20))),
        TradePrint(10 * MS, 101, 10, BID),
        LevelSet(10 * MS, ASK, 101, 0),
        TradePrint(20 * MS, 102, 20, BID),
        LevelSet(20 * MS, ASK, 102, 0),
    ]
    flat = [
        BookSnapshot(0, ((100, 10),), ((101, 10), (102, 20), (103, 20))),
        LevelSet(10 * MS, ASK, 102, 1),
        LevelSet(20 * MS, ASK, 103, 1),
    ]
    far = [
        BookSnapshot(0, ((100, 10),), ((101, 10), (106, 20), (107, 20))),
        LevelSet(10 * MS, ASK, 107, 0),
        LevelSet(11 * MS, ASK, 106, 0),
        LevelSet(12 * MS, BID, 101, 0),  # no-op: keeps the price flat
    ]
    for events in (traded, flat, far):
        assert _kinds(_run(events), Fade) == []  # type: ignore[arg-type]


def test_fade_near_miss_pulls_on_the_side_the_price_moves_away_from() -> None:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10), (99, 20)), ((101, 10), (102, 20))),
        TradePrint(10 * MS, 101, 10, BID),
        LevelSet(10 * MS, ASK, 101, 0),  # price rises by trading
        LevelSet(20 * MS, BID, 99, 0),  # bids pulled: away from the move
    ]
    assert _kinds(_run(events), Fade) == []


# ---- spoof --------------------------------------------------------------------------------


def _spoof_events(
    repeats: int = 3,
    lifetime_ms: int = 200,
    size: int = 50,
    price: int = 97,
    opposite: bool = True,
    touched: bool = False,
) -> list[MarketEvent]:
    events: list[MarketEvent] = [
        OrderAdded(0, 1, BID, 100, 10),
        OrderAdded(0, 2, BID, 99, 10),
        OrderAdded(0, 10, ASK, 101, 100),
        OrderAdded(0, 11, ASK, 102, 10),
    ]
    t = 1_000 * MS
    for k in range(repeats):
        oid = 100 + k
        events.append(OrderAdded(t, oid, BID, price, size))
        if opposite:
            events.append(OrderExecuted(t + 50 * MS, 10, 2))  # the offer gets lifted
        else:
            events.append(OrderExecuted(t + 50 * MS, 1, 1))  # bids trade instead
        if touched:
            events.append(OrderExecuted(t + 60 * MS, oid, 1))
        events.append(OrderCancelled(t + lifetime_ms * MS, oid))
        t += 2_000 * MS
    return events


def test_spoof_fires_on_repeated_large_flashes_while_the_other_side_trades() -> None:
    (spoof,) = _kinds(_run(_spoof_events(), l3=True), Spoof)
    assert (spoof.side, spoof.price, spoof.flashes) == (BID, 97, 3)
    assert (spoof.cancelled_volume, spoof.opposite_traded) == (150, 6)
    assert spoof.cancel_to_fill == 25.0
    assert spoof.max_lifetime_ns == 200 * MS


def test_spoof_near_misses() -> None:
    near_misses = {
        "lived too long": _spoof_events(lifetime_ms=1_500),
        "too few repeats": _spoof_events(repeats=2),
        "small orders": _spoof_events(size=5),
        "at the touch": _spoof_events(price=100),
        "no opposite trades": _spoof_events(opposite=False),
        "partly executed": _spoof_events(touched=True),
    }
    for name, events in near_misses.items():
        assert _kinds(_run(events, l3=True), Spoof) == [], name


# ---- hidden liquidity and icebergs ----------------------------------------------------------


def test_hidden_liquidity_when_a_print_exceeds_the_displayed_size() -> None:
    (hidden,) = _kinds(_run([_book(), TradePrint(1, 101, 20, BID)]), HiddenLiquidity)
    assert (hidden.side, hidden.price, hidden.traded, hidden.displayed) == (ASK, 101, 20, 5)
    assert _kinds(_run([_book(), TradePrint(1, 101, 5, BID)]), HiddenLiquidity) == []


def test_hidden_execution_on_l3_is_hidden_liquidity() -> None:
    events: list[MarketEvent] = [OrderAdded(0, 1, BID, 100, 5), HiddenExecuted(1, BID, 100, 7)]
    (hidden,) = _kinds(_run(events, l3=True), HiddenLiquidity)
    assert (hidden.side, hidden.traded, hidden.displayed) == (BID, 7, 5)


def test_iceberg_on_l2_when_the_level_is_shown_again_after_trades() -> None:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10),), ((101, 10),)),
        TradePrint(1 * MS, 101, 10, BID),
        LevelSet(1 * MS, ASK, 101, 10),
        TradePrint(2 * MS, 101, 10, BID),
        LevelSet(2 * MS, ASK, 101, 10),
    ]
    (ice,) = _kinds(_run(events), Iceberg)
    assert (ice.side, ice.price, ice.refills, ice.traded) == (ASK, 101, 2, 20)


def _l3_refills(delay_ms: int, price_step: int = 0, size: int = 10) -> list[MarketEvent]:
    events: list[MarketEvent] = [OrderAdded(0, 1, ASK, 101, 10), OrderAdded(0, 9, BID, 99, 1)]
    t = 10 * MS
    for k in range(2):
        events.append(OrderExecuted(t, 1 + k, 10 if k == 0 else size))
        t += delay_ms * MS
        events.append(OrderAdded(t, 2 + k, ASK, 101 + price_step * (k + 1), size))
        t += 1 * MS
    return events


def test_iceberg_on_l3_when_orders_reappear_at_the_price_right_after_executions() -> None:
    (ice,) = _kinds(_run(_l3_refills(delay_ms=5), l3=True), Iceberg)
    assert (ice.side, ice.price, ice.refills, ice.traded) == (ASK, 101, 2, 20)


def test_iceberg_near_misses_slow_refill_other_price_no_refill() -> None:
    assert _kinds(_run(_l3_refills(delay_ms=500), l3=True), Iceberg) == []
    assert _kinds(_run(_l3_refills(delay_ms=5, price_step=1), l3=True), Iceberg) == []
    assert _kinds(_run(_l3_refills(delay_ms=5, size=7), l3=True), Iceberg) == []
    gone = [
        BookSnapshot(0, ((100, 10),), ((101, 10), (102, 10))),
        TradePrint(1 * MS, 101, 10, BID),
        LevelSet(1 * MS, ASK, 101, 0),
        TradePrint(2 * MS, 102, 4, BID),
        LevelSet(2 * MS, ASK, 102, 6),
    ]
    assert _kinds(_run(gone), Iceberg) == []


# ---- order-flow imbalance -----------------------------------------------------------------

OFI = SignalConfig(ofi=OfiConfig(window_ns=1_000 * MS, threshold=50))


def test_ofi_fires_once_when_bid_side_flow_builds_up() -> None:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10),), ((101, 10),)),
        LevelSet(1 * MS, BID, 100, 30),
        LevelSet(2 * MS, BID, 100, 50),
        LevelSet(3 * MS, BID, 100, 70),
        LevelSet(4 * MS, BID, 100, 90),
    ]
    (ofi,) = _kinds(_run(events, config=OFI), FlowImbalance)
    assert (ofi.side, ofi.price, ofi.ofi, ofi.events, ofi.ts_ns) == (BID, 100, 60, 3, 3 * MS)


def test_ofi_fires_on_the_ask_side_and_again_after_resetting() -> None:
    events: list[MarketEvent] = [BookSnapshot(0, ((100, 10),), ((101, 10),))]
    size, t = 10, MS
    for _ in range(3):
        size += 20
        events.append(LevelSet(t, ASK, 101, size))
        t += MS
    t += 2_000 * MS  # window empties: imbalance back to zero
    for _ in range(3):
        size += 20
        events.append(LevelSet(t, ASK, 101, size))
        t += MS
    fired = _kinds(_run(events, config=OFI), FlowImbalance)
    assert [(f.side, f.ofi) for f in fired] == [(ASK, -60), (ASK, -60)]


def test_ofi_near_miss_balanced_flow() -> None:
    events: list[MarketEvent] = [BookSnapshot(0, ((100, 10),), ((101, 10),))]
    bid = ask = 10
    for k in range(10):
        bid += 20
        ask += 20
        events.append(LevelSet((2 * k + 1) * MS, BID, 100, bid))
        events.append(LevelSet((2 * k + 2) * MS, ASK, 101, ask))
    assert _kinds(_run(events, config=OFI), FlowImbalance) == []


def _l2_spoof_events(
    lifetime_ms: int = 200, size: int = 50, opposite: bool = True
) -> list[MarketEvent]:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10), (99, 10)), ((101, 100), (102, 10))),
    ]
    t = 1_000 * MS
    ask = 100
    for _ in range(3):
        events.append(LevelSet(t, BID, 97, size))  # a block appears below the touch
        if opposite:
            ask -= 2
            events.append(TradePrint(t + 50 * MS, 101, 2, BID))  # the offer gets lifted
            events.append(LevelSet(t + 50 * MS, ASK, 101, ask))
        events.append(LevelSet(t + lifetime_ms * MS, BID, 97, 0))  # and vanishes untouched
        t += 2_000 * MS
    return events


def test_spoof_on_an_l2_feed_from_level_jumps_and_withdrawals() -> None:
    (spoof,) = _kinds(_run(_l2_spoof_events()), Spoof)
    assert (spoof.side, spoof.price, spoof.flashes) == (BID, 97, 3)
    assert (spoof.cancelled_volume, spoof.opposite_traded, spoof.cancel_to_fill) == (150, 6, 25.0)


def test_spoof_on_l2_near_misses() -> None:
    for events in (
        _l2_spoof_events(lifetime_ms=1_500),
        _l2_spoof_events(size=5),
        _l2_spoof_events(opposite=False),
    ):
        assert _kinds(_run(events), Spoof) == []


def test_fade_near_miss_orders_requeued_at_the_same_price_are_not_withdrawn() -> None:
    events: list[MarketEvent] = [
        OrderAdded(0, 1, BID, 100, 10),
        OrderAdded(0, 2, ASK, 101, 10),
        OrderAdded(0, 3, ASK, 102, 20),
        OrderAdded(0, 4, ASK, 103, 20),
        OrderCancelled(10 * MS, 2),  # the price rises
        OrderModified(20 * MS, 3, 102, 25),  # size up: loses priority, stays at 102
        OrderModified(30 * MS, 4, 103, 25),
    ]
    assert _kinds(_run(events, l3=True), Fade) == []
    pulled = [*events[:5], OrderCancelled(20 * MS, 3)]  # the same size really withdrawn
    (fade,) = _kinds(_run(pulled, l3=True), Fade)
    assert (fade.side, fade.withdrawn, fade.levels) == (ASK, 30, 2)
