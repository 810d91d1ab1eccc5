"""Checkpointed projections: live folds equal rebuilds; restarts resume from snapshots."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from journal import AsyncJournal, NewEvent
from oms.domain.enums import AccountMode, OrderStatus
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery, RecoveryReport
from oms.engine.router import OrderRouter
from oms.projections import ProjectionError, standard_set
from oms.projections.store import CheckpointStore
from tests.engine.conftest import Rig


def projections() -> Any:
    return standard_set(default_mode=AccountMode.HEDGING)


async def random_session(rig: Rig, rng: random.Random, steps: int) -> None:
    """Orders, cancels, modifies, market moves, broker-side fills and faults, interleaved."""
    manager, terminal = rig.manager, rig.terminal
    for _ in range(steps):
        roll = rng.random()
        working = [o for o in manager.states.open_orders() if o.broker_order_id is not None
                   and o.order_type == "limit" and o.pending_cancel is None
                   and o.pending_modify is None]
        side = rng.choice(("buy", "sell"))
        tick = terminal.symbol_info_tick("EURUSD")
        if roll < 0.05:
            terminal.faults.reject_next(rng.choice((10004, 10019)))
        elif roll < 0.08:
            terminal.faults.drop_next_ack()
        if roll < 0.35:
            await manager.place({"account": "A1", "strategy": "rnd", "symbol": "EURUSD",
                                 "side": side, "order_type": "market",
                                 "volume": rng.choice((0.1, 0.2, 0.3))})
        elif roll < 0.6:
            offset = rng.randint(1, 30) * 1e-5
            price = round(tick.bid - offset if side == "buy" else tick.ask + offset, 5)
            await manager.place({"account": "A1", "strategy": "rnd", "symbol": "EURUSD",
                                 "side": side, "order_type": "limit", "price": price,
                                 "volume": rng.choice((0.1, 0.2)), "filling": "return"})
        elif roll < 0.68 and working:
            await manager.cancel({"client_order_id": rng.choice(working).client_order_id})
        elif roll < 0.74 and working:
            order = rng.choice(working)
            step = 1e-5 if order.side == "buy" else -1e-5
            await manager.modify({"client_order_id": order.client_order_id,
                                  "price": round(order.price - 5 * step, 5)})
        elif roll < 0.82 and working:
            order = rng.choice(working)
            if order.broker_order_id in {o.ticket for o in terminal.orders_get()}:
                terminal.faults.fill_order(order.broker_order_id, volume=0.1)
        elif roll < 0.92:
            terminal.market.step(rng.randint(1, 20))
        else:
            await rig.listener.poll_once()
        if rng.random() < 0.2:
            await manager.drain()
    await manager.drain()
    while (await rig.listener.poll_once()).events_planned:
        pass
    await manager.drain()


async def test_live_projections_equal_a_rebuild_and_restart_from_snapshots(
    rig: Rig, journal_url: str
) -> None:
    store = CheckpointStore.open(journal_url)
    projector = Projector(rig.journal, store, projections(), snapshot_every=60)
    await projector.start()
    following = asyncio.create_task(projector.run(interval_s=0.01))
    await random_session(rig, random.Random(7), steps=400)
    projector.stop()
    await asyncio.wait_for(following, 10)
    await projector.catch_up()
    await projector.save()

    records = [r async for r in rig.journal.read_all()]
    assert len(records) > 600
    assert {r.type for r in records} >= {
        "order.submitted", "order.accepted", "order.filled", "order.partially_filled",
        "order.canceled", "order.rejected", "order.outcome_unknown", "order.outcome_resolved",
        "order.modified",
    }
    rebuilt = projections()
    rebuilt.apply_many(records)
    assert projector.state_hashes() == rebuilt.state_hashes()
    assert all(not p.errors for p in rebuilt.projections)
    book = rebuilt.projections[0]
    assert {c: book.get(c).status for c in rig.manager.states.orders} == {
        c: o.status for c, o in rig.manager.states.orders.items()}
    assert not [o for o in rig.manager.states.orders.values()
                if o.status in (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)]

    # Progress and snapshots are in the tables; a restart resumes from them.
    positions = store.snapshot_positions("orders")
    assert 1 <= len(positions) <= 3
    assert store.checkpoint("orders").position == records[-1].position
    restarted = Projector(rig.journal, store, projections(), snapshot_every=60)
    tail = await restarted.start()
    assert tail == records[-1].position - positions[-1]
    assert restarted.state_hashes() == rebuilt.state_hashes()
    # A stored snapshot equals the point-in-time build at its position.
    stored = store.latest_snapshot("orders", at_or_below=positions[0])
    point = projections()
    point.apply_many([r for r in records if r.position <= positions[0]])
    assert stored.state_hash == point.state_hashes()["orders"]
    store.close()


async def test_a_snapshot_of_another_configuration_is_ignored(rig: Rig, journal_url: str) -> None:
    store = CheckpointStore.open(journal_url)
    await random_session(rig, random.Random(3), steps=30)
    first = Projector(rig.journal, store, projections(), snapshot_every=1)
    await first.start()
    netting = standard_set(default_mode=AccountMode.NETTING)
    second = Projector(rig.journal, store, netting)
    await second.start()
    rebuilt = standard_set(default_mode=AccountMode.NETTING)
    rebuilt.apply_many([r async for r in rig.journal.read_all()])
    assert second.state_hashes() == rebuilt.state_hashes()
    store.close()


async def test_recovery_folds_the_projections_from_the_same_read(
    rig: Rig, journal_url: str
) -> None:
    store = CheckpointStore.open(journal_url)
    await random_session(rig, random.Random(5), steps=120)
    early = Projector(rig.journal, store, projections(), snapshot_every=1)
    early.projections.apply_many([r async for r in rig.journal.read_all()][:150])
    await early.save()  # snapshots at 150; the journal goes on past them
    records = [r async for r in rig.journal.read_all()]
    assert len(records) > 200
    reads: list[int] = []
    batches = rig.journal.journal.batches

    def counted(from_position: int = 0, limit: int | None = None) -> Any:
        reads.append(from_position)
        return batches(from_position, limit)

    rig.journal.journal.batches = counted  # type: ignore[method-assign]
    projector = Projector(rig.journal, store, projections())
    await projector.restore()
    manager = OrderManager(rig.journal, OrderRouter({}, []))
    report = RecoveryReport()
    await Recovery(manager, StatusListener(manager), projector=projector).replay(report)
    assert reads == [0]
    assert report.replayed == len(records)
    rebuilt = projections()
    rebuilt.apply_many(records)
    assert projector.state_hashes() == rebuilt.state_hashes()
    assert store.checkpoint("orders").position == records[-1].position
    assert {c: o.to_row() for c, o in manager.states.orders.items()} == {
        c: o.to_row() for c, o in rig.manager.states.orders.items()}
    store.close()


def test_the_store_names_the_fix_when_tables_are_missing(sqlite_url: str) -> None:
    import sqlite3

    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()
    with pytest.raises(ProjectionError, match="oms init"):
        CheckpointStore.open(sqlite_url)


async def test_read_batches_hand_out_the_journal_in_read_sized_lists(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=4) as journal:
        assert [b async for b in journal.read_batches(0)] == []
        for n in range(11):
            await journal.append(f"s-{n % 3}", [NewEvent("t", {"n": n})])
        every = [r async for r in journal.read_all()]
        batches = [b async for b in journal.read_batches(2)]
        assert [len(b) for b in batches] == [4, 4, 1]
        assert [r for b in batches for r in b] == every[2:]
        assert [b async for b in journal.read_batches(11)] == []
        async for batch in journal.read_batches(0):  # stopping early leaves it usable
            assert batch == every[:4]
            break
        assert [r async for r in journal.read_all(9)] == every[9:]
