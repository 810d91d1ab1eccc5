"""An append-only, tamper-evident event store on SQLite and PostgreSQL; knows nothing of trading."""

from journal.errors import JournalError

__all__ = ["JournalError"]
