"""The L2 book: touch after every update, integrity flags and derived measures."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.market.book import L2Book
from oms.market.errors import MarketDataError
from oms.market.sides import ASK, BID

updates = st.lists(
    st.tuples(st.integers(0, 1), st.integers(90, 110), st.integers(0, 5)), max_size=300
)


def _reference(rows: list[tuple[int, int, int]]) -> list[tuple[int | None, int | None]]:
    """A deliberately naive book: recompute the touch from scratch after each update."""
    sides: tuple[dict[int, int], dict[int, int]] = ({}, {})
    out = []
    for side, price, size in rows:
        if size:
            sides[side][price] = size
        else:
            sides[side].pop(price, None)
        out.append((max(sides[0], default=None), min(sides[1], default=None)))
    return out


@settings(max_examples=200, deadline=None)
@given(updates)
def test_touch_matches_a_naive_recomputation_after_every_update(rows: list) -> None:
    book = L2Book()
    seen = []
    for side, price, size in rows:
        book.update(side, price, size)
        seen.append((book.best_bid, book.best_ask))
    assert seen == _reference(rows)


def test_deleting_the_best_level_falls_back_to_the_next() -> None:
    book = L2Book()
    book.update(BID, 100, 5)
    book.update(BID, 98, 7)
    book.update(ASK, 103, 2)
    book.update(BID, 100, 0)
    assert (book.best_bid, book.best_ask) == (98, 103)
    book.update(BID, 98, 0)
    assert book.best_bid is None
    assert book.spread is None


def test_deleting_an_absent_level_is_a_no_op() -> None:
    book = L2Book()
    book.update(BID, 100, 5)
    book.update(BID, 99, 0)
    assert book.bids == {100: 5}


def test_bad_side_and_negative_size_are_refused() -> None:
    book = L2Book()
    with pytest.raises(MarketDataError, match="unknown book side 2"):
        book.update(2, 100, 1)
    with pytest.raises(MarketDataError, match="negative size -1"):
        book.update(ASK, 100, -1)


def test_crossed_book_is_flagged_and_reported_until_it_uncrosses() -> None:
    book = L2Book()
    book.update(BID, 100, 5)
    book.update(ASK, 101, 5)
    assert not book.crossed
    book.update(BID, 102, 1)
    assert book.crossed
    assert [i.kind for i in book.issues] == ["crossed"]
    book.update(BID, 102, 0)
    assert not book.crossed
    assert [i.kind for i in book.issues] == ["crossed", "uncrossed"]


def test_locked_book_is_reported_as_locked() -> None:
    book = L2Book()
    book.update(ASK, 101, 5)
    book.update(BID, 101, 5)
    assert book.crossed
    assert book.issues[-1].kind == "locked"


def test_sequence_gap_marks_stale_until_a_snapshot() -> None:
    book = L2Book()
    book.update_seq(1, BID, 100, 5)
    book.update_seq(2, ASK, 101, 5)
    assert not book.stale
    book.update_seq(4, BID, 99, 5)
    assert book.stale
    assert book.issues[-1].kind == "gap"
    assert "expected 3, got 4" in book.issues[-1].detail
    book.update_seq(5, BID, 98, 5)
    assert book.stale
    book.snapshot([(100, 3)], [(102, 4)], seq=6)
    assert not book.stale
    assert (book.best_bid, book.best_ask, book.bids, book.last_seq) == (100, 102, {100: 3}, 6)
    book.update_seq(7, BID, 101, 1)
    assert not book.stale


def test_duplicate_or_late_sequence_numbers_are_reported_and_skipped() -> None:
    book = L2Book()
    assert book.update_seq(5, BID, 100, 5)
    assert not book.update_seq(5, BID, 100, 6)
    assert not book.update_seq(3, BID, 101, 6)
    assert book.bids == {100: 5}
    assert [i.kind for i in book.issues] == ["duplicate", "duplicate"]
    assert not book.stale
    assert book.update_seq(6, BID, 100, 7)


def test_snapshot_rejects_bad_levels_and_reports_a_crossed_picture() -> None:
    book = L2Book()
    with pytest.raises(MarketDataError, match="size 0"):
        book.snapshot([(100, 0)], [])
    with pytest.raises(MarketDataError, match="twice"):
        book.snapshot([], [(101, 1), (101, 2)])
    book.snapshot([(105, 1)], [(104, 1)])
    assert book.crossed
    assert book.issues[-1].kind == "crossed"
    book.snapshot([(103, 1)], [(104, 1)])
    assert not book.crossed
    assert book.issues[-1].kind == "uncrossed"


def test_clear_empties_both_sides() -> None:
    book = L2Book()
    book.update(BID, 100, 5)
    book.update(ASK, 101, 5)
    book.clear()
    assert (book.best_bid, book.best_ask, book.bids, book.asks) == (None, None, {}, {})


def _sample_book() -> L2Book:
    book = L2Book()
    for price, size in [(100, 10), (99, 20), (98, 30)]:
        book.update(BID, price, size)
    for price, size in [(102, 5), (103, 15), (105, 40)]:
        book.update(ASK, price, size)
    return book


def test_depth_cumulative_depth_spread_and_mid() -> None:
    book = _sample_book()
    assert book.depth(BID, 2) == [(100, 10), (99, 20)]
    assert book.depth(ASK, 5) == [(102, 5), (103, 15), (105, 40)]
    assert book.cumulative_depth(BID, 3) == [(100, 10), (99, 30), (98, 60)]
    assert book.spread == 2
    assert book.mid == 101.0
    assert book.size_at(ASK, 103) == 15
    assert book.size_at(ASK, 104) == 0


def test_imbalance_over_top_one_and_top_n() -> None:
    book = _sample_book()
    assert book.imbalance(1) == pytest.approx((10 - 5) / 15)
    assert book.imbalance(2) == pytest.approx((30 - 20) / 50)
    assert L2Book().imbalance(3) is None


def test_weighted_mid_leans_toward_the_thinner_side() -> None:
    book = _sample_book()
    # bid queue 10, ask queue 5: weight on the ask = 10/15
    assert book.weighted_mid() == pytest.approx(102 * 10 / 15 + 100 * 5 / 15)
    assert book.weighted_mid() > book.mid  # type: ignore[operator]


def test_fill_estimate_walks_the_opposite_side() -> None:
    book = _sample_book()
    buy = book.fill_estimate(BID, 12)
    assert (buy.filled, buy.worst_price, buy.levels) == (12, 103, 2)
    assert buy.average_price == pytest.approx((5 * 102 + 7 * 103) / 12)
    assert buy.complete
    sell = book.fill_estimate(ASK, 100)
    assert (sell.filled, sell.worst_price, sell.complete) == (60, 98, False)
    with pytest.raises(MarketDataError):
        book.fill_estimate(BID, 0)


def test_last_trade_is_kept_and_bad_trades_refused() -> None:
    book = _sample_book()
    book.record_trade(1_000, 102, 3, BID)
    assert book.last_trade is not None
    assert (book.last_trade.price, book.last_trade.size, book.last_trade.ts_ns) == (102, 3, 1_000)
    with pytest.raises(MarketDataError):
        book.record_trade(1_001, 102, 0, BID)


wide_updates = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 2_000), st.integers(0, 2)), max_size=300
)


@settings(max_examples=200, deadline=None)
@given(wide_updates)
def test_touch_is_right_when_the_next_level_is_far_away(rows: list) -> None:
    book = L2Book()
    seen = []
    for side, price, size in rows:
        book.update(side, price, size)
        seen.append((book.best_bid, book.best_ask))
    assert seen == _reference(rows)


def test_sparse_top_of_a_deep_book_and_heavy_churn() -> None:
    book = L2Book()
    rows = [(BID, p, 1) for p in range(0, 10_000, 97)]
    rows += [(ASK, p, 1) for p in range(20_000, 30_000, 89)]
    for k in range(5_000):  # churn deep levels so stale index entries pile up
        price = 97 * (k % 100) + 50  # between the resting levels
        rows.append((BID, price, 1))
        rows.append((BID, price, 0))
        rows.append((BID, price + 1, 1))
        rows.append((BID, price + 1, 0))
    for _ in range(60):  # then eat the top of both sides
        rows.append((BID, -1, 0))
        rows.append((ASK, -1, 0))
    resolved = []
    ref_book: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for side, price, size in rows:
        if price == -1:  # delete whatever is best now
            price = max(ref_book[0]) if side == BID else min(ref_book[1])
        resolved.append((side, price, size))
        if size:
            ref_book[side][price] = size
        else:
            ref_book[side].pop(price, None)
    seen = []
    for side, price, size in resolved:
        book.update(side, price, size)
        seen.append((book.best_bid, book.best_ask))
        assert len(book._bid_heap) <= 2 * len(book.bids) + 65  # stale entries are purged
    assert seen == _reference(resolved)


def test_available_and_take_consume_liquidity_for_a_matching_engine() -> None:
    book = _sample_book()
    assert book.available(BID) == 60
    assert book.available(BID, limit=103) == 20
    assert book.available(ASK, limit=99) == 30
    assert book.take(BID, 12, limit=103) == [(102, 5), (103, 7)]
    assert book.asks == {103: 8, 105: 40}
    assert book.best_ask == 103
    assert book.take(ASK, 100) == [(100, 10), (99, 20), (98, 30)]
    assert book.bids == {} and book.best_bid is None
    assert book.take(BID, 5, limit=100) == []
    with pytest.raises(MarketDataError):
        book.take(BID, 0)
