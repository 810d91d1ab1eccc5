"""The command line's contract: user errors are one line and a non-zero exit, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from oms.cli.main import app
from oms.errors import OmsError


def test_user_error_is_one_line_and_exit_code_one() -> None:
    @app.command("raise-user-error", hidden=True)
    def _raise() -> None:
        raise OmsError("the order id 'x' is unknown\nsecond line")

    result = CliRunner().invoke(app, ["raise-user-error"])
    app.registered_commands.pop()
    assert result.exit_code == 1
    assert "error: the order id 'x' is unknown second line" in result.output
    assert "Traceback" not in result.output
