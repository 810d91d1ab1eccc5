"""Stored rows as tuples in column order, and their fast conversion to RecordedEvent."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import lt
from typing import Any

from journal.codec import decode_function
from journal.errors import JournalError
from journal.model import EventColumns, RecordedEvent

# A row in COLUMNS order: position, stream_id, version, event_id, type, schema_version,
# payload, metadata, recorded_at_ns, prev_hash, hash.
Row = tuple[int, str, int, str, str, int, str, str, int, str, str]
# A row of the rebuild's lighter read in LIGHT_COLUMNS order: position, stream_id, version,
# type, schema_version, payload, recorded_at_ns.
LightRow = tuple[int, str, int, str, int, str, int]

# Replay builds millions of events, so they are not built through the frozen dataclass's
# __init__ (one object.__setattr__ call per field). Instead the fields are stored into an
# unfrozen twin with the very same slots (plain attribute stores, the fastest the
# interpreter has), and the finished object then becomes a RecordedEvent by assigning its
# class, which CPython allows because both layouts are identical. From then on it is an
# ordinary, frozen RecordedEvent: about 25% less time than filling the slots one
# descriptor call at a time, and half of the __init__. Calling the twin class costs less
# than object.__new__(twin), which checks its arguments first.
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
    """Decode stored rows in order; a row that does not decode is named by its position."""
    decode = _decode
    twin = _UnfrozenRecordedEvent
    final = RecordedEvent
    events: list[RecordedEvent] = []
    append = events.append
    position = None
    try:
        for (position, stream_id, version, event_id, type_, schema_version, payload, metadata,
             recorded_at_ns, prev_hash, hash_) in rows:  # fmt: skip
            event: Any = twin()
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
    except (ValueError, TypeError) as exc:  # orjson's JSONDecodeError is a ValueError
        raise _undecodable(position, exc) from exc
    return events


def _undecodable(position: int | None, exc: Exception) -> JournalError:
    """The error for a stored row whose JSON does not parse, naming its position."""
    return JournalError(
        f"the stored event at position {position} does not decode ({exc}); "
        "the journal was altered outside the journal: run `oms verify`"
    )


# The columnar read (SQLite): one aggregate query per batch hands back every column as one
# JSON array, built by SQLite's C code with the GIL released, so a batch costs Python a
# dozen parser calls instead of a Python object per stored cell. Payload and metadata are
# stored JSON texts joined by commas inside brackets: parsed as one array they give exactly
# what parsing each text gives, as long as every row holds one JSON value. The guards below
# catch what would break that or the order (group_concat's order is not documented), and
# the caller then reads the batch row by row, which names the offending position.
# Aggregate row: count, last position, then one array per column in COLUMNS order.
_FIRST_ARRAY = 2
# The integer columns (position, version, schema_version, recorded_at_ns) hold only digits
# once rendered as JSON; a REAL written by hand would come back rounded to 15 digits, so its
# decimal point sends the batch down the row path.
_INTEGER_ARRAYS = (2, 4, 7, 10)
# The previous hashes (comma-joined text, see SQLiteBackend.columns_sql) and the hashes.
_PREV_HASHES, _HASHES = 11, 12


def from_columns(columns: Sequence[Any], after: int) -> list[RecordedEvent] | None:
    """Decode one aggregate row of a batch after `after`; None when a guard does not hold."""
    count = columns[0]
    if not count:
        return []
    if not _integers_exact(columns, _INTEGER_ARRAYS):
        return None
    chain = columns[_PREV_HASHES]
    if type(chain) is not str:
        return None
    decode = _decode
    try:
        decoded = [decode(text) for text in islice(columns, _FIRST_ARRAY, _PREV_HASHES)]
        hashes = decode(columns[_HASHES])
        # The first previous hash as stored, then each row's own: equal to the stored texts
        # exactly when joining them gives the stored join (no stored text holds a comma).
        cut = chain.find(",")
        prev_hashes = [chain if cut < 0 else chain[:cut]]
        prev_hashes += hashes[:-1]
        if ",".join(prev_hashes) != chain:
            return None
    except (ValueError, TypeError):  # malformed stored JSON, a NULL group_concat, no text
        return None
    decoded += (prev_hashes, hashes)
    for values in decoded:
        if len(values) != count:  # a payload text holding more or fewer than one value
            return None
    if not _in_order(decoded[0], count, after, columns[1]):
        return None
    twin = _UnfrozenRecordedEvent
    final = RecordedEvent
    events: list[RecordedEvent] = []
    append = events.append
    for (position, stream_id, version, event_id, type_, schema_version, payload, metadata,
         recorded_at_ns, prev_hash, hash_) in zip(*decoded, strict=True):  # fmt: skip
        event: Any = twin()
        event.position = position
        event.stream_id = stream_id
        event.version = version
        event.event_id = event_id
        event.type = type_
        event.schema_version = schema_version
        event.payload = payload
        event.metadata = metadata
        event.recorded_at_ns = recorded_at_ns
        event.prev_hash = prev_hash
        event.hash = hash_
        event.__class__ = final
        append(event)
    return events


def _integers_exact(columns: Sequence[Any], indexes: tuple[int, ...]) -> bool:
    """True when every integer column came back as digits (no REAL rounded by SQLite)."""
    for index in indexes:
        text = columns[index]
        if type(text) is not str or "." in text:
            return False
    return True


def _in_order(positions: list[Any], count: int, after: int, last: int) -> bool:
    """True when the aggregate's positions rise strictly from after `after` to `last`."""
    first = positions[0]
    if type(first) is not int or first <= after or positions[-1] != last:
        return False
    if last - first + 1 == count:
        return positions == list(range(first, last + 1))
    return all(map(lt, positions, islice(positions, 1, None)))


# The lighter read a rebuild uses (see SQLiteBackend.light_columns_sql): count, last position,
# then positions, stream ids, versions, types, schema versions, payloads, commit times.
_LIGHT_INTEGER_ARRAYS = (2, 4, 6, 8)


def light_from_columns(columns: Sequence[Any], after: int) -> EventColumns | None:
    """Decode one aggregate row of the lighter read; None when a guard does not hold."""
    count = columns[0]
    if not count:
        return EventColumns([], [], [], [], [], [], [])
    if not _integers_exact(columns, _LIGHT_INTEGER_ARRAYS):
        return None
    decode = _decode
    try:
        decoded = [decode(text) for text in islice(columns, _FIRST_ARRAY, None)]
    except (ValueError, TypeError):  # malformed stored JSON, a NULL group_concat, no text
        return None
    for values in decoded:
        if type(values) is not list or len(values) != count:
            return None
    if not _in_order(decoded[0], count, after, columns[1]):
        return None
    positions, stream_ids, versions, types, schema_versions, payloads, recorded = decoded
    return EventColumns(positions, stream_ids, versions, types, schema_versions, payloads,
                        recorded)


def light_from_rows(rows: Sequence[Any]) -> EventColumns:
    """Columns of stored light rows; a payload that does not decode is named by its position."""
    if not rows:
        return EventColumns([], [], [], [], [], [], [])
    positions, stream_ids, versions, types, schema_versions, texts, recorded = map(
        list, zip(*rows, strict=True)
    )
    decode = _decode
    try:
        payloads = [decode(text) for text in texts]
    except (ValueError, TypeError):
        for position, text in zip(positions, texts, strict=True):  # name the first bad one
            try:
                decode(text)
            except (ValueError, TypeError) as exc:
                raise _undecodable(position, exc) from exc
        raise
    return EventColumns(positions, stream_ids, versions, types, schema_versions, payloads,
                        recorded)
