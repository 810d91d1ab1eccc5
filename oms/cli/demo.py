"""`oms demo`: a paper-trading session on a fresh SQLite journal against the simulated terminal.

This process owns the simulated terminal and serves it over RPyC; the engine runs in a
process of its own (`oms.cli.demo_session`) that reaches the terminal through the mt5linux
client. A small strategy places market, limit, IOC and FOK orders, modifies and cancels some;
the terminal then fills an order behind the engine's back, takes a manual trade and drops an
acknowledgement; the reconciler finds and heals them. The engine then places a burst whose
answers the terminal holds, and its process is killed (SIGKILL; TerminateProcess on Windows)
with those sends unanswered. The terminal lives on; a new engine process recovers from the
journal, looks the unanswered orders up at the broker and trades on; finally the reports and
`verify` are printed. The journal (`demo.db`) and the operators' log (`demo.log`) stay for
exploring.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from journal import migrate
from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.records import OrderSendResult
from oms.cli import demo_session as session
from oms.cli.journal import verify
from oms.cli.main import app
from oms.errors import OmsError

DEMO_DB = "demo.db"
DEMO_LOG = "demo.log"

COMMAND = "demo"

KILL_POINT_TIMEOUT_S: Final = 60.0
"""How long the burst's first send may take to reach the terminal before the demo gives up."""


@dataclass
class Story:
    """The narrated steps of the session, printed as they happen."""

    console: Console

    def say(self, text: str) -> None:
        """One narrated step."""
        self.console.print(f"[bold cyan]•[/bold cyan] {text}")


class HeldAnswers:
    """The served terminal; once armed it trades each send but holds the answer, so the kill
    lands, every time, after the burst's first send traded and before anything was answered."""

    def __init__(self, terminal: SimulatedTerminal) -> None:
        self._terminal = terminal
        self.armed = False
        self.reached = threading.Event()
        self.released = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._terminal, name)

    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None:
        """Execute the send; while armed, answer only after the engine process is gone."""
        result = self._terminal.order_send(request)
        if self.armed:
            self.reached.set()
            self.released.wait()
        return result

    def release(self) -> None:
        """Let the held answer go (to a connection nobody reads any more) and stop holding."""
        self.armed = False
        self.released.set()


class TerminalSide:
    """Acts on the terminal when the engine process asks: the market and its faults."""

    def __init__(self, terminal: SimulatedTerminal, served: HeldAnswers, story: Story) -> None:
        self.terminal = terminal
        self.served = served
        self.story = story

    def act(self, action: str, args: list[str]) -> None:
        """Do what the engine asked for, telling the story of the faults."""
        faults = self.terminal.faults
        if action == session.STEP:
            for _ in range(int(args[0])):
                self.terminal.market.step()
        elif action == session.FILL:
            coid, ticket = args
            faults.fill_order(int(ticket))
            self.story.say(f"the terminal filled {coid} (ticket {ticket}) while nobody looked")
        elif action == session.MANUAL_TRADE:
            tick = self.terminal.symbol_info_tick(session.SYMBOL)
            assert tick is not None
            manual = faults.manual_trade(
                {"action": 1, "symbol": session.SYMBOL, "volume": 0.3, "type": 1,
                 "price": tick.bid, "type_filling": 1, "comment": "by hand"}
            )  # fmt: skip
            self.story.say(f"a trader sold 0.3 {session.SYMBOL} by hand in the terminal "
                           f"(ticket {manual.order})")  # fmt: skip
        elif action == session.DROP_NEXT_ACK:
            faults.drop_next_ack()
        elif action == session.HOLD_ANSWERS:
            self.served.armed = True
        else:
            raise OmsError(f"the engine process asked for an unknown action: {action}")


@contextlib.contextmanager
def _engine_process(phase: str, url: str, port: int, log: Path) -> Iterator[subprocess.Popen[str]]:
    """An engine process that is never left running, whatever happens here."""
    with subprocess.Popen(
        [sys.executable, "-m", session.__name__, phase, url, str(port), str(log)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    ) as proc:  # fmt: skip
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()


def _converse(proc: subprocess.Popen[str], side: TerminalSide) -> list[str]:
    """Tell the engine's story and answer its asks until it announces its burst or ends."""
    assert proc.stdout is not None and proc.stdin is not None
    for line in proc.stdout:
        tag, _, rest = line.rstrip("\n").partition(" ")
        if tag == session.SAY:
            side.story.say(rest)
        elif tag == session.ASK:
            action, *args = rest.split(" ")
            side.act(action, args)
            proc.stdin.write("done\n")
            proc.stdin.flush()
        elif tag == session.BURST:
            return rest.split(" ")
        else:
            raise OmsError(f"the engine process wrote an unexpected line: {line!r}")
    return []


def _how_it_ended(returncode: int) -> str:
    """A process's end as an operator reads it: by which signal, or with which status."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}, exit status {returncode}"
    return f"exit status {returncode}"


def _crash_and_restart(url: str, port: int, log: Path, side: TerminalSide) -> None:
    """The first engine process trades until its burst and is killed; a second one recovers."""
    with _engine_process(session.FIRST, url, port, log) as first:
        try:
            burst = _converse(first, side)
            if not burst:
                raise OmsError(f"the engine process ended early ({_how_it_ended(first.wait())})")
            if not side.served.reached.wait(KILL_POINT_TIMEOUT_S):
                raise OmsError("the burst's first send never reached the terminal")
            first.kill()  # SIGKILL where there are signals, TerminateProcess on Windows
            ended = first.wait()
        finally:
            side.served.release()
    side.story.say(
        f"the engine placed {len(burst)} more orders ({', '.join(burst)}); with the first "
        f"executed at the terminal and unanswered, its process {first.pid} was "
        f"{_how_it_ended(ended)}"
    )
    with _engine_process(session.RESTART, url, port, log) as second:
        _converse(second, side)
        if (status := second.wait()) != 0:
            raise OmsError(f"the restarted engine process failed ({_how_it_ended(status)})")


def _reports(url: str, console: Console) -> None:
    """The reports a trader and a compliance officer look at first."""
    from oms.cli import reports

    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("orders", lambda: reports.orders(url, None, None, None, False, 0, False)),
        ("positions", lambda: reports.positions(url, None, None, False, None, False)),
        ("fills", lambda: reports.fills(url, None, None, None, None, 0, False)),
        ("discrepancies", lambda: reports.discrepancies(url, False, None, False)),
        ("latency", lambda: reports.latency(url, False)),
    )
    for title, call in steps:
        console.rule(f"oms {title}")
        call()
    console.rule("oms verify")
    verify(db=url, as_json=False, expect_head=None)


@app.command(COMMAND)
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write demo.db and demo.log.")
    ] = Path("."),
    seed: Annotated[int, typer.Option(help="Seed of the simulated market.")] = 7,
) -> None:
    """A paper-trading session with faults, a crash and recovery; then the reports.

    Example: oms demo --dir /tmp/oms-demo
    """
    try:
        from oms.broker.bridge import make_server
    except ImportError as exc:
        raise OmsError(
            f"oms demo needs RPyC and mt5linux ({exc.name} is missing): pip install 'oms[mt5linux]'"
        ) from exc
    if importlib.util.find_spec("mt5linux") is None:
        raise OmsError("oms demo needs the mt5linux client: pip install 'oms[mt5linux]'")
    console = Console()
    directory.mkdir(parents=True, exist_ok=True)
    path = (directory / DEMO_DB).resolve()
    for leftover in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        path.with_name(path.name + ".reconcile.lock"),
        directory / DEMO_LOG,
    ):
        leftover.unlink(missing_ok=True)  # fmt: skip
    url = f"sqlite:///{path}"
    started = time.perf_counter()
    migrate(url)
    story = Story(console)
    console.rule("paper-trading session")
    story.say(f"fresh journal {path}, simulated hedging account, seed {seed}")
    terminal = SimulatedTerminal(seed=seed, margin_mode="hedging",
                                 start_msc=time.time_ns() // 1_000_000)  # fmt: skip
    served = HeldAnswers(terminal)
    server = make_server(served, port=0)
    threading.Thread(target=server.start, name="demo-terminal", daemon=True).start()
    try:
        _crash_and_restart(url, server.port, directory / DEMO_LOG,
                           TerminalSide(terminal, served, story))  # fmt: skip
    finally:
        server.close()
    _reports(url, console)
    console.rule()
    console.print(
        f"finished in {time.perf_counter() - started:.1f} s. The journal stays for exploring:\n"
        f"  export OMS_DATABASE_URL=sqlite:///{path}\n"
        "  oms orders --open; oms events --type reconcile.; oms replay --position 40\n"
        "  oms audit export --format csv -o audit.csv; oms verify\n"
        f"operators' log (JSON lines): {directory / DEMO_LOG}"
    )
