"""The Order state machine: legal paths, and the deliberate handling of every illegal one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.commands import CancelOrder, ModifyOrder, PlaceOrder
from oms.domain.enums import OrderStatus, OrderType, Side
from oms.domain.errors import CommandError
from oms.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderModifyRequested,
    OrderOutcomeResolved,
    OrderOutcomeUnknown,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    Resolution,
)
from oms.domain.intents import cancel_requested_event, modify_requested_event, submitted_event
from oms.domain.order import ORDER_EVENT_TYPES, Order
from oms.domain.transitions import TRANSITIONS

S = OrderStatus
COID = "A1.mm.1"


def submitted(volume: float = 1.0, **kw: Any) -> OrderSubmitted:
    terms: dict[str, Any] = {
        "client_order_id": COID, "account": "A1", "strategy": "mm", "symbol": "EURUSD",
        "side": Side.BUY, "order_type": OrderType.LIMIT, "volume": volume, "price": 1.1,
    }
    terms.update(kw)
    return OrderSubmitted(**terms)


def fill(deal: int, volume: float, price: float = 1.1, final: bool = False) -> OrderEvent:
    cls = OrderFilled if final else OrderPartiallyFilled
    return cls(client_order_id=COID, deal_ticket=deal, account="A1", symbol="EURUSD",
               side=Side.BUY,
               volume=volume, price=price, fill_ns=1, commission=-0.1)


def run(*events: OrderEvent) -> Order:
    order = Order(COID)
    for i, event in enumerate(events):
        order = order.apply(event, recorded_at_ns=i + 1)
    return order


def kinds(order: Order) -> list[str]:
    return [a["kind"] for a in order.anomalies]


ACK = OrderAccepted(client_order_id=COID, broker_order_id=555)


def test_limit_order_fills_in_two_deals() -> None:
    order = run(submitted(), ACK, fill(1, 0.4, 1.0), fill(2, 0.6, 1.5, final=True))
    assert order.status is S.FILLED
    assert order.broker_order_id == 555
    assert order.filled_volume == pytest.approx(1.0)
    assert order.avg_fill_price == pytest.approx(0.4 * 1.0 + 0.6 * 1.5)
    assert order.commission == pytest.approx(-0.2)
    assert order.remaining_volume == 0.0
    assert order.anomalies == ()
    assert order.created_ns == 1 and order.updated_ns == 4 and order.events == 4


def test_partial_fill_completing_the_volume_is_filled() -> None:
    order = run(submitted(), ACK, fill(1, 0.5), fill(2, 0.5))
    assert order.status is S.FILLED


def test_apply_is_pure() -> None:
    before = run(submitted(), ACK)
    snapshot = before.to_dict()
    after = before.apply(fill(1, 0.5))
    assert before.to_dict() == snapshot
    assert after.status is S.PARTIALLY_FILLED
    assert before.status is S.ACCEPTED


def test_duplicate_deal_is_dropped() -> None:
    order = run(submitted(), ACK, fill(1, 0.5), fill(1, 0.5))
    assert order.filled_volume == pytest.approx(0.5)
    assert order.status is S.PARTIALLY_FILLED
    assert kinds(order) == ["duplicate_fill"]


def test_late_fill_after_cancel_is_recorded_and_flagged() -> None:
    cancel = OrderCanceled(client_order_id=COID)
    order = run(submitted(), ACK, fill(1, 0.5), cancel, fill(2, 0.2))
    assert order.status is S.CANCELED
    assert order.filled_volume == pytest.approx(0.7)
    assert kinds(order) == ["late_fill"]
    order = order.apply(fill(3, 0.3))
    assert order.status is S.FILLED, "the broker did fill the whole order"


def test_overfill_is_a_discrepancy_not_a_crash() -> None:
    order = run(submitted(), ACK, fill(1, 0.6), fill(2, 0.6))
    assert order.status is S.FILLED
    assert order.filled_volume == pytest.approx(1.2)
    assert kinds(order) == ["overfill"]
    assert order.anomalies[0]["filled_volume"] == pytest.approx(1.2)
    order = order.apply(fill(3, 0.1))
    assert kinds(order) == ["overfill", "overfill"]


def test_fill_for_an_order_never_submitted_is_an_unknown_order() -> None:
    order = run(fill(9, 0.1))
    assert order.status is S.NEW
    assert order.symbol == "EURUSD"
    assert kinds(order) == ["unknown_order"]
    assert run(ACK).anomalies[0]["kind"] == "unknown_order"


def test_denied_order_keeps_rule_and_numbers() -> None:
    terms = submitted().to_payload()
    denied = OrderDenied.from_payload(
        {**terms, "rule": "max_order_volume", "limit": 0.5, "value": 1.0, "reason": "too big"}
    )
    order = run(denied)
    assert order.status is S.DENIED
    assert order.denial == {"rule": "max_order_volume", "limit": 0.5, "value": 1.0}
    assert not order.is_open
    assert kinds(order.apply(ACK)) == ["illegal_transition"]


def test_rejected_keeps_retcode_and_text() -> None:
    order = run(submitted(), OrderRejected(client_order_id=COID, retcode=10019, reason="no money"))
    assert (order.status, order.retcode, order.reason) == (S.REJECTED, 10019, "no money")


@pytest.mark.parametrize(
    ("resolution", "status"),
    [(Resolution.ACCEPTED, S.ACCEPTED), (Resolution.NOT_FOUND, S.REJECTED),
     (Resolution.CANCELED, S.CANCELED), (Resolution.FILLED, S.ACCEPTED)],
)
def test_unknown_outcome_is_resolved(resolution: Resolution, status: OrderStatus) -> None:
    unknown = OrderOutcomeUnknown(client_order_id=COID, reason="timeout", error_code=-10005)
    resolved = OrderOutcomeResolved(client_order_id=COID, resolution=resolution,
                                    broker_order_id=7)
    order = run(submitted(), unknown)
    assert order.status is S.UNKNOWN and order.is_open
    order = order.apply(resolved)
    assert order.status is status
    assert order.broker_order_id == 7


def test_fills_journaled_before_the_resolution_stand() -> None:
    unknown = OrderOutcomeUnknown(client_order_id=COID, reason="crash")
    resolved = OrderOutcomeResolved(client_order_id=COID, resolution=Resolution.FILLED)
    order = run(submitted(), unknown, fill(1, 1.0, final=True), resolved)
    assert order.status is S.FILLED
    assert order.anomalies == ()


def test_modify_and_cancel_flags() -> None:
    req = OrderModifyRequested(client_order_id=COID, request_id="m1", price=1.05, sl=0.0)
    done = OrderModified(client_order_id=COID, request_id="m1", price=1.05, sl=0.0, tp=1.3)
    order = run(submitted(sl=1.0), ACK, req)
    assert order.pending_modify == "m1"
    order = order.apply(done)
    assert (order.price, order.sl, order.tp, order.pending_modify) == (1.05, None, 1.3, None)
    order = order.apply(OrderModifyRequested(client_order_id=COID, request_id="m2", price=1.0))
    order = order.apply(OrderModifyRejected(client_order_id=COID, request_id="m2", retcode=10025,
                                            reason="no changes"))
    assert order.price == 1.05 and order.pending_modify is None and order.retcode == 10025
    order = order.apply(OrderCancelRequested(client_order_id=COID, request_id="c1"))
    assert order.pending_cancel == "c1"
    order = order.apply(fill(1, 1.0, final=True))
    assert order.status is S.FILLED and order.pending_cancel is None
    order = order.apply(OrderCancelRejected(client_order_id=COID, request_id="c1", retcode=10029,
                                            reason="already filled"))
    assert order.status is S.FILLED and order.anomalies == ()


def test_expired_and_to_dict_round_trip() -> None:
    order = run(submitted(), ACK, fill(1, 0.3), OrderExpired(client_order_id=COID))
    assert order.status is S.EXPIRED
    back = Order.from_dict(order.to_dict())
    assert back.to_dict() == order.to_dict()
    assert back.deal_tickets == (1,)


def sample_events() -> list[OrderEvent]:
    c = COID
    return [
        submitted(), ACK, OrderRejected(client_order_id=c, retcode=10006, reason="r"),
        OrderModifyRequested(client_order_id=c, request_id="m", price=1.0),
        OrderModified(client_order_id=c, request_id="m", price=1.0),
        OrderModifyRejected(client_order_id=c, request_id="m", retcode=1, reason="r"),
        OrderCancelRequested(client_order_id=c, request_id="x"),
        OrderCanceled(client_order_id=c),
        OrderCancelRejected(client_order_id=c, request_id="x", retcode=1, reason="r"),
        fill(1, 0.4), fill(2, 0.6, final=True), OrderExpired(client_order_id=c),
        OrderOutcomeUnknown(client_order_id=c, reason="t"),
        OrderOutcomeResolved(client_order_id=c, resolution=Resolution.ACCEPTED),
        OrderDenied.from_payload({**submitted().to_payload(), "rule": "r", "limit": 1.0,
                                  "value": 2.0, "reason": "x"}),
    ]


def reach(status: OrderStatus) -> Order:
    """An order in the given status via a legal path."""
    paths: dict[OrderStatus, list[OrderEvent]] = {
        S.NEW: [],
        S.SUBMITTED: [submitted()],
        S.DENIED: [sample_events()[-1]],
        S.ACCEPTED: [submitted(), ACK],
        S.PARTIALLY_FILLED: [submitted(), ACK, fill(91, 0.1)],
        S.FILLED: [submitted(), ACK, fill(91, 1.0, final=True)],
        S.CANCELED: [submitted(), ACK, OrderCanceled(client_order_id=COID)],
        S.REJECTED: [submitted(), OrderRejected(client_order_id=COID, retcode=1, reason="r")],
        S.EXPIRED: [submitted(), ACK, OrderExpired(client_order_id=COID)],
        S.UNKNOWN: [submitted(), OrderOutcomeUnknown(client_order_id=COID, reason="t")],
    }
    order = run(*paths[status])
    assert order.status is status
    return order


@pytest.mark.parametrize("status", list(S))
def test_every_status_event_pair_follows_the_table_or_is_recorded(status: OrderStatus) -> None:
    assert set(TRANSITIONS) == set(S)
    for event in sample_events():
        start = reach(status)
        after = start.apply(event)
        legal = TRANSITIONS[status].get(event.TYPE)
        if legal is None:
            assert len(after.anomalies) == len(start.anomalies) + 1, (status, event.TYPE)
        else:
            assert after.anomalies == start.anomalies, (status, event.TYPE)
        assert event.TYPE in ORDER_EVENT_TYPES


def test_unknown_event_type_is_an_anomaly_not_an_error() -> None:
    order = reach(S.ACCEPTED)
    order.fold("order.teleported", {}, 5)
    assert kinds(order) == ["illegal_transition"]
    assert order.status is S.ACCEPTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=14), max_size=30),
       st.lists(st.integers(min_value=1, max_value=6), min_size=30, max_size=30))
def test_random_sequences_never_raise_and_fills_count_once(
    picks: list[int], deals: list[int]
) -> None:
    order = Order(COID)
    seen: dict[int, float] = {}
    for step, pick in enumerate(picks):
        event = sample_events()[pick]
        if event.TYPE in ("order.partially_filled", "order.filled"):
            deal = deals[step]
            event = fill(deal, 0.25, final=event.TYPE == "order.filled")
            seen.setdefault(deal, 0.25)
        order = order.apply(event)
    assert order.filled_volume == pytest.approx(sum(seen.values()))
    assert set(order.deal_tickets) == set(seen)
    assert order.status in set(S)


def test_intents_derive_ids_and_check_state() -> None:
    cmd = PlaceOrder.parse({"account": "A1", "strategy": "mm", "symbol": "EURUSD",
                            "side": "sell", "order_type": "stop_limit", "volume": 2,
                            "price": 1.0, "stop_limit_price": 1.01})
    event = submitted_event(cmd, 35)
    assert event.client_order_id == "A1.mm.z"
    assert event.volume == 2.0 and isinstance(event.volume, float)
    order = run(event)
    with pytest.raises(CommandError, match="not working"):
        modify_requested_event(order, ModifyOrder(client_order_id="A1.mm.z", price=1.0), "m")
    order = order.apply(OrderAccepted(client_order_id="A1.mm.z", broker_order_id=1))
    with pytest.raises(CommandError) as exc:
        modify_requested_event(order, ModifyOrder(client_order_id="A1.mm.z", stop_limit_price=0.9,
                                                  tp=1.5), "m")
    assert {f for f, _ in exc.value.problems} == {"stop_limit_price", "tp"}
    req = modify_requested_event(order, ModifyOrder(client_order_id="A1.mm.z", sl=1.2), "m")
    assert req.sl == 1.2 and req.request_id == "m"
    cancel = cancel_requested_event(order, CancelOrder(client_order_id="A1.mm.z"), "c")
    order = order.apply(cancel)
    with pytest.raises(CommandError, match="still pending"):
        cancel_requested_event(order, CancelOrder(client_order_id="A1.mm.z"), "c2")
    order = order.apply(OrderCanceled(client_order_id="A1.mm.z"))
    with pytest.raises(CommandError, match="canceled"):
        cancel_requested_event(order, CancelOrder(client_order_id="A1.mm.z"), "c3")


def test_rows_hold_every_field_under_its_own_name() -> None:
    from oms.domain.order import ROW_FIELDS

    order = run(submitted(), ACK, fill(1, 0.3))
    for name in ROW_FIELDS:
        if name not in ("status", "deal_tickets", "anomalies"):
            object.__setattr__(order, name, f"value of {name}")
    row = dict(zip(ROW_FIELDS, order.to_row(), strict=True))
    assert row == {
        **{name: f"value of {name}" for name in ROW_FIELDS},
        "status": order.status.value,
        "deal_tickets": [1], "anomalies": [],
    }
    assert Order.from_row(order.to_row()).to_row() == order.to_row()
