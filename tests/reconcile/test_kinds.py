"""Every discrepancy kind, produced by a fault in the simulated terminal, detected exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from journal import Journal
from oms.broker.sim import SimulatedTerminal
from oms.domain.events import OrderCanceled, OrderFilled
from oms.domain.ids import deal_event_id, order_stream_id
from oms.reconcile.diff import Kind, diff, external_order_id
from oms.reconcile.events import RECONCILER_STREAM
from oms.reconcile.reconciler import Reconciler
from tests.reconcile import faults
from tests.reconcile.support import ACCOUNT, PaperSession, make_reconciler, new_event, open_journal


@dataclass
class World:
    journal: Journal
    terminal: SimulatedTerminal
    session: PaperSession
    reconciler: Reconciler

    def detected(self) -> list[dict[str, Any]]:
        return [
            e.payload
            for e in self.journal.read_stream(RECONCILER_STREAM)
            if e.type == "reconcile.discrepancy_detected"
        ]

    def resolved(self) -> list[dict[str, Any]]:
        return [
            e.payload
            for e in self.journal.read_stream(RECONCILER_STREAM)
            if e.type == "reconcile.discrepancy_resolved"
        ]


async def _world(url: str, margin_mode: str) -> World:
    journal = open_journal(url)
    terminal = SimulatedTerminal(seed=3, margin_mode=margin_mode)
    assert terminal.initialize()
    session = PaperSession(journal, terminal)
    reconciler = await make_reconciler(journal, terminal, url, hedging=margin_mode == "hedging")
    return World(journal, terminal, session, reconciler)


@pytest.fixture
async def world(sqlite_url: str) -> AsyncIterator[World]:
    w = await _world(sqlite_url, "hedging")
    # Some clean business first: a filled market order, a resting limit order.
    w.session.place("EURUSD", "buy", 0.3)
    w.session.place("GBPUSD", "sell", 0.2, kind="limit")
    w.session.flush()
    report = await w.reconciler.run()
    assert report is not None and report.clean, [d.detail for d in report.detected]
    yield w
    w.journal.close()


async def _detect_once(w: World, kind: Kind) -> dict[str, Any]:
    """Run twice: the kind is recorded by the first run only; returns its event payload."""
    first = await w.reconciler.run()
    assert first is not None
    second = await w.reconciler.run()
    assert second is not None
    assert second.detected == [], [d.detail for d in second.detected]
    found = [p for p in w.detected() if p["kind"] == kind.value]
    assert len(found) == 1, w.detected()
    return found[0]


async def test_order_open_here_unknown_at_broker(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    world.terminal.faults.vanish_order(result.order)
    event = await _detect_once(world, Kind.ORDER_MISSING_AT_BROKER)
    assert event["key"] == f"order:{coid}"
    assert event["journal"]["status"] == "accepted"
    assert event["journal"]["broker_order_id"] == result.order
    assert event["broker"] is None
    assert event["action"] == "alert"
    assert [d["kind"] for d in world.detected()] == [Kind.ORDER_MISSING_AT_BROKER.value]


async def test_pending_order_at_broker_unknown_here_is_adopted(world: World) -> None:
    mt5 = world.terminal
    tick = mt5.symbol_info_tick("EURUSD")
    result = mt5.faults.manual_trade(
        {"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.05, "type": 2,
         "price": round(tick.bid - 0.005, 5), "type_filling": mt5.ORDER_FILLING_RETURN,
         "comment": "by hand"}
    )  # fmt: skip
    event = await _detect_once(world, Kind.ORDER_UNKNOWN_HERE)
    coid = external_order_id(ACCOUNT, result.order)
    assert event["key"] == f"ticket:{result.order}"
    assert event["journal"] is None
    assert event["broker"]["comment"] == "by hand" and event["broker"]["live"] is True
    assert event["action"] == "healed"
    stream = world.journal.read_stream(order_stream_id(coid))
    assert [e.type for e in stream] == ["order.submitted", "order.accepted"]
    assert stream[0].payload["strategy"] == "external"
    assert stream[0].payload["price"] == pytest.approx(round(tick.bid - 0.005, 5))
    assert [r["key"] for r in world.resolved()] == [f"ticket:{result.order}"]
    assert world.resolved()[0]["how"].startswith("healed")


async def test_manual_market_trade_is_adopted_with_its_fill(world: World) -> None:
    mt5 = world.terminal
    tick = mt5.symbol_info_tick("EURUSD")
    result = mt5.faults.manual_trade(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.2, "type": 1,
         "price": tick.bid, "type_filling": mt5.ORDER_FILLING_IOC}
    )  # fmt: skip
    await _detect_once(world, Kind.ORDER_UNKNOWN_HERE)
    fill = [p for p in world.detected() if p["kind"] == Kind.FILL_MISSING_HERE.value]
    assert [p["key"] for p in fill] == [f"deal:{result.deal}"]
    # The position the trade opened is explained by the healed deal: no position discrepancy.
    kinds = sorted(p["kind"] for p in world.detected())
    assert kinds == ["fill_missing_here", "order_unknown_here"]
    stream = world.journal.read_stream(order_stream_id(external_order_id(ACCOUNT, result.order)))
    assert [e.type for e in stream] == ["order.submitted", "order.accepted", "order.filled"]
    assert stream[2].event_id == deal_event_id(ACCOUNT, result.deal)


async def test_state_differs_when_broker_canceled_is_healed(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    world.terminal.faults.cancel_order(result.order)
    event = await _detect_once(world, Kind.STATE_DIFFERS)
    assert event["key"] == f"order:{coid}"
    assert event["journal"]["status"] == "accepted"
    assert event["broker"]["state"] == "canceled"
    assert event["action"] == "healed"
    last = world.journal.read_stream(order_stream_id(coid))[-1]
    assert last.type == "order.canceled" and last.payload["reason"] == "broker"


async def test_state_differs_when_canceled_here_but_working_at_broker_alerts(world: World) -> None:
    coid, result = world.session.place("EURUSD", "sell", 0.1, kind="limit")
    world.session.flush()
    world.journal.append(order_stream_id(coid), [new_event(OrderCanceled(client_order_id=coid))])
    event = await _detect_once(world, Kind.STATE_DIFFERS)
    assert event["journal"]["status"] == "canceled"
    assert event["broker"]["state"] == "placed" and event["broker"]["live"] is True
    assert event["action"] == "alert"
    # The trader cancels it for real: the next run resolves the alert.
    world.terminal.faults.cancel_order(result.order)
    report = await world.reconciler.run()
    assert report is not None
    assert [(r.kind, r.key) for r in report.resolved] == [("state_differs", f"order:{coid}")]
    assert world.resolved()[-1]["how"] == "journal and broker now agree on the order's state"


async def test_fill_at_broker_missing_here_is_healed(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    deal = world.terminal.faults.fill_order(result.order)
    event = await _detect_once(world, Kind.FILL_MISSING_HERE)
    assert event["key"] == f"deal:{deal}"
    assert event["journal"] is None
    assert event["broker"]["order"] == result.order and event["broker"]["volume"] == 0.1
    assert event["heal_event_ids"] == [deal_event_id(ACCOUNT, deal)]
    # Only the fill: the order's state and the position follow from the healed deal.
    assert [p["kind"] for p in world.detected()] == ["fill_missing_here"]
    last = world.journal.read_stream(order_stream_id(coid))[-1]
    assert last.type == "order.filled" and last.payload["deal_ticket"] == deal


async def test_fill_here_missing_at_broker(world: World) -> None:
    coid, result = world.session.place("USDJPY", "buy", 0.1)
    world.session.flush()
    faults.drop_deal(world.terminal, result.deal)
    event = await _detect_once(world, Kind.FILL_MISSING_AT_BROKER)
    assert event["key"] == f"deal:{result.deal}"
    assert event["journal"]["client_order_id"] == coid
    assert event["broker"] is None and event["action"] == "alert"
    assert [p["kind"] for p in world.detected()] == ["fill_missing_at_broker"]


async def test_fill_price_differs(world: World) -> None:
    _coid, result = world.session.place("EURUSD", "sell", 0.1)
    world.session.flush()
    deal = world.terminal.history_deals_get(ticket=result.order)[0]
    faults.reprice_deal(world.terminal, deal.ticket, round(deal.price + 0.0007, 5))
    event = await _detect_once(world, Kind.VOLUME_OR_PRICE_DIFFERS)
    assert event["key"] == f"deal:{deal.ticket}"
    assert event["journal"]["price"] == deal.price
    assert event["broker"]["price"] == pytest.approx(deal.price + 0.0007)
    assert "price" in event["detail"]


async def test_order_price_moved_by_hand_differs(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    mt5 = world.terminal
    order = mt5.orders_get(ticket=result.order)[0]
    moved = mt5.order_send(
        {"action": mt5.TRADE_ACTION_MODIFY, "order": result.order,
         "price": round(order.price_open - 0.001, 5), "type_time": mt5.ORDER_TIME_GTC}
    )  # fmt: skip
    assert moved.retcode == 10009
    event = await _detect_once(world, Kind.VOLUME_OR_PRICE_DIFFERS)
    assert event["key"] == f"order:{coid}"
    assert event["journal"]["price"] == order.price_open
    assert event["broker"]["price_open"] == pytest.approx(order.price_open - 0.001)


async def test_position_differs(world: World) -> None:
    _coid, result = world.session.place("GBPUSD", "buy", 0.5)
    world.session.flush()
    faults.shrink_position(world.terminal, result.order, 20)  # 0.20 lots vanish
    event = await _detect_once(world, Kind.POSITION_DIFFERS)
    assert event["key"] == f"position:{result.order}"
    assert event["journal"]["volume"] == pytest.approx(0.5)
    assert event["broker"]["volume"] == pytest.approx(0.3)
    assert event["action"] == "alert"
    assert [p["kind"] for p in world.detected()] == ["position_differs"]


async def test_position_at_broker_unknown_here(world: World) -> None:
    mt5 = world.terminal
    tick = mt5.symbol_info_tick("USDJPY")
    result = mt5.faults.manual_trade(
        {"action": mt5.TRADE_ACTION_DEAL, "symbol": "USDJPY", "volume": 0.1, "type": 0,
         "price": tick.ask, "type_filling": mt5.ORDER_FILLING_IOC}
    )  # fmt: skip
    mt5.faults.vanish_order(result.order)
    faults.drop_deal(mt5, result.deal)
    event = await _detect_once(world, Kind.POSITION_UNKNOWN_HERE)
    assert event["key"] == f"position:{result.order}"
    assert event["journal"] is None
    assert event["broker"]["symbol"] == "USDJPY" and event["broker"]["volume"] == 0.1
    assert event["action"] == "alert"
    assert [p["kind"] for p in world.detected()] == ["position_unknown_here"]


async def test_netting_account_is_clean_then_detects_a_missed_fill(sqlite_url: str) -> None:
    w = await _world(sqlite_url, "netting")
    try:
        w.session.place("EURUSD", "buy", 0.3)
        w.session.place("EURUSD", "sell", 0.5)  # reverses the netting position
        w.session.place("EURUSD", "buy", 0.1)
        _coid, result = w.session.place("EURUSD", "sell", 0.1, kind="limit")
        w.session.flush()
        report = await w.reconciler.run()
        assert report is not None and report.clean, [d.detail for d in report.detected]
        deal = w.terminal.faults.fill_order(result.order)
        await _detect_once(w, Kind.FILL_MISSING_HERE)
        assert [p["kind"] for p in w.detected()] == ["fill_missing_here"]
        assert w.detected()[0]["key"] == f"deal:{deal}"
    finally:
        w.journal.close()


async def test_poll_and_terminal_sources_see_the_same(world: World) -> None:
    _coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    _coid2, gone = world.session.place("GBPUSD", "sell", 0.1, kind="limit")
    world.session.flush()
    world.terminal.faults.fill_order(result.order)
    world.terminal.faults.vanish_order(gone.order)
    via_poll = await make_reconciler(
        world.journal, world.terminal, "sqlite:///unused.db", via_poll=True
    )
    for reconciler in (via_poll, world.reconciler):
        reconciler.catch_up()
    views = []
    for reconciler in (via_poll, world.reconciler):
        snap = await reconciler.source.snapshot(0, 0, reconciler.view.open_tickets(ACCOUNT))
        found = diff(reconciler.view, snap, account=ACCOUNT, hedging=True)
        views.append(sorted((d.kind.value, d.key, str(d.broker)) for d in found))
    assert views[0] == views[1]
    assert {k for k, _, _ in views[0]} == {"fill_missing_here", "order_missing_at_broker"}


async def test_late_fill_after_a_cancel_here_is_one_healed_fill(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    world.journal.append(order_stream_id(coid), [new_event(OrderCanceled(client_order_id=coid))])
    deal = world.terminal.faults.fill_order(result.order)
    event = await _detect_once(world, Kind.FILL_MISSING_HERE)
    assert event["key"] == f"deal:{deal}"
    assert [p["kind"] for p in world.detected()] == ["fill_missing_here"]
    world.reconciler.catch_up()
    order = world.reconciler.view.orders[coid]
    assert order.status.value == "filled"
    assert [a["kind"] for a in order.anomalies] == ["late_fill"]


async def test_two_accounts_with_colliding_tickets_share_one_journal(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    try:
        first, second = SimulatedTerminal(seed=8), SimulatedTerminal(seed=9)
        assert first.initialize() and second.initialize()
        a1 = PaperSession(journal, first)
        b2 = PaperSession(journal, second, account="B2")
        # Order tickets collide; deal tickets would too, and deal-<ticket> event ids are
        # journal-wide, so only one of the two accounts trades here.
        a1.place("EURUSD", "buy", 0.1)
        a1.place("EURUSD", "sell", 0.2, kind="limit")
        b2.place("EURUSD", "buy", 0.1, kind="limit")
        b2.place("EURUSD", "sell", 0.2, kind="limit")
        a1.flush()
        b2.flush()
        tickets = {o.ticket for o in first.history_orders_get(0, 2**31) + first.orders_get()}
        assert tickets & {o.ticket for o in second.orders_get()}  # the same numbers
        for terminal, account in ((first, "A1"), (second, "B2")):
            reconciler = await make_reconciler(journal, terminal, sqlite_url, account=account)
            report = await reconciler.run()
            assert report is not None and report.clean, [d.detail for d in report.detected]
    finally:
        journal.close()


async def test_a_heal_the_journal_refuses_becomes_an_alert(world: World) -> None:
    _coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    deal = world.terminal.faults.fill_order(result.order)
    # The heal's event id is taken already, on another stream: the journal refuses it.
    world.journal.append("elsewhere", [new_event(OrderCanceled(client_order_id="x"),
                                                 deal_event_id(ACCOUNT, deal))])  # fmt: skip
    report = await world.reconciler.run()
    assert report is not None and report.healed == 0 and report.alerts == 1
    (event,) = world.detected()
    assert event["action"] == "alert" and "heal failed" in event["detail"]
    assert world.resolved() == []
    assert report.open_discrepancies == 1
    again = await world.reconciler.run()
    assert again is not None and again.detected == [] and len(again.persisting) == 1


async def test_diff_is_pure(world: World) -> None:
    _coid, result = world.session.place("EURUSD", "buy", 0.1, kind="limit")
    world.session.flush()
    world.terminal.faults.cancel_order(result.order)
    world.reconciler.catch_up()
    view = world.reconciler.view
    snap = await world.reconciler.source.snapshot(0, 0, view.open_tickets(ACCOUNT))
    head = world.journal.head()
    first = world.reconciler.diff(view, snap)
    second = world.reconciler.diff(view, snap)
    assert first == second and [d.kind for d in first] == [Kind.STATE_DIFFERS]
    assert world.journal.head() == head  # nothing written
    assert first[0].heals and first[0].heals[0].event.TYPE == "order.canceled"


async def test_hedging_fills_without_position_id_are_keyed_as_mt5_does(world: World) -> None:
    coid, result = world.session.place("GBPUSD", "buy", 0.2, journal_fills=False)
    opened = world.session.fill_events(coid, result.order, 0.2)
    close_coid, close = world.session.place(
        "GBPUSD", "sell", 0.05, position=result.order, journal_fills=False
    )
    closed = world.session.fill_events(close_coid, close.order, 0.05)
    for events in (opened, closed):  # as the engine journals fills from a send's answer
        for e in events:
            e.payload["position_id"] = None
    world.session.pending[-2][1].extend(opened)
    world.session.pending[-1][1].extend(closed)
    world.session.flush()
    report = await world.reconciler.run()
    assert report is not None and report.detected == [], [d.detail for d in report.detected]


async def test_fills_journaled_after_the_broker_was_read_wait_for_the_next_run(
    world: World,
) -> None:
    reconciler = world.reconciler
    reconciler.catch_up()
    snap = await reconciler.source.snapshot(0, 0, reconciler.view.open_tickets(ACCOUNT))
    settled = reconciler.view.position
    world.session.place("USDJPY", "sell", 0.3)  # trades and is journaled after the read
    world.session.flush()
    reconciler.catch_up()
    reconciler.view.settled_position = settled
    assert reconciler.diff(reconciler.view, snap) == []
    report = await reconciler.run()  # the next run sees both sides
    assert report is not None and report.clean


async def test_overfill_here_is_one_alert_naming_the_deals(world: World) -> None:
    coid, result = world.session.place("EURUSD", "buy", 0.1)
    world.session.flush()
    # A second fill for a deal the broker never made pushes the order past its volume.
    ghost = result.deal + 1_000_000
    extra = world.session.fill_events(coid, result.order, 0.1)[0].payload
    world.session.pending.append((order_stream_id(coid), [
        new_event(OrderFilled(**{**extra, "deal_ticket": ghost}), deal_event_id(ACCOUNT, ghost))
    ]))  # fmt: skip
    world.session.flush()
    event = await _detect_once(world, Kind.ORDER_OVERFILLED)
    assert event["key"] == f"order:{coid}"
    assert event["journal"]["volume"] == 0.1
    assert event["journal"]["filled_volume"] == pytest.approx(0.2)
    assert event["journal"]["deal_tickets"] == [result.deal, ghost]
    assert event["broker"]["ticket"] == result.order
    assert event["broker"]["volume_initial"] == 0.1
    assert event["action"] == "alert"
    kinds = sorted(p["kind"] for p in world.detected())
    assert "fill_missing_at_broker" in kinds and kinds.count("order_overfilled") == 1


async def test_an_order_filled_exactly_is_not_an_overfill(world: World) -> None:
    world.session.place("EURUSD", "buy", 0.1)
    world.session.place("GBPUSD", "sell", 0.3)
    world.session.flush()
    report = await world.reconciler.run()
    assert report is not None and report.clean, [d.detail for d in report.detected]


async def test_another_accounts_deal_with_the_same_ticket_is_not_this_accounts(
    world: World,
) -> None:
    # A second broker numbers its deals as this one does; its account's fills are journaled
    # first, under the very deal tickets this account's next fills will get.
    other_terminal = SimulatedTerminal(seed=3, margin_mode="hedging")
    assert other_terminal.initialize()
    other = PaperSession(world.journal, other_terminal, account="Z9")
    other.place("EURUSD", "buy", 0.3)
    other.place("GBPUSD", "sell", 0.2, kind="limit")
    _, theirs = other.place("EURUSD", "sell", 0.2)
    other.flush()
    _, ours = world.session.place("EURUSD", "sell", 0.2)
    world.session.flush()
    assert ours.deal == theirs.deal
    report = await world.reconciler.run()
    assert report is not None and report.clean, [d.detail for d in report.detected]
