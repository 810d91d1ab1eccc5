"""Entry point of the `oms` command: one typer app; each command module registers itself."""

from __future__ import annotations

import sys
from typing import Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from journal.errors import JournalError
from oms.errors import OmsError

USER_ERRORS: tuple[type[BaseException], ...] = (OmsError, JournalError, ValidationError)


class _OneLineErrors(TyperGroup):
    """Turn user errors into a one-line reason on stderr and exit code 1, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            message = " ".join(str(exc).split())
            print(f"error: {message}", file=sys.stderr)
            raise typer.Exit(1) from exc


app = typer.Typer(
    cls=_OneLineErrors,
    no_args_is_help=True,
    add_completion=False,
    help="Event-sourced order management for MetaTrader 5.",
)


@app.callback()
def _root() -> None:
    """Event-sourced order management for MetaTrader 5; every command takes --help."""


def _register_commands() -> None:
    """Import the command modules; each adds its commands to `app`."""
    # Command modules are listed here as they land.
    import oms.cli.book
    import oms.cli.demo
    import oms.cli.engine
    import oms.cli.reconcile
    import oms.cli.reports
    import oms.cli.sim  # noqa: F401
    from oms.cli import journal  # noqa: F401  (init, verify, demo)


_register_commands()


def run() -> None:
    """Console-script entry point."""
    app()
