"""`oms reconcile --once` against the configured (simulated) terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

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


def test_scheduled_mode_runs_at_once_then_stops_on_sigterm(sqlite_url: str) -> None:
    _journal_with_an_order_the_broker_lacks(sqlite_url)
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-m", "oms", "reconcile", "--db", sqlite_url, "--interval", "3600"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:  # the start-up run prints its summary first
            lines.append(line)
            if line.startswith("run "):
                break
        assert "1 detected (0 healed)" in lines[-1], lines
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert "reconciling every 3600 s" in err
    finally:
        if child.poll() is None:
            child.kill()
