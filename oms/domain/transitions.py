"""The order state machine as data: status × event type → next status.

A pair missing from the table is not a legal transition. `Order.fold` handles those
deliberately instead of raising: late fills are recorded (and flagged), duplicate deals are
dropped, overfills become discrepancies, anything else is kept as an anomaly and ignored.
Three entries are refined by the event's content: a partial fill that completes the volume
yields FILLED; `order.outcome_resolved` on a SUBMITTED or UNKNOWN order yields the status
of its resolution (`RESOLUTION_STATUS`); an event that only sets or clears a pending flag
keeps the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from oms.domain.enums import OrderStatus
from oms.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
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

S = OrderStatus
SUBMITTED_T = OrderSubmitted.TYPE
DENIED_T = OrderDenied.TYPE
ACCEPTED_T = OrderAccepted.TYPE
REJECTED_T = OrderRejected.TYPE
MODIFY_REQUESTED_T = OrderModifyRequested.TYPE
MODIFIED_T = OrderModified.TYPE
MODIFY_REJECTED_T = OrderModifyRejected.TYPE
CANCEL_REQUESTED_T = OrderCancelRequested.TYPE
CANCELED_T = OrderCanceled.TYPE
CANCEL_REJECTED_T = OrderCancelRejected.TYPE
PARTIALLY_FILLED_T = OrderPartiallyFilled.TYPE
FILLED_T = OrderFilled.TYPE
EXPIRED_T = OrderExpired.TYPE
OUTCOME_UNKNOWN_T = OrderOutcomeUnknown.TYPE
OUTCOME_RESOLVED_T = OrderOutcomeResolved.TYPE

_TABLE: dict[OrderStatus, dict[str, OrderStatus]] = {
    S.NEW: {
        SUBMITTED_T: S.SUBMITTED,
        DENIED_T: S.DENIED,
    },
    S.SUBMITTED: {
        ACCEPTED_T: S.ACCEPTED,
        REJECTED_T: S.REJECTED,
        PARTIALLY_FILLED_T: S.PARTIALLY_FILLED,
        FILLED_T: S.FILLED,
        CANCEL_REQUESTED_T: S.SUBMITTED,
        CANCEL_REJECTED_T: S.SUBMITTED,
        CANCELED_T: S.CANCELED,
        EXPIRED_T: S.EXPIRED,
        OUTCOME_UNKNOWN_T: S.UNKNOWN,
        OUTCOME_RESOLVED_T: S.UNKNOWN,  # refined by the resolution
    },
    S.UNKNOWN: {
        ACCEPTED_T: S.ACCEPTED,
        REJECTED_T: S.REJECTED,
        PARTIALLY_FILLED_T: S.PARTIALLY_FILLED,
        FILLED_T: S.FILLED,
        CANCEL_REQUESTED_T: S.UNKNOWN,
        CANCEL_REJECTED_T: S.UNKNOWN,
        CANCELED_T: S.CANCELED,
        EXPIRED_T: S.EXPIRED,
        OUTCOME_UNKNOWN_T: S.UNKNOWN,
        OUTCOME_RESOLVED_T: S.UNKNOWN,  # refined by the resolution
    },
    S.ACCEPTED: {
        ACCEPTED_T: S.ACCEPTED,  # a repeated acknowledgement changes nothing
        PARTIALLY_FILLED_T: S.PARTIALLY_FILLED,
        FILLED_T: S.FILLED,
        MODIFY_REQUESTED_T: S.ACCEPTED,
        MODIFIED_T: S.ACCEPTED,
        MODIFY_REJECTED_T: S.ACCEPTED,
        CANCEL_REQUESTED_T: S.ACCEPTED,
        CANCEL_REJECTED_T: S.ACCEPTED,
        CANCELED_T: S.CANCELED,
        EXPIRED_T: S.EXPIRED,
        OUTCOME_RESOLVED_T: S.ACCEPTED,  # the deals were journaled first: nothing to refine
    },
    S.PARTIALLY_FILLED: {
        ACCEPTED_T: S.PARTIALLY_FILLED,  # the ack journaled after the first deal
        PARTIALLY_FILLED_T: S.PARTIALLY_FILLED,
        FILLED_T: S.FILLED,
        MODIFY_REQUESTED_T: S.PARTIALLY_FILLED,
        MODIFIED_T: S.PARTIALLY_FILLED,
        MODIFY_REJECTED_T: S.PARTIALLY_FILLED,
        CANCEL_REQUESTED_T: S.PARTIALLY_FILLED,
        CANCEL_REJECTED_T: S.PARTIALLY_FILLED,
        CANCELED_T: S.CANCELED,
        EXPIRED_T: S.EXPIRED,
        OUTCOME_RESOLVED_T: S.PARTIALLY_FILLED,
    },
    # A rejected modify or cancel that raced the end of the order is normal in terminal states.
    S.FILLED: {
        ACCEPTED_T: S.FILLED,
        MODIFY_REJECTED_T: S.FILLED,
        CANCEL_REJECTED_T: S.FILLED,
        OUTCOME_RESOLVED_T: S.FILLED,
    },
    S.CANCELED: {MODIFY_REJECTED_T: S.CANCELED, CANCEL_REJECTED_T: S.CANCELED},
    S.EXPIRED: {MODIFY_REJECTED_T: S.EXPIRED, CANCEL_REJECTED_T: S.EXPIRED},
    S.REJECTED: {},
    S.DENIED: {},
}

TRANSITIONS: Mapping[OrderStatus, Mapping[str, OrderStatus]] = MappingProxyType(
    {status: MappingProxyType(moves) for status, moves in _TABLE.items()}
)
"""The legal moves; read-only."""

STEPS: dict[OrderStatus, dict[str, OrderStatus]] = _TABLE
"""The same table as plain dicts, for hot loops (faster than the read-only view); never mutate."""

RESOLUTION_STATUS: Mapping[Resolution, OrderStatus] = MappingProxyType(
    {
        Resolution.ACCEPTED: S.ACCEPTED,
        Resolution.PARTIALLY_FILLED: S.ACCEPTED,  # the deals follow as fill events
        Resolution.FILLED: S.ACCEPTED,  # the deals follow as fill events
        Resolution.REJECTED: S.REJECTED,
        Resolution.CANCELED: S.CANCELED,
        Resolution.EXPIRED: S.EXPIRED,
        Resolution.NOT_FOUND: S.REJECTED,
    }
)
"""Status after recovery found the order so: not found means never sent, hence rejected.

Recovery journals each deal it finds as its own fill event (the fills move the status on),
so a "filled" resolution alone does not claim any volume.
"""

FILL_TYPES: frozenset[str] = frozenset({PARTIALLY_FILLED_T, FILLED_T})


def next_status(status: OrderStatus, event_type: str) -> OrderStatus | None:
    """The table's answer, or None when the move is not legal."""
    moves = _TABLE.get(status)
    return None if moves is None else moves.get(event_type)
