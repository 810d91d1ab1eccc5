"""Canonical bytes of events and the SHA-256 chain over them; one definition used everywhere.

Payload and metadata are stored as canonical JSON text: a JSON object with keys sorted,
no whitespace, non-ASCII characters kept as UTF-8 (control characters escaped), NaN and
infinities refused, integers limited to 64 bits, as written by orjson. The hash covers the
stored text itself, so verifying never re-encodes a payload and a change of encoder cannot
break an existing chain. A row's hash is

    sha256(bytes.fromhex(prev_hash) + header + b"\\n" + payload + b"\\n" + metadata)

where `header` is the canonical JSON array
`[position, stream_id, version, event_id, type, schema_version, recorded_at_ns]`, and every
part is UTF-8. Canonical JSON never contains a raw newline, so the parts cannot run together.
The first row's `prev_hash` is GENESIS_HASH (64 zeros).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from journal.errors import InvalidEvent

GENESIS_HASH = "0" * 64
MAX_ID_CHARS = 200
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024

_encoder = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_encode = _encoder.encode
_quote: Callable[[str], str] = json.encoder.encode_basestring
_sha256 = hashlib.sha256

_INF = float("inf")
_fast_dumps: Callable[..., bytes] | None
try:
    import orjson

    _fast_loads: Callable[[str], Any] = orjson.loads
    _fast_dumps = orjson.dumps
    # Types orjson would silently turn into strings are refused, as the standard encoder does.
    _FAST_OPTIONS = (
        orjson.OPT_SORT_KEYS
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _fast_loads = json.loads
    _fast_dumps = None
    _FAST_OPTIONS = 0


def decode_function() -> Callable[[str], Any]:
    """The parser of stored canonical JSON, handed out so hot loops call it directly."""
    return _fast_loads


def encode_object(value: object, what: str) -> str:
    """Canonical JSON text of a dict, or InvalidEvent saying why it cannot be stored."""
    if not isinstance(value, dict):
        raise InvalidEvent(f"{what} must be a dict (a JSON object), got {type(value).__name__}")
    if _fast_dumps is not None:
        try:
            raw = _fast_dumps(value, option=_FAST_OPTIONS)
        except TypeError as exc:
            if "Integer exceeds 64-bit range" in str(exc):
                raise InvalidEvent(
                    f"{what} holds an integer beyond 64 bits; store it as a string"
                ) from exc
            raise InvalidEvent(f"{what} is not JSON-serialisable: {exc}") from exc
        else:
            # orjson writes NaN and infinities as null; refuse them like the standard encoder.
            if b"null" in raw and _has_non_finite(value):
                raise InvalidEvent(f"{what} is not valid JSON (NaN or infinity)")
            return raw.decode("utf-8")
    return _encode_standard(value, what)


def _encode_standard(value: dict[str, Any], what: str) -> str:
    """The standard library's encoder, used only where orjson is missing."""
    try:
        text = _encode(value)
    except ValueError as exc:
        raise InvalidEvent(f"{what} is not valid JSON (NaN or infinity?): {exc}") from exc
    except TypeError as exc:
        raise InvalidEvent(f"{what} is not JSON-serialisable: {exc}") from exc
    except RecursionError as exc:
        raise InvalidEvent(f"{what} is nested too deeply to store as JSON") from exc
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidEvent(f"{what} contains text that is not valid UTF-8: {exc}") from exc
    return text


def _has_non_finite(value: Any) -> bool:
    """True when a value orjson encoded holds NaN or an infinity (orjson writes them as null).

    Only for values orjson accepted: with the passthrough options every float in them is a
    plain float and every container a plain dict, list or tuple, so exact type tests suffice.
    `v - v` is 0.0 for every finite float and NaN for NaN and both infinities.
    """
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is float:
            if item - item != 0.0:
                return True
        elif (kind is dict or kind is list or kind is tuple) and _has_non_finite(item):
            return True
    return False


def identifier_ok(value: object) -> bool:
    """The silent, fast form of check_identifier for the append path."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_ID_CHARS
        and ((value.isascii() and "\x00" not in value) or _non_ascii_ok(value))
    )


def _non_ascii_ok(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def encode_payload_fast(value: object) -> str | None:
    """Canonical JSON of a plain dict, or None when encode_object must explain a problem."""
    if type(value) is not dict or _fast_dumps is None:
        return None
    if not value:
        return "{}"
    try:
        raw = _fast_dumps(value, option=_FAST_OPTIONS)
    except TypeError:
        return None
    text = raw.decode("utf-8")
    if "null" in text and _has_non_finite(value):  # searching str is quicker than bytes
        return None
    return text


def check_identifier(value: object, what: str) -> str:
    """Stream ids, event ids and types: non-empty text of at most MAX_ID_CHARS characters."""
    if not isinstance(value, str):
        raise InvalidEvent(f"{what} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidEvent(f"{what} must not be empty")
    if len(value) > MAX_ID_CHARS:
        raise InvalidEvent(
            f"{what} is {len(value)} characters long; at most {MAX_ID_CHARS} are allowed"
        )
    if "\x00" in value:
        raise InvalidEvent(f"{what} must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"{what} is not valid UTF-8 text: {exc}") from exc
    return value


def check_schema_version(value: object) -> int:
    """Schema versions are positive integers (a bool is not one)."""
    if type(value) is not int or value < 1:
        raise InvalidEvent(f"schema_version must be a positive integer, got {value!r}")
    return value


def quote(text: str) -> str:
    """A string as a JSON string literal, as it appears in a row's hashed header."""
    return _quote(text)


# A row's hashed bytes in parts, so the append path can make the parts an event fixes before
# the writer knows its position: `[` position, stream part, version, middle, recorded time,
# then the body (`]`, newline, payload, newline, metadata).


def stream_part(quoted_stream_id: str) -> str:
    """The header's text between position and version: `,"stream id",`."""
    return f",{quoted_stream_id},"


def header_middle(quoted_event_id: str, quoted_type: str, schema_version: int) -> str:
    """The header's text between version and recorded time: `,"id","type",schema,`."""
    return f",{quoted_event_id},{quoted_type},{schema_version},"


def hashed_body(payload: str, metadata: str) -> bytes:
    """The bytes hashed after the header's recorded time."""
    return f"]\n{payload}\n{metadata}".encode()


def chain_link(
    prev: bytes, position: int, stream: str, version: int, middle: str, recorded_at_ns: int,
    body: bytes,
) -> bytes:
    """The SHA-256 link (raw bytes) of one row from the previous link and the row's parts."""
    return _sha256(prev + f"[{position}{stream}{version}{middle}{recorded_at_ns}".encode()
                   + body).digest()


def row_hash(
    prev_hash: str,
    position: int,
    stream_id: str,
    version: int,
    event_id: str,
    type_: str,
    schema_version: int,
    recorded_at_ns: int,
    payload: str,
    metadata: str,
) -> str:
    """The chain link of one row: see the module docstring for the exact bytes hashed."""
    return chain_link(
        bytes.fromhex(prev_hash), position, stream_part(_quote(stream_id)), version,
        header_middle(_quote(event_id), _quote(type_), schema_version), recorded_at_ns,
        hashed_body(payload, metadata),
    ).hex()
