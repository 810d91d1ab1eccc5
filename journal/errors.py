"""Errors of the event store, each naming what is wrong so the caller can act on it."""

from __future__ import annotations

from collections.abc import Sequence


class JournalError(Exception):
    """Base of every journal error caused by input, configuration or the database's state."""


class InvalidEvent(JournalError):
    """An append was refused before touching the database: the input itself is malformed."""


class WrongExpectedVersion(JournalError):
    """The stream moved on since the caller read it; nothing was written."""

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r}: expected version {expected}, but the stream is at "
            f"version {actual}; nothing was written"
        )


class EventIdConflict(JournalError):
    """Some event ids of an append are recorded already and others are not, or elsewhere."""

    def __init__(self, message: str, event_ids: Sequence[str]) -> None:
        self.event_ids = tuple(event_ids)
        super().__init__(message)


class NotMigrated(JournalError):
    """The database has no journal schema yet; `oms init --db URL` creates it."""


class JournalUnavailable(JournalError):
    """The database cannot be reached or refused the operation for a reason outside the input."""


class JournalClosed(JournalError):
    """The journal was closed; open a new one."""
