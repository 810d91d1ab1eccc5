"""Appending and reading back: versions, positions, optimistic concurrency, idempotency."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from journal import (
    GENESIS_HASH,
    EventIdConflict,
    Head,
    Journal,
    NewEvent,
    RecordedEvent,
    WrongExpectedVersion,
)
from tests.journal.conftest import event


def test_append_assigns_positions_versions_and_chains_hashes(journal: Journal) -> None:
    first = journal.append("order-1", [event(1), event(2)], expected_version=0)
    second = journal.append("order-2", [event(3)], expected_version=0)
    third = journal.append("order-1", [event(4)], expected_version=2)

    assert [(e.position, e.stream_id, e.version) for e in first + second + third] == [
        (1, "order-1", 1), (2, "order-1", 2), (3, "order-2", 1), (4, "order-1", 3),
    ]  # fmt: skip
    assert first[0].prev_hash == GENESIS_HASH
    everything = first + second + third
    for earlier, later in itertools.pairwise(everything):
        assert later.prev_hash == earlier.hash
    assert journal.head() == Head(4, third[0].hash)


def test_read_back_equals_what_append_returned(journal: Journal) -> None:
    written = journal.append(
        "s",
        [NewEvent("Placed", {"price": 1.08765, "symbol": "EURUSD", "note": "é ✓"},
                  metadata={"correlation": "c-1"}, schema_version=2)],
    )
    assert list(journal.read_all()) == written
    assert journal.read_stream("s") == written
    recorded = written[0]
    assert recorded.payload == {"price": 1.08765, "symbol": "EURUSD", "note": "é ✓"}
    assert recorded.metadata == {"correlation": "c-1"}
    assert recorded.schema_version == 2
    assert len(recorded.event_id) == 32
    assert recorded.recorded_at_ns > 1_600_000_000 * 10**9


def test_read_stream_and_read_all_honour_their_bounds(journal: Journal) -> None:
    for n in range(1, 6):
        journal.append("a" if n % 2 else "b", [event(n)])
    assert [e.payload["n"] for e in journal.read_stream("a", from_version=1)] == [3, 5]
    assert journal.read_stream("missing") == []
    assert [e.position for e in journal.read_all(from_position=2)] == [3, 4, 5]
    assert [e.position for e in journal.read_all(from_position=1, limit=2)] == [2, 3]
    assert list(journal.read_all(from_position=5)) == []


def test_read_all_crosses_batch_boundaries(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=3) as journal:
        journal.append("s", [event(n) for n in range(10)])
        assert [e.position for e in journal.read_all()] == list(range(1, 11))
        assert [e.position for e in journal.read_all(from_position=4, limit=5)] == [5, 6, 7, 8, 9]


def test_empty_journal_head_is_genesis(journal: Journal) -> None:
    assert journal.head() == Head(0, GENESIS_HASH)
    assert list(journal.read_all()) == []


@pytest.mark.parametrize("expected", [0, 1, 3])
def test_wrong_expected_version_names_stream_and_versions(journal: Journal, expected: int) -> None:
    journal.append("order-7", [event(1), event(2)])
    with pytest.raises(WrongExpectedVersion) as caught:
        journal.append("order-7", [event(3)], expected_version=expected)
    assert caught.value.stream_id == "order-7"
    assert caught.value.expected == expected
    assert caught.value.actual == 2
    assert "order-7" in str(caught.value) and f"expected version {expected}" in str(caught.value)
    assert journal.head().position == 2


def test_retried_append_returns_recorded_events_and_writes_nothing(journal: Journal) -> None:
    events = [NewEvent("A", {"n": 1}, event_id="e-1"), NewEvent("B", {"n": 2}, event_id="e-2")]
    first = journal.append("s", events, expected_version=0)
    retried = journal.append("s", events, expected_version=0)  # stale version: still a retry
    assert retried == first
    assert journal.head().position == 2


def test_partly_recorded_ids_are_refused_naming_them(journal: Journal) -> None:
    journal.append("s", [NewEvent("A", {}, event_id="e-1")])
    with pytest.raises(EventIdConflict) as caught:
        journal.append("s", [NewEvent("A", {}, event_id="e-1"), NewEvent("B", {}, event_id="e-9")])
    assert "e-1" in str(caught.value) and "e-9" in str(caught.value)
    assert caught.value.event_ids == ("e-1",)
    assert journal.head().position == 1


def test_event_id_recorded_in_another_stream_is_a_conflict(journal: Journal) -> None:
    journal.append("s", [NewEvent("A", {}, event_id="e-1")])
    with pytest.raises(EventIdConflict, match="another stream"):
        journal.append("t", [NewEvent("A", {}, event_id="e-1")])
    assert journal.read_stream("t") == []


def test_awkward_text_round_trips_exactly(journal: Journal) -> None:
    awkward = "tab\there\nnewline back\\slash \"quote\" é ✓ \u2028 \x01 nul-free"
    payload = {"s": awkward, awkward: [awkward, 1e-7, -(2**63), 2**64 - 1]}
    written = journal.append(
        f"stream\t{awkward[:20]}",
        [NewEvent(f"Type\\{awkward[:5]}", payload, metadata={"m": awkward})],
    )
    (recorded,) = list(journal.read_all())
    assert recorded == written[0]
    assert recorded.payload == payload
    assert recorded.metadata == {"m": awkward}
    assert journal.verify().ok


def test_events_read_back_are_frozen_recorded_events(journal: Journal) -> None:
    (written,) = journal.append("s", [NewEvent("Placed", {"n": 1}, metadata={"m": 2})])
    (read,) = list(journal.read_all())
    assert type(read) is RecordedEvent and type(written) is RecordedEvent
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.payload = {}  # type: ignore[misc]
    rebuilt = RecordedEvent(**{f.name: getattr(read, f.name) for f in dataclasses.fields(read)})
    assert rebuilt == read and repr(rebuilt) == repr(read)
    assert read.payload == {"n": 1} and read.metadata == {"m": 2}
