"""Feed readers: MT5 depth snapshots, LOBSTER files, our recording format, synthetic feed."""

from __future__ import annotations

from collections import namedtuple
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.market.errors import MarketDataError
from oms.market.events import (
    BookCleared,
    BookSnapshot,
    HiddenExecuted,
    LevelSet,
    MarketEvent,
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)
from oms.market.feeds.lobster import check_replay, lobster_events, read_messages
from oms.market.feeds.mt5 import Mt5BookDiffer
from oms.market.feeds.recording import read_recording, write_recording
from oms.market.feeds.synthetic import synthetic_events
from oms.market.rolling import RollingBook
from oms.market.sides import ASK, BID
from tests.market.samples import MESSAGES, ORDERBOOK

BookInfo = namedtuple("BookInfo", "type price volume volume_dbl")


# ---- MT5 --------------------------------------------------------------------------------


def test_mt5_snapshots_become_level_updates() -> None:
    differ = Mt5BookDiffer(tick_size=0.01, units_per_lot=100)
    first = (
        BookInfo(1, 1.02, 1, 1.0),
        BookInfo(1, 1.01, 0, 0.5),
        BookInfo(2, 1.00, 2, 2.0),
        BookInfo(4, 0.0, 0, 0.3),
    )
    updates = differ.diff(first, ts_ns=10)
    assert sorted((u.side, u.price, u.size) for u in updates) == [
        (BID, 100, 200),
        (ASK, 101, 50),
        (ASK, 102, 100),
    ]
    assert differ.market_interest == [0, 30]
    second = (BookInfo(1, 1.02, 1, 1.5), BookInfo(2, 1.00, 2, 2.0), BookInfo(2, 0.99, 1, 1.0))
    updates = differ.diff(second, ts_ns=20)
    assert [(u.side, u.price, u.size) for u in updates] == [
        (ASK, 101, 0),  # deletes come first
        (BID, 99, 100),
        (ASK, 102, 150),
    ]
    assert differ.diff(second, ts_ns=30) == []


def test_mt5_integer_volume_and_plain_tuples() -> None:
    differ = Mt5BookDiffer(tick_size=0.25)
    updates = differ.diff([(2, 4500.25, 7, 7.0)], ts_ns=1)
    assert [(u.side, u.price, u.size) for u in updates] == [(BID, 18001, 7)]


def test_mt5_bad_records_are_refused() -> None:
    differ = Mt5BookDiffer(tick_size=0.01, units_per_lot=100)
    with pytest.raises(MarketDataError, match="unknown BOOK_TYPE 9"):
        differ.diff([BookInfo(9, 1.0, 1, 1.0)], 1)
    with pytest.raises(MarketDataError, match="not a multiple of tick"):
        differ.diff([BookInfo(1, 1.005, 1, 1.0)], 1)
    with pytest.raises(MarketDataError, match="whole number"):
        differ.diff([BookInfo(1, 1.01, 1, 1.001)], 1)
    with pytest.raises(MarketDataError, match="appears twice"):
        differ.diff([BookInfo(1, 1.01, 1, 1.0), BookInfo(1, 1.01, 1, 1.0)], 1)
    with pytest.raises(MarketDataError, match="not a BookInfo"):
        differ.diff([("x",)], 1)


class _FakeTerminal:
    """A stand-in with the MetaTrader5 book surface and a scripted answer."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def market_book_get(self, symbol: str, /) -> Any:
        return self.answer

    def last_error(self) -> tuple[int, str]:
        return (-4, "Terminal: Not found")


def test_mt5_poll_reports_the_terminal_error() -> None:
    differ = Mt5BookDiffer(tick_size=0.01)
    assert len(differ.poll(_FakeTerminal((BookInfo(2, 1.0, 3, 3.0),)), "EURUSD", 1)) == 1
    with pytest.raises(MarketDataError, match=r"market_book_get\('EURUSD'\) failed: -4"):
        differ.poll(_FakeTerminal(None), "EURUSD", 2)


# ---- LOBSTER ------------------------------------------------------------------------------


def _lobster(tmp_path: Path) -> tuple[Path, Path]:
    messages = tmp_path / "msg.csv"
    orderbook = tmp_path / "ob.csv"
    messages.write_text(MESSAGES)
    orderbook.write_text(ORDERBOOK)
    return messages, orderbook


def test_lobster_replay_matches_every_orderbook_row(tmp_path: Path) -> None:
    messages, orderbook = _lobster(tmp_path)
    check = check_replay(messages, orderbook)
    assert (check.messages, check.mismatches, check.first_mismatch) == (8, 0, None)
    assert (check.unplaced, check.halts) == (0, 1)


def test_lobster_replay_reports_a_mismatch(tmp_path: Path) -> None:
    messages, orderbook = _lobster(tmp_path)
    orderbook.write_text(ORDERBOOK.replace("100100,20,100000,50", "100100,21,100000,50"))
    check = check_replay(messages, orderbook)
    assert (check.mismatches, check.first_mismatch) == (1, 4)


def test_lobster_events_and_times(tmp_path: Path) -> None:
    messages, orderbook = _lobster(tmp_path)
    first = next(read_messages(messages))
    assert first.ts_ns == 34_200_000_000_001
    events = list(lobster_events(messages, orderbook))
    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["OrderAdded", "OrderAdded"]  # the two seeded blocks
    assert "HiddenExecuted" in kinds
    rolling = RollingBook(l3=True)
    for event in events:
        rolling.apply(event)
    assert rolling.book.bids == {1000: 30}
    assert rolling.book.asks == {1001: 20}


def test_lobster_bad_rows_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("34200.1,1,2,50,100000,1\n34200.2,9,2,50,100000,1\n")
    with pytest.raises(MarketDataError, match=r"bad.csv:2: unknown event type 9"):
        list(read_messages(path))
    path.write_text("34200.1,1,2,50,100000,0\n")
    with pytest.raises(MarketDataError, match="direction"):
        list(read_messages(path))


# ---- recording ----------------------------------------------------------------------------


def test_recording_round_trips_every_event_kind(tmp_path: Path) -> None:
    events: list[MarketEvent] = [
        BookSnapshot(1, ((100, 5), (99, 3)), ((101, 4),), seq=1),
        LevelSet(2, BID, 100, 0, seq=2),
        TradePrint(3, 101, 2, BID),
        TradePrint(4, 101, 2, None, seq=4),
        BookCleared(5),
        OrderAdded(6, 7, ASK, 101, 9, seq=6),
        OrderCancelled(7, 7, 2),
        OrderCancelled(8, 7, None),
        OrderModified(9, 8, 102, 3),
        OrderExecuted(10, 8, 1),
        HiddenExecuted(11, ASK, 102, 4),
        OrderBookSnapshot(12, ((1, BID, 100, 5), (2, ASK, 101, 3)), seq=12),
        OrderBookSnapshot(13, ()),
    ]
    path = tmp_path / "rec.csv"
    assert write_recording(path, events) == len(events)
    assert list(read_recording(path)) == events


def test_recording_rejects_foreign_files_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("hello\n")
    with pytest.raises(MarketDataError, match="not an oms market recording"):
        list(read_recording(path))
    path.write_text("#oms-market-recording v1\nL,1,,0,100\n")
    with pytest.raises(MarketDataError, match=r"rec.csv:2: bad row"):
        list(read_recording(path))
    path.write_text("#oms-market-recording v1\nZ,1,,0,100\n")
    with pytest.raises(MarketDataError, match="unknown event code"):
        list(read_recording(path))


# ---- synthetic ----------------------------------------------------------------------------


def test_synthetic_feed_is_seeded_sequenced_and_applies_cleanly() -> None:
    first = list(synthetic_events(3_000, seed=4))
    again = list(synthetic_events(3_000, seed=4))
    other = list(synthetic_events(3_000, seed=5))
    assert first == again
    assert first != other
    assert [e.seq for e in first] == list(range(1, 3_001))
    rolling = RollingBook(l3=True)
    for event in first:
        rolling.apply(event)
    assert rolling.book.issues == []
    assert rolling.l3 is not None
    rolling.l3.check_consistent()


def test_endless_synthetic_feed_continues_across_chunks() -> None:
    events = list(islice(synthetic_events(None, seed=2), 25_000))
    assert [e.seq for e in events] == list(range(1, 25_001))
    times = [e.ts_ns for e in events]
    assert all(b > a for a, b in pairwise(times))
    rolling = RollingBook(l3=True)
    for event in events:
        rolling.apply(event)
    assert rolling.book.issues == []
    assert not rolling.book.crossed


snapshots = st.lists(
    st.tuples(
        st.dictionaries(st.integers(90, 99), st.integers(1, 9), max_size=6),
        st.dictionaries(st.integers(100, 109), st.integers(1, 9), max_size=6),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=100, deadline=None)
@given(snapshots)
def test_mt5_diffs_rebuild_every_snapshot_exactly(pictures: list) -> None:
    differ = Mt5BookDiffer(tick_size=0.5, units_per_lot=10)
    rolling = RollingBook()
    for ts, (bids, asks) in enumerate(pictures, start=1):
        records = [BookInfo(1, p * 0.5, 0, s / 10) for p, s in asks.items()]
        records += [BookInfo(2, p * 0.5, 0, s / 10) for p, s in bids.items()]
        for update in differ.diff(tuple(records), ts):
            rolling.apply(update)
        assert rolling.book.bids == bids
        assert rolling.book.asks == asks
        assert rolling.book.best_bid == (max(bids) if bids else None)
