"""Crash recovery with real process kills.

The simulated terminal lives in the test process and is served over RPyC; the engine runs in
a child process (`tests.engine.crash_child`) that talks to it through the mt5linux client,
so the terminal outlives every SIGKILL of the engine. Each child announces its kill point;
the test injects the fault that belongs there (a fill while the engine is down, a dropped
answer), kills the child, and the next child recovers (one of them is itself killed in the
middle of its recovery). At the end the journal, the engine's
state and the terminal's orders and deals are compared.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from journal import AsyncJournal
from oms.broker.bridge import make_server
from oms.broker.sim import SimulatedTerminal
from oms.domain.enums import AccountMode, OrderStatus
from oms.domain.ids import is_our_magic
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter
from oms.engine.snapshot import engine_state_hash
from oms.engine.state import OrderStates
from oms.projections import standard_set
from oms.projections.store import CheckpointStore
from tests.engine.conftest import sim_broker, sim_terminal

ROOT = Path(__file__).resolve().parents[2]
FOREVER = 2**40


class Child:
    """One engine process and its announced lines."""

    def __init__(self, url: str, server_port: int, scenario: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.crash_child", url, str(server_port), scenario],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for text in self.proc.stdout:
            self._lines.put(text)
        self._lines.put("")

    def line(self, timeout: float = 60.0) -> str:
        """The next line the child wrote; fails (with its stderr) if none comes in time."""
        try:
            text = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            pytest.fail(f"the child wrote nothing for {timeout} s")
        if not text:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            pytest.fail(f"the child exited with {self.proc.wait()}: {err[-3000:]}")
        return text.strip()

    def until(self, prefix: str) -> list[str]:
        """Read lines until one starts with `prefix`; that line split on spaces."""
        while True:
            text = self.line()
            if text.startswith(prefix):
                return text.split(" ")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def served_terminal() -> Iterator[tuple[SimulatedTerminal, int]]:
    terminal = sim_terminal()
    server = make_server(terminal, port=0)
    thread = threading.Thread(target=server.start, daemon=True)
    thread.start()
    try:
        yield terminal, server.port
    finally:
        server.close()


def run_child(url: str, server_port: int, terminal: SimulatedTerminal, scenario: str
              ) -> dict[str, object]:
    """Start an engine, let it recover, play the scenario up to its kill point, kill it."""
    child = Child(url, server_port, scenario)
    if scenario == "during_recovery":
        point = child.until("KILLPOINT")
        child.kill()
        return {"killed_in_recovery_at": point[1:]}
    ready = json.loads(" ".join(child.until("READY")[1:]))
    name, _, arg = scenario.partition(":")
    if name == "burst":
        while True:
            parts = child.until("UPDATE")
            if int(parts[1]) >= int(arg):
                break
    else:
        point = child.until("KILLPOINT")
        if point[1] == "accepted":
            terminal.faults.fill_order(int(point[3]), price=1.2)  # a fill nobody journals
    child.kill()
    return ready


async def test_sigkill_at_many_points_loses_no_fill_and_sends_nothing_twice(
    journal_url: str, served_terminal: tuple[SimulatedTerminal, int]
) -> None:
    terminal, server_port = served_terminal
    scenarios = ["before_send", "during_recovery", "after_send", "after_send_limit",
                 "fill_while_down", "cancel_sent", "unknown", "burst:3", "burst:11", "burst:23"]
    readies = []
    for scenario in scenarios:
        if scenario == "unknown":
            terminal.faults.drop_next_ack()
        readies.append(run_child(journal_url, server_port, terminal, scenario))
    # Each restart settled what the previous run left unanswered.
    assert readies[1] == {"killed_in_recovery_at": ["lookup", "A1.crash.0"]}
    assert readies[2]["resolved"] == ["A1.crash.0"]  # killed before the send, then in recovery
    assert readies[3]["resolved"] == ["A1.crash.1"]  # killed after the send
    assert readies[6]["confirmed"] == ["A1.crash.4"]  # cancel sent, answer never journaled
    assert readies[7]["resolved"] == ["A1.crash.5"]  # answer dropped, lookup never ran

    # Later starts restored the engine's snapshot that an earlier (killed) run stored.
    assert any(int(str(r.get("restored_from", 0))) > 0 for r in readies[2:])

    # The last restart, in this process, from the store the children left, then the
    # comparison; a second manager folds the whole journal from position 0.
    store = CheckpointStore.open(journal_url)
    async with await AsyncJournal.open(journal_url) as journal:
        broker = sim_broker(terminal)
        await broker.connect()
        manager = OrderManager(journal, OrderRouter.single(broker))
        last = await Recovery(manager, StatusListener(manager, store=store), store=store).run()
        from_zero = OrderManager(journal, OrderRouter.single(broker))
        await Recovery(from_zero, StatusListener(from_zero)).run()
        records = [r async for r in journal.read_all()]
    store.close()
    assert last.restored_from > 0
    assert engine_state_hash(manager) == engine_state_hash(from_zero)

    orders = manager.states.orders
    assert len(orders) >= 6 + 3 * 12 - 12  # every scenario placed its orders
    assert not [o for o in orders.values()
                if o.status in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)]

    # Nothing was sent twice: at most one broker order per client order id.
    broker_orders = {
        o.ticket: o for o in (*terminal.history_orders_get(0, FOREVER), *terminal.orders_get())
        if is_our_magic(o.magic)
    }
    per_comment = Counter(o.comment for o in broker_orders.values())
    assert per_comment and max(per_comment.values()) == 1
    assert set(per_comment) <= set(orders)
    # The order killed before its send never reached the broker and is settled as not found.
    assert "A1.crash.0" not in per_comment
    assert orders["A1.crash.0"].status is OrderStatus.REJECTED
    # No fill is lost and none is invented: terminal deals == journaled fills.
    deals = {d.ticket: d.volume for d in terminal.history_deals_get(0, FOREVER)
             if is_our_magic(d.magic)}
    fills = {r.payload["deal_ticket"]: r.payload["volume"] for r in records
             if r.type in ("order.filled", "order.partially_filled")}
    assert deals and fills == deals
    assert sum(o.filled_volume for o in orders.values()) == pytest.approx(sum(deals.values()))
    # Working orders at the broker are working in the journal, and vice versa.
    live = {o.comment for o in terminal.orders_get() if is_our_magic(o.magic)}
    working = {c for c, o in orders.items() if o.is_open}
    assert live == working
    # The engine's state equals a fresh rebuild from position 0.
    rebuilt = OrderStates()
    rebuilt.absorb(records)
    assert {c: o.to_dict() for c, o in rebuilt.orders.items()} == {
        c: o.to_dict() for c, o in orders.items()}
    assert not [o.anomalies for o in orders.values() if o.anomalies]
    # Projections restored from the snapshots the killed engines left, plus the tail, equal
    # a rebuild from position 0.
    store = CheckpointStore.open(journal_url)
    assert store.snapshot_positions("orders")  # the children did checkpoint
    async with await AsyncJournal.open(journal_url) as journal:
        resumed = Projector(journal, store, standard_set(default_mode=AccountMode.HEDGING))
        await resumed.start()
    store.close()
    fresh = standard_set(default_mode=AccountMode.HEDGING)
    fresh.apply_many(records)
    assert resumed.state_hashes() == fresh.state_hashes()
    assert all(not p.errors for p in fresh.projections)
    book = fresh.projections[0]
    assert {c: book.get(c).status for c in orders} == {c: o.status for c, o in orders.items()}
    assert os.path.exists(journal_url.removeprefix("sqlite:///"))



def test_the_kill_point_port_offers_every_method_of_the_broker_port() -> None:
    from oms.broker.port import BrokerPort
    from tests.engine.crash_child import KillPointPort

    wanted = {n for n in vars(BrokerPort) if not n.startswith("_")}
    assert {"modify_position", "close_by", "poll"} <= wanted
    assert wanted <= {n for n in vars(KillPointPort) if not n.startswith("_")}
