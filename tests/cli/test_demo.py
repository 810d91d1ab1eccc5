"""The full demo session end to end in a fresh process, on a fresh journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from journal import Journal
from oms.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def test_demo_session_heals_recovers_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "oms", "demo", "--dir", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "placed 14 orders: 6 market (IOC/FOK), 8 limit" in out
    assert "fill_missing_here (healed), order_unknown_here (healed)" in out
    assert "looked it up instead of resending" in out
    assert "stopped dead mid-burst" in out
    assert "restarted: replayed" in out and "(none resent)" in out
    for title in ("oms orders", "oms positions", "oms fills", "oms discrepancies",
                  "oms latency", "oms verify"):  # fmt: skip
        assert title in out
    assert "ok: " in out and "Traceback" not in done.stderr
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Journal.open(url) as journal:
        assert journal.verify().ok
        types = [e.type for e in journal.read_all()]
    assert "order.outcome_unknown" in types and "order.outcome_resolved" in types
    assert types.count("reconcile.discrepancy_detected") >= 3
    # The journal stays for the other commands.
    runner = CliRunner()
    open_rows = json.loads(runner.invoke(app, ["discrepancies", "--db", url, "--json"]).stdout)
    assert {r["kind"] for r in open_rows} >= {"fill_missing_here", "order_unknown_here"}
    assert all(r["status"] == "resolved" for r in open_rows)
    orders = json.loads(runner.invoke(app, ["orders", "--db", url, "--json"]).stdout)
    assert any(o["strategy"] == "external" for o in orders)
    assert (tmp_path / "demo.log").stat().st_size > 0
