"""Vocabulary of orders: string enums so payloads stay plain JSON and dict lookups stay fast."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Direction of an order, a deal or a position."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for buy, -1 for sell: signed volumes make netting a sum."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The side that reduces a position of this side."""
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    """How an order executes; with the side it maps onto MT5's ORDER_TYPE_*."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    """How long a pending order lives (MT5 ORDER_TIME_GTC, _DAY, _SPECIFIED)."""

    GTC = "gtc"
    DAY = "day"
    SPECIFIED = "specified"


class Filling(StrEnum):
    """What happens to volume that cannot fill at once (MT5 ORDER_FILLING_*)."""

    FOK = "fok"
    IOC = "ioc"
    RETURN = "return"
    BOC = "boc"  # book or cancel: rests passively or is rejected, never trades at once


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle; see `oms.domain.transitions` for the legal moves."""

    NEW = "new"  # nothing journaled yet: the state before the first event of a stream
    SUBMITTED = "submitted"  # intent journaled, broker answer not yet journaled
    DENIED = "denied"  # stopped by a pre-trade risk rule; never sent
    ACCEPTED = "accepted"  # working at the broker (ticket known)
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"
    UNKNOWN = "unknown"  # the send's outcome was lost; recovery resolves it


class AccountMode(StrEnum):
    """How the account keeps positions (MT5 ACCOUNT_MARGIN_MODE netting vs hedging)."""

    NETTING = "netting"
    HEDGING = "hedging"


class DealEntry(StrEnum):
    """Whether a deal opened, closed or reversed a position (MT5 DEAL_ENTRY_*)."""

    IN = "in"
    OUT = "out"
    INOUT = "inout"
    OUT_BY = "out_by"


OPEN_STATUSES: frozenset[OrderStatus] = frozenset(
    {OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNKNOWN}
)
"""Statuses in which the order may still trade: they count against open-order limits."""

TERMINAL_STATUSES: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.DENIED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }
)
"""Statuses no legal event leaves; late or extra events there are recorded as anomalies."""
