"""The schema comes only from Alembic: upgrade to head and downgrade to base on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from journal import Journal, migrate
from journal.migrate import downgrade
from tests.journal.conftest import event

ROOT = Path(__file__).resolve().parents[2]


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_then_downgrade_base(db_url: str) -> None:
    migrate(db_url)
    assert {"journal_events", "alembic_version"} <= _tables(db_url)
    with Journal.open(db_url) as journal:
        journal.append("s", [event(1)])
    migrate(db_url)  # already at head: a no-op
    downgrade(db_url)
    assert "journal_events" not in _tables(db_url)
    migrate(db_url)  # and back up again on the same database
    with Journal.open(db_url) as journal:
        assert journal.head().position == 0


def test_alembic_command_line_uses_the_ini_and_x_url(db_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for args in (["upgrade", "head"], ["current"], ["downgrade", "base"]):
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-x", f"url={db_url}", *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr
        if args[0] == "current":
            assert "(head)" in done.stdout, done.stdout
    assert "journal_events" not in _tables(db_url)
