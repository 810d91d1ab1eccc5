"""Queue position on L2 (conservative and probabilistic), fills, and fill probability."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.market.errors import MarketDataError
from oms.market.events import (
    BookSnapshot,
    LevelSet,
    MarketEvent,
    OrderAdded,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)
from oms.market.feeds.synthetic import synthetic_events
from oms.market.queue import (
    L2QueueTracker,
    L3QueueTracker,
    QueueFill,
    poisson_fill_probability,
)
from oms.market.rolling import RollingBook
from oms.market.sides import ASK, BID

MS = 1_000_000


def _setup(
    model: str = "conservative", in_book: bool = False
) -> tuple[RollingBook, L2QueueTracker]:
    rolling = RollingBook()
    rolling.apply(BookSnapshot(0, ((100, 30), (99, 10)), ((101, 20),)))
    tracker = L2QueueTracker(rolling.book, model=model, in_book=in_book)  # type: ignore[arg-type]
    return rolling, tracker


def _feed(
    rolling: RollingBook, tracker: L2QueueTracker, events: list[MarketEvent]
) -> list[QueueFill]:
    fills: list[QueueFill] = []
    for event in events:
        fills += tracker.on_observations(rolling.apply(event))
    return fills


def test_new_order_joins_behind_the_displayed_level() -> None:
    _, tracker = _setup()
    pos = tracker.place(1, BID, 100, 5)
    assert (pos.ahead, pos.behind, pos.remaining) == (30, 0, 5)
    pos2 = tracker.place(2, BID, 100, 4)
    assert pos2.ahead == 35  # our first order is ahead of it too


def test_only_trades_advance_the_conservative_estimate_and_the_rest_fills_us() -> None:
    rolling, tracker = _setup()
    tracker.place(1, BID, 100, 5)
    fills = _feed(rolling, tracker, [LevelSet(1, BID, 100, 40), LevelSet(2, BID, 100, 35)])
    assert fills == []
    assert tracker.position(1).ahead == 30  # adds behind, cancels assumed behind
    fills = _feed(rolling, tracker, [TradePrint(3, 100, 28, ASK), LevelSet(3, BID, 100, 7)])
    assert fills == []
    assert tracker.position(1).ahead == 2
    fills = _feed(rolling, tracker, [TradePrint(4, 100, 5, ASK), LevelSet(4, BID, 100, 2)])
    assert [(f.order_id, f.size, f.remaining) for f in fills] == [(1, 3, 2)]
    assert tracker.position(1).ahead == 0


def test_conservative_estimate_is_capped_by_what_the_level_still_holds() -> None:
    rolling, tracker = _setup()
    tracker.place(1, BID, 100, 5)
    _feed(rolling, tracker, [LevelSet(1, BID, 100, 12)])  # 18 cancelled: at least 18 ahead
    assert tracker.position(1).ahead == 12


def test_probabilistic_model_moves_us_up_by_a_power_share_of_cancels() -> None:
    rolling, tracker = _setup("probabilistic")
    tracker.place(1, BID, 100, 5)
    _feed(rolling, tracker, [LevelSet(1, BID, 100, 40)])  # 10 behind us now
    _feed(rolling, tracker, [LevelSet(2, BID, 100, 30)])  # 10 cancelled
    share = 30**2 / (30**2 + 10**2)
    assert tracker.position(1).ahead == pytest.approx(30 - 10 * share)
    conservative_rolling, conservative = _setup()
    conservative.place(1, BID, 100, 5)
    _feed(
        conservative_rolling, conservative, [LevelSet(1, BID, 100, 40), LevelSet(2, BID, 100, 30)]
    )
    assert tracker.position(1).ahead < conservative.position(1).ahead


def test_a_print_through_our_price_fills_all_of_it() -> None:
    rolling, tracker = _setup()
    tracker.place(1, BID, 100, 5)
    fills = _feed(rolling, tracker, [TradePrint(1, 99, 1, ASK)])
    assert [(f.order_id, f.size, f.remaining, f.price) for f in fills] == [(1, 5, 0, 100)]
    assert 1 not in tracker


def test_opposite_size_resting_at_our_price_fills_a_simulated_order() -> None:
    rolling, tracker = _setup()
    tracker.place(1, ASK, 102, 8)
    fills = _feed(rolling, tracker, [LevelSet(1, BID, 102, 3)])
    assert [(f.size, f.remaining) for f in fills] == [(3, 5)]


def test_in_book_orders_count_themselves_in_the_level() -> None:
    rolling, tracker = _setup(in_book=True)
    rolling.apply(LevelSet(1, BID, 100, 35))  # our 5 lots reach the feed
    pos = tracker.place(1, BID, 100, 5)
    assert (pos.ahead, pos.behind) == (30, 0)


def test_bad_calls_are_refused() -> None:
    _, tracker = _setup()
    tracker.place(1, BID, 100, 5)
    with pytest.raises(MarketDataError, match="already tracked"):
        tracker.place(1, BID, 100, 5)
    with pytest.raises(MarketDataError, match="not tracked"):
        tracker.cancel(9)
    with pytest.raises(MarketDataError, match="unknown queue model"):
        L2QueueTracker(tracker.book, model="optimistic")  # type: ignore[arg-type]
    with pytest.raises(MarketDataError, match="would trade on arrival"):
        tracker.place(2, BID, 101, 5)
    with pytest.raises(MarketDataError, match="would trade on arrival"):
        tracker.place(3, ASK, 100, 5)
    tracker.cancel(1)
    assert 1 not in tracker


def test_fill_probability_grows_with_horizon_and_shrinks_with_queue() -> None:
    rolling, tracker = _setup()
    events: list[MarketEvent] = []
    for k in range(1, 11):  # a print of 2 lots on the bid every 100 ms
        events.append(TradePrint(k * 100 * MS, 100, 2, ASK))
        events.append(LevelSet(k * 100 * MS, BID, 100, 30))  # shown again each time
    tracker.place(1, BID, 100, 5)
    tracker.place(2, BID, 99, 5)
    assert _feed(rolling, tracker, events) == []
    assert tracker.position(1).ahead == 10
    now = 1_000 * MS
    short = tracker.fill_probability(1, 500 * MS, now)
    long = tracker.fill_probability(1, 5_000 * MS, now)
    deeper = tracker.fill_probability(2, 5_000 * MS, now)
    assert 0.0 <= short < long <= 1.0
    assert deeper < long


def test_poisson_fill_probability_values() -> None:
    assert poisson_fill_probability(0, 1, 0) == 0.0
    # need one print: 1 - e^-1
    assert poisson_fill_probability(0, 1, 1.0) == pytest.approx(0.6321205588)
    # need three prints of Poisson(2): 1 - e^-2 (1 + 2 + 2)
    assert poisson_fill_probability(5, 2, 2.0) == pytest.approx(1 - 5 * 2.718281828**-2)


# ---- exact FIFO on L3 -----------------------------------------------------------------------


def _l3_setup() -> tuple[RollingBook, L3QueueTracker]:
    rolling = RollingBook(l3=True)
    for event in (
        OrderAdded(0, 1, BID, 100, 10),
        OrderAdded(0, 2, BID, 100, 20),
        OrderAdded(0, 3, ASK, 101, 5),
    ):
        rolling.apply(event)
    assert rolling.l3 is not None
    return rolling, L3QueueTracker(rolling.l3)


def _l3_feed(rolling: RollingBook, tracker: L3QueueTracker, events: list[MarketEvent]) -> list:
    fills = []
    for event in events:
        fills += tracker.on_observations(rolling.apply(event))
    return fills


def test_l3_position_is_exact_and_moves_only_when_orders_ahead_leave() -> None:
    rolling, tracker = _l3_setup()
    pos = tracker.place(50, BID, 100, 5)
    assert (pos.ahead, pos.behind) == (30, 0)
    _l3_feed(rolling, tracker, [OrderAdded(1, 4, BID, 100, 7)])
    assert (tracker.position(50).ahead, tracker.position(50).behind) == (30, 7)
    _l3_feed(rolling, tracker, [OrderCancelled(2, 2, 15)])
    assert tracker.position(50).ahead == 15
    _l3_feed(rolling, tracker, [OrderModified(3, 1, 100, 12)])  # size up: loses priority
    assert tracker.position(50).ahead == 5


def test_l3_execution_behind_us_with_nothing_ahead_fills_us_first() -> None:
    rolling, tracker = _l3_setup()
    tracker.place(50, BID, 100, 5)
    _l3_feed(rolling, tracker, [OrderAdded(1, 4, BID, 100, 7)])
    fills = _l3_feed(rolling, tracker, [OrderExecuted(2, 1, 10)])
    assert fills == []  # order 1 was ahead of us
    fills = _l3_feed(rolling, tracker, [OrderExecuted(3, 4, 3)])
    assert fills == []  # order 2 (20) is still ahead
    _l3_feed(rolling, tracker, [OrderCancelled(4, 2)])
    fills = _l3_feed(rolling, tracker, [OrderExecuted(5, 4, 4)])
    assert [(f.order_id, f.size, f.remaining) for f in fills] == [(50, 4, 1)]


def test_l3_our_two_orders_keep_their_own_fifo() -> None:
    rolling, tracker = _l3_setup()
    tracker.place(50, BID, 100, 2)
    tracker.place(51, BID, 100, 2)
    assert tracker.position(51).ahead == 32
    _l3_feed(
        rolling,
        tracker,
        [OrderCancelled(1, 1), OrderCancelled(1, 2), OrderAdded(2, 4, BID, 100, 9)],
    )
    fills = _l3_feed(rolling, tracker, [OrderExecuted(3, 4, 3)])
    assert [(f.order_id, f.size) for f in fills] == [(50, 2), (51, 1)]
    assert 50 not in tracker and tracker.position(51).remaining == 1


# ---- properties -----------------------------------------------------------------------------

flow = st.lists(
    st.tuples(st.sampled_from(["trade", "set"]), st.integers(98, 102), st.integers(0, 40)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(flow)
def test_fills_never_exceed_the_order_and_conservative_never_ahead_of_probabilistic(
    steps: list,
) -> None:
    books = {}
    trackers = {}
    for model in ("conservative", "probabilistic"):
        rolling = RollingBook()
        rolling.apply(BookSnapshot(0, ((100, 30), (99, 10)), ((101, 20), (102, 5))))
        tracker = L2QueueTracker(rolling.book, model=model)  # type: ignore[arg-type]
        tracker.place(1, BID, 100, 8)
        books[model], trackers[model] = rolling, tracker
    filled = {"conservative": 0, "probabilistic": 0}
    for t, (kind, price, size) in enumerate(steps, start=1):
        if kind == "trade":
            event: MarketEvent = TradePrint(t, price, max(1, size), ASK)
        else:
            event = LevelSet(t, BID, price, size)
        for model in filled:
            for fill in trackers[model].on_observations(books[model].apply(event)):
                filled[model] += fill.size
        if 1 in trackers["conservative"] and 1 in trackers["probabilistic"]:
            cons = trackers["conservative"].position(1)
            prob = trackers["probabilistic"].position(1)
            assert cons.ahead >= prob.ahead >= 0
            assert cons.remaining >= prob.remaining
    for model, total in filled.items():
        assert total <= 8
        assert (1 in trackers[model]) == (total < 8)
    assert filled["conservative"] <= filled["probabilistic"]


def test_on_a_long_l3_feed_the_conservative_estimate_never_beats_the_exact_queue() -> None:
    rolling = RollingBook(l3=True)
    assert rolling.l3 is not None
    exact = L3QueueTracker(rolling.l3)
    conservative = L2QueueTracker(rolling.book, model="conservative")
    probabilistic = L2QueueTracker(rolling.book, model="probabilistic")
    trackers = (exact, conservative, probabilistic)
    filled_at: dict[str, dict[int, int]] = {"exact": {}, "cons": {}, "prob": {}}
    placed = 0
    for n, event in enumerate(synthetic_events(30_000, seed=8)):
        results = [t.on_observations(rolling.apply(event)) for t in trackers]
        for name, fills in zip(("exact", "cons", "prob"), results, strict=True):
            for fill in fills:
                if fill.remaining == 0:
                    filled_at[name][fill.order_id] = n
        if n % 500 == 499 and rolling.book.best_bid is not None:
            placed += 1
            for tracker in trackers:
                tracker.place(placed, BID, rolling.book.best_bid, 3)
        for oid in range(1, placed + 1):
            if oid in exact and oid in conservative:
                assert conservative.position(oid).ahead >= exact.position(oid).ahead
    assert placed > 50
    assert len(filled_at["exact"]) > 10  # the comparison below is not vacuous
    for oid, n in filled_at["cons"].items():
        assert filled_at["exact"].get(oid, n + 1) <= n
    now = rolling.ts_ns or 0
    open_orders = [oid for oid in range(1, placed + 1) if oid in exact]
    if open_orders:
        p = exact.fill_probability(open_orders[0], 10_000_000_000, now)
        assert 0.0 <= p <= 1.0
