"""`oms reconcile --once` against the configured (simulated) terminal."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from journal import NewEvent
from oms.cli.main import app
from oms.domain.events import OrderAccepted, OrderSubmitted
from tests.reconcile.support import open_journal

runner = CliRunner()


def _journal_with_an_order_the_broker_lacks(url: str) -> None:
    journal = open_journal(url)
    try:
        submitted = OrderSubmitted(
            client_order_id="A1.mm.0", account="A1", strategy="mm", symbol="EURUSD",
            side="buy", order_type="limit", volume=0.1, price=1.0,  # type: ignore[arg-type]
        )  # fmt: skip
        accepted = OrderAccepted(client_order_id="A1.mm.0", broker_order_id=99)
        journal.append(
            "order-A1.mm.0",
            [NewEvent(e.TYPE, e.to_payload()) for e in (submitted, accepted)],
        )
    finally:
        journal.close()


def test_once_reports_and_records(sqlite_url: str) -> None:
    _journal_with_an_order_the_broker_lacks(sqlite_url)
    result = runner.invoke(app, ["reconcile", "--once", "--db", sqlite_url])
    assert result.exit_code == 0, result.output
    assert "order_missing_at_broker" in result.stdout
    assert "order:A1.mm.0" in result.stdout
    assert "1 detected (0 healed)" in result.stdout
    again = runner.invoke(app, ["reconcile", "--once", "--db", sqlite_url, "--json"])
    data = json.loads(again.stdout)
    assert data["detected"] == [] and data["persisting"] == [
        {"kind": "order_missing_at_broker", "key": "order:A1.mm.0"}
    ]
    assert data["open_discrepancies"] == 1


def test_strict_exits_two_while_discrepancies_are_open(sqlite_url: str) -> None:
    _journal_with_an_order_the_broker_lacks(sqlite_url)
    result = runner.invoke(app, ["reconcile", "--once", "--strict", "--db", sqlite_url])
    assert result.exit_code == 2


def test_unmigrated_database_is_one_line(tmp_path: object) -> None:
    result = runner.invoke(app, ["reconcile", "--once", "--db", "sqlite:////nonexistent/x.db"])
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "oms init" in result.output
