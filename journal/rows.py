"""Stored rows as tuples in column order, and their conversion to RecordedEvent."""

from __future__ import annotations

from typing import Any

from journal.codec import decode
from journal.model import RecordedEvent

# A row in COLUMNS order: position, stream_id, version, event_id, type, schema_version,
# payload, metadata, recorded_at_ns, prev_hash, hash.
Row = tuple[int, str, int, str, str, int, str, str, int, str, str]


def to_event(row: Any) -> RecordedEvent:
    """Decode one stored row; payload and metadata become dicts."""
    return RecordedEvent(
        row[0], row[1], row[2], row[3], row[4], row[5],
        decode(row[6]), decode(row[7]), row[8], row[9], row[10],
    )  # fmt: skip
