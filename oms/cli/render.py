"""What every report command shares: the --db and --json options, UTC times, rich tables,
JSON output and progress bars for long reads."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from journal import Journal
from oms.config import Settings
from oms.errors import OmsError

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="OMS_DATABASE_URL",
        help="Journal database URL (sqlite:///file.db or postgresql+psycopg://…); "
        "default: OMS_DATABASE_URL, else sqlite:///oms.db.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]

PROGRESS_THRESHOLD = 20_000
"""Reads longer than this many events show a progress bar (on stderr, never in --json)."""


class TimeFormatError(OmsError):
    """A time argument is not ISO 8601 or epoch nanoseconds."""


def database_url(db: str | None) -> str:
    """--db, else OMS_DATABASE_URL, else the configured default."""
    return db if db else Settings().database_url


def open_journal(db: str | None) -> Journal:
    """The journal named by --db (an error naming the fix when it is missing)."""
    return Journal.open(database_url(db))


def utc_text(ns: int | None) -> str:
    """Epoch nanoseconds as `2026-01-05 09:00:00.123456 UTC` (empty for none)."""
    if not ns:
        return ""
    moment = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"


def utc_iso(ns: int | None) -> str | None:
    """Epoch nanoseconds as ISO 8601 with an explicit +00:00 (for JSON)."""
    if not ns:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def parse_time(text: str) -> int:
    """ISO 8601 (UTC when no zone is given) or integer epoch nanoseconds, as epoch ns."""
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise TimeFormatError(
            f"time {text!r} is not ISO 8601 (2026-01-05T09:30:00Z) or epoch nanoseconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def emit_json(data: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(data, default=_json_default, indent=2, sort_keys=False))


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "value"):
        return value.value
    return str(value)


def console() -> Console:
    """A console on stdout sized for reports (wide enough not to fold ids)."""
    return Console(width=max(Console().width, 160), soft_wrap=False)


def table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = ""
) -> None:
    """Print a rich table; numbers right-aligned, None as blank."""
    out = Table(title=title, caption=caption or None, show_lines=False, header_style="bold")
    numeric = [
        bool(rows) and all(isinstance(r[i], int | float) or r[i] is None for r in rows)
        for i in range(len(columns))
    ]
    for name, right in zip(columns, numeric, strict=True):
        out.add_column(name, justify="right" if right else "left", overflow="fold")
    for row in rows:
        out.add_row(*(cell(v) for v in row))
    console().print(out)


def cell(value: Any) -> str:
    """A table cell: floats without binary noise, None blank."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.10g}"
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)


@contextmanager
def progress(total: int, description: str, enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr for long reads; `advance(n)` on what it yields."""
    show = enabled and total >= PROGRESS_THRESHOLD
    if not show:
        yield _NoProgress()
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield _Advance(bar, task)


class _NoProgress:
    def advance(self, n: int) -> None:
        """Nothing to show."""


class _Advance:
    def __init__(self, bar: Progress, task: Any) -> None:
        self._bar = bar
        self._task = task

    def advance(self, n: int) -> None:
        """Move the bar on by n events."""
        self._bar.advance(self._task, n)
