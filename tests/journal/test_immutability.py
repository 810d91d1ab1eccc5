"""The events table refuses UPDATE, DELETE and TRUNCATE; a least-privilege role can only append."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from journal import Journal, JournalError
from journal.roles import least_privilege_grants
from tests.conftest import _admin
from tests.journal.conftest import event, execute_as_owner


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE journal_events SET payload = '{}' WHERE position = 1", "UPDATE"),
        ("DELETE FROM journal_events WHERE position = 1", "DELETE"),
    ],
)
def test_update_and_delete_are_refused(
    journal: Journal, journal_url: str, statement: str, operation: str
) -> None:
    written = journal.append("s", [event(1)])
    with pytest.raises(sa.exc.DBAPIError, match=f"append-only: {operation} is refused"):
        execute_as_owner(journal_url, statement)
    assert list(journal.read_all()) == written
    assert journal.verify().ok


@pytest.mark.postgres
def test_truncate_is_refused_on_postgres(pg_url: str) -> None:
    from journal import migrate

    migrate(pg_url)
    with Journal.open(pg_url) as journal:
        journal.append("s", [event(1)])
        with pytest.raises(sa.exc.DBAPIError, match="append-only: TRUNCATE is refused"):
            execute_as_owner(pg_url, "TRUNCATE journal_events")
        assert journal.head().position == 1


@pytest.mark.postgres
def test_least_privilege_role_appends_but_cannot_change_rows(pg_url: str) -> None:
    from journal import migrate

    migrate(pg_url)
    role = f"oms_app_{uuid.uuid4().hex[:12]}"
    database = sa.make_url(pg_url).database
    assert database is not None
    _admin(f"CREATE ROLE {role} LOGIN")
    try:
        execute_as_owner(pg_url, *least_privilege_grants(role, database))
        with Journal.open(pg_url) as owner_view:
            owner_view.append("s", [event(1)])
        app_url = sa.make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        with Journal.open(app_url) as journal:
            journal.append("s", [event(2)], expected_version=1)
            assert [e.payload["n"] for e in journal.read_all()] == [1, 2]
            assert journal.verify().ok
        for statement in (
            "UPDATE journal_events SET type = 'x'",
            "DELETE FROM journal_events",
            "TRUNCATE journal_events",
            "DROP TABLE journal_events",
        ):
            with pytest.raises(sa.exc.DBAPIError, match=r"permission denied|must be owner"):
                execute_as_owner(app_url, statement)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _admin(f"DROP ROLE IF EXISTS {role}")


def test_role_name_is_checked() -> None:
    with pytest.raises(JournalError, match="role name"):
        least_privilege_grants("app; DROP TABLE x", "db")
