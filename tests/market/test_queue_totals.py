"""The queue trackers' running per-level totals give what rescanning every level gives.

The oracles below are the trackers as they were before the totals: a new order sums every
order of ours at its level, a position walks the level up to the order, and an L3 execution
asks each of our orders for its whole volume ahead. Random sequences of place, cancel, level
changes, prints and L3 messages go through both; fills, positions and the set of tracked
orders must agree at every step, and the totals must equal a recount from scratch.
"""

from __future__ import annotations

from hypothesis import event, given, settings
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
from oms.market.queue import (
    L2QueueTracker,
    L3QueueTracker,
    QueueFill,
    QueueModel,
    QueuePosition,
    _QueueTracker,
    _Resting,
)
from oms.market.rolling import OrderLife, Print, RollingBook
from oms.market.sides import ASK, BID


class OldPrints(_QueueTracker):
    """A print through our price checked against every order we hold."""

    def _on_print(self, p: Print, fills: list[QueueFill]) -> None:
        resting = p.resting_side
        if resting is None:
            return
        self._rates[resting].add(p.ts_ns, p.size)
        for order in list(self._orders.values()):
            through = p.price < order.price if order.side == BID else p.price > order.price
            if order.side == resting and through:
                self._fill(order, order.remaining, p.ts_ns, fills)


class OldL2(OldPrints, L2QueueTracker):
    """`L2QueueTracker` with the level rescanned on every place and position."""

    def place(self, order_id: int, side: int, price: int, size: int) -> QueuePosition:
        self._check_new(order_id, side, price, size)
        level = self.book.size_at(side, price)
        ahead = level - size if self.in_book else level
        ahead += sum(o.remaining for o in self._by_level.get((side, price), {}).values())
        self._link(_Resting(order_id, side, price, size, float(max(0, ahead))))
        return self.position(order_id)

    def position(self, order_id: int) -> QueuePosition:
        order = self._get(order_id)
        level = self.book.size_at(order.side, order.price)
        mine = order.remaining if self.in_book else 0
        behind = max(0.0, level + self._ours_ahead(order) - mine - order.ahead)
        return QueuePosition(
            order.order_id, order.side, order.price, order.remaining, order.ahead, behind
        )


class OldL3(OldPrints, L3QueueTracker):
    """`L3QueueTracker` with the whole volume ahead recounted for every order it asks about."""

    def place(self, order_id: int, side: int, price: int, size: int) -> QueuePosition:
        self._check_new(order_id, side, price, size)
        self._ahead_ids[order_id] = set(self.l3.queues[side].get(price, ()))
        self._link(_Resting(order_id, side, price, size, 0.0))
        return self.position(order_id)

    def position(self, order_id: int) -> QueuePosition:
        order = self._get(order_id)
        ahead = self._ahead(order)
        level = self.l3.l2.size_at(order.side, order.price)
        behind = level - (ahead - self._ours_ahead(order))
        return QueuePosition(
            order_id, order.side, order.price, order.remaining, float(ahead), float(behind)
        )

    def _on_execute(self, obs: OrderLife, fills: list[QueueFill]) -> None:
        queue = self._by_level.get((obs.side, obs.price))
        if not queue:
            return
        left = obs.size
        for order in list(queue.values()):
            if left <= 0:
                break
            if obs.order_id in self._ahead_ids[order.order_id] or self._ahead(order) > 0:
                continue
            take = min(order.remaining, left)
            left -= take
            self._fill(order, take, obs.ts_ns, fills)


Tracker = L2QueueTracker | L3QueueTracker


def _recount(tracker: _QueueTracker) -> dict[tuple[int, int], int]:
    totals: dict[tuple[int, int], int] = {}
    for order in tracker._orders.values():
        key = (order.side, order.price)
        totals[key] = totals.get(key, 0) + order.remaining
    return totals


def _same_state(new: Tracker, old: Tracker) -> None:
    assert list(new._orders) == list(old._orders)
    recount = _recount(new)
    assert new._level_size == recount
    for side, price in recount:
        assert new.resting_size(side, price) == recount[(side, price)]
    assert {k: list(v) for k, v in new._by_level.items()} == {
        k: list(v) for k, v in old._by_level.items()
    }
    for order_id in new._orders:
        assert new.position(order_id) == old.position(order_id)
    if isinstance(new, L2QueueTracker):
        for side, price in [(s, p) for s in (BID, ASK) for p in range(97, 105)]:
            at_level = [
                o.order_id for o in old._orders.values() if (o.side, o.price) == (side, price)
            ]
            want = min((old.position(t).ahead for t in at_level), default=0.0)
            assert new.min_ahead(side, price) == want


def _place_both(
    new: Tracker, old: Tracker, order_id: int, side: int, price: int, size: int
) -> None:
    try:
        want = old.place(order_id, side, price, size)
    except MarketDataError as exc:
        try:
            new.place(order_id, side, price, size)
        except MarketDataError as got:
            assert str(got) == str(exc)
        else:
            raise AssertionError(f"placing {order_id} should have been refused") from exc
        return
    assert new.place(order_id, side, price, size) == want


def _cancel_both(new: Tracker, old: Tracker, pick: int) -> None:
    if not old._orders:
        return
    order_id = list(old._orders)[pick % len(old._orders)]
    old.cancel(order_id)
    new.cancel(order_id)


ours = st.tuples(
    st.just("place"), st.sampled_from([BID, ASK]), st.integers(98, 103), st.integers(1, 12)
)
cancels = st.tuples(st.just("cancel"), st.integers(0, 50))

l2_steps = st.lists(
    st.one_of(
        ours,
        cancels,
        st.tuples(
            st.just("set"), st.sampled_from([BID, ASK]), st.integers(97, 104), st.integers(0, 40)
        ),
        st.tuples(
            st.just("trade"),
            st.integers(97, 104),
            st.integers(1, 30),
            st.sampled_from([BID, ASK, None]),
        ),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["conservative", "probabilistic"]),
    st.booleans(),
    st.sampled_from([1.0, 2.0]),
    l2_steps,
)
def test_l2_totals_match_a_recount_and_fills_match_the_rescanning_tracker(
    model: QueueModel, in_book: bool, power: float, steps: list[tuple[object, ...]]
) -> None:
    books = [RollingBook(), RollingBook()]
    snapshot = BookSnapshot(0, ((100, 30), (99, 10)), ((101, 20), (102, 5)))
    for rolling in books:
        rolling.apply(snapshot)
    new = L2QueueTracker(books[0].book, model=model, power=power, in_book=in_book)
    old = OldL2(books[1].book, model=model, power=power, in_book=in_book)
    next_id = 0
    filled = 0
    for ts, step in enumerate(steps, start=1):
        if step[0] == "place":
            _, side, price, size = step
            next_id += 1
            _place_both(new, old, next_id, int(side), int(price), int(size))  # type: ignore[call-overload]
        elif step[0] == "cancel":
            _cancel_both(new, old, int(step[1]))  # type: ignore[call-overload]
        else:
            if step[0] == "set":
                _, side, price, size = step
                message: MarketEvent = LevelSet(ts, side, price, size)  # type: ignore[arg-type]
            else:
                _, price, size, aggressor = step
                message = TradePrint(ts, price, size, aggressor)  # type: ignore[arg-type]
            got = new.on_observations(books[0].apply(message))
            want = old.on_observations(books[1].apply(message))
            assert got == want
            filled += len(got)
        _same_state(new, old)
    event(f"some order filled: {filled > 0}")


l3_steps = st.lists(
    st.one_of(
        ours,
        cancels,
        st.tuples(
            st.just("add"), st.sampled_from([BID, ASK]), st.integers(0, 2), st.integers(1, 20)
        ),
        st.tuples(st.just("pull"), st.integers(0, 50), st.integers(0, 20)),
        st.tuples(st.just("modify"), st.integers(0, 50), st.integers(-1, 1), st.integers(1, 20)),
        st.tuples(st.just("execute"), st.integers(0, 50), st.integers(1, 20)),
    ),
    max_size=80,
)


def _l3_event(ts: int, step: tuple[object, ...], book: RollingBook, next_id: int) -> MarketEvent:
    """The market message a step stands for, against the orders the book holds now."""
    assert book.l3 is not None
    kind = step[0]
    if kind == "add":
        _, side, offset, size = step
        price = 100 - int(offset) if side == BID else 101 + int(offset)  # type: ignore[call-overload]
        return OrderAdded(ts, next_id, side, price, size)  # type: ignore[arg-type]
    orders = sorted(book.l3.orders)
    oid = orders[int(step[1]) % len(orders)]  # type: ignore[call-overload]
    side, price, size = book.l3.orders[oid]
    if kind == "pull":
        part = int(step[2])  # type: ignore[call-overload]
        return OrderCancelled(ts, oid, part if 0 < part < size else None)
    if kind == "modify":
        new_price = price + int(step[2])  # type: ignore[call-overload]
        if (side == BID and new_price > 100) or (side == ASK and new_price < 101):
            new_price = price
        return OrderModified(ts, oid, new_price, int(step[3]))  # type: ignore[call-overload]
    return OrderExecuted(ts, oid, min(size, int(step[2])))  # type: ignore[call-overload]


@settings(max_examples=300, deadline=None)
@given(l3_steps)
def test_l3_totals_match_a_recount_and_fills_match_the_rescanning_tracker(
    steps: list[tuple[object, ...]],
) -> None:
    books = [RollingBook(l3=True), RollingBook(l3=True)]
    start = [OrderAdded(0, 1, BID, 99, 10), OrderAdded(0, 2, BID, 99, 20)]
    start += [OrderAdded(0, 3, BID, 98, 8), OrderAdded(0, 4, ASK, 102, 5)]
    for rolling in books:
        for added in start:
            rolling.apply(added)
    assert books[0].l3 is not None and books[1].l3 is not None
    new = L3QueueTracker(books[0].l3)
    old = OldL3(books[1].l3)
    our_id = 1_000
    market_id = 100
    filled = 0
    for ts, step in enumerate(steps, start=1):
        if step[0] == "place":
            _, side, price, size = step
            our_id += 1
            _place_both(new, old, our_id, int(side), int(price), int(size))  # type: ignore[call-overload]
        elif step[0] == "cancel":
            _cancel_both(new, old, int(step[1]))  # type: ignore[call-overload]
        else:
            assert books[0].l3 is not None
            if step[0] != "add" and not books[0].l3.orders:
                continue
            market_id += 1
            message = _l3_event(ts, step, books[0], market_id)
            got = new.on_observations(books[0].apply(message))
            want = old.on_observations(books[1].apply(message))
            assert got == want
            filled += len(got)
        _same_state(new, old)
    event(f"some order filled: {filled > 0}")


def test_the_running_total_follows_partial_fills_and_cancels() -> None:
    """A hand-checked case: two of our orders at one level, both partly filled, then cancelled."""
    rolling = RollingBook()
    rolling.apply(BookSnapshot(0, ((100, 4),), ((102, 20),)))
    tracker = L2QueueTracker(rolling.book)
    tracker.place(1, BID, 100, 5)
    tracker.place(2, BID, 100, 3)
    assert tracker.resting_size(BID, 100) == 8
    assert tracker.position(2).ahead == 9
    fills = tracker.on_observations(rolling.apply(LevelSet(1, ASK, 100, 2)))
    assert [(f.order_id, f.size, f.remaining) for f in fills] == [(1, 2, 3), (2, 2, 1)]
    assert tracker.resting_size(BID, 100) == 4
    tracker.cancel(1)
    assert tracker.resting_size(BID, 100) == 1
    tracker.cancel(2)
    assert tracker.resting_size(BID, 100) == 0
    assert tracker._level_size == {} and tracker._by_level == {}


def test_a_print_through_several_levels_fills_in_the_order_we_placed() -> None:
    """Levels are kept apart, yet the fills of one print come out in placement order."""
    fills = []
    for cls in (L2QueueTracker, OldL2):
        rolling = RollingBook()
        rolling.apply(BookSnapshot(0, ((100, 4), (99, 6)), ((102, 20),)))
        tracker = cls(rolling.book)
        tracker.place(7, BID, 100, 1)
        tracker.place(5, BID, 99, 2)
        tracker.place(9, BID, 100, 3)
        tracker.place(3, ASK, 103, 4)
        got = tracker.on_observations(rolling.apply(TradePrint(1, 98, 30, ASK)))
        assert tracker.resting_size(BID, 100) == tracker.resting_size(BID, 99) == 0
        assert tracker.resting_size(ASK, 103) == 4
        fills.append([(f.order_id, f.size, f.remaining) for f in got])
    assert fills[0] == fills[1] == [(7, 1, 0), (5, 2, 0), (9, 3, 0)]
