"""Restarts read only tails: the engine's state from its snapshot, the broker from its watermark."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from journal import AsyncJournal, Journal
from journal.errors import JournalError
from oms.broker.sim import SimulatedTerminal
from oms.domain.enums import AccountMode, OrderStatus
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery, RecoveryReport
from oms.engine.router import OrderRouter
from oms.engine.snapshot import ENGINE_STATE, engine_state_hash, refresh_engine_snapshot
from oms.projections import standard_set
from oms.projections.store import UNHASHED, WATERMARKS, CheckpointStore
from tests.engine.conftest import Rig, sim_broker, sim_terminal
from tests.engine.test_manager import limit, market
from tests.engine.test_projector import random_session


@contextmanager
def counting_reads(journal: AsyncJournal) -> Iterator[list[int]]:
    """Count the records the journal hands out through `read_batch`, `batches` and
    `column_batches` inside."""
    inner: Journal = journal.journal
    original_batch, original_batches = inner.read_batch, inner.batches
    original_columns = inner.column_batches
    counted = [0]

    def read_batch(from_position: int, limit: int) -> Any:
        batch = original_batch(from_position, limit)
        counted[0] += len(batch)
        return batch

    def batches(from_position: int = 0, limit: int | None = None) -> Iterator[Any]:
        for events, pending in original_batches(from_position, limit):
            counted[0] += len(events)
            yield events, pending

    def column_batches(from_position: int = 0, limit: int | None = None) -> Iterator[Any]:
        for columns, pending in original_columns(from_position, limit):
            counted[0] += len(columns)
            yield columns, pending

    inner.read_batch = read_batch  # type: ignore[method-assign]
    inner.batches = batches  # type: ignore[method-assign]
    inner.column_batches = column_batches  # type: ignore[method-assign]
    try:
        yield counted
    finally:
        del inner.read_batch, inner.batches, inner.column_batches


async def start(
    journal: AsyncJournal, terminal: SimulatedTerminal, store: CheckpointStore | None
) -> tuple[Rig, RecoveryReport]:
    """A fresh adapter and manager over the journal, recovered (with the store, if given)."""
    broker = sim_broker(terminal)
    await broker.connect()
    manager = OrderManager(journal, OrderRouter.single(broker))
    listener = StatusListener(manager, store=store)
    report = await Recovery(manager, listener, store=store).run()
    return Rig(journal, terminal, broker, manager, listener), report


async def test_a_restart_folds_the_snapshot_and_the_tail_into_the_state_of_a_full_fold(
    journal_url: str,
) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal()
    async with await AsyncJournal.open(journal_url) as journal:
        rig, _ = await start(journal, terminal, store)
        projector = Projector(journal, store, standard_set(default_mode=AccountMode.HEDGING))
        await projector.start()
        await random_session(rig, random.Random(11), steps=150)
        await rig.manager.engage_kill_switch("test", "ops", account="A9")
        snapped = await refresh_engine_snapshot(journal, store)
        await projector.catch_up()
        await projector.save(force_snapshot=True)
        assert snapped is not None and snapped == projector.position
        await random_session(rig, random.Random(12), steps=80)
        head = (await journal.head()).position
        assert head - snapped > 50

        with counting_reads(journal) as read:
            restarted, report = await start(journal, terminal, store)
            tail = await (projector_again := Projector(
                journal, store, standard_set(default_mode=AccountMode.HEDGING))).start()
        assert report.restored_from == snapped
        assert report.replayed == head - snapped == tail
        assert read[0] == 2 * (head - snapped)  # the engine's tail and the projections' tail

        rebuilt, full = await start(journal, terminal, None)
        assert (full.restored_from, full.replayed) == (0, head)
        # Snapshot + tail, a fold from 0 and the live state all agree.
        assert engine_state_hash(restarted.manager) == engine_state_hash(rebuilt.manager)
        assert engine_state_hash(restarted.manager) == engine_state_hash(rig.manager)
        from_zero = standard_set(default_mode=AccountMode.HEDGING)
        from_zero.apply_many([r async for r in journal.read_all()])
        assert projector_again.state_hashes() == from_zero.state_hashes()
        # The restored state keeps working: the kill switch still holds, the sequence continues.
        assert restarted.manager.states.next_sequence("A1", "rnd") == (
            rebuilt.manager.states.next_sequence("A1", "rnd"))
        denied = await restarted.manager.place({**market(), "account": "A9"})
        assert restarted.manager.states.orders[denied].status is OrderStatus.DENIED
    store.close()


async def test_a_snapshot_includes_what_another_writer_journaled(journal_url: str) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal()
    async with await AsyncJournal.open(journal_url) as journal:
        live, _ = await start(journal, terminal, store)
        await live.manager.place(market())
        await live.manager.drain()
        other = OrderManager(journal, OrderRouter.single(live.broker))  # another process
        await other.engage_kill_switch("halt", "ops", account="A1")
        await live.manager.place(limit(1.0))  # the live manager never saw the kill switch
        await live.manager.drain()
        head = (await journal.head()).position
        assert await refresh_engine_snapshot(journal, store) == head
        restarted, report = await start(journal, terminal, store)
        rebuilt, _ = await start(journal, terminal, None)
        assert (report.restored_from, report.replayed) == (head, 0)
        assert engine_state_hash(restarted.manager) == engine_state_hash(rebuilt.manager)
        assert engine_state_hash(restarted.manager) != engine_state_hash(live.manager)
        denied = await restarted.manager.place(market())
        assert restarted.manager.states.orders[denied].status is OrderStatus.DENIED
    store.close()


async def test_an_unusable_engine_snapshot_means_a_fold_from_zero(journal_url: str) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal()
    async with await AsyncJournal.open(journal_url) as journal:
        rig, _ = await start(journal, terminal, store)
        await rig.manager.place(market())
        await rig.manager.drain()
        head = (await journal.head()).position
        store.save_snapshot(ENGINE_STATE, {"projection": ENGINE_STATE, "format": 99,
                                           "position": head}, "0" * 64)
        again, report = await start(journal, terminal, store)
        assert (report.restored_from, report.replayed) == (0, head)
        assert engine_state_hash(again.manager) == engine_state_hash(rig.manager)
        store.save_snapshot(ENGINE_STATE, {"projection": ENGINE_STATE, "format": 1,
                                           "position": head + 1, "orders": [[1]]}, "0" * 64)
        third, report = await start(journal, terminal, store)
        assert (report.restored_from, report.replayed) == (0, head)
        assert engine_state_hash(third.manager) == engine_state_hash(rig.manager)
    store.close()


async def test_a_restarted_listener_reads_the_history_after_its_watermark(
    journal_url: str,
) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal("netting")
    old_orders = 20
    async with await AsyncJournal.open(journal_url) as journal:
        first, _ = await start(journal, terminal, store)
        for _ in range(old_orders):
            await first.manager.place(market())
        await first.manager.drain()
        await first.listener.poll_once()
        terminal.market.advance(600)  # ten minutes: the old fills fall outside the overlap
        await first.manager.place(market())
        resting = await first.manager.place(limit(1.0))
        await first.manager.drain()
        await first.listener.poll_once()
        saved = store.watermark(StatusListener.watermark_name("default"))
        assert saved is not None and saved["deals_from_msc"] >= terminal.market.time_msc - 1
        ticket = first.manager.states.orders[resting].broker_order_id
        assert ticket is not None and saved["open_tickets"] == [ticket]
        # While the engine is down the resting order fills.
        terminal.market.advance(5)
        deal = terminal.faults.fill_order(ticket, price=1.0)

        second, report = await start(journal, terminal, store)
        assert second.manager.states.orders[resting].status is OrderStatus.FILLED
        assert second.manager.states.orders[resting].deal_tickets == (deal,)
        head = (await journal.head()).position

        assert report.polled_events == 1

        # One more restart with nothing new at the broker: a single poll from the watermark,
        # against the same poll without one, which reads the whole history back.
        _, resumed = await start(journal, terminal, store)
        _, unsaved = await start(journal, terminal, None)
        assert resumed.polled_events == unsaved.polled_events == 0
        assert (await journal.head()).position == head
        old_history = 2 * old_orders  # a deal and a finished order each
        assert resumed.polled_records <= unsaved.polled_records - old_history
    store.close()


async def test_progress_marks_skip_the_hash_and_snapshots_carry_it(journal_url: str) -> None:
    store = CheckpointStore.open(journal_url)
    async with await AsyncJournal.open(journal_url) as journal:
        rig, _ = await start(journal, sim_terminal(), store)
        projector = Projector(journal, store, standard_set(default_mode=AccountMode.HEDGING),
                              snapshot_every=10**6)
        await rig.manager.place(market())
        await rig.manager.drain()
        folded = await projector.catch_up()
        head = (await journal.head()).position
        assert folded == head
        mark = store.checkpoint("orders")
        assert mark is not None and (mark.position, mark.state_hash) == (head, UNHASHED)
        assert store.snapshot_positions("orders") == []
        await projector.save(force_snapshot=True)
        mark = store.checkpoint("orders")
        assert mark is not None and mark.state_hash == projector.state_hashes()["orders"]
    store.close()


def test_an_unreadable_watermark_is_ignored_and_the_history_read_in_full(
    journal_url: str,
) -> None:
    from oms.broker.port import HistoryCursor
    from oms.engine.listener import resume_point, watermark_body
    from oms.projections import ProjectionError

    store = CheckpointStore.open(journal_url)
    body = watermark_body(HistoryCursor(90_000, 80_000, frozenset({1}), frozenset()),
                          frozenset({7, 3}))
    store.save_watermark("listener.x", body)
    assert store.watermark("listener.x") == {**body, "open_tickets": [3, 7]}
    cursor, tickets = resume_point(body, 60_000)
    assert (cursor.deals_from_msc, cursor.orders_from_msc, tickets) == (
        30_000, 20_000, frozenset({3, 7}))
    assert cursor.seen_deals == frozenset()  # the overlap is read again, not filtered
    for bad in ({**body, "format": 2}, {**body, "deals_from_msc": "soon"}):
        with pytest.raises(ValueError, match="watermark"):
            resume_point(bad, 0)
    with store.engine.begin() as conn:
        conn.execute(WATERMARKS.update().values(body=b"{not json"))
    with pytest.raises(ProjectionError, match=r"listener\.x watermark is unreadable"):
        store.watermark("listener.x")
    store.close()


async def test_a_listener_with_a_corrupt_watermark_reads_all_history(journal_url: str) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal("netting")
    async with await AsyncJournal.open(journal_url) as journal:
        first, _ = await start(journal, terminal, store)
        for _ in range(5):
            await first.manager.place(market())
        await first.manager.drain()
        with store.engine.begin() as conn:
            conn.execute(WATERMARKS.update().values(body=b"[]"))
        _, corrupt = await start(journal, terminal, store)
        _, unsaved = await start(journal, terminal, None)
        assert corrupt.polled_records == unsaved.polled_records >= 10
    store.close()


async def test_the_watermark_never_moves_past_events_that_were_not_journaled(
    journal_url: str,
) -> None:
    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal()
    journal = await AsyncJournal.open(journal_url)
    rig, _ = await start(journal, terminal, store)
    coid = await rig.manager.place(limit(1.0))
    await rig.manager.drain()
    await rig.listener.poll_once()
    name = StatusListener.watermark_name("default")
    before = store.watermark(name)
    ticket = rig.manager.states.orders[coid].broker_order_id
    assert before is not None and ticket is not None
    terminal.market.advance(30)
    terminal.faults.fill_order(ticket, price=1.0)
    await journal.close()  # the fill cannot be journaled now
    with pytest.raises(JournalError, match="closed"):
        await rig.listener.poll_once()
    assert store.watermark(name) == before
    async with await AsyncJournal.open(journal_url) as reopened:
        again, report = await start(reopened, terminal, store)
        assert report.polled_events == 1
        assert again.manager.states.orders[coid].status is OrderStatus.FILLED
        assert store.watermark(name) != before
    store.close()


async def test_a_running_engine_refreshes_its_snapshot_once_the_tail_is_long_enough(
    journal_url: str,
) -> None:
    from oms.engine.app import Engine

    store = CheckpointStore.open(journal_url)
    terminal = sim_terminal()
    broker = sim_broker(terminal)
    async with await AsyncJournal.open(journal_url) as journal:
        engine = Engine(journal, OrderRouter.single(broker), store=store, snapshot_every=6,
                        engine_snapshot_interval_s=3600)
        async with engine:
            await engine.manager.place(market())
            await engine.manager.drain()
            assert await engine.snapshot_engine_state() is None  # 3 events: not due
            await engine.manager.place(market())
            await engine.manager.drain()
            head = (await journal.head()).position
            assert await engine.snapshot_engine_state() == head == 6
            assert store.snapshot_positions(ENGINE_STATE) == [6]
            await engine.manager.place(market())
            await engine.manager.drain()
        assert store.snapshot_positions(ENGINE_STATE) == [6, 9]  # and one on leaving
        again, report = await start(journal, terminal, store)
        assert (report.restored_from, report.replayed) == (9, 0)
        assert engine_state_hash(again.manager) == engine_state_hash(engine.manager)
    store.close()
