"""Any JSON-shaped payload round-trips exactly and keeps the chain verifiable."""

from __future__ import annotations

import itertools
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


@settings(max_examples=60, deadline=None)
@given(payloads=st.lists(_payloads, min_size=1, max_size=4), stream=_streams)
def test_payloads_round_trip_and_verify(
    shared_journal: Journal, payloads: list[dict[str, Any]], stream: str
) -> None:
    stream = f"{next(_numbers)}:{stream}"
    written = shared_journal.append(stream, [NewEvent("T", p) for p in payloads])
    assert [e.payload for e in written] == payloads
    assert shared_journal.read_stream(stream) == written
    assert shared_journal.verify().ok
