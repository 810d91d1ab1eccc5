"""The operators' log: every journaled event and error as JSON lines; secrets never appear."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from oms.config import Settings
from oms.engine import eventlog
from tests.engine.conftest import Rig
from tests.engine.test_manager import market, next_kind

PASSWORD = "hunter2-very-secret"


@pytest.fixture
def log_file(tmp_path: Path) -> tuple[Path, Settings]:
    settings = Settings(mt5_password=SecretStr(PASSWORD), mt5_login=42)
    path = tmp_path / "oms.jsonl"
    handlers = eventlog.configure(path, console=True, secrets=[settings.mt5_password])
    yield path, settings
    eventlog.remove(handlers)


async def test_events_and_errors_go_to_json_lines_without_credentials(
    rig: Rig, log_file: tuple[Path, Settings], capsys: pytest.CaptureFixture[str]
) -> None:
    path, settings = log_file
    updates = rig.manager.subscribe()
    rig.terminal.faults.reject_next(10019)
    coid = await rig.manager.place(market())
    await next_kind(updates, "order.rejected")
    log = rig.manager.log
    log.error("terminal login failed", settings=settings.model_dump(),
              password=settings.mt5_password)
    log.error(f"connect string was login=42 password={PASSWORD}")
    logging.getLogger("oms.broker").warning("raw %s", PASSWORD)
    for handler in logging.getLogger("oms").handlers:
        handler.flush()
    text = path.read_text()
    assert PASSWORD not in text
    console = capsys.readouterr()
    assert "order.submitted" in console.out + console.err
    assert PASSWORD not in console.out + console.err
    lines = [json.loads(line) for line in text.splitlines()]
    events = [line for line in lines if line["logger"] == eventlog.EVENTS]
    assert [e["type"] for e in events] == ["order.submitted", "order.rejected"]
    assert events[0]["stream_id"] == f"order-{coid}" and events[1]["payload"]["retcode"] == 10019
    errors = [line for line in lines if line["level"] == "error"]
    assert errors[0]["password"] == eventlog.MASK
    assert errors[0]["settings"]["mt5_password"] == eventlog.MASK
    assert eventlog.MASK in errors[1]["msg"]


async def test_every_journaled_event_is_one_line_in_journal_order(
    rig: Rig, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    handlers = eventlog.configure(path, console=False)
    try:
        placed = [await rig.manager.place(market(side=side)) for side in ("buy", "sell", "buy")]
        await rig.manager.drain()
        journaled = [record async for record in rig.journal.read_all(0)]
        first = journaled[0]
        rig.manager.log.event(first)  # gathered for the loop's next turn...
        rig.manager.log.error("after the burst", client_order_id=placed[-1])  # ...sent first
    finally:
        eventlog.remove(handlers)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    ours = [r for r in journaled if r.stream_id.startswith("order-")]
    logged = [line for line in lines if line["logger"] == eventlog.EVENTS]
    assert [e["position"] for e in logged[:-1]] == [r.position for r in ours]
    assert logged[-1]["position"] == journaled[0].position
    assert [e["msg"] for e in logged[:2]] == [f"{r.type} {r.stream_id}" for r in ours[:2]]
    assert logged[0]["payload"] == ours[0].payload and logged[0]["metadata"] == ours[0].metadata
    assert [line["level"] for line in lines[-2:]] == ["info", "error"]
    assert lines[-2]["position"] == first.position
