"""Engine fixtures: a migrated SQLite journal, an in-process simulated terminal, a ready engine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from journal import AsyncJournal, migrate
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter


def sim_terminal(margin_mode: str = "hedging") -> SimulatedTerminal:
    """A terminal whose clock starts at the wall clock, so broker lookups by date work."""
    return SimulatedTerminal(seed=1, margin_mode=margin_mode, start_msc=time.time_ns() // 10**6)


def sim_broker(terminal: SimulatedTerminal) -> Mt5Broker:
    """The MT5 adapter over the terminal, calls run inline (the simulator never waits)."""
    return Mt5Broker(
        InlineWorker(SameObject(terminal)), LoginArgs(),
        clock=lambda: terminal.market.time_msc / 1000,
    )


@dataclass
class Rig:
    """Everything one engine test needs."""

    journal: AsyncJournal
    terminal: SimulatedTerminal
    broker: Mt5Broker
    manager: OrderManager
    listener: StatusListener


@pytest.fixture
def journal_url(sqlite_url: str) -> str:
    """A migrated SQLite journal file."""
    migrate(sqlite_url)
    return sqlite_url


async def open_rig(url: str, terminal: SimulatedTerminal) -> Rig:
    """Open the journal, connect the adapter, recover; the manager is ready."""
    journal = await AsyncJournal.open(url)
    broker = sim_broker(terminal)
    await broker.connect()
    manager = OrderManager(journal, OrderRouter.single(broker))
    listener = StatusListener(manager)
    await Recovery(manager, listener).run()
    return Rig(journal, terminal, broker, manager, listener)


@pytest.fixture
async def rig(journal_url: str) -> AsyncIterator[Rig]:
    """A ready engine on a fresh journal and terminal."""
    made = await open_rig(journal_url, sim_terminal())
    try:
        yield made
    finally:
        await made.manager.drain()
        await made.journal.close()
