"""The durability setting reaches the database connections."""

from __future__ import annotations

import pytest

from journal import Journal, migrate
from tests.journal.conftest import event


@pytest.mark.parametrize(("durability", "level"), [("full", 2), ("normal", 1), ("off", 0)])
def test_sqlite_connections_use_wal_and_the_chosen_synchronous_level(
    sqlite_url: str, durability: str, level: int
) -> None:
    migrate(sqlite_url)
    with Journal.open(sqlite_url, durability=durability) as journal:  # type: ignore[arg-type]
        journal.append("s", [event(1)])
        with journal.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == level


@pytest.mark.postgres
@pytest.mark.parametrize(("durability", "setting"), [("full", "on"), ("normal", "off")])
def test_postgres_writer_uses_the_chosen_synchronous_commit(
    pg_url: str, durability: str, setting: str
) -> None:
    migrate(pg_url)
    with Journal.open(pg_url, durability=durability) as journal:  # type: ignore[arg-type]
        journal.append("s", [event(1)])
        writer_connection = journal.writer._conn.driver_connection
        shown = writer_connection.execute("SHOW synchronous_commit").fetchone()[0]
        writer_connection.rollback()
        assert shown == setting
