"""Schema changes only through Alembic; `migrate(url)` is what `oms init` runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

import migrations
from journal.backends import backend_for
from journal.errors import JournalError, JournalUnavailable

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """A programmatic Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database's schema up to `revision` (the newest by default)."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str = "base") -> None:
    """Undo migrations down to `revision`; `base` drops the journal's tables."""
    _run(url, lambda config: command.downgrade(config, revision))


def _run(url: str, action: Callable[[Config], None]) -> None:
    backend = backend_for(url, "full")
    config = alembic_config(backend.url.render_as_string(hide_password=False))
    try:
        action(config)
    except sa.exc.OperationalError as exc:
        raise JournalUnavailable(f"cannot migrate {_safe(url)}: {exc.orig}") from exc
    except sa.exc.DBAPIError as exc:
        raise JournalError(f"migration of {_safe(url)} failed: {exc.orig}") from exc


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<invalid URL>"
