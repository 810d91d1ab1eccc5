"""Bad input gets a clear JournalError subclass and writes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from journal import InvalidEvent, Journal, JournalError, JournalUnavailable, NewEvent, NotMigrated
from tests.journal.conftest import event


@pytest.mark.parametrize(
    ("stream_id", "message"),
    [("", "must not be empty"), ("x" * 201, "201 characters"), (7, "must be a string")],
)
def test_bad_stream_id(sqlite_journal: Journal, stream_id: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        sqlite_journal.append(stream_id, [event(1)])
    assert sqlite_journal.head().position == 0


def test_stream_id_of_exactly_200_characters_is_fine(journal: Journal) -> None:
    assert journal.append("x" * 200, [event(1)])[0].stream_id == "x" * 200


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"when": object()}, "not JSON-serialisable"),
        ({"price": float("nan")}, "NaN"),
        ({"price": float("inf")}, "NaN or infinity"),
        ({"note": None, "legs": [{"sl": None}, {"tp": (1.0, -float("inf"))}]}, "NaN or infinity"),
        ({"nested": {"deeper": [None, float("nan")]}}, "NaN or infinity"),
        ({"int_min_minus_one": -(2**63) - 1}, "integer beyond 64 bits"),
        ({1: "int key", "a": 2}, "not JSON-serialisable"),
        (["not", "a", "dict"], "must be a dict"),
        ({"text": "\ud800"}, "not JSON-serialisable"),
        ({"big": 2**64}, "integer beyond 64 bits"),
    ],
)
def test_payload_that_is_not_json_is_refused(
    sqlite_journal: Journal, payload: Any, message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        sqlite_journal.append("s", [event(0), NewEvent("Bad", payload)])
    assert sqlite_journal.head().position == 0


def test_null_and_extreme_finite_floats_are_stored_as_given(sqlite_journal: Journal) -> None:
    payload = {"none": None, "max": 1.7976931348623157e308, "tiny": 5e-324, "neg": -0.0,
               "list": [None, 2**64 - 1, -(2**63)]}
    recorded = sqlite_journal.append("s", [NewEvent("A", payload)])
    assert recorded[0].payload == payload
    assert next(iter(sqlite_journal.read_all())).payload == payload


def test_metadata_is_checked_like_payload(sqlite_journal: Journal) -> None:
    with pytest.raises(InvalidEvent, match="metadata"):
        sqlite_journal.append("s", [NewEvent("A", {}, metadata={"x": float("nan")})])


def test_payload_over_the_limit_is_refused(journal_url: str) -> None:
    with Journal.open(journal_url, max_payload_bytes=100) as journal:
        journal.append("s", [NewEvent("A", {"x": "y" * 80})])  # 88 bytes: fits
        with pytest.raises(InvalidEvent, match=r"is 108 bytes .* limit is 100 bytes"):
            journal.append("s", [NewEvent("A", {"x": "y" * 100})])
        assert journal.head().position == 1


def test_default_payload_limit_is_one_mebibyte(sqlite_journal: Journal) -> None:
    with pytest.raises(InvalidEvent, match="limit is 1048576 bytes"):
        sqlite_journal.append("s", [NewEvent("A", {"x": "y" * (1024 * 1024)})])


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([], "has no events"),
        ([NewEvent("A", {}, event_id="same"), NewEvent("B", {}, event_id="same")], "twice"),
        ([NewEvent("", {})], "type must not be empty"),
        ([NewEvent("A", {}, event_id="")], "event_id must not be empty"),
        ([NewEvent("A", {}, schema_version=0)], "schema_version"),
        ([{"type": "A"}], "not a NewEvent"),
    ],
)
def test_malformed_events_are_refused(sqlite_journal: Journal, events: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        sqlite_journal.append("s", events)
    assert sqlite_journal.head().position == 0


def test_negative_expected_version_is_refused(sqlite_journal: Journal) -> None:
    with pytest.raises(InvalidEvent, match="expected_version"):
        sqlite_journal.append("s", [event(1)], expected_version=-1)


def test_unmigrated_sqlite_says_run_oms_init(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    with pytest.raises(NotMigrated, match="oms init"):
        Journal.open(url)
    assert not (tmp_path / "none.db").exists()


def test_unmigrated_database_says_run_oms_init(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        import sqlite3

        sqlite3.connect(db_url.removeprefix("sqlite:///")).close()  # an empty file
    with pytest.raises(NotMigrated, match="run `oms init --db"):
        Journal.open(db_url)


def test_unreachable_postgres_is_journal_unavailable() -> None:
    with pytest.raises(JournalUnavailable, match="cannot connect"):
        Journal.open("postgresql+psycopg://postgres@127.0.0.1:1/nothing")


def test_unreachable_sqlite_directory_is_journal_unavailable(tmp_path: Path) -> None:
    from journal import migrate

    with pytest.raises(JournalUnavailable):
        migrate(f"sqlite:///{tmp_path / 'missing-dir' / 'j.db'}")


@pytest.mark.parametrize("url", ["mysql://x/y", "not a url", "sqlite://"])
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(JournalError):
        Journal.open(url)


def test_unknown_durability_is_refused(journal_url: str) -> None:
    with pytest.raises(JournalError, match="durability"):
        Journal.open(journal_url, durability="fast")  # type: ignore[arg-type]
