"""The rolling book: what each feed event changed, traded versus cancelled, L2 and L3."""

from __future__ import annotations

import pytest

from oms.market.book import IntegrityIssue
from oms.market.errors import MarketDataError
from oms.market.events import (
    BookCleared,
    BookSnapshot,
    HiddenExecuted,
    LevelSet,
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)
from oms.market.rolling import LevelChange, OrderLife, Print, RollingBook
from oms.market.sides import ASK, BID


def _l2() -> RollingBook:
    book = RollingBook()
    book.apply(BookSnapshot(0, ((100, 10),), ((101, 10), (102, 10))))
    return book


def test_a_trade_before_the_level_update_splits_the_decrease() -> None:
    book = _l2()
    (p,) = book.apply(TradePrint(1, 101, 3, BID))
    assert isinstance(p, Print)
    assert (p.resting_side, p.displayed, p.hidden) == (ASK, 10, False)
    (c,) = book.apply(LevelSet(2, ASK, 101, 5))
    assert isinstance(c, LevelChange)
    assert (c.before, c.after, c.traded, c.cancelled, c.refilled) == (10, 5, 3, 2, 0)
    (c2,) = book.apply(LevelSet(3, ASK, 101, 4))
    assert isinstance(c2, LevelChange)
    assert (c2.traded, c2.cancelled) == (0, 1)  # the pending trade was used up


def test_size_shown_again_after_a_trade_is_reported_as_refilled() -> None:
    book = _l2()
    book.apply(TradePrint(1, 101, 10, BID))
    (c,) = book.apply(LevelSet(2, ASK, 101, 10))
    assert isinstance(c, LevelChange)
    assert (c.traded, c.cancelled, c.refilled) == (0, 0, 10)


def test_unknown_aggressor_is_inferred_from_the_touch() -> None:
    book = _l2()
    (p,) = book.apply(TradePrint(1, 101, 1, None))
    assert isinstance(p, Print) and p.aggressor == BID
    (q,) = book.apply(TradePrint(2, 100, 1, None))
    assert isinstance(q, Print) and q.aggressor == ASK
    assert book.book.last_trade is not None and book.book.last_trade.aggressor == ASK


def test_sequence_gap_surfaces_as_an_integrity_observation() -> None:
    book = RollingBook()
    book.apply(LevelSet(1, BID, 100, 1, seq=1))
    out = book.apply(LevelSet(2, BID, 100, 2, seq=3))
    assert any(isinstance(o, IntegrityIssue) and o.kind == "gap" for o in out)
    assert book.book.stale
    dup = book.apply(LevelSet(2, BID, 100, 9, seq=3))
    assert [o.kind for o in dup if isinstance(o, IntegrityIssue)] == ["duplicate"]
    assert book.book.bids == {100: 2}
    book.apply(BookSnapshot(3, ((100, 1),), (), seq=4))
    assert not book.book.stale


def test_time_going_backwards_and_wrong_granularity_are_refused() -> None:
    book = _l2()
    with pytest.raises(MarketDataError, match="backwards"):
        book.apply(LevelSet(-1, BID, 100, 1))
    with pytest.raises(MarketDataError, match="needs an L3 book"):
        book.apply(OrderAdded(5, 1, BID, 100, 1))
    l3 = RollingBook(l3=True)
    with pytest.raises(MarketDataError, match="cannot be applied to an L3 book"):
        l3.apply(LevelSet(1, BID, 100, 1))
    with pytest.raises(MarketDataError, match="order 7 is not in the book"):
        l3.apply(OrderExecuted(2, 7, 1))


def test_l3_events_report_order_life_level_changes_and_prints() -> None:
    book = RollingBook(l3=True)
    out = book.apply(OrderAdded(1, 1, ASK, 101, 10))
    life = out[0]
    assert isinstance(life, OrderLife)
    assert (life.action, life.level_before, life.touch) == ("add", 0, None)
    book.apply(OrderAdded(2, 2, BID, 99, 5))
    out = book.apply(OrderExecuted(3, 1, 4))
    kinds = [type(o).__name__ for o in out]
    assert kinds == ["Print", "OrderLife", "LevelChange"]
    assert isinstance(out[0], Print) and out[0].aggressor == BID
    assert isinstance(out[2], LevelChange) and (out[2].traded, out[2].after) == (4, 6)
    out = book.apply(OrderCancelled(4, 1, 2))
    assert isinstance(out[0], OrderLife) and (out[0].size, out[0].remaining) == (2, 4)
    assert isinstance(out[1], LevelChange) and out[1].cancelled == 2
    out = book.apply(OrderModified(5, 2, 98, 5))
    assert [o.action for o in out if isinstance(o, OrderLife)] == ["cancel", "add"]
    assert book.book.bids == {98: 5}
    (hidden,) = book.apply(HiddenExecuted(6, ASK, 101, 30))
    assert isinstance(hidden, Print) and hidden.hidden and hidden.displayed == 4
    book.apply(BookCleared(7))
    assert book.l3 is not None and book.l3.orders == {}


def test_l3_gap_is_stale_until_an_order_snapshot() -> None:
    book = RollingBook(l3=True)
    book.apply(OrderAdded(1, 1, BID, 100, 5, seq=1))
    book.apply(OrderAdded(2, 2, BID, 100, 6, seq=3))
    assert book.book.stale
    out = book.apply(OrderBookSnapshot(3, ((7, BID, 99, 4), (8, BID, 99, 1), (9, ASK, 101, 2)), 4))
    assert not book.book.stale
    assert any(isinstance(o, IntegrityIssue) and o.kind == "snapshot" for o in out)
    assert book.l3 is not None
    assert book.l3.level_orders(BID, 99) == [(7, 4), (8, 1)]
    assert (book.book.best_bid, book.book.best_ask, book.book.bids) == (99, 101, {99: 5})
    with pytest.raises(MarketDataError, match="needs an L3 book"):
        RollingBook().apply(OrderBookSnapshot(1, ()))


def test_a_print_explains_only_displayed_size_and_only_for_a_while() -> None:
    book = _l2()
    book.apply(TradePrint(1, 101, 8, BID))
    book.apply(TradePrint(2, 101, 8, BID))  # 16 printed against 10 displayed
    (c,) = book.apply(LevelSet(3, ASK, 101, 0))
    assert isinstance(c, LevelChange) and (c.traded, c.cancelled) == (10, 0)
    book.apply(TradePrint(4, 102, 4, BID))
    (late,) = book.apply(LevelSet(4 + 2_000_000_000, ASK, 102, 6))  # two seconds later
    assert isinstance(late, LevelChange) and (late.traded, late.cancelled) == (0, 4)
