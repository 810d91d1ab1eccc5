"""The report commands, driven through typer's runner, checked on their output."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from journal import GENESIS_HASH, Journal
from journal.codec import row_hash
from oms.cli import render
from oms.cli.main import app
from tests.cli.conftest import STAGE_STREAM, Session

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_events_filters_by_type_and_stream(session_db: Session) -> None:
    out = run("events", "--db", session_db.url, "--type", "order.filled")
    assert "order.filled" in out and "order.submitted" not in out
    assert "UTC" in out
    data = json.loads(run("events", "--db", session_db.url, "--stream", STAGE_STREAM, "--json"))
    assert [e["type"] for e in data] == ["order.submitted", "order.accepted"]
    assert data[0]["recorded_at"].endswith("+00:00")
    assert data[0]["metadata"]["stages"]["submit"]["mono_ns"] == 2000
    prefixed = json.loads(run("events", "--db", session_db.url, "--type", "reconcile.*", "--json"))
    assert prefixed and all(e["type"].startswith("reconcile.") for e in prefixed)


def test_events_time_window(session_db: Session) -> None:
    later = json.loads(run("events", "--db", session_db.url, "--since", "2999-01-01", "--json"))
    assert later == []
    everything = json.loads(
        run("events", "--db", session_db.url, "--until", "2999-01-01T00:00:00Z", "--limit", "0",
            "--json")
    )  # fmt: skip
    with Journal.open(session_db.url) as journal:
        assert len(everything) == journal.head().position


def test_events_rejects_a_bad_time_in_one_line(session_db: Session) -> None:
    result = runner.invoke(app, ["events", "--db", session_db.url, "--since", "yesterday"])
    assert result.exit_code == 1
    assert "error: time 'yesterday' is not ISO 8601" in result.output
    assert "Traceback" not in result.output


def test_missing_journal_is_one_line(tmp_path: object) -> None:
    result = runner.invoke(app, ["events", "--db", "sqlite:////nonexistent/oms.db"])
    assert result.exit_code == 1
    assert "oms init" in result.output and len(result.output.strip().splitlines()) == 1


def test_database_url_from_environment(session_db: Session) -> None:
    result = runner.invoke(
        app,
        ["events", "--type", "order.filled", "--json"],
        env={"OMS_DATABASE_URL": session_db.url},
    )
    assert result.exit_code == 0, result.output
    assert {e["type"] for e in json.loads(result.stdout)} == {"order.filled"}


def test_discrepancies_show_healed_and_open(session_db: Session) -> None:
    out = run("discrepancies", "--db", session_db.url)
    assert "fill_missing_here" in out and "order_missing_at_broker" in out
    assert "healed" in out and "open" in out
    rows = json.loads(run("discrepancies", "--db", session_db.url, "--open", "--json"))
    assert [(r["kind"], r["key"]) for r in rows] == [
        ("order_missing_at_broker", f"order:{session_db.vanished_coid}")
    ]
    assert rows[0]["journal"]["status"] == "accepted" and rows[0]["broker"] is None
    healed = json.loads(
        run("discrepancies", "--db", session_db.url, "--kind", "fill_missing_here", "--json")
    )
    assert healed[0]["status"] == "resolved" and healed[0]["how"].startswith("healed")
    assert healed[0]["key"] == f"deal:{session_db.fill_deal}"


def test_latency_percentiles_per_stage(session_db: Session) -> None:
    lines = {r["interval"]: r for r in json.loads(run("latency", "--db", session_db.url, "--json"))}
    assert lines["signal→submit"]["p50_us"] == 1.0
    assert lines["submit→journal"]["p50_us"] == 2.0
    assert lines["journal→broker_send"]["p99_us"] == 4.0
    assert lines["broker_send→broker_ack"]["max_us"] == 8.0
    assert lines["submit→broker_ack"]["count"] == 1 and lines["submit→broker_ack"]["p50_us"] == 14
    out = run("latency", "--db", session_db.url)
    assert "signal→submit" in out and "p99" in out


def test_audit_export_jsonl_recomputes_the_chain(session_db: Session, tmp_path: object) -> None:
    out = run("audit", "export", "--db", session_db.url, "--format", "jsonl")
    rows = [json.loads(line) for line in out.splitlines()]
    prev = GENESIS_HASH
    for row in rows:
        assert row["prev_hash"] == prev
        assert row["recorded_at_utc"].endswith("+00:00")
        expected = row_hash(
            prev, row["position"], row["stream_id"], row["version"], row["event_id"],
            row["type"], row["schema_version"], row["recorded_at_ns"], row["payload"],
            row["metadata"],
        )  # fmt: skip
        assert row["hash"] == expected
        prev = row["hash"]
    with Journal.open(session_db.url) as journal:
        head = journal.head()
    assert len(rows) == head.position and prev == head.hash


def test_audit_export_csv_to_a_file(session_db: Session, tmp_path: pytest.TempPathFactory) -> None:
    target = f"{tmp_path}/audit.csv"
    result = runner.invoke(
        app, ["audit", "export", "--db", session_db.url, "--format", "csv", "-o", target]
    )
    assert result.exit_code == 0, result.output
    assert "exported" in result.stderr
    with open(target, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert rows[0]["position"] == "1" and len(rows[0]["hash"]) == 64
    assert any(r["type"] == "reconcile.discrepancy_detected" for r in rows)


def test_audit_export_rejects_an_unknown_format(session_db: Session) -> None:
    result = runner.invoke(app, ["audit", "export", "--db", session_db.url, "--format", "xml"])
    assert result.exit_code != 0
    assert "xml" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["events"],
        ["discrepancies"],
        ["latency"],
        ["reconcile"],
        ["audit", "export"],
        ["demo"],
        ["run"],
        ["recover"],
        ["order", "place"],
        ["order", "modify"],
        ["order", "cancel"],
    ],
)
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example: oms " in result.output


def test_long_reads_show_progress_without_changing_output(
    session_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = run("audit", "export", "--db", session_db.url)
    monkeypatch.setattr("oms.cli.render.PROGRESS_THRESHOLD", 1)
    shown = []
    real = render.progress

    def spy(total: int, description: str, enabled: bool = True):  # type: ignore[no-untyped-def]
        shown.append((description, total, enabled))
        return real(total, description, enabled)

    monkeypatch.setattr("oms.cli.reports.progress", spy)
    assert run("audit", "export", "--db", session_db.url) == quiet
    replayed = json.loads(run("replay", "--db", session_db.url, "--position", "5", "--json"))
    assert replayed["last_position"] == 5
    assert ("exporting events", len(quiet.splitlines()), True) in shown
    assert ("replaying the journal", 5, False) in shown  # never on --json output
