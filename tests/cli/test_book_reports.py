"""orders, positions, fills and replay: the projections as traders and compliance see them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from oms.cli.main import app
from oms.domain.ids import deal_event_id
from tests.cli.conftest import Session

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_orders_table_and_filters(session_db: Session) -> None:
    out = run("orders", "--db", session_db.url)
    assert session_db.filled_coid in out and session_db.vanished_coid in out
    assert "created (UTC)" in out and " UTC" in out
    rows = json.loads(run("orders", "--db", session_db.url, "--open", "--json"))
    assert {r["client_order_id"] for r in rows} == {session_db.vanished_coid, "B2.lat.0"}
    filled = json.loads(run("orders", "--db", session_db.url, "--status", "filled", "--json"))
    assert {r["client_order_id"] for r in filled} == {"A1.mm.0", session_db.filled_coid}
    assert all(r["filled_volume"] == r["volume"] for r in filled)
    only_gbp = json.loads(run("orders", "--db", session_db.url, "--symbol", "GBPUSD", "--json"))
    assert [r["client_order_id"] for r in only_gbp] == [session_db.vanished_coid]


def test_orders_rejects_an_unknown_status(session_db: Session) -> None:
    result = runner.invoke(app, ["orders", "--db", session_db.url, "--status", "bogus"])
    assert result.exit_code != 0 and "bogus" in result.output


def test_positions_hedging(session_db: Session) -> None:
    rows = json.loads(run("positions", "--db", session_db.url, "--mode", "hedging", "--json"))
    assert sorted((r["side"], r["volume"]) for r in rows) == [("buy", 0.2), ("sell", 0.1)]
    assert all(r["key"].startswith("A1#") for r in rows)
    netting = json.loads(run("positions", "--db", session_db.url, "--mode", "netting", "--json"))
    assert [(r["key"], r["side"], r["volume"]) for r in netting] == [
        ("A1|EURUSD", "buy", pytest.approx(0.1))
    ]
    out = run("positions", "--db", session_db.url, "--mode", "hedging")
    assert "EURUSD" in out and "opened (UTC)" in out


def test_fills_blotter(session_db: Session) -> None:
    rows = json.loads(run("fills", "--db", session_db.url, "--json"))
    assert len(rows) == 2
    healed = json.loads(
        run("fills", "--db", session_db.url, "--order", session_db.filled_coid, "--json")
    )
    assert [r["deal_ticket"] for r in healed] == [session_db.fill_deal]
    assert healed[0]["filled_at"].endswith("+00:00")
    out = run("fills", "--db", session_db.url)
    assert str(session_db.fill_deal) in out and "filled (UTC)" in out


def test_replay_by_position_shows_the_state_then(session_db: Session) -> None:
    events = json.loads(run("events", "--db", session_db.url, "--limit", "0", "--json"))
    heal = next(e for e in events if e["event_id"] == deal_event_id("A1", session_db.fill_deal))
    before = json.loads(
        run("replay", "--db", session_db.url, "--position", str(heal["position"] - 1), "--json")
    )
    after = json.loads(
        run("replay", "--db", session_db.url, "--position", str(heal["position"]), "--json")
    )
    status = {o["client_order_id"]: o["status"] for o in before["orders"]}
    assert status[session_db.filled_coid] == "accepted"
    status = {o["client_order_id"]: o["status"] for o in after["orders"]}
    assert status[session_db.filled_coid] == "filled"
    assert before["fills"] == 1 and after["fills"] == 2
    assert before["state_hashes"] != after["state_hashes"]
    assert after["last_position"] == heal["position"]
    # The same bound by time gives the same state.
    by_time = json.loads(
        run("replay", "--db", session_db.url, "--as-of", str(heal["recorded_at_ns"]), "--json")
    )
    assert by_time["orders"] == after["orders"] and by_time["fills"] == after["fills"]
    head = json.loads(run("replay", "--db", session_db.url, "--position", str(len(events)),
                          "--json"))  # fmt: skip
    assert (
        head["state_hashes"]
        == json.loads(
            run("replay", "--db", session_db.url, "--as-of", "2999-01-01T00:00:00Z", "--json")
        )["state_hashes"]
    )


def test_replay_table_names_the_bound(session_db: Session) -> None:
    out = run("replay", "--db", session_db.url, "--position", "3")
    assert "state as of position 3" in out and "State hashes" in out


def test_replay_needs_exactly_one_bound(session_db: Session) -> None:
    result = runner.invoke(app, ["replay", "--db", session_db.url])
    assert result.exit_code == 1
    assert "exactly one of --as-of TIME or --position N" in result.output
    beyond = runner.invoke(app, ["replay", "--db", session_db.url, "--position", "99999"])
    assert beyond.exit_code == 1 and "beyond the journal's head" in beyond.output


@pytest.mark.parametrize("command", ["orders", "positions", "fills", "replay"])
def test_help_has_an_example(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and f"Example: oms {command}" in result.output
