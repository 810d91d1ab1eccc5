"""`oms book`: the ladder renders from the synthetic feed; replay lists signals and checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from oms.cli.main import app
from oms.market.events import BookSnapshot, LevelSet, MarketEvent, TradePrint
from oms.market.feeds.recording import read_recording, write_recording
from oms.market.feeds.synthetic import synthetic_events
from oms.market.sides import ASK, BID
from tests.market.samples import MESSAGES, ORDERBOOK

MS = 1_000_000


def test_ladder_once_from_the_synthetic_feed() -> None:
    result = CliRunner().invoke(
        app, ["book", "EURUSD", "--events", "3000", "--once", "--levels", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "EURUSD depth" in result.output
    assert "spread" in result.output
    assert "events 3000" in result.output
    assert "last signals" in result.output


def test_live_view_runs_until_the_event_limit() -> None:
    result = CliRunner().invoke(app, ["book", "EURUSD", "--events", "500", "--rate", "1e9"])
    assert result.exit_code == 0, result.output
    assert "events 500" in result.output


def test_live_feed_recorded_and_replayed_gives_the_same_signals(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    runner = CliRunner()
    live = runner.invoke(
        app, ["book", "EURUSD", "--events", "4000", "--once", "--record", str(path), "--seed", "3"]
    )
    assert live.exit_code == 0, live.output
    assert f"recorded 4000 events to {path}" in " ".join(live.output.split())
    events = list(read_recording(path))
    assert len(events) == 4000
    assert events == list(synthetic_events(4000, seed=3))
    replay = runner.invoke(app, ["book", "replay", str(path), "--limit", "0"])
    assert replay.exit_code == 0, replay.output
    assert "4000 events (L3)" in replay.output
    again = runner.invoke(app, ["book", "EURUSD", "--events", "1", "--once", "--record", str(path)])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_once_needs_an_event_limit() -> None:
    result = CliRunner().invoke(app, ["book", "EURUSD", "--once"])
    assert result.exit_code == 1
    assert "--once needs --events" in result.output


def test_replay_of_a_recording_lists_its_signals(tmp_path: Path) -> None:
    events: list[MarketEvent] = [
        BookSnapshot(0, ((100, 10),), ((101, 5), (102, 5))),
        TradePrint(1 * MS, 101, 5, BID),
        LevelSet(1 * MS, ASK, 101, 0),
        TradePrint(2 * MS, 102, 4, BID),
        LevelSet(2 * MS, ASK, 102, 1),
        LevelSet(3 * MS, BID, 100, 20, seq=7),
        LevelSet(4 * MS, BID, 100, 25, seq=9),
    ]
    path = tmp_path / "rec.csv"
    write_recording(path, events)
    result = CliRunner().invoke(app, ["book", "replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "sweep    bid       1.02  first_price=101 levels=2 volume=9" in result.output
    assert "7 events (L2): sweep 1" in result.output
    assert "integrity: gap 1" in result.output


def test_replay_thresholds_come_from_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rec.csv"
    write_recording(
        path,
        [
            BookSnapshot(0, ((100, 10),), ((101, 5), (102, 5))),
            TradePrint(1 * MS, 101, 5, BID),
            TradePrint(2 * MS, 102, 4, BID),
        ],
    )
    monkeypatch.setenv("OMS_MARKET_SIGNALS", '{"sweep": {"min_levels": 3}}')
    result = CliRunner().invoke(app, ["book", "replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 events (L2): no signals" in result.output  # a 2-level sweep no longer counts
    assert "sweep" not in result.output


def test_replay_of_lobster_files_with_the_orderbook_check(tmp_path: Path) -> None:
    messages = tmp_path / "msg.csv"
    orderbook = tmp_path / "ob.csv"
    messages.write_text(MESSAGES)
    orderbook.write_text(ORDERBOOK)
    result = CliRunner().invoke(
        app, ["book", "replay", str(messages), "--orderbook", str(orderbook)]
    )
    assert result.exit_code == 0, result.output
    assert "(L3)" in result.output
    assert "hidden" in result.output
    assert "orderbook check: 8 messages, 0 mismatches, 0 unplaced, 1 halts" in result.output


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["book", "replay"])
    assert result.exit_code == 1
    assert "needs a FILE" in result.output
    result = runner.invoke(app, ["book", "replay", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert "no such file" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("#oms-market-recording v1\nL,1,,0\n")
    result = runner.invoke(app, ["book", "replay", str(bad)])
    assert result.exit_code == 1
    assert "bad row" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["book", "EURUSD", "--levels", "0", "--once"])
    assert result.exit_code == 1
