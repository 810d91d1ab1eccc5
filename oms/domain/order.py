"""The Order aggregate: one order's state, folded from its stream's events.

`Order.fold(type, payload, recorded_at_ns)` mutates in place and is what projections call
on replay (plain payload dicts, no validation: the journal holds data that was valid when
written). `Order.apply(event)` is the pure form: it returns a new Order and leaves the old
one untouched. Neither raises for lifecycle reasons: every move not in
`oms.domain.transitions.TRANSITIONS` is handled on purpose and kept in `anomalies`:

- ``duplicate_fill``: a deal ticket seen before on this order; the fill is dropped.
- ``late_fill``: a deal after the order was canceled, expired, rejected or denied; it is
  counted (the broker did trade) and the order becomes FILLED if the volume is complete.
- ``overfill``: deals add up to more than the order's volume; counted, and a discrepancy.
  (A close-by order has two deals, one per position; only the one on `position_id` counts.)
- ``unknown_order``: a deal or answer for a stream whose intent was never journaled.
- ``illegal_transition``: any other event the table does not allow; ignored.

Strings from payloads are kept as they are (``order.side == Side.BUY`` holds since the
enums are string enums); `status` is always an `OrderStatus`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oms.domain.enums import OPEN_STATUSES, OrderStatus
from oms.domain.events import OrderEvent
from oms.domain.transitions import (
    ACCEPTED_T,
    CANCEL_REJECTED_T,
    CANCEL_REQUESTED_T,
    CANCELED_T,
    DENIED_T,
    EXPIRED_T,
    FILLED_T,
    MODIFIED_T,
    MODIFY_REJECTED_T,
    MODIFY_REQUESTED_T,
    OUTCOME_RESOLVED_T,
    OUTCOME_UNKNOWN_T,
    PARTIALLY_FILLED_T,
    REJECTED_T,
    RESOLUTION_STATUS,
    STEPS,
    SUBMITTED_T,
)

VOLUME_EPS = 1e-9
"""Volumes closer than this are equal (MT5 volume steps are 1e-8 at the finest)."""

_TERMS = (
    "account",
    "strategy",
    "symbol",
    "side",
    "order_type",
    "volume",
    "price",
    "stop_limit_price",
    "sl",
    "tp",
    "time_in_force",
    "expiry_ns",
    "filling",
    "deviation",
    "magic",
    "position_id",
    "position_by_id",
)
_STATE = (
    "status",
    "broker_order_id",
    "filled_volume",
    "avg_fill_price",
    "commission",
    "fee",
    "swap",
    "pending_modify",
    "pending_cancel",
    "retcode",
    "reason",
    "denial",
    "created_ns",
    "updated_ns",
    "events",
)
_S = OrderStatus
_REFINED_BY_RESOLUTION = (_S.SUBMITTED, _S.UNKNOWN)
_LATE_FILL_STATUSES = (_S.CANCELED, _S.EXPIRED, _S.REJECTED, _S.DENIED)
_OPENING_MOVES = STEPS[_S.NEW]
_new_instance = object.__new__


_HOT = (
    "client_order_id",
    "account",
    "strategy",
    "symbol",
    "side",
    "order_type",
    "volume",
    "price",
    "time_in_force",
    "filling",
    "magic",
    "deviation",
    "status",
    "broker_order_id",
    "filled_volume",
    "avg_fill_price",
    "commission",
    "retcode",
    "created_ns",
    "updated_ns",
    "events",
    "deal_tickets",
)
"""Fields every order sets: slots. The rest default on the class and, once an order sets
one, live in that order's own `__dict__`: most orders never do, which keeps them small."""


_ROW_VALUES = ("client_order_id", *_TERMS, *_STATE)
_STATUS_VALUE = {status: status.value for status in OrderStatus}
_STATUS_OF = {status.value: status for status in OrderStatus}
ROW_FIELDS: tuple[str, ...] = (*_ROW_VALUES, "deal_tickets", "anomalies")
"""Field names of `Order.to_row()`, stored with every snapshot so a change is noticed."""


class Order:
    """State of one order; see the module docstring for how odd events are handled."""

    __slots__ = (*_HOT, "__dict__")

    client_order_id: str
    account: str
    strategy: str
    symbol: str
    side: str
    order_type: str
    volume: float
    price: float | None
    time_in_force: str
    filling: str
    magic: int
    deviation: int
    status: OrderStatus
    broker_order_id: int | None
    filled_volume: float
    avg_fill_price: float
    commission: float
    retcode: int | None
    created_ns: int
    updated_ns: int
    events: int
    deal_tickets: tuple[int, ...]  # in arrival order; a tuple: orders have one or two deals
    # Rarely set: class defaults until an order sets its own.
    stop_limit_price: float | None = None
    sl: float | None = None
    tp: float | None = None
    expiry_ns: int | None = None
    position_id: int | None = None
    position_by_id: int | None = None
    fee: float = 0.0
    swap: float = 0.0
    pending_modify: str | None = None
    pending_cancel: str | None = None
    reason: str | None = None
    denial: dict[str, Any] | None = None
    anomalies: tuple[dict[str, Any], ...] = ()

    def __init__(self, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        self.account = self.strategy = self.symbol = self.side = self.order_type = ""
        self.time_in_force = self.filling = ""
        self.volume = 0.0
        self.price = None
        self.magic = self.deviation = 0
        self.status = _S.NEW
        self.broker_order_id = self.retcode = None
        self.filled_volume = self.avg_fill_price = self.commission = 0.0
        self.created_ns = self.updated_ns = self.events = 0
        self.deal_tickets = ()

    @property
    def remaining_volume(self) -> float:
        """Volume still to fill (never negative)."""
        rest = self.volume - self.filled_volume
        return rest if rest > VOLUME_EPS else 0.0

    @property
    def is_open(self) -> bool:
        """True while the order may still trade."""
        return self.status in OPEN_STATUSES

    @classmethod
    def opened(cls, event_type: str, payload: dict[str, Any], recorded_at_ns: int) -> Order:
        """An order created by its first event: the fast path for submitted and denied."""
        target = _OPENING_MOVES.get(event_type)
        if target is None:
            order = cls(payload["client_order_id"])
            order.fold(event_type, payload, recorded_at_ns)
            return order
        p = payload
        get = p.get
        order = _new_instance(cls)
        order.client_order_id = p["client_order_id"]
        order.account = p["account"]
        order.strategy = p["strategy"]
        order.symbol = p["symbol"]
        order.side = p["side"]
        order.order_type = p["order_type"]
        order.volume = p["volume"]
        order.price = get("price")
        order.time_in_force = get("time_in_force", "gtc")
        order.filling = get("filling", "fok")
        order.magic = get("magic", 0)
        order.deviation = get("deviation", 0)
        order.status = target
        order.broker_order_id = order.retcode = None
        order.filled_volume = order.avg_fill_price = order.commission = 0.0
        order.created_ns = order.updated_ns = recorded_at_ns
        order.events = 1
        order.deal_tickets = ()
        # Rare terms keep their class defaults unless given (written out: this is per order).
        value = get("stop_limit_price")
        if value:
            order.stop_limit_price = value
        value = get("sl")
        if value:
            order.sl = value
        value = get("tp")
        if value:
            order.tp = value
        value = get("expiry_ns")
        if value:
            order.expiry_ns = value
        value = get("position_id")
        if value:
            order.position_id = value
        value = get("position_by_id")
        if value:
            order.position_by_id = value
        if event_type == DENIED_T:
            order.denial = {"rule": p["rule"], "limit": p["limit"], "value": p["value"]}
            order.reason = p["reason"]
        return order

    def fold(self, event_type: str, payload: dict[str, Any], recorded_at_ns: int = 0) -> None:
        """Apply one event in place; never raises for lifecycle reasons."""
        handler = _HANDLERS.get(event_type)
        if handler is None:
            self.events += 1
            self.updated_ns = recorded_at_ns
            self._anomaly("illegal_transition", event_type, detail="not an order event")
            return
        handler(self, event_type, payload, recorded_at_ns)

    def apply(self, event: OrderEvent, recorded_at_ns: int = 0) -> Order:
        """The pure form of `fold`: a new Order with the event applied."""
        new = self.copy()
        new.fold(event.TYPE, event.to_payload(), recorded_at_ns)
        return new

    def copy(self) -> Order:
        """An independent copy (the values themselves are immutable or never mutated)."""
        new = _new_instance(Order)
        for name in _HOT:
            setattr(new, name, getattr(self, name))
        new.__dict__.update(self.__dict__)
        return new

    def to_row(self) -> list[Any]:
        """Compact JSON form (values in `ROW_FIELDS` order) for snapshots and state hashes."""
        # Written out (not an attrgetter): a snapshot makes one row per order, and plain
        # attribute reads are several times cheaper. `_ROW_VALUES` order; a test checks it.
        return [
            self.client_order_id, self.account, self.strategy, self.symbol, self.side,
            self.order_type, self.volume, self.price, self.stop_limit_price, self.sl, self.tp,
            self.time_in_force, self.expiry_ns, self.filling, self.deviation, self.magic,
            self.position_id, self.position_by_id, _STATUS_VALUE[self.status],
            self.broker_order_id, self.filled_volume, self.avg_fill_price, self.commission,
            self.fee, self.swap, self.pending_modify, self.pending_cancel, self.retcode,
            self.reason, self.denial, self.created_ns, self.updated_ns, self.events,
            list(self.deal_tickets), list(self.anomalies),
        ]

    @classmethod
    def from_row(cls, row: list[Any]) -> Order:
        """Inverse of `to_row`."""
        order = _new_instance(cls)
        (
            order.client_order_id, order.account, order.strategy, order.symbol, order.side,
            order.order_type, order.volume, order.price, stop_limit_price, sl, tp,
            order.time_in_force, expiry_ns, order.filling, order.deviation, order.magic,
            position_id, position_by_id, status,
            order.broker_order_id, order.filled_volume, order.avg_fill_price, order.commission,
            fee, swap, pending_modify, pending_cancel, order.retcode,
            reason, denial, order.created_ns, order.updated_ns, order.events,
            deal_tickets, anomalies,
        ) = row
        known = _STATUS_OF.get(status)
        order.status = OrderStatus(status) if known is None else known
        order.deal_tickets = tuple(deal_tickets)
        # Rare fields keep their class defaults unless the row says otherwise.
        if stop_limit_price is not None:
            order.stop_limit_price = stop_limit_price
        if sl is not None:
            order.sl = sl
        if tp is not None:
            order.tp = tp
        if expiry_ns is not None:
            order.expiry_ns = expiry_ns
        if position_id is not None:
            order.position_id = position_id
        if position_by_id is not None:
            order.position_by_id = position_by_id
        if fee:
            order.fee = fee
        if swap:
            order.swap = swap
        if pending_modify is not None:
            order.pending_modify = pending_modify
        if pending_cancel is not None:
            order.pending_cancel = pending_cancel
        if reason is not None:
            order.reason = reason
        if denial is not None:
            order.denial = denial
        if anomalies:
            order.anomalies = tuple(anomalies)
        return order

    def to_dict(self) -> dict[str, Any]:
        """The row as a dict keyed by `ROW_FIELDS`, for people and tests."""
        return dict(zip(ROW_FIELDS, self.to_row(), strict=True))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        """Inverse of `to_dict`."""
        return cls.from_row([data[name] for name in ROW_FIELDS])

    def _anomaly(self, kind: str, event_type: str, **detail: Any) -> None:
        """Keep a record of an event the state machine did not take as is."""
        self.anomalies = (
            *self.anomalies,
            {"kind": kind, "event_type": event_type, "status": self.status.value, **detail},
        )


def _illegal(order: Order, event_type: str) -> None:
    """Record an event that is not a legal move and leave the state as it was."""
    kind = "unknown_order" if order.status is _S.NEW else "illegal_transition"
    order._anomaly(kind, event_type)


OrderFold = Callable[[Order, str, dict[str, Any], int], None]
# Each fold below counts the event, checks the transition table and, for a legal move,
# applies it; an illegal one is kept as an anomaly. The check is written out in every fold
# (not shared through a wrapper) so a replay makes one call per event.


def _on_terms(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.account = p["account"]
    order.strategy = p["strategy"]
    order.symbol = p["symbol"]
    order.side = p["side"]
    order.order_type = p["order_type"]
    order.volume = p["volume"]
    get = p.get
    order.price = get("price")
    order.stop_limit_price = get("stop_limit_price")
    order.sl = get("sl")
    order.tp = get("tp")
    order.time_in_force = get("time_in_force", "gtc")
    order.expiry_ns = get("expiry_ns")
    order.filling = get("filling", "fok")
    order.deviation = get("deviation", 0)
    order.magic = get("magic", 0)
    order.position_id = get("position_id")
    order.position_by_id = get("position_by_id")
    order.created_ns = at
    order.status = target
    if target is _S.DENIED:
        order.denial = {"rule": p["rule"], "limit": p["limit"], "value": p["value"]}
        order.reason = p["reason"]


def _settle(order: Order, target: OrderStatus) -> None:
    """Enter the new status; nothing stays pending on an order that no longer works."""
    order.status = target
    if target not in OPEN_STATUSES:
        order.pending_cancel = order.pending_modify = None


def _on_accepted(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.broker_order_id = p["broker_order_id"]
    order.retcode = p.get("retcode")
    order.status = target


def _on_rejected(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.retcode = p["retcode"]
    order.reason = p["reason"]
    if p.get("broker_order_id") is not None:
        order.broker_order_id = p["broker_order_id"]
    _settle(order, target)


def _on_modify_requested(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.pending_modify = p["request_id"]
    order.status = target


def _on_modified(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    get = p.get
    if get("price") is not None:
        order.price = p["price"]
    if get("stop_limit_price") is not None:
        order.stop_limit_price = p["stop_limit_price"]
    if get("expiry_ns") is not None:
        order.expiry_ns = p["expiry_ns"]
    if get("sl") is not None:
        order.sl = p["sl"] or None  # 0.0 removes the level
    if get("tp") is not None:
        order.tp = p["tp"] or None
    order.pending_modify = None
    order.status = target


def _on_modify_rejected(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.pending_modify = None
    order.retcode = p["retcode"]
    order.status = target


def _on_cancel_requested(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.pending_cancel = p["request_id"]
    order.status = target


def _on_cancel_rejected(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.pending_cancel = None
    order.retcode = p["retcode"]
    order.status = target


_ENDED_BY = {_S.CANCELED: CANCELED_T, _S.EXPIRED: EXPIRED_T}


def _on_ended(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.reason = p.get("reason", _ENDED_BY[target])
    _settle(order, target)


def _on_outcome_unknown(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    order.reason = p["reason"]
    order.status = target


def _on_outcome_resolved(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    target = STEPS[order.status].get(event_type)
    if target is None:
        _illegal(order, event_type)
        return
    if p.get("broker_order_id") is not None:
        order.broker_order_id = p["broker_order_id"]
    if order.status in _REFINED_BY_RESOLUTION:
        target = RESOLUTION_STATUS[p["resolution"]]
        order.reason = p.get("reason") or p["resolution"]
    _settle(order, target)


def _add_costs(order: Order, p: dict[str, Any]) -> None:
    """Book a deal's commission, fee and swap (most are zero: skip those)."""
    get = p.get
    commission = get("commission")
    if commission:
        order.commission += commission
    fee = get("fee")
    if fee:
        order.fee += fee
    swap = get("swap")
    if swap:
        order.swap += swap


def _add_costs_rare(order: Order, p: dict[str, Any]) -> None:
    """Fees and swaps, which few deals carry."""
    order.fee += p.get("fee") or 0.0
    order.swap += p.get("swap") or 0.0


def _on_fill(order: Order, event_type: str, p: dict[str, Any], at: int) -> None:
    order.events += 1
    order.updated_ns = at
    deal = p["deal_ticket"]
    tickets = order.deal_tickets
    if deal in tickets:
        order._anomaly("duplicate_fill", event_type, deal_ticket=deal)
        return
    order.deal_tickets = (*tickets, deal)
    if order.position_by_id is not None and p.get("position_id") == order.position_by_id:
        # A close-by's second deal closes the opposite position: its volume is not more.
        _add_costs(order, p)
        return
    volume = p["volume"]
    before = order.filled_volume
    filled = before + volume
    if before:
        order.avg_fill_price = (order.avg_fill_price * before + p["price"] * volume) / filled
    else:
        order.avg_fill_price = p["price"]
    order.filled_volume = filled
    get = p.get
    commission = get("commission")
    if commission:
        order.commission += commission
    if get("fee") or get("swap"):
        _add_costs_rare(order, p)
    status = order.status
    target = STEPS[status].get(event_type)
    if target is not None and filled <= order.volume + VOLUME_EPS:
        if event_type == FILLED_T or filled >= order.volume - VOLUME_EPS:
            order.status = _S.FILLED
            order.pending_cancel = order.pending_modify = None
        else:
            order.status = target
        return
    if status is _S.NEW:
        order._anomaly("unknown_order", event_type, deal_ticket=deal)
        if not order.symbol:
            order.symbol = p["symbol"]
            order.side = p["side"]
        return
    if filled > order.volume + VOLUME_EPS:
        order._anomaly(
            "overfill", event_type, deal_ticket=deal, volume=order.volume, filled_volume=filled
        )
        order.status = _S.FILLED
    elif status in _LATE_FILL_STATUSES:
        order._anomaly("late_fill", event_type, deal_ticket=deal, volume=volume)
        if filled >= order.volume - VOLUME_EPS:
            order.status = _S.FILLED
    else:
        _illegal(order, event_type)
    if order.status not in OPEN_STATUSES:
        order.pending_cancel = order.pending_modify = None


_HANDLERS: dict[str, OrderFold] = {
    SUBMITTED_T: _on_terms,
    DENIED_T: _on_terms,
    ACCEPTED_T: _on_accepted,
    REJECTED_T: _on_rejected,
    MODIFY_REQUESTED_T: _on_modify_requested,
    MODIFIED_T: _on_modified,
    MODIFY_REJECTED_T: _on_modify_rejected,
    CANCEL_REQUESTED_T: _on_cancel_requested,
    CANCELED_T: _on_ended,
    CANCEL_REJECTED_T: _on_cancel_rejected,
    EXPIRED_T: _on_ended,
    OUTCOME_UNKNOWN_T: _on_outcome_unknown,
    OUTCOME_RESOLVED_T: _on_outcome_resolved,
    PARTIALLY_FILLED_T: _on_fill,
    FILLED_T: _on_fill,
}
ORDER_EVENT_TYPES: frozenset[str] = frozenset(_HANDLERS)
"""Event types an Order folds; projections route only these to it."""
FOLDS: dict[str, OrderFold] = _HANDLERS
"""Event type → in-place fold function `(order, type, payload, recorded_at_ns)`; read only."""
