"""The assembled engine: recovery, polling and checkpointed projections started and stopped."""

from __future__ import annotations

from journal import AsyncJournal
from oms.domain.enums import AccountMode
from oms.engine.app import Engine
from oms.engine.errors import NotReadyError
from oms.engine.router import OrderRouter
from oms.engine.snapshot import ENGINE_STATE, engine_state_hash
from oms.projections import standard_set
from oms.projections.store import CheckpointStore
from tests.engine.conftest import sim_broker, sim_terminal
from tests.engine.test_manager import limit, market, next_kind


async def test_engine_trades_polls_and_checkpoints_then_restarts(journal_url: str) -> None:
    import pytest

    terminal = sim_terminal()
    broker = sim_broker(terminal)
    store = CheckpointStore.open(journal_url)
    async with await AsyncJournal.open(journal_url) as journal:
        engine = Engine(journal, OrderRouter.single(broker), store=store,
                        projections=standard_set(default_mode=AccountMode.HEDGING),
                        poll_interval_s=0.01)
        with pytest.raises(NotReadyError):
            await engine.manager.place(market())
        async with engine:
            updates = engine.manager.subscribe()
            await engine.manager.place(market())
            await next_kind(updates, "order.filled")
            await engine.manager.place(limit(1.0))
            ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
            terminal.faults.fill_order(ticket, price=1.0)
            await next_kind(updates, "order.filled")  # found by the running listener
        hashes = engine.projector.state_hashes()
        engine_hash = engine_state_hash(engine.manager)
        head = (await journal.head()).position
        assert store.checkpoint("orders").position == head
        assert store.snapshot_positions(ENGINE_STATE) == [head]
        again = Engine(journal, OrderRouter.single(broker), store=store,
                       projections=standard_set(default_mode=AccountMode.HEDGING))
        async with again:
            assert again.projector.state_hashes() == hashes
            # The engine's state came from its snapshot: nothing of the journal was folded.
            assert (again.report.restored_from, again.report.replayed) == (head, 0)
            assert engine_state_hash(again.manager) == engine_hash
            assert await again.manager.place(market()) == "A1.mm.2"
    store.close()
