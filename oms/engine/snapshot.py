"""The engine's working state as a snapshot, so a restart folds only the journal's tail.

The snapshot holds the manager's order states (orders, stream versions, tickets, net
exposure, client order id sequences) and the engaged kill switches, at the journal position
they cover. It is stored in the checkpoint store under `ENGINE_STATE`, beside the
projections' snapshots, and is derived data: a missing or unusable one means a fold from 0.

A snapshot must equal the fold of the journal up to its position. A manager's live state
need not: another process may have appended to the journal, or two appends may have been
absorbed out of position order. So a live manager is snapshotted only right after it
folded the journal (`Recovery`); later snapshots come from `refresh_engine_snapshot`, which
folds the journal's tail onto the newest snapshot in a scratch manager.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from journal import AsyncJournal, RecordedEvent
from oms.engine.errors import EngineError
from oms.engine.eventlog import EventLog
from oms.engine.manager import OrderManager
from oms.engine.router import OrderRouter
from oms.projections.base import canonical_json, gc_paused
from oms.projections.store import CheckpointStore

ENGINE_STATE = "engine.orders"
FORMAT = 1


class EngineSnapshotError(EngineError):
    """A stored engine snapshot that this code cannot restore."""


def _kill_scopes(manager: OrderManager) -> list[str | None]:
    scopes: set[str | None] = manager._kill  # the manager's own fold of the risk streams
    return sorted(scopes, key=lambda s: (s is not None, s or ""))


def engine_snapshot(manager: OrderManager) -> dict[str, Any] | None:
    """The state as JSON-ready data; None while a record waits for its predecessor."""
    states = manager.states
    if not states.settled:
        return None
    return {"projection": ENGINE_STATE, "format": FORMAT, "kill": _kill_scopes(manager),
            **states.to_snapshot()}


def engine_state_hash(manager: OrderManager) -> str:
    """sha256 of the canonical snapshot: equal iff two folds agree (position included)."""
    body = {"kill": _kill_scopes(manager), **manager.states.to_snapshot()}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def restore_engine(manager: OrderManager, snapshot: dict[str, Any]) -> None:
    """Put a snapshot back into a manager that has folded nothing yet."""
    if manager.states.position or manager.states.orders:
        raise EngineSnapshotError("a snapshot is restored only into an empty order state")
    if snapshot.get("projection") != ENGINE_STATE or snapshot.get("format") != FORMAT:
        raise EngineSnapshotError(
            f"snapshot is {snapshot.get('projection')!r} format {snapshot.get('format')!r}, "
            f"not {ENGINE_STATE!r} format {FORMAT}"
        )
    try:
        kill = {None if s is None else str(s) for s in snapshot["kill"]}
        manager.states.restore(snapshot)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise EngineSnapshotError(f"the engine snapshot is malformed: {exc!r}") from exc
    manager._kill.clear()
    manager._kill.update(kill)


async def save_engine_state(
    manager: OrderManager, store: CheckpointStore, keep: int = 3
) -> int | None:
    """Store a snapshot of a manager that has just folded the journal; its position.

    None when a record still waits for its predecessor. Only for a manager whose state is
    a fold of the journal (right after `Recovery` folded it); otherwise use
    `refresh_engine_snapshot`.
    """
    return await asyncio.to_thread(_store_snapshot, manager, store, keep)


async def load_engine_state(
    manager: OrderManager, store: CheckpointStore, log: EventLog | None = None
) -> int:
    """Restore the newest engine snapshot; the position it covers (0: fold from the start)."""
    stored = await asyncio.to_thread(store.latest_snapshot, ENGINE_STATE)
    if stored is None:
        return 0
    try:
        restore_engine(manager, stored.snapshot)
    except EngineSnapshotError as exc:
        (log or manager.log).warning("engine snapshot ignored; folding from position 0",
                                     position=stored.position, reason=str(exc))
        return 0
    return manager.states.position


class _QuietLog(EventLog):
    """The scratch fold's log: errors still go out, replayed events do not (again)."""

    def event(self, record: RecordedEvent) -> None:
        """Nothing: these events were logged when they were journaled."""


async def refresh_engine_snapshot(
    journal: AsyncJournal,
    store: CheckpointStore,
    *,
    min_tail: int = 1,
    keep: int = 3,
    batch: int = 2_000,
) -> int | None:
    """Fold the journal after the newest engine snapshot into a new one; its position.

    Nothing is stored (None) when the tail is shorter than `min_tail`. The fold goes in
    small batches with a turn of the loop between them, and the snapshot is encoded and
    stored on a worker thread, so a running engine keeps serving while it is refreshed.
    """
    scratch = OrderManager(journal, OrderRouter({}, []), log=_QuietLog())
    start = await load_engine_state(scratch, store)
    with gc_paused():
        async for records in _small_batches(journal, scratch.states.position, batch):
            scratch.absorb(records)
            await asyncio.sleep(0)
    if scratch.states.position - start < max(1, min_tail):
        return None
    return await asyncio.to_thread(_store_snapshot, scratch, store, keep)


def _store_snapshot(manager: OrderManager, store: CheckpointStore, keep: int) -> int | None:
    snapshot = engine_snapshot(manager)
    if snapshot is None or snapshot["position"] == 0:
        return None
    digest = hashlib.sha256(canonical_json(snapshot)).hexdigest()
    store.save_snapshot(ENGINE_STATE, snapshot, digest)
    store.prune(ENGINE_STATE, keep)
    return int(snapshot["position"])


async def _small_batches(
    journal: AsyncJournal, from_position: int, size: int
) -> AsyncIterator[list[RecordedEvent]]:
    """The journal after `from_position` in batches of `size`, each read on a worker thread:
    small batches let a refresh yield the loop often, unlike the journal's bulk read."""
    read = journal.journal.read_batch
    position = from_position
    while True:
        batch = await asyncio.to_thread(read, position, size)
        if batch:
            yield batch
        if len(batch) < size:
            return
        position = batch[-1].position
