"""An append-only, tamper-evident event store on SQLite and PostgreSQL; knows nothing of trading."""

from journal.aio import AsyncJournal
from journal.codec import GENESIS_HASH
from journal.errors import (
    EventIdConflict,
    InvalidEvent,
    JournalClosed,
    JournalError,
    JournalUnavailable,
    NotMigrated,
    WrongExpectedVersion,
)
from journal.migrate import migrate
from journal.model import EventColumns, Head, NewEvent, RecordedEvent, VerifyReport
from journal.sync import Journal

__all__ = [
    "GENESIS_HASH",
    "AsyncJournal",
    "EventColumns",
    "EventIdConflict",
    "Head",
    "InvalidEvent",
    "Journal",
    "JournalClosed",
    "JournalError",
    "JournalUnavailable",
    "NewEvent",
    "NotMigrated",
    "RecordedEvent",
    "VerifyReport",
    "WrongExpectedVersion",
    "migrate",
]
