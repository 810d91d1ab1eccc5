"""Crash recovery: restore, fold the tail, settle every order whose outcome is unknown, then open.

Given the engine's projector (snapshots restored, not yet folded), the same read of the
journal folds its projections too, so a start-up reads the journal once.

With a checkpoint store, the engine's state starts from its newest snapshot and only the
journal after it is folded; a tail of `snapshot_every` events or more is snapshotted again
at once, so the next start folds less. Without a store (or without a usable snapshot) the
whole journal is folded.

An order whose intent was journaled without an answer (the process died before or after the
send) or whose answer was lost is looked up at the broker by ticket, magic and comment —
never sent again — and the finding is journaled with every deal it made, including deals
made while the engine was down. A cancel journaled without an answer is confirmed the same
way. A listener round then journals whatever else changed at the broker. Only after all of
that does the manager take new orders.
"""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from dataclasses import dataclass, field

from oms.domain.enums import OrderStatus
from oms.engine.errors import EngineError
from oms.engine.listener import StatusListener
from oms.engine.manager import OrderManager
from oms.engine.projector import Projector
from oms.engine.snapshot import load_engine_state, save_engine_state
from oms.projections.base import gc_paused
from oms.projections.store import CheckpointStore

UNANSWERED = (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)


class RecoveryError(EngineError):
    """Recovery could not settle every order; the engine stays closed to new orders."""


@dataclass(slots=True)
class RecoveryReport:
    """What recovery replayed and settled."""

    replayed: int = 0
    restored_from: int = 0
    resolved: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    polled_events: int = 0
    polled_records: int = 0


class Recovery:
    """Replays, resolves and reopens; run once at start-up before anything else."""

    def __init__(
        self,
        manager: OrderManager,
        listener: StatusListener,
        *,
        attempts: int = 5,
        retry_delay_s: float = 0.5,
        store: CheckpointStore | None = None,
        snapshot_every: int = 100_000,
        projector: Projector | None = None,
    ) -> None:
        self.manager = manager
        self.projector = projector
        self.listener = listener
        self.attempts = attempts
        self.retry_delay_s = retry_delay_s
        self.store = store
        self.snapshot_every = snapshot_every

    async def run(self) -> RecoveryReport:
        """Replay, resolve, poll, then mark the manager ready; RecoveryError if it cannot."""
        report = RecoveryReport()
        manager = self.manager
        await self.replay(report)
        states = manager.states
        unanswered = [o.client_order_id for o in states.open_orders() if o.status in UNANSWERED]
        for coid in unanswered:
            await self._settle(coid)
            report.resolved.append(coid)
        pending = [o.client_order_id for o in states.open_orders()
                   if o.pending_cancel is not None or o.pending_modify is not None]
        for coid in pending:
            await manager.confirm_pending(coid)
            report.confirmed.append(coid)
        while True:
            polled = await self.listener.poll_once()
            report.polled_events += polled.events_planned
            report.polled_records += polled.records_read
            if polled.events_planned == 0:
                break
        manager.log.info(
            "recovery finished", restored_from=report.restored_from, replayed=report.replayed,
            resolved=len(report.resolved), confirmed=len(report.confirmed),
            polled_events=report.polled_events,
        )
        manager.mark_ready()
        return report

    async def replay(self, report: RecoveryReport) -> None:
        """Restore the engine's snapshot (if any) and fold the journal after it.

        With a projector (its snapshots restored), one read of the journal feeds both: from
        the lower of the two positions, each side folding only what it has not seen.
        """
        manager = self.manager
        projector = self.projector
        fresh = manager.states.position == 0 and not manager.states.orders
        if self.store is not None and fresh:
            report.restored_from = await load_engine_state(manager, self.store)
        start = manager.states.position
        if projector is not None:
            start = min(start, projector.position)
        projected = 0
        # A fresh manager replays history: it was logged and published when journaled.
        quiet = manager.states.unheard() if fresh else nullcontext()
        with gc_paused(), quiet:  # replay makes no cycles; sweeps would re-walk the state
            async for batch in manager.journal.read_batches(start):
                if projector is not None:
                    projector.projections.apply_many(batch)
                    projected += len(batch)
                seen = manager.states.position
                if batch[0].position <= seen:  # the projector's part of the journal
                    batch = [r for r in batch if r.position > seen]
                manager.absorb(batch)
                report.replayed += len(batch)
        manager.followed_position = manager.states.position
        if projector is not None and projected:
            await projector.save()
        if self.store is not None and report.replayed >= self.snapshot_every:
            await save_engine_state(manager, self.store)

    async def _settle(self, coid: str) -> None:
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.retry_delay_s)
            if await self.manager.resolve(coid):
                return
        raise RecoveryError(
            f"order {coid} is still unknown at the broker after {self.attempts} lookups; "
            "new orders stay blocked"
        )
