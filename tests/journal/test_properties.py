"""Any JSON-shaped payload round-trips exactly and keeps the chain verifiable."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal import Journal, NewEvent, migrate

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
_payloads = st.dictionaries(_text, _json, max_size=5)
_streams = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                   min_size=1, max_size=20)
_numbers = itertools.count()


@pytest.fixture(scope="module")
def shared_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journal]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('prop')) / 'j.db'}"
    migrate(url)
    with Journal.open(url) as journal:
        yield journal


@settings(max_examples=30, deadline=None)
@given(payloads=st.lists(_payloads, min_size=1, max_size=4), stream=_streams)
def test_payloads_round_trip_and_verify(
    shared_journal: Journal, payloads: list[dict[str, Any]], stream: str
) -> None:
    stream = f"{next(_numbers)}:{stream}"
    written = shared_journal.append(stream, [NewEvent("T", p) for p in payloads])
    assert [e.payload for e in written] == payloads
    assert shared_journal.read_stream(stream) == written
    assert shared_journal.verify().ok


_COLUMNS_AND_CHANGES = {
    "stream_id": "stream_id || 'x'",
    "version": "version + 1",
    "event_id": "event_id || 'x'",
    "type": "type || 'x'",
    "schema_version": "schema_version + 1",
    "payload": "replace(payload, '\"n\"', '\"m\"')",
    "metadata": "'{\"added\":1}'",
    "recorded_at_ns": "recorded_at_ns + 1",
    "prev_hash": "iif(substr(prev_hash, 1, 1) = 'f', 'e', 'f') || substr(prev_hash, 2)",
    "hash": "iif(substr(hash, 1, 1) = 'f', 'e', 'f') || substr(hash, 2)",
}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six events, one per stream, with the immutability triggers dropped."""
    path = Path(tmp_path_factory.mktemp("template")) / "j.db"
    url = f"sqlite:///{path}"
    migrate(url)
    with Journal.open(url) as journal:
        for n in range(1, 7):
            journal.append(f"s{n}", [NewEvent("T", {"n": n})])
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER journal_events_no_update")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@settings(max_examples=30, deadline=None)
@given(position=st.integers(1, 6), column=st.sampled_from(sorted(_COLUMNS_AND_CHANGES)))
def test_any_changed_field_is_found_at_its_position(
    template_db: Path, tmp_path_factory: pytest.TempPathFactory, position: int, column: str
) -> None:
    path = Path(tmp_path_factory.mktemp("tampered")) / "j.db"
    shutil.copy(template_db, path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            f"UPDATE journal_events SET {column} = {_COLUMNS_AND_CHANGES[column]} "
            "WHERE position = ?",
            (position,),
        )
    with Journal.open(f"sqlite:///{path}") as journal:
        report = journal.verify()
    assert not report.ok
    assert report.first_bad_position == position
    assert report.events == position - 1
