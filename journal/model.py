"""Plain values crossing the journal's boundary: what callers append and what they read back."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

# Of 80 random bits keep 12 (rand_a, bits 64-75) and 62 (rand_b, bits 0-61); set the
# version (7, bits 76-79) and the variant (0b10, bits 62-63) of RFC 9562.
_RAND_MASK = (0xFFF << 64) | ((1 << 62) - 1)
_VERSION_AND_VARIANT = 0x7 << 76 | 0b10 << 62
_RANDOM_CHUNK = 10 * 512


class _RandomPool(threading.local):
    """Each thread's own buffer of kernel randomness: one getrandom call per 512 ids."""

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0


_pool = _RandomPool()


def _forget_random_pools() -> None:
    """A forked child must not hand out ids from random bytes its parent also holds."""
    global _pool
    _pool = _RandomPool()


os.register_at_fork(after_in_child=_forget_random_pools)


def new_event_id() -> str:
    """A fresh UUID version 7 as 32 hex characters: unique, and ordered by time.

    Time order keeps the unique index on event ids appending at its right edge instead of
    touching a random page per event, which roughly halves the pages each commit writes.
    The 74 random bits come from the kernel, drawn in chunks into a per-thread buffer
    (never shared between threads, dropped in a forked child) and each used once.
    """
    pool = _pool
    offset = pool.offset
    if offset >= len(pool.buffer):
        pool.buffer = os.urandom(_RANDOM_CHUNK)
        offset = 0
    pool.offset = offset + 10
    rand = int.from_bytes(pool.buffer[offset : offset + 10], "big")
    value = (time.time_ns() // 1_000_000) << 80 | rand & _RAND_MASK | _VERSION_AND_VARIANT
    return f"{value:032x}"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the journal assigns position, version, time and hashes."""

    type: str
    payload: dict[str, Any]
    event_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: immutable, with its place in the global order and in its stream."""

    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at_ns: int
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class EventColumns:
    """A batch of read_all's events as parallel lists, without event ids, metadata or hashes.

    What a rebuild folds (position, stream, version, type, schema version, payload, commit
    time), at a fraction of the cost of one RecordedEvent per event: no per-event object to
    build and free, and three columns fewer to fetch and decode.
    """

    positions: list[int]
    stream_ids: list[str]
    versions: list[int]
    types: list[str]
    schema_versions: list[int]
    payloads: list[Any]
    recorded_at_ns: list[int]

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True, slots=True)
class Head:
    """The last position and its hash; keep it elsewhere to detect a rewritten tail later."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.hash}@{self.position}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """Read the `HASH@POSITION` form printed by `oms verify`."""
        from journal.errors import JournalError

        digest, sep, position = text.strip().partition("@")
        digest = digest.lower()
        if (
            not sep
            or not position.isdigit()
            or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)
        ):
            raise JournalError(
                f"expected head {text!r} is not HASH@POSITION "
                "(64 hex characters, '@', a position number)"
            )
        return cls(int(position), digest)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of walking the hash chain: ok, or the first position that does not match."""

    ok: bool
    events: int
    head_hash: str
    head_position: int
    first_bad_position: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for `oms verify --json`."""
        return {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "head_position": self.head_position,
            "first_bad_position": self.first_bad_position,
            "reason": self.reason,
        }
