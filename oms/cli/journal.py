"""`oms init` and `oms verify`: the journal from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console

from journal import Head, Journal, VerifyReport, migrate
from oms.cli.main import app
from oms.config import Settings

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: OMS_DATABASE_URL, else sqlite:///oms.db)."),
]


def _url(db: str | None) -> str:
    """The URL given on the command line, else the configured one."""
    return db if db else Settings().database_url


@app.command("init")
def init(db: DbOption = None) -> None:
    """Create or upgrade the journal's schema (Alembic to head)."""
    url = _url(db)
    migrate(url)
    Console().print(f"journal schema is up to date on [bold]{_shown(url)}[/bold]")


@app.command("verify")
def verify(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head",
            metavar="HASH@POSITION",
            help="A head kept elsewhere earlier; detects a truncated or rewritten tail.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain; exit 1 when any row, or the expected head, does not match."""
    expected = Head.parse(expect_head) if expect_head else None
    with Journal.open(_url(db)) as journal:
        report = journal.verify(expect_head=expected)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), sort_keys=True))
    else:
        _print_report(Console(), report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(console: Console, report: VerifyReport) -> None:
    if report.ok:
        console.print(
            f"[green]ok[/green]: {report.events} events, head "
            f"[bold]{report.head_hash}@{report.head_position}[/bold] "
            "(keep it elsewhere: `oms verify --expect-head` checks against it)"
        )
    else:
        console.print(
            f"[red]TAMPERED[/red] at position {report.first_bad_position}: {report.reason}; "
            f"the chain is intact up to position {report.head_position}"
        )


def _shown(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url
