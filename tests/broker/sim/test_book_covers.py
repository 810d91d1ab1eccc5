"""The FOK check `covers` agrees with summing the book (`available`) at every size and limit."""

from __future__ import annotations

import pytest

from oms.broker.sim.book import SimBook


@pytest.fixture
def book() -> SimBook:
    sim = SimBook()
    sim.apply(1, [(99, 5), (98, 10), (97, 20)], [(101, 5), (102, 10), (103, 20)])
    return sim


@pytest.mark.parametrize("buy", [True, False])
@pytest.mark.parametrize("limit", [0, 97, 98, 99, 100, 101, 102, 103])
def test_covers_matches_the_summed_book(book: SimBook, buy: bool, limit: int) -> None:
    total = book.available(buy, limit)
    for wanted in range(1, 40):
        assert book.covers(buy, wanted, limit) is (total >= wanted), (buy, limit, wanted)


def test_covers_stops_at_the_limit(book: SimBook) -> None:
    assert book.covers(True, 15, limit=102)
    assert not book.covers(True, 16, limit=102)
    assert not book.covers(False, 6, limit=99)
