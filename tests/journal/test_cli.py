"""`oms init` and `oms verify` on real databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journal import Journal
from oms.cli.main import app
from tests.journal.conftest import drop_immutability_triggers, event, execute_as_owner

runner = CliRunner()


def test_init_then_verify_json(db_url: str) -> None:
    assert runner.invoke(app, ["init", "--db", db_url]).exit_code == 0
    with Journal.open(db_url) as journal:
        journal.append("s", [event(1), event(2)])
        head = journal.head()
    result = runner.invoke(app, ["verify", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {
        "ok": True, "events": 2, "head_hash": head.hash, "head_position": 2,
        "first_bad_position": None, "reason": None,
    }  # fmt: skip
    result = runner.invoke(app, ["verify", "--db", db_url, "--expect-head", str(head)])
    assert result.exit_code == 0
    assert f"{head.hash}@2" in result.stdout.replace("\n", "")


def test_verify_fails_with_exit_1_and_names_the_position(journal_url: str) -> None:
    with Journal.open(journal_url) as journal:
        for n in range(5):
            journal.append("s", [event(n)])
        head = journal.head()
    drop_immutability_triggers(journal_url)
    execute_as_owner(journal_url, "DELETE FROM journal_events WHERE position = 5")
    result = runner.invoke(
        app, ["verify", "--db", journal_url, "--json", "--expect-head", str(head)]
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["ok"], report["first_bad_position"], report["head_position"]) == (False, 5, 4)
    assert "truncated" in report["reason"]


def test_verify_of_an_unmigrated_database_says_run_oms_init(tmp_path: Path) -> None:
    result = runner.invoke(app, ["verify", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1
    assert "run `oms init" in result.output and "Traceback" not in result.output


def test_verify_rejects_a_malformed_expected_head(journal_url: str) -> None:
    result = runner.invoke(app, ["verify", "--db", journal_url, "--expect-head", "abc"])
    assert result.exit_code == 1
    assert "HASH@POSITION" in result.output


def test_init_uses_the_configured_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (tmp_path / "env.db").exists()
