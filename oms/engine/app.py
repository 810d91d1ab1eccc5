"""The engine assembled: recovery first, then the status listener and the projector running.

`async with Engine(journal, router) as engine: await engine.manager.place(...)` — entering
runs `Recovery` (new orders are refused until it finished), then starts polling the broker
and, when a checkpoint store is given, following the journal with checkpointed projections;
leaving stops both, waits for sends in flight and records the projections' progress. The
store, when given, also keeps the listener's polling watermark and the engine's own state
snapshot (refreshed every `snapshot_every` events and on leaving), so a restart reads only
the tails of the journal and history.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from journal import AsyncJournal
from oms.domain.risk import RiskLimits
from oms.engine.eventlog import EventLog
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager, TickSource
from oms.engine.projector import Projector
from oms.engine.recovery import Recovery, RecoveryReport
from oms.engine.router import OrderRouter
from oms.engine.snapshot import refresh_engine_snapshot
from oms.projections import ProjectionSet
from oms.projections.store import CheckpointStore


class Engine:
    """Order manager, status listener, recovery and projector, started and stopped together."""

    def __init__(
        self,
        journal: AsyncJournal,
        router: OrderRouter,
        *,
        limits: RiskLimits | None = None,
        ticks: TickSource | None = None,
        store: CheckpointStore | None = None,
        projections: ProjectionSet | None = None,
        poll_interval_s: float = 0.05,
        snapshot_every: int = 100_000,
        engine_snapshot_interval_s: float = 30.0,
        log: EventLog | None = None,
    ) -> None:
        self.log = log or EventLog()
        self.manager = OrderManager(journal, router, limits=limits, ticks=ticks, log=self.log)
        self.listener = StatusListener(self.manager, store=store)
        self.store = store
        self.snapshot_every = snapshot_every
        self.projector = (
            Projector(journal, store, projections, snapshot_every=snapshot_every, log=self.log)
            if store is not None and projections is not None
            else None
        )
        self.poll_interval_s = poll_interval_s
        self.engine_snapshot_interval_s = engine_snapshot_interval_s
        self.report: RecoveryReport | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def start(self) -> RecoveryReport:
        """Recover, then start polling and following; the manager takes orders afterwards."""
        if self.projector is not None:
            await self.projector.restore()  # recovery's replay folds the projections too
        self.report = await Recovery(
            self.manager, self.listener, store=self.store, snapshot_every=self.snapshot_every,
            projector=self.projector,
        ).run()
        self._tasks.append(asyncio.create_task(self.listener.run(self.poll_interval_s)))
        if self.projector is not None:
            self._tasks.append(asyncio.create_task(self.projector.run()))
        if self.store is not None:
            self._tasks.append(asyncio.create_task(self._snapshot_periodically()))
        return self.report

    async def snapshot_engine_state(self, min_tail: int | None = None) -> int | None:
        """Store a fresh engine snapshot when the journal grew `snapshot_every` past the last."""
        if self.store is None:
            return None
        tail = self.snapshot_every if min_tail is None else min_tail
        return await refresh_engine_snapshot(self.manager.journal, self.store, min_tail=tail)

    async def _snapshot_periodically(self) -> None:
        """Every `engine_snapshot_interval_s`, refresh the engine snapshot if it is due."""
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.engine_snapshot_interval_s)
            if self._stopping.is_set():
                return
            try:
                await self.snapshot_engine_state()
            except Exception as exc:
                self.log.error("storing the engine snapshot failed", error=repr(exc))

    async def stop(self) -> None:
        """Stop polling and following, finish sends in flight, record projection progress."""
        self.manager.ready = False
        self._stopping.set()
        self.listener.stop()
        if self.projector is not None:
            self.projector.stop()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.manager.drain()
        await self.snapshot_engine_state(min_tail=1)
        if self.projector is not None:
            await self.projector.catch_up()
            await self.projector.save(force_snapshot=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
