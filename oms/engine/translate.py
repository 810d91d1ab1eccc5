"""Broker answers and records turned into the domain events to journal (pure functions).

Event ids are derived from what they record, so writing the same fact twice (a replayed
poll, the send task and the listener both seeing one deal) is an idempotent append:
`deal-<account>-<ticket>` for a fill, `<coid>:accepted` for the acknowledgement, `<coid>:canceled`,
`<coid>:expired`, `<coid>:rejected`; one-off facts carry the stream version they follow.
"""

from __future__ import annotations

from typing import Any

from oms.broker import port
from oms.broker.port import OutcomeStatus
from oms.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderOutcomeResolved,
    OrderOutcomeUnknown,
    OrderPartiallyFilled,
    OrderRejected,
    Resolution,
)
from oms.domain.ids import deal_event_id
from oms.domain.order import VOLUME_EPS, Order
from oms.engine.mapping import deal_fields

# MT5 ORDER_STATE_*: 2 canceled, 3 partial, 4 filled, 5 rejected, 6 expired.
STATE_CANCELED, STATE_PARTIAL, STATE_FILLED, STATE_REJECTED, STATE_EXPIRED = 2, 3, 4, 5, 6

Planned = tuple[str, dict[str, Any], str]
"""(event type, payload, event id) of one event to journal."""


class FillCounter:
    """Tracks an order's filled volume across the fills being planned in one go."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.filled = order.filled_volume
        self.seen = set(order.deal_tickets)

    def plan(self, fields: dict[str, Any]) -> Planned | None:
        """The fill event for one deal (filled or partially filled), None for a known deal."""
        ticket = fields["deal_ticket"]
        if ticket in self.seen:
            return None
        self.seen.add(ticket)
        self.filled += fields["volume"]
        complete = self.filled >= self.order.volume - VOLUME_EPS
        kind = OrderFilled.TYPE if complete else OrderPartiallyFilled.TYPE
        payload = {"client_order_id": self.order.client_order_id,
                   "account": self.order.account}
        for name, value in fields.items():
            if value is not None:  # an unknown position or entry is left out, not null
                payload[name] = value
        return kind, payload, deal_event_id(self.order.account, ticket)

    @property
    def complete(self) -> bool:
        """True once the planned fills cover the order's volume."""
        return self.filled >= self.order.volume - VOLUME_EPS


def accepted(order: Order, ticket: int, retcode: int | None) -> Planned:
    """The acknowledgement with the broker's ticket."""
    coid = order.client_order_id
    # OrderAccepted(...).to_payload() without the event object (every order passes here)
    payload = {"client_order_id": coid, "broker_order_id": ticket, "retcode": retcode or 10008}
    return OrderAccepted.TYPE, payload, f"{coid}:accepted"


def rejected(order: Order, retcode: int | None, reason: str, ticket: int | None) -> Planned:
    """The broker's (or the terminal's) refusal."""
    coid = order.client_order_id
    payload = OrderRejected(
        client_order_id=coid, retcode=retcode or 0, reason=reason, broker_order_id=ticket
    ).to_payload()
    return OrderRejected.TYPE, payload, f"{coid}:rejected"


def canceled(order: Order, reason: str) -> Planned:
    """The order stopped working."""
    coid = order.client_order_id
    # OrderCanceled(...).to_payload() without the event object (every cancel passes here)
    return OrderCanceled.TYPE, {"client_order_id": coid, "reason": reason}, f"{coid}:canceled"


def expired(order: Order) -> Planned:
    """The order's time ran out at the broker."""
    coid = order.client_order_id
    return OrderExpired.TYPE, OrderExpired(client_order_id=coid).to_payload(), f"{coid}:expired"


def unknown(order: Order, version: int, reason: str, error_code: int | None) -> Planned:
    """The send's answer was lost; resolved later by a lookup, never by a resend."""
    coid = order.client_order_id
    payload = OrderOutcomeUnknown(
        client_order_id=coid, reason=reason, error_code=error_code
    ).to_payload()
    return OrderOutcomeUnknown.TYPE, payload, f"{coid}:unknown:{version}"


def send_fill_fields(order: Order, outcome: port.SendOutcome, fill_ns: int) -> dict[str, Any]:
    """The fill an order_send result reports (deal ticket, volume and price; no costs)."""
    return {
        "deal_ticket": outcome.deal_ticket,
        "symbol": order.symbol,
        "side": order.side,
        "volume": float(outcome.filled_volume),
        "price": float(outcome.fill_price or 0.0),
        "fill_ns": fill_ns,
        "commission": 0.0,
        "fee": 0.0,
        "swap": 0.0,
        "position_id": None,
        "entry": None,
    }


def place_outcome(order: Order, outcome: port.SendOutcome, version: int, ack_ns: int
                  ) -> list[Planned]:
    """The events a place answer stands for."""
    status = outcome.status
    if status is OutcomeStatus.UNKNOWN:
        code = outcome.attempts[-1].error_code if outcome.attempts else None
        return [unknown(order, version, outcome.reason or "answer lost", code)]
    if status in (OutcomeStatus.REJECTED, OutcomeStatus.NOT_FOUND):
        return [rejected(order, outcome.retcode, outcome.reason, outcome.order_ticket)]
    ticket = outcome.order_ticket
    if ticket is None:
        return [unknown(order, version, f"{status.value} without an order ticket", None)]
    planned = [accepted(order, ticket, outcome.retcode)]
    if status in (OutcomeStatus.FILLED, OutcomeStatus.PARTIALLY_FILLED):
        counter = FillCounter(order)
        if outcome.deals:
            fills = [counter.plan(deal_fields(d)) for d in outcome.deals]
        elif outcome.deal_ticket is not None and outcome.filled_volume > 0:
            fills = [counter.plan(send_fill_fields(order, outcome, ack_ns))]
        else:
            fills = []
        planned.extend(f for f in fills if f is not None)
        if status is OutcomeStatus.PARTIALLY_FILLED and outcome.open_volume <= 0 \
                and not counter.complete:
            planned.append(canceled(order, "ioc_remainder"))
    return planned


_RESOLUTION = {
    OutcomeStatus.PLACED: Resolution.ACCEPTED,
    OutcomeStatus.PARTIALLY_FILLED: Resolution.PARTIALLY_FILLED,
    OutcomeStatus.FILLED: Resolution.FILLED,
    OutcomeStatus.REJECTED: Resolution.REJECTED,
    OutcomeStatus.CANCELED: Resolution.CANCELED,
    OutcomeStatus.NOT_FOUND: Resolution.NOT_FOUND,
}


def resolution(order: Order, outcome: port.SendOutcome, version: int) -> list[Planned]:
    """The events a lookup's finding stands for: the resolution, then every deal it found."""
    found = _RESOLUTION.get(outcome.status)
    if found is None:
        return []
    coid = order.client_order_id
    broker = outcome.order
    if found is Resolution.CANCELED and broker is not None and broker.state == STATE_EXPIRED:
        found = Resolution.EXPIRED
    payload = OrderOutcomeResolved(
        client_order_id=coid,
        resolution=found,
        broker_order_id=outcome.order_ticket,
        reason=outcome.reason,
    ).to_payload()
    planned: list[Planned] = [(OrderOutcomeResolved.TYPE, payload, f"{coid}:resolved:{version}")]
    counter = FillCounter(order)
    for deal in sorted(outcome.deals, key=lambda d: (d.time_msc, d.ticket)):
        fill = counter.plan(deal_fields(deal))
        if fill is not None:
            planned.append(fill)
    if (
        found is Resolution.PARTIALLY_FILLED
        and broker is not None
        and not broker.live
        and not counter.complete
    ):
        planned.append(
            expired(order) if broker.state == STATE_EXPIRED else canceled(order, "broker")
        )
    return planned


def broker_order_end(order: Order, broker: port.BrokerOrder, counter: FillCounter
                     ) -> Planned | None:
    """How a polled broker order ended, if it did and our order does not know it yet."""
    if broker.live or not order.is_open or counter.complete:
        return None
    state = broker.state
    if state == STATE_CANCELED:
        return canceled(order, "broker")
    if state == STATE_EXPIRED:
        return expired(order)
    if state == STATE_REJECTED:
        return rejected(order, None, "rejected by the broker", broker.ticket)
    return None
