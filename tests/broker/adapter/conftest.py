"""A simulated terminal and the adapter over it, on a worker thread as in paper trading."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.port import PlaceOrder
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import SameObject, ThreadWorker
from oms.domain.enums import OrderType, Side


class Instrumented:
    """The simulator seen through a counting, optionally gated, pass-through.

    Counts the calls and the records each call returned; `gate` makes order_send wait until
    the test opens it, so a slow broker call can be held in progress without timing.
    """

    def __init__(self, terminal: SimulatedTerminal) -> None:
        self.terminal = terminal
        self.calls: Counter[str] = Counter()
        self.returned: Counter[str] = Counter()
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.terminal, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if name == "order_send" and self.gate is not None:
                self.entered.set()
                if not self.gate.wait(10):
                    raise TimeoutError("the test never opened the gate")
            result = target(*args, **kwargs)
            if isinstance(result, tuple) and result and isinstance(result[0], tuple):
                self.returned[name] += len(result)
            return result

        return call


@pytest.fixture
def sim() -> SimulatedTerminal:
    """A fresh hedging account on the seeded synthetic market."""
    return SimulatedTerminal(seed=1, margin_mode="hedging")


@pytest.fixture
def terminal(sim: SimulatedTerminal) -> Instrumented:
    """The simulator behind a counting pass-through."""
    return Instrumented(sim)


@pytest.fixture
async def broker(terminal: Instrumented) -> AsyncIterator[Mt5Broker]:
    """The adapter, connected, over the simulator on a worker thread."""
    adapter = Mt5Broker(
        ThreadWorker(SameObject(terminal)),
        policy=AdapterPolicy(call_timeout_s=20, reconnect_delays_s=(0.0, 0.0)),
    )
    await adapter.connect()
    yield adapter
    await adapter.close()


def market(
    client_id: str = "O-1", side: Side = Side.BUY, volume: str = "0.10", **kw: Any
) -> PlaceOrder:
    """A market order for EURUSD under magic 7."""
    return PlaceOrder(
        client_id=client_id,
        magic=7,
        symbol="EURUSD",
        side=side,
        kind=OrderType.MARKET,
        volume=float(volume),
        **kw,
    )


def limit(client_id: str, price: float, side: Side = Side.BUY, **kw: Any) -> PlaceOrder:
    """A resting limit order for EURUSD under magic 7."""
    return PlaceOrder(
        client_id=client_id,
        magic=7,
        symbol="EURUSD",
        side=side,
        kind=OrderType.LIMIT,
        volume=0.10,
        price=price,
        **kw,
    )
