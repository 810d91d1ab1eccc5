"""The demo process's answers when its engine process misbehaves: a clear error, never a hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from oms.broker.sim import SimulatedTerminal
from oms.cli.demo import HeldAnswers, Story, TerminalSide, _converse, _crash_and_restart
from oms.errors import OmsError


@pytest.fixture
def side() -> TerminalSide:
    terminal = SimulatedTerminal(seed=7, margin_mode="hedging")
    return TerminalSide(terminal, HeldAnswers(terminal), Story(Console(file=None, quiet=True)))


def test_an_unknown_request_is_refused_by_name(side: TerminalSide) -> None:
    with pytest.raises(OmsError, match="unknown action: teleport"):
        side.act("teleport", [])


def test_an_unexpected_line_from_the_engine_process_stops_the_demo(side: TerminalSide) -> None:
    with (
        subprocess.Popen([sys.executable, "-c", "print('HELLO there')"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as proc,
        pytest.raises(OmsError, match="unexpected line: 'HELLO there"),
    ):
        _converse(proc, side)


def test_an_engine_process_that_dies_before_its_burst_is_reported(
    side: TerminalSide, tmp_path: Path
) -> None:
    not_a_journal = f"sqlite:///{tmp_path}"  # a folder: the engine cannot open it and exits
    with pytest.raises(OmsError, match=r"ended early \(exit status 1\)"):
        _crash_and_restart(not_a_journal, 1, tmp_path / "demo.log", side)
    assert side.served.released.is_set()  # whatever happened, held answers are let go
