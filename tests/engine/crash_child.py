"""The engine as a child process for the crash tests: recovers, trades, and stops at a kill point.

Run as `python -m tests.engine.crash_child URL PORT SCENARIO`. It talks to the simulated
terminal the test process serves over RPyC (through the mt5linux client), follows the
journal with checkpointed projections (a snapshot every 5 events), keeps the listener's
watermark and the engine's snapshot in the same store (so each restart folds only a tail
and polls from where the last process left off), writes
`READY <json>` once recovery is done, then plays the scenario. At the scenario's kill point
it writes `KILLPOINT <name> <details>` and waits forever for the SIGKILL; `UPDATE <n> ...`
lines let the test kill in the middle of a burst.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from journal import AsyncJournal
from oms.broker import port
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import LoginArgs
from oms.broker.worker import Mt5LinuxClient, ThreadWorker
from oms.domain.enums import AccountMode
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery
from oms.engine.router import OrderRouter
from oms.projections import standard_set
from oms.projections.store import CheckpointStore


def say(*parts: object) -> None:
    print(*parts, flush=True)


async def hold(name: str, *details: object) -> None:
    say("KILLPOINT", name, *details)
    await asyncio.Future()  # never resolves: the test kills this process here


class KillPointPort:
    """The adapter, with a pause at one armed point: before/after a send, a cancel, a lookup."""

    def __init__(self, inner: Mt5Broker) -> None:
        self.inner = inner
        self.armed: str | None = None

    @property
    def state(self) -> port.ConnectionState:
        return self.inner.state

    async def connect(self) -> port.ConnectionState:
        return await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def place(self, order: port.PlaceOrder) -> port.SendOutcome:
        if self.armed == "before_send":
            await hold("before_send", order.client_id)
        outcome = await self.inner.place(order)
        if self.armed == "after_send":
            await hold("after_send", order.client_id, outcome.status.value)
        return outcome

    async def modify(self, change: port.ModifyOrder) -> port.SendOutcome:
        return await self.inner.modify(change)

    async def cancel(self, cancel: port.CancelOrder) -> port.SendOutcome:
        outcome = await self.inner.cancel(cancel)
        if self.armed == "after_cancel":
            await hold("after_cancel", cancel.client_id, outcome.status.value)
        return outcome

    async def modify_position(self, change: port.ModifyPosition) -> port.SendOutcome:
        return await self.inner.modify_position(change)

    async def close_by(self, close: port.CloseBy) -> port.SendOutcome:
        return await self.inner.close_by(close)

    async def lookup(self, query: port.OrderQuery) -> port.SendOutcome:
        if self.armed == "lookup":
            await hold("lookup", query.client_id)
        return await self.inner.lookup(query)

    async def confirm_modify(self, change: port.ModifyOrder) -> port.SendOutcome:
        return await self.inner.confirm_modify(change)

    async def confirm_cancel(self, cancel: port.CancelOrder) -> port.SendOutcome:
        return await self.inner.confirm_cancel(cancel)

    async def poll(self) -> port.BrokerChanges:
        return await self.inner.poll()

    @property
    def cursor(self) -> port.HistoryCursor:
        return self.inner.cursor

    def resume_from(self, cursor: port.HistoryCursor, open_tickets: frozenset[int]) -> None:
        self.inner.resume_from(cursor, open_tickets)


def order(kind: str, side: str = "buy", volume: float = 0.1, price: float | None = None
          ) -> dict[str, Any]:
    cmd: dict[str, Any] = {"account": "A1", "strategy": "crash", "symbol": "EURUSD",
                           "side": side, "order_type": kind, "volume": volume}
    if kind == "limit":
        cmd.update(price=price, filling="return")
    return cmd


async def wait_for(sub: Any, kind: str, coid: str) -> Any:
    while True:
        update = await sub.next(timeout=30)
        if update.kind == kind and update.client_order_id == coid:
            return update


async def main(url: str, server_port: int, scenario: str) -> None:
    journal = await AsyncJournal.open(url)
    inner = Mt5Broker(ThreadWorker(Mt5LinuxClient("127.0.0.1", server_port, 10.0)),
                      LoginArgs(), rebuild_on_reconnect=True)
    broker = KillPointPort(inner)
    manager = OrderManager(journal, OrderRouter.single(broker))
    store = CheckpointStore.open(url)
    listener = StatusListener(manager, store=store)
    projector = Projector(journal, store, standard_set(default_mode=AccountMode.HEDGING),
                          snapshot_every=5)
    await projector.start()
    asyncio.get_running_loop().create_task(projector.run(interval_s=0.01))
    if scenario == "during_recovery":
        broker.armed = "lookup"  # die while recovery looks an unanswered order up
    report = await Recovery(manager, listener, store=store, snapshot_every=5).run()
    say("READY", json.dumps({"replayed": report.replayed, "restored_from": report.restored_from,
                             "resolved": report.resolved,
                             "confirmed": report.confirmed, "polled": report.polled_events}))
    sub = manager.subscribe()
    name = scenario.partition(":")[0]
    if name in ("before_send", "after_send"):
        broker.armed = name
        await manager.place(order("market"))
    elif name == "after_send_limit":
        broker.armed = "after_send"
        await manager.place(order("limit", price=1.0))
    elif name == "fill_while_down":
        coid = await manager.place(order("limit", side="sell", price=1.2))
        accepted = await wait_for(sub, "order.accepted", coid)
        await hold("accepted", coid, accepted.detail["broker_order_id"])
    elif name == "cancel_sent":
        coid = await manager.place(order("limit", price=1.0))
        await wait_for(sub, "order.accepted", coid)
        broker.armed = "after_cancel"
        await manager.cancel({"client_order_id": coid})
    elif name == "unknown":
        broker.armed = "lookup"
        await manager.place(order("market"))  # the test dropped this send's answer
    elif name == "burst":
        count = 0
        placed = []
        for i in range(12):
            kind = ("market", "limit", "market", "limit")[i % 4]
            side = "buy" if i % 3 else "sell"
            price = (1.0 if side == "buy" else 1.2) if kind == "limit" else None
            placed.append(await manager.place(order(kind, side, (1 + i % 3) / 10, price)))
        while True:
            update = await sub.next(timeout=30)
            count += 1
            say("UPDATE", count, update.kind, update.client_order_id)
            if update.kind == "order.accepted" and update.client_order_id in placed[1::4]:
                await manager.cancel({"client_order_id": update.client_order_id})
    say("DONE")
    await manager.drain()
    await journal.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
