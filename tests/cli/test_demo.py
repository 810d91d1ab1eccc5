"""The full demo session end to end in a fresh process, on a fresh journal.

The demo kills its first engine process with SIGKILL in the middle of a burst and starts a
second one over the same journal and the same (still running) simulated terminal.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from journal import Journal
from oms.cli.main import app
from oms.domain.enums import OrderStatus

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
    killed = re.search(r"placed 3 more orders \((.+?)\);.* its process \d+ was killed by "
                       r"SIGKILL, exit status -9", out)  # fmt: skip
    assert killed is not None, out
    burst = killed.group(1).split(", ")
    assert f"looked up 3 unanswered orders at the broker (none resent): {burst[0]} " in out
    for title in ("oms orders", "oms positions", "oms fills", "oms discrepancies",
                  "oms latency", "oms verify"):  # fmt: skip
        assert title in out
    assert "ok: " in out and "Traceback" not in done.stderr
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Journal.open(url) as journal:
        assert journal.verify().ok
        records = list(journal.read_all())
    types = [e.type for e in records]
    assert "order.outcome_unknown" in types and "order.outcome_resolved" in types
    # Nothing was sent twice: one intent and at most one broker ticket per order, no ticket
    # shared, and the burst's orders were only looked up after the kill, never sent again.
    submitted = [e.payload["client_order_id"] for e in records if e.type == "order.submitted"]
    assert len(submitted) == len(set(submitted)) >= 14 + 1 + 3 + 2
    tickets: dict[str, set[int]] = {}
    for e in records:
        if "broker_order_id" in e.payload and "client_order_id" in e.payload:
            coid, ticket = e.payload["client_order_id"], e.payload["broker_order_id"]
            tickets.setdefault(coid, set()).add(ticket)
    assert all(len(t) == 1 for t in tickets.values())
    assert len({t for ts in tickets.values() for t in ts}) == len(tickets)
    burst_events = [e.type for e in records if e.payload.get("client_order_id") in burst]
    assert burst_events == ["order.submitted"] * 3 + [
        "order.outcome_resolved", "order.filled", "order.outcome_resolved",
        "order.outcome_resolved"]  # fmt: skip
    assert set(tickets) >= {burst[0]} and not set(tickets) & set(burst[1:])
    assert types.count("reconcile.discrepancy_detected") >= 3
    # The journal stays for the other commands.
    runner = CliRunner()
    open_rows = json.loads(runner.invoke(app, ["discrepancies", "--db", url, "--json"]).stdout)
    assert {r["kind"] for r in open_rows} >= {"fill_missing_here", "order_unknown_here"}
    assert all(r["status"] == "resolved" for r in open_rows)
    orders = json.loads(runner.invoke(app, ["orders", "--db", url, "--json"]).stdout)
    assert any(o["strategy"] == "external" for o in orders)
    # Every order has an outcome; the burst's first send traded, the two behind it never left.
    status = {o["client_order_id"]: o["status"] for o in orders}
    assert set(submitted) <= set(status)
    assert not set(status.values()) & {OrderStatus.SUBMITTED, OrderStatus.UNKNOWN}
    assert [status[c] for c in burst] == [OrderStatus.FILLED] + [OrderStatus.REJECTED] * 2
    assert runner.invoke(app, ["verify", "--db", url]).exit_code == 0
    assert (tmp_path / "demo.log").stat().st_size > 0
