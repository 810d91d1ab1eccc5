"""oms order place|modify|cancel, oms recover and oms run, each a fresh engine that recovers
from the journal, against one simulated terminal served over RPyC (as `oms sim serve` does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from journal import Journal, migrate
from oms.broker.bridge import make_server
from oms.broker.sim import SimulatedTerminal
from oms.cli.main import app
from oms.domain.commands import PlaceOrder
from oms.domain.intents import submitted_event
from tests.reconcile.support import new_event

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[SimulatedTerminal, dict[str, str]]]:
    """A terminal served over RPyC and the environment that points the CLI at it."""
    terminal = SimulatedTerminal(seed=3, start_msc=time.time_ns() // 10**6)
    assert terminal.initialize()
    server = make_server(terminal, port=0)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    migrate(sqlite_url)
    env = {"OMS_MT5_BACKEND": "mt5linux", "OMS_MT5LINUX_PORT": str(server.port),
           "OMS_DATABASE_URL": sqlite_url}  # fmt: skip
    try:
        yield terminal, env
    finally:
        server.close()


def invoke(env: dict[str, str], *args: str) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_place_modify_cancel_across_processes(
    served: tuple[SimulatedTerminal, dict[str, str]],
) -> None:
    terminal, env = served
    bid = terminal.symbol_info_tick("EURUSD").bid
    placed = invoke(env, "order", "place", "--symbol", "EURUSD", "--side", "buy",
                    "--volume", "0.1", "--type", "limit", "--price", str(round(bid - 0.005, 5)),
                    "--filling", "return")  # fmt: skip
    coid = str(placed["client_order_id"])
    assert placed["status"] == "accepted" and placed["broker_order_id"]
    assert terminal.initialize()  # each command shut its connection down on exit
    (working,) = terminal.orders_get()
    assert working.comment == coid
    moved = invoke(env, "order", "modify", coid, "--price", str(round(bid - 0.006, 5)))
    assert moved["price"] == pytest.approx(bid - 0.006)
    assert terminal.initialize()
    assert terminal.orders_get()[0].price_open == pytest.approx(bid - 0.006)
    canceled = invoke(env, "order", "cancel", coid)
    assert canceled["status"] == "canceled"
    assert terminal.initialize()
    assert terminal.orders_get() == ()
    market = invoke(env, "order", "place", "--symbol", "EURUSD", "--side", "sell",
                    "--volume", "0.2", "--filling", "ioc")  # fmt: skip
    assert market["status"] == "filled" and market["filled_volume"] == pytest.approx(0.2)
    assert market["client_order_id"] == "A1.manual.1"  # the sequence continues from the journal


def test_place_rejects_bad_input_in_one_line(
    served: tuple[SimulatedTerminal, dict[str, str]],
) -> None:
    _, env = served
    result = runner.invoke(app, ["order", "place", "--symbol", "EURUSD", "--side", "up",
                                 "--volume", "0.1"], env=env)  # fmt: skip
    assert result.exit_code == 1
    assert result.output.startswith("error:") and "side" in result.output


def test_recover_settles_an_unanswered_intent_without_sending(
    served: tuple[SimulatedTerminal, dict[str, str]], sqlite_url: str
) -> None:
    terminal, env = served
    intent = submitted_event(PlaceOrder.parse({
        "account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "buy",
        "order_type": "market", "volume": 0.1,
    }), 0)  # fmt: skip
    with Journal.open(sqlite_url) as journal:
        journal.append(f"order-{intent.client_order_id}", [new_event(intent)])
    report = invoke(env, "recover")
    assert report["resolved"] == [intent.client_order_id]
    assert terminal.initialize()
    assert terminal.history_orders_get(0, 2**40) == ()  # never sent
    out = runner.invoke(app, ["recover"], env=env).stdout
    assert "events replayed" in out and "unanswered orders looked up" in out


def test_run_recovers_reconciles_and_stops_on_sigterm(
    served: tuple[SimulatedTerminal, dict[str, str]],
) -> None:
    _, env = served
    child = subprocess.Popen(
        [sys.executable, "-m", "oms", "run", "--poll-interval", "0.1",
         "--reconcile-interval", "3600"],
        cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("recovered 0 events; start-up reconciliation: 0 discrepancies")
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        assert "running: polling every 0.1 s" in err and "stopped" in err
    finally:
        if child.poll() is None:
            child.kill()
