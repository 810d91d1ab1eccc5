"""The array path must give exactly the per-event path's touch sequence and final book."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.market.batch import NO_ASK, NO_BID, best_prices
from oms.market.book import L2Book
from oms.market.errors import MarketDataError
from oms.market.feeds.synthetic import l2_stream


def _per_event(rows: list[tuple[int, int, int]], book: L2Book) -> tuple[list[int], list[int]]:
    bids, asks = [], []
    for side, price, size in rows:
        book.update(side, price, size)
        bids.append(NO_BID if book.best_bid is None else book.best_bid)
        asks.append(NO_ASK if book.best_ask is None else book.best_ask)
    return bids, asks


def test_identical_sequence_on_a_synthetic_stream_across_chunks() -> None:
    stream = l2_stream(20_000, seed=3)
    slow = L2Book()
    want_bid, want_ask = _per_event(stream.rows(), slow)
    fast = L2Book()
    got_bid, got_ask = best_prices(stream.sides, stream.prices, stream.sizes, fast, chunk=997)
    assert got_bid.tolist() == want_bid
    assert got_ask.tolist() == want_ask
    assert (fast.bids, fast.asks) == (slow.bids, slow.asks)
    assert (fast.best_bid, fast.best_ask) == (slow.best_bid, slow.best_ask)


rows_strategy = st.lists(
    st.tuples(st.integers(0, 1), st.integers(-3, 12), st.integers(0, 3)), max_size=120
)


@settings(max_examples=200, deadline=None)
@given(rows_strategy, rows_strategy, st.integers(1, 50))
def test_identical_on_random_books_including_crossed_and_a_prior_state(
    before: list, rows: list, chunk: int
) -> None:
    slow, fast = L2Book(), L2Book()
    for side, price, size in before:
        slow.update(side, price, size)
        fast.update(side, price, size)
    n_issues = len(fast.issues)
    want_bid, want_ask = _per_event(rows, slow)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
    got_bid, got_ask = best_prices(arr[:, 0], arr[:, 1], arr[:, 2], fast, chunk=chunk)
    assert got_bid.tolist() == want_bid
    assert got_ask.tolist() == want_ask
    assert (fast.bids, fast.asks, fast.crossed) == (slow.bids, slow.asks, slow.crossed)
    assert [i.kind for i in fast.issues[n_issues:]] == [i.kind for i in slow.issues[n_issues:]]


def test_bad_batches_are_refused() -> None:
    with pytest.raises(MarketDataError, match="side 3"):
        best_prices([3], [100], [1])
    with pytest.raises(MarketDataError, match="negative size"):
        best_prices([0], [100], [-1])
    with pytest.raises(MarketDataError, match="shape"):
        best_prices([0, 1], [100], [1])


def test_empty_batch() -> None:
    bids, asks = best_prices([], [], [])
    assert bids.size == asks.size == 0
