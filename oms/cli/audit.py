"""Rows of the compliance export: every stored event exactly as written, with its hashes.

Payload and metadata are exported as the stored canonical JSON text, so anyone can
recompute `hash = sha256(prev_hash || canonical row)` from the file alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

AUDIT_COLUMNS: tuple[str, ...] = (
    "position",
    "stream_id",
    "version",
    "event_id",
    "type",
    "schema_version",
    "recorded_at_ns",
    "recorded_at_utc",
    "payload",
    "metadata",
    "prev_hash",
    "hash",
)


def audit_row(row: Sequence[Any]) -> dict[str, Any]:
    """A stored row (journal column order) as an export record."""
    (position, stream_id, version, event_id, type_, schema_version, payload, metadata,
     recorded_at_ns, prev_hash, digest) = row  # fmt: skip
    return {
        "position": position,
        "stream_id": stream_id,
        "version": version,
        "event_id": event_id,
        "type": type_,
        "schema_version": schema_version,
        "recorded_at_ns": recorded_at_ns,
        "recorded_at_utc": datetime.fromtimestamp(recorded_at_ns / 1e9, tz=UTC).isoformat(),
        "payload": payload if isinstance(payload, str) else bytes(payload).decode(),
        "metadata": metadata if isinstance(metadata, str) else bytes(metadata).decode(),
        "prev_hash": prev_hash,
        "hash": digest,
    }
