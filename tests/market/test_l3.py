"""The L3 book: price-time priority, priority loss on modify, executions, L2 projection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.market.errors import MarketDataError
from oms.market.feeds.synthetic import l3_stream
from oms.market.l3 import (
    ADD,
    CANCEL,
    EXECUTE,
    EXECUTE_HIDDEN,
    MODIFY,
    L3Book,
    apply_message,
)
from oms.market.sides import ASK, BID


def _book() -> L3Book:
    book = L3Book()
    book.add(1, BID, 100, 5)
    book.add(2, BID, 100, 7)
    book.add(3, BID, 100, 2)
    book.add(4, ASK, 102, 4)
    return book


def test_orders_queue_fifo_and_project_to_l2() -> None:
    book = _book()
    assert book.level_orders(BID, 100) == [(1, 5), (2, 7), (3, 2)]
    assert book.l2.bids == {100: 14}
    assert (book.l2.best_bid, book.l2.best_ask) == (100, 102)
    spot = book.queue_spot(3)
    assert (spot.ahead_orders, spot.ahead_volume, spot.behind_volume) == (2, 12, 0)


def test_partial_cancel_keeps_priority_full_cancel_removes() -> None:
    book = _book()
    assert book.cancel(1, 3) == 3
    assert book.level_orders(BID, 100) == [(1, 2), (2, 7), (3, 2)]
    assert book.cancel(2) == 7
    assert book.level_orders(BID, 100) == [(1, 2), (3, 2)]
    assert book.l2.bids == {100: 4}


def test_size_decrease_keeps_priority_increase_or_price_change_loses_it() -> None:
    book = _book()
    book.modify(1, 100, 4)
    assert book.level_orders(BID, 100)[0] == (1, 4)
    book.modify(1, 100, 9)
    assert book.level_orders(BID, 100) == [(2, 7), (3, 2), (1, 9)]
    book.modify(2, 101, 7)
    assert book.level_orders(BID, 101) == [(2, 7)]
    assert book.l2.bids == {100: 11, 101: 7}
    assert book.l2.best_bid == 101


def test_execution_reduces_the_order_and_removes_it_when_done() -> None:
    book = _book()
    ex = book.execute(1, 2)
    assert (ex.side, ex.price, ex.size, ex.remaining, ex.aggressor) == (BID, 100, 2, 3, ASK)
    book.execute(1, 3)
    assert 1 not in book.orders
    assert book.queue_spot(2).ahead_volume == 0
    with pytest.raises(MarketDataError, match="exceeds"):
        book.execute(2, 8)


def test_last_order_leaving_removes_the_level_and_moves_the_touch() -> None:
    book = _book()
    book.delete(4)
    assert book.l2.best_ask is None
    assert book.l2.asks == {}
    assert book.queues[ASK] == {}


def test_bad_messages_are_refused_with_the_order_named() -> None:
    book = _book()
    with pytest.raises(MarketDataError, match="order 1 is already"):
        book.add(1, BID, 100, 1)
    with pytest.raises(MarketDataError, match="order 99 is not in the book"):
        book.cancel(99)
    with pytest.raises(MarketDataError, match="size 0"):
        book.add(9, BID, 100, 0)
    with pytest.raises(MarketDataError, match="unknown L3 message kind 42"):
        apply_message(book, 42, 1, BID, 100, 1)


def test_message_dispatch_and_hidden_executions_leave_the_book_alone() -> None:
    book = L3Book()
    apply_message(book, ADD, 1, ASK, 105, 10)
    apply_message(book, CANCEL, 1, ASK, 105, 4)
    apply_message(book, MODIFY, 1, ASK, 104, 6)
    ex = apply_message(book, EXECUTE, 1, ASK, 104, 2)
    hidden = apply_message(book, EXECUTE_HIDDEN, 0, ASK, 104, 50)
    assert ex is not None and ex.remaining == 4
    assert hidden is not None and hidden.size == 50
    assert book.l2.asks == {104: 4}


def test_clear_forgets_everything() -> None:
    book = _book()
    book.clear()
    assert book.orders == {}
    assert (book.l2.best_bid, book.l2.best_ask) == (None, None)


def test_a_long_synthetic_stream_stays_consistent_and_uncrossed() -> None:
    stream = l3_stream(20_000, seed=5)
    book = L3Book()
    for row in stream.rows():
        apply_message(book, *row)
    book.check_consistent()
    assert not book.l2.crossed
    assert book.l2.issues == []
    assert (stream.ts_ns[1:] > stream.ts_ns[:-1]).all()


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "cancel", "modify", "execute"]),
        st.integers(1, 12),  # order id
        st.integers(0, 1),  # side
        st.integers(98, 103),  # price
        st.integers(1, 6),  # size
    ),
    max_size=150,
)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_l3_book_matches_a_naive_fifo_model(steps: list) -> None:
    book = L3Book()
    # naive model: a list of [id, side, price, size] in arrival order per (side, price)
    model: list[list[int]] = []
    for op, oid, side, price, size in steps:
        existing = next((o for o in model if o[0] == oid), None)
        if op == "add":
            if existing is not None:
                continue
            book.add(oid, side, price, size)
            model.append([oid, side, price, size])
        elif existing is None:
            continue
        elif op == "cancel":
            book.cancel(oid, size)
            existing[3] -= min(size, existing[3])
        elif op == "modify":
            book.modify(oid, price, size)
            if price == existing[2] and size <= existing[3]:
                existing[3] = size
            else:  # priority lost: to the back
                model.remove(existing)
                model.append([oid, existing[1], price, size])
        else:
            take = min(size, existing[3])
            book.execute(oid, take)
            existing[3] -= take
        model = [o for o in model if o[3] > 0]
        for s in (BID, ASK):
            for p in range(98, 104):
                want = [(o[0], o[3]) for o in model if o[1] == s and o[2] == p]
                assert book.level_orders(s, p) == want
        bids = [o[2] for o in model if o[1] == BID]
        asks = [o[2] for o in model if o[1] == ASK]
        assert book.l2.best_bid == (max(bids) if bids else None)
        assert book.l2.best_ask == (min(asks) if asks else None)
    book.check_consistent()
