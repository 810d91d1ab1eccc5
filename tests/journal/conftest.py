"""Fixtures for the journal's tests: a migrated database on each backend and an open journal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from journal import Journal, NewEvent, migrate


@pytest.fixture
def journal_url(db_url: str) -> str:
    """A freshly migrated journal database (SQLite file or PostgreSQL)."""
    migrate(db_url)
    return db_url


@pytest.fixture
def journal(journal_url: str) -> Iterator[Journal]:
    """An open journal on a fresh database, closed after the test."""
    with Journal.open(journal_url) as opened:
        yield opened


@pytest.fixture
def sqlite_journal(sqlite_url: str) -> Iterator[Journal]:
    """For checks that happen before the database is touched: one backend is enough."""
    migrate(sqlite_url)
    with Journal.open(sqlite_url) as opened:
        yield opened


def event(n: int, **extra: Any) -> NewEvent:
    """A small test event carrying its number."""
    return NewEvent(type="Tested", payload={"n": n, **extra})


def execute_as_owner(url: str, *statements: str) -> None:
    """Run SQL with the owner's rights, outside the journal (used to tamper on purpose)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def drop_immutability_triggers(url: str) -> None:
    """What an attacker with owner rights would do first."""
    if url.startswith("sqlite"):
        execute_as_owner(
            url,
            "DROP TRIGGER journal_events_no_update",
            "DROP TRIGGER journal_events_no_delete",
        )
    else:
        execute_as_owner(
            url,
            "DROP TRIGGER journal_events_no_update ON journal_events",
            "DROP TRIGGER journal_events_no_delete ON journal_events",
        )
