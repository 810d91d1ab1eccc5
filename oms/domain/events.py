"""Every fact about an order, as an immutable event with a stable `type` and `schema_version`.

An event's payload is plain JSON (`to_payload`) and reads back with `from_payload`. Shapes
never change in place: a changed shape gets a new `schema_version` and an upcaster in
`oms.domain.codec`, and old rows stay as they were written. Prices and volumes are floats
(what MT5 reports), times are integer epoch nanoseconds, broker tickets are integers.
Stage timestamps travel in the event's metadata (`oms.domain.metadata`), not in the payload.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from oms.domain.enums import DealEntry, Filling, OrderType, Side, TimeInForce
from oms.domain.errors import EventDecodeError


class Resolution(enum.StrEnum):
    """What recovery found at the broker for a send whose outcome was unknown."""

    ACCEPTED = "accepted"  # working at the broker
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELED = "canceled"
    EXPIRED = "expired"
    NOT_FOUND = "not_found"  # never reached the broker: safe to treat as not sent


_Converter = Callable[[Any], Any]


def _converter(hint: Any) -> _Converter | None:
    """How to turn a JSON value into the field's type: enums need it, the rest are JSON already."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if isinstance(option, type) and issubclass(option, enum.Enum):
            enum_type = option
            return lambda value: None if value is None else enum_type(value)
        if option is float:
            return lambda value: None if value is None else float(value)
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events; subclasses set TYPE and SCHEMA_VERSION."""

    TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    @classmethod
    def _field_specs(cls) -> tuple[tuple[str, _Converter | None, bool], ...]:
        """(name, converter, required) per field, computed once per class."""
        specs = cls.__dict__.get("_specs_cache")
        if specs is None:
            hints = typing.get_type_hints(cls)
            specs = tuple(
                (
                    f.name,
                    _converter(hints[f.name]),
                    f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
                )
                for f in dataclasses.fields(cls)
            )
            type.__setattr__(cls, "_specs_cache", specs)
        return typing.cast(tuple[tuple[str, _Converter | None, bool], ...], specs)

    def to_payload(self) -> dict[str, Any]:
        """The event as a dict of JSON types (enums become their string values).

        An optional field that is None is left out (readers take the default for a missing
        key): payloads stay small and free of nulls.
        """
        build = type(self).__dict__.get("_payload_builder")
        if build is None:
            build = _payload_builder(type(self))
        return typing.cast(dict[str, Any], build(self))

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """Rebuild the event from a current-version payload; `EventDecodeError` when malformed."""
        kwargs: dict[str, Any] = {}
        for name, conv, required in cls._field_specs():
            if name not in payload:
                if required:
                    raise EventDecodeError(f"{cls.TYPE} payload lacks {name!r}")
                continue
            value = payload[name]
            try:
                kwargs[name] = conv(value) if conv is not None else value
            except (ValueError, TypeError):
                raise EventDecodeError(
                    f"{cls.TYPE} payload field {name!r}={value!r} is invalid"
                ) from None
        return cls(**kwargs)


def _payload_builder(cls: type[Event]) -> Callable[[Event], dict[str, Any]]:
    """`to_payload` unrolled for one class's fields, compiled once and kept on the class.

    Events are built on every order, and a loop over the fields costs twice as much.
    """
    lines = ["def to_payload(self):", "    out = {}"]
    for f in dataclasses.fields(cls):
        lines.append(f"    v = self.{f.name}")
        if f.default is None:  # optional: absent when None
            lines.append("    if v is not None:")
            lines.append(f"        out[{f.name!r}] = v.value if isinstance(v, Enum) else v")
        else:
            lines.append(f"    out[{f.name!r}] = v.value if isinstance(v, Enum) else v")
    lines.append("    return out")
    namespace: dict[str, Any] = {"Enum": enum.Enum}
    exec("\n".join(lines), namespace)  # the source holds field names only
    build = typing.cast(Callable[[Event], dict[str, Any]], namespace["to_payload"])
    type.__setattr__(cls, "_payload_builder", build)
    return build


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(Event):
    """An event on an order's stream (`order-<client_order_id>`)."""

    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrderTerms(OrderEvent):
    """The full terms of an order, as submitted (or as denied)."""

    account: str
    strategy: str
    symbol: str
    side: Side
    order_type: OrderType
    volume: float
    price: float | None = None
    stop_limit_price: float | None = None
    sl: float | None = None
    tp: float | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    expiry_ns: int | None = None
    filling: Filling = Filling.FOK
    deviation: int = 0
    magic: int = 0
    position_id: int | None = None
    position_by_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(_OrderTerms):
    """The intent, journaled durably before anything goes to the broker."""

    TYPE: ClassVar[str] = "order.submitted"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDenied(_OrderTerms):
    """A pre-trade risk rule stopped the order; it was never sent."""

    TYPE: ClassVar[str] = "order.denied"
    rule: str
    limit: float
    value: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    """The broker took the order and gave it a ticket."""

    TYPE: ClassVar[str] = "order.accepted"
    broker_order_id: int
    retcode: int = 10008


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(OrderEvent):
    """The broker (or MT5's local checks) refused the order."""

    TYPE: ClassVar[str] = "order.rejected"
    retcode: int
    reason: str
    broker_order_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _ModifyTerms(OrderEvent):
    """Requested new terms: None keeps a value, sl/tp 0.0 removes it."""

    request_id: str
    price: float | None = None
    stop_limit_price: float | None = None
    sl: float | None = None
    tp: float | None = None
    expiry_ns: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModifyRequested(_ModifyTerms):
    """A modification was sent (or is about to be)."""

    TYPE: ClassVar[str] = "order.modify_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModified(_ModifyTerms):
    """The broker applied a modification; the fields are the terms now in force."""

    TYPE: ClassVar[str] = "order.modified"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderModifyRejected(OrderEvent):
    """The broker refused a modification; the old terms stay."""

    TYPE: ClassVar[str] = "order.modify_rejected"
    request_id: str
    retcode: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRequested(OrderEvent):
    """A cancel was sent (or is about to be)."""

    TYPE: ClassVar[str] = "order.cancel_requested"
    request_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCanceled(OrderEvent):
    """The order stopped working; `reason` says why (client, ioc_remainder, broker…)."""

    TYPE: ClassVar[str] = "order.canceled"
    reason: str = "client"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelRejected(OrderEvent):
    """The broker refused a cancel; the order keeps working."""

    TYPE: ClassVar[str] = "order.cancel_rejected"
    request_id: str
    retcode: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class _Fill(OrderEvent):
    """One deal: the broker's record of volume changing hands.

    `account` is repeated from the order so positions fold from fills alone; `position_id`
    is the deal's MT5 position id (the opening order's ticket), which every broker deal has.
    """

    deal_ticket: int
    account: str
    symbol: str
    side: Side
    volume: float
    price: float
    fill_ns: int
    commission: float = 0.0
    fee: float = 0.0
    swap: float = 0.0
    position_id: int | None = None
    entry: DealEntry | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPartiallyFilled(_Fill):
    """A deal that leaves part of the order working."""

    TYPE: ClassVar[str] = "order.partially_filled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(_Fill):
    """The deal that completes the order (or the last one an IOC will get)."""

    TYPE: ClassVar[str] = "order.filled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExpired(OrderEvent):
    """The order's time in force ran out at the broker."""

    TYPE: ClassVar[str] = "order.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderOutcomeUnknown(OrderEvent):
    """A send's result was lost (timeout, None from order_send, crash); never resend blindly."""

    TYPE: ClassVar[str] = "order.outcome_unknown"
    reason: str
    error_code: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderOutcomeResolved(OrderEvent):
    """Recovery looked the order up at the broker and found this."""

    TYPE: ClassVar[str] = "order.outcome_resolved"
    resolution: Resolution
    broker_order_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchEngaged(Event):
    """New orders are blocked until the switch is cleared (stream `risk-<account>` or `risk`)."""

    TYPE: ClassVar[str] = "risk.kill_switch_engaged"
    account: str | None = None
    reason: str
    by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchCleared(Event):
    """New orders may flow again."""

    TYPE: ClassVar[str] = "risk.kill_switch_cleared"
    account: str | None = None
    reason: str
    by: str


FillEvent = OrderPartiallyFilled | OrderFilled

EVENT_CLASSES: tuple[type[Event], ...] = (
    OrderSubmitted,
    OrderDenied,
    OrderAccepted,
    OrderRejected,
    OrderModifyRequested,
    OrderModified,
    OrderModifyRejected,
    OrderCancelRequested,
    OrderCanceled,
    OrderCancelRejected,
    OrderPartiallyFilled,
    OrderFilled,
    OrderExpired,
    OrderOutcomeUnknown,
    OrderOutcomeResolved,
    KillSwitchEngaged,
    KillSwitchCleared,
)
"""The catalogue. It only grows: a type string, once written, keeps its meaning forever."""
