"""Live projections with checkpoints: start from the latest snapshot, fold the tail, keep up.

Start-up restores each projection from its newest snapshot (a snapshot taken with another
configuration or format is ignored and that projection rebuilds from position 0), then
folds the journal from the lowest restored position; `ProjectionSet` skips what a member has
seen already. While following, the applied position is recorded after every round and a
snapshot (with its state hash) is stored every `snapshot_every` events.
"""

from __future__ import annotations

import asyncio
import contextlib

from journal import AsyncJournal
from oms.engine.eventlog import EventLog
from oms.projections import ProjectionError, ProjectionSet
from oms.projections.base import gc_paused
from oms.projections.store import UNHASHED, CheckpointStore


class Projector:
    """Keeps a set of projections folded up to the journal's head, with durable progress."""

    def __init__(
        self,
        journal: AsyncJournal,
        store: CheckpointStore,
        projections: ProjectionSet,
        *,
        snapshot_every: int = 100_000,
        keep_snapshots: int = 3,
        log: EventLog | None = None,
    ) -> None:
        if snapshot_every < 1:
            raise ProjectionError(f"snapshot_every must be positive, got {snapshot_every}")
        self.journal = journal
        self.store = store
        self.projections = projections
        self.snapshot_every = snapshot_every
        self.keep_snapshots = keep_snapshots
        self.log = log or EventLog()
        self._snapshotted: dict[str, int] = {}
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    @property
    def position(self) -> int:
        """The lowest position every projection has applied."""
        return min((p.position for p in self.projections.projections), default=0)

    async def start(self) -> int:
        """Restore snapshots, fold the tail; returns how many events the tail held."""
        await self.restore()
        return await self.catch_up()

    async def restore(self) -> None:
        """Put back each projection's newest usable snapshot (others rebuild from 0)."""
        for projection in self.projections.projections:
            stored = await asyncio.to_thread(self.store.latest_snapshot, projection.name)
            if stored is None:
                continue
            try:
                projection.restore(stored.snapshot)
            except ProjectionError as exc:
                self.log.warning("snapshot ignored; rebuilding from position 0",
                                 projection=projection.name, reason=str(exc))
                continue
            self._snapshotted[projection.name] = projection.position

    async def catch_up(self) -> int:
        """Fold every committed event not yet applied; record progress; maybe snapshot."""
        folded = 0
        with gc_paused():  # folds make no cycles; sweeps would re-walk the whole state
            # Columns, not RecordedEvents: the folds read no ids, metadata or hashes.
            async for columns in self.journal.read_column_batches(self.position):
                self.projections.apply_columns(columns)
                folded += len(columns)
        if folded:
            await self.save()
        return folded

    async def save(self, force_snapshot: bool = False) -> None:
        """Record each projection's position; snapshot those due (or all, when forced).

        Only a snapshot carries a state hash: hashing walks the whole state, which after
        every followed commit would cost more than the fold. Progress marks store
        `UNHASHED`, all of them in one transaction.
        """
        progress: list[tuple[str, int, str]] = []
        for projection in self.projections.projections:
            name = projection.name
            due = projection.position - self._snapshotted.get(name, 0) >= self.snapshot_every
            if (due or force_snapshot) and projection.position > 0:
                snapshot, digest = projection.checkpoint()
                await asyncio.to_thread(self.store.save_snapshot, name, snapshot, digest)
                self._snapshotted[name] = projection.position
                await asyncio.to_thread(self.store.prune, name, self.keep_snapshots)
            else:
                progress.append((name, projection.position, UNHASHED))
        if progress:
            await asyncio.to_thread(self.store.save_checkpoints, progress)

    def state_hashes(self) -> dict[str, str]:
        """Each projection's state hash by name."""
        return self.projections.state_hashes()

    async def run(self, interval_s: float = 0.25) -> None:
        """Follow the journal until `stop()`: woken by this process's commits, else polling."""
        loop = asyncio.get_running_loop()

        def committed(_head: int) -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

        key = self.journal.journal.add_commit_listener(committed)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    await self.catch_up()
                except Exception as exc:
                    self.log.error("folding the projections failed", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval_s)
        finally:
            self.journal.journal.remove_commit_listener(key)

    def stop(self) -> None:
        """End `run()` after the current round."""
        self._stop.set()
        self._wake.set()
