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

# Replay builds millions of events, so they are not built through the frozen dataclass's
# __init__ (one object.__setattr__ call per field). Instead the fields are stored into an
# unfrozen twin with the very same slots (plain attribute stores, the fastest the
# interpreter has), and the finished object then becomes a RecordedEvent by assigning its
# class, which CPython allows because both layouts are identical. From then on it is an
# ordinary, frozen RecordedEvent: about 25% less time than filling the slots one
# descriptor call at a time, and half of the __init__.
_new = object.__new__
_decode = decode_function()


class _UnfrozenRecordedEvent:
    """RecordedEvent's slot layout without the frozen guard; never leaves this module."""

    __slots__ = RecordedEvent.__slots__


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
    new = _new
    twin = _UnfrozenRecordedEvent
    final = RecordedEvent
    events: list[RecordedEvent] = []
    append = events.append
    for (position, stream_id, version, event_id, type_, schema_version, payload, metadata,
         recorded_at_ns, prev_hash, hash_) in rows:  # fmt: skip
        event: Any = new(twin)
        event.position = position
        event.stream_id = stream_id
        event.version = version
        event.event_id = event_id
        event.type = type_
        event.schema_version = schema_version
        event.payload = decode(payload)
        event.metadata = {} if metadata == "{}" else decode(metadata)
        event.recorded_at_ns = recorded_at_ns
        event.prev_hash = prev_hash
        event.hash = hash_
        event.__class__ = final
        append(event)
    return events
