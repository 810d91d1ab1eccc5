"""The journal record the projections fold over, as a protocol of the attributes they read.

The journal package provides the real record; anything with these attributes will do
(the replay benchmark and the tests use `Record`). `payload` and `metadata` are decoded
JSON dicts, `recorded_at_ns` is the journal's epoch-nanosecond commit time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class JournalRecord(Protocol):
    """One stored event, as read back from the journal."""

    @property
    def position(self) -> int: ...
    @property
    def stream_id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def recorded_at_ns(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Record:
    """A plain in-memory record with the journal's shape."""

    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    recorded_at_ns: int = 0
