"""A live engine folds what other writers journal: the reconciler's heals reach its state."""

from __future__ import annotations

from oms.domain.enums import OrderStatus
from oms.reconcile.reconciler import Reconciler
from oms.reconcile.snapshot import TerminalSnapshotSource
from tests.engine.conftest import Rig
from tests.engine.test_manager import limit, next_kind


async def test_a_fill_healed_by_the_reconciler_reaches_the_live_order_state(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    coid = await rig.manager.place(limit(1.0))
    ticket = (await next_kind(updates, "order.accepted")).detail["broker_order_id"]
    account = rig.manager.states.orders[coid].account
    rig.terminal.faults.fill_order(ticket, price=1.0)  # the engine's listener never polls
    reconciler = Reconciler(
        rig.journal.journal, TerminalSnapshotSource(rig.broker.worker),
        account=account, hedging=True,
    )  # fmt: skip
    report = await reconciler.run(trigger="test")
    assert report is not None
    assert [d.kind for d in report.detected] == ["fill_missing_here"]
    assert rig.manager.states.orders[coid].status is OrderStatus.ACCEPTED  # not seen yet

    read = await rig.manager.catch_up()

    assert read > 0
    order = rig.manager.states.orders[coid]
    assert order.status is OrderStatus.FILLED and order.filled_volume == order.volume
    assert await rig.manager.catch_up() == 0  # nothing new: nothing read twice
