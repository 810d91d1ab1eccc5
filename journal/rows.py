"""Stored rows as tuples in column order, and their fast conversion to RecordedEvent."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from journal.codec import decode_function
from journal.model import RecordedEvent

# A row in COLUMNS order: position, stream_id, version, event_id, type, schema_version,
# payload, metadata, recorded_at_ns, prev_hash, hash.
Row = tuple[int, str, int, str, str, int, str, str, int, str, str]

# Replay builds millions of events: filling the slots directly costs about half of the
# frozen dataclass's __init__ (which goes through object.__setattr__ for every field).
_new = object.__new__
_decode = decode_function()
(
    _set_position, _set_stream_id, _set_version, _set_event_id, _set_type, _set_schema_version,
    _set_payload, _set_metadata, _set_recorded_at_ns, _set_prev_hash, _set_hash,
) = (getattr(RecordedEvent, name).__set__ for name in RecordedEvent.__slots__)  # fmt: skip


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a bounded burst of allocations.

    Fetching and decoding a batch allocates tens of thousands of tuples, dicts and records
    that make no reference cycles; the generation-0 sweeps they trigger re-walk everything
    still alive and cost as much as the decoding itself. The collector is re-enabled
    afterwards only if it was on, so callers that paused it themselves keep it paused.
    """
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def to_event(row: Any) -> RecordedEvent:
    """Decode one stored row; payload and metadata become dicts."""
    return to_events((row,))[0]


def to_events(rows: Iterable[Any]) -> list[RecordedEvent]:
    """Decode stored rows in order; the replay hot loop."""
    decode = _decode
    events: list[RecordedEvent] = []
    append = events.append
    for row in rows:
        event = _new(RecordedEvent)
        _set_position(event, row[0])
        _set_stream_id(event, row[1])
        _set_version(event, row[2])
        _set_event_id(event, row[3])
        _set_type(event, row[4])
        _set_schema_version(event, row[5])
        _set_payload(event, decode(row[6]))
        metadata = row[7]
        _set_metadata(event, {} if metadata == "{}" else decode(metadata))
        _set_recorded_at_ns(event, row[8])
        _set_prev_hash(event, row[9])
        _set_hash(event, row[10])
        append(event)
    return events
