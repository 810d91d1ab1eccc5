"""`oms book SYMBOL --source terminal`: the ladder is the simulated terminal's depth of market."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import SameObject, ThreadWorker
from oms.cli.book_terminal import TerminalBook, TerminalBookError
from oms.cli.main import app
from oms.config import Settings

SEED = 3
ROW = re.compile(r"^│\s*([\d.]*)\s*│\s*([\d.]+)\s*│\s*([\d.]*)\s*│\s*([\d.]+)\s*│$")


@pytest.fixture(autouse=True)
def simulated_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMS_MT5_BACKEND", "sim")
    monkeypatch.setenv("OMS_MT5_SIM_SEED", str(SEED))


def reference(symbol: str, steps: int) -> SimulatedTerminal:
    """A terminal like the one the command builds, its market moved as the command moves it."""
    terminal = SimulatedTerminal(seed=SEED)
    assert terminal.initialize()
    assert terminal.market_book_add(symbol)
    terminal.market.step(steps)
    return terminal


def ladder_rows(output: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(price, size) of the ask rows then the bid rows, top of the table first."""
    asks, bids = [], []
    for line in output.splitlines():
        m = ROW.match(line.strip())
        if m is None:
            continue
        bid, price, ask, _ = m.groups()
        if ask:
            asks.append((price, ask))
        else:
            bids.append((price, bid))
    return asks, bids


def test_ladder_is_the_terminals_book_after_the_polls() -> None:
    result = CliRunner().invoke(
        app, ["book", "EURUSD", "--source", "terminal", "--once", "--events", "4", "--levels", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "snapshots 4" in result.output
    terminal = reference("EURUSD", steps=3)  # the first poll reads the market as found
    tick = terminal.symbol_info_tick("EURUSD")
    records = terminal.market_book_get("EURUSD")
    assert tick is not None and records is not None
    want_asks = [(f"{r.price:.5f}", f"{r.volume_dbl:.2f}") for r in records if r.type == 1][-5:]
    want_bids = [(f"{r.price:.5f}", f"{r.volume_dbl:.2f}") for r in records if r.type == 2][:5]
    asks, bids = ladder_rows(result.output)
    assert asks == want_asks
    assert bids == want_bids
    assert asks[-1][0] == f"{tick.ask:.5f}"
    assert bids[0][0] == f"{tick.bid:.5f}"
    spread = round((tick.ask - tick.bid) / 0.00001)
    assert f"spread {spread}" in result.output
    assert "imbalance top1" in result.output


def test_live_view_stops_after_the_snapshot_limit() -> None:
    result = CliRunner().invoke(
        app, ["book", "GBPUSD", "--source", "terminal", "--events", "3", "--interval", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "GBPUSD depth" in result.output
    assert "snapshots 3" in result.output


def test_unknown_symbol_is_one_line_and_exit_1() -> None:
    result = CliRunner().invoke(app, ["book", "NOPE", "--source", "terminal", "--once"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: unknown symbol 'NOPE': symbol_info failed: -4 Terminal: Not found"
    ]


def test_unknown_source_is_refused() -> None:
    result = CliRunner().invoke(app, ["book", "EURUSD", "--source", "exchange"])
    assert result.exit_code == 1
    assert "--source must be `synthetic` or `terminal`" in result.output


class RefusingBook(SimulatedTerminal):
    """A terminal that knows the symbol but will not give its depth of market."""

    def market_book_add(self, symbol: str, /) -> bool:
        self._error = (-1, "Terminal: depth of market unavailable")
        return False


def test_refused_market_book_add_names_the_terminals_reason() -> None:
    terminal = RefusingBook(seed=SEED)
    broker = Mt5Broker(ThreadWorker(SameObject(terminal)))

    async def go() -> None:
        async with TerminalBook(Settings(), "EURUSD", broker):
            pass

    with pytest.raises(TerminalBookError) as err:
        asyncio.run(go())
    assert str(err.value) == (
        "market_book_add('EURUSD') failed: -1 Terminal: depth of market unavailable"
    )


def test_the_subscription_is_released_on_exit() -> None:
    terminal = SimulatedTerminal(seed=SEED)
    broker = Mt5Broker(ThreadWorker(SameObject(terminal)))

    async def go() -> int:
        async with TerminalBook(Settings(), "EURUSD", broker) as book:
            first = await book.poll()
            assert terminal.market_book_get("EURUSD") is not None
            return len(first)

    assert asyncio.run(go()) == len(reference("EURUSD", 0).market_book_get("EURUSD") or ())
    assert terminal.initialize()
    assert terminal.market_book_get("EURUSD") is None
    assert terminal.last_error() == (-4, "Terminal: Not found")


def test_terminal_feed_recorded_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "eurusd.csv"
    runner = CliRunner()
    live = runner.invoke(
        app,
        ["book", "EURUSD", "--source", "terminal", "--once", "--events", "10",
         "--record", str(path)],
    )  # fmt: skip
    assert live.exit_code == 0, live.output
    recorded = re.search(r"recorded (\d+) events", live.output)
    assert recorded is not None and int(recorded.group(1)) > 0
    assert f"events {recorded.group(1)}" in live.output
    replay = runner.invoke(app, ["book", "replay", str(path)])
    assert replay.exit_code == 0, replay.output
    assert f"{recorded.group(1)} events (L2)" in replay.output
