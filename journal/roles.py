"""SQL that gives a PostgreSQL role the least it needs to use the journal: INSERT and SELECT."""

from __future__ import annotations

import re

from journal.backends import TABLE
from journal.errors import JournalError

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def least_privilege_grants(role: str, database: str) -> list[str]:
    """GRANT statements for an application role that may append and read, nothing more.

    Run them as the schema owner after `oms init`. The role can INSERT and SELECT journal
    rows and read the migration version; UPDATE, DELETE, TRUNCATE and DDL are denied by
    missing privileges, on top of the triggers that refuse them for everyone.
    """
    for what, name in (("role name", role), ("database name", database)):
        if not _NAME.match(name):
            raise JournalError(
                f"{what} {name!r} must be a plain lower-case identifier (letters, digits, _)"
            )
    return [
        f"REVOKE ALL ON DATABASE {database} FROM {role}",
        f"GRANT CONNECT ON DATABASE {database} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"REVOKE ALL ON {TABLE} FROM {role}",
        f"GRANT SELECT, INSERT ON {TABLE} TO {role}",
        f"GRANT SELECT ON alembic_version TO {role}",
    ]
