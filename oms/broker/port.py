"""The broker port: what the engine may ask of any broker, in records that name no broker API.

It speaks the domain's vocabulary (`oms.domain.enums`) and the domain's float prices and
volumes; an adapter rounds what its broker reports and checks grids exactly on its side.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from oms.domain.enums import Filling, OrderType, Side, TimeInForce
from oms.errors import OmsError

MAX_CLIENT_ID_CHARS = 29
MAX_MAGIC = 2**64 - 1
_CLIENT_ID_RE = re.compile(r"^[\x21-\x7e]{1,29}$")
_INF = math.inf


class BrokerRequestError(OmsError):
    """A command the broker could never accept, refused before anything is sent."""


class OutcomeStatus(StrEnum):
    """The one definite answer a request gets, or UNKNOWN when the answer was lost."""

    PLACED = "placed"
    FILLED = "filled"
    PARTIALLY_FILLED = "partially_filled"
    MODIFIED = "modified"
    CANCELED = "canceled"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    NOT_FOUND = "not_found"


class ConnectionState(StrEnum):
    """Whether calls can reach the terminal and the terminal its trade server."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NO_TRADE_SERVER = "no_trade_server"


def _check_client_id(client_id: str) -> None:
    if not _CLIENT_ID_RE.match(client_id):
        raise BrokerRequestError(
            f"client id {client_id!r} must be 1 to {MAX_CLIENT_ID_CHARS} printable ASCII "
            "characters without spaces (it travels in the order comment)"
        )


def _check_positive(name: str, value: float | None) -> None:
    if value is not None and not 0 < value < _INF:  # NaN fails both comparisons
        raise BrokerRequestError(f"{name} must be a positive finite number, got {value}")


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A new order: `client_id` goes in the comment, `magic` names the strategy/account."""

    client_id: str
    magic: int
    symbol: str
    side: Side
    kind: OrderType
    volume: float
    price: float | None = None
    stop_limit: float | None = None
    sl: float | None = None
    tp: float | None = None
    filling: Filling | None = None
    expiry: TimeInForce = TimeInForce.GTC
    expiration_s: int | None = None
    deviation_points: int | None = None
    position: int | None = None

    def __post_init__(self) -> None:
        _check_client_id(self.client_id)
        if not 0 <= self.magic <= MAX_MAGIC:
            raise BrokerRequestError(f"magic {self.magic} is outside 0..2**64-1")
        if not self.symbol or len(self.symbol) > MAX_CLIENT_ID_CHARS:
            raise BrokerRequestError(f"symbol {self.symbol!r} must be 1 to 29 characters")
        _check_positive("volume", self.volume)
        if self.price is not None:  # the optional prices, unrolled: every order passes here
            _check_positive("price", self.price)
        if self.stop_limit is not None:
            _check_positive("stop_limit", self.stop_limit)
        if self.sl is not None:
            _check_positive("sl", self.sl)
        if self.tp is not None:
            _check_positive("tp", self.tp)
        if self.kind is not OrderType.MARKET and self.price is None:
            raise BrokerRequestError(f"a {self.kind} order needs a price")
        if (self.kind is OrderType.STOP_LIMIT) != (self.stop_limit is not None):
            raise BrokerRequestError("stop_limit is required for, and only for, stop-limit orders")
        if (self.expiry is TimeInForce.SPECIFIED) != (self.expiration_s is not None):
            raise BrokerRequestError("expiration_s is required for, and only for, specified expiry")
        if self.kind is not OrderType.MARKET and self.position is not None:
            raise BrokerRequestError("only a market order can close a position")


@dataclass(frozen=True, slots=True)
class ModifyOrder:
    """New price, stops or expiry for a resting order; volume and type cannot change."""

    client_id: str
    ticket: int
    price: float
    stop_limit: float | None = None
    sl: float | None = None
    tp: float | None = None
    expiry: TimeInForce = TimeInForce.GTC
    expiration_s: int | None = None

    def __post_init__(self) -> None:
        _check_client_id(self.client_id)
        if self.ticket <= 0:
            raise BrokerRequestError(f"ticket must be positive, got {self.ticket}")
        for name in ("price", "stop_limit", "sl", "tp"):
            _check_positive(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Remove a resting order."""

    client_id: str
    ticket: int

    def __post_init__(self) -> None:
        _check_client_id(self.client_id)
        if self.ticket <= 0:
            raise BrokerRequestError(f"ticket must be positive, got {self.ticket}")


@dataclass(frozen=True, slots=True)
class ModifyPosition:
    """New stop loss and take profit of an open position (None removes the level)."""

    client_id: str
    symbol: str
    position: int
    sl: float | None = None
    tp: float | None = None

    def __post_init__(self) -> None:
        _check_client_id(self.client_id)
        if self.position <= 0:
            raise BrokerRequestError(f"position must be positive, got {self.position}")
        for name in ("sl", "tp"):
            _check_positive(name, getattr(self, name))


@dataclass(frozen=True, slots=True)
class CloseBy:
    """Close a position against an opposite one of the same symbol (hedging accounts)."""

    client_id: str
    magic: int
    symbol: str
    position: int
    position_by: int

    def __post_init__(self) -> None:
        _check_client_id(self.client_id)
        if not 0 <= self.magic <= MAX_MAGIC:
            raise BrokerRequestError(f"magic {self.magic} is outside 0..2**64-1")
        if self.position <= 0 or self.position_by <= 0 or self.position == self.position_by:
            raise BrokerRequestError("close-by needs two different positive position tickets")


@dataclass(frozen=True, slots=True)
class SendAttempt:
    """One request as the broker saw it: journaled so requote retries are auditable."""

    number: int
    retcode: int | None
    error_code: int | None
    reason: str
    price: float | None
    bid: float | None
    ask: float | None
    sent_ns: int
    answered_ns: int


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker reports it, live or historical."""

    ticket: int
    symbol: str
    kind: int
    state: int
    magic: int
    comment: str
    volume_initial: float
    volume_current: float
    price_open: float
    price_stoplimit: float
    sl: float
    tp: float
    position_id: int
    time_setup_msc: int
    time_done_msc: int
    filling: int
    type_time: int
    expiration_s: int
    reason: int
    live: bool


@dataclass(frozen=True, slots=True)
class BrokerDeal:
    """A fill (or balance operation) as the broker reports it; its ticket is its identity."""

    ticket: int
    order: int
    symbol: str
    kind: int
    entry: int
    magic: int
    position_id: int
    volume: float
    price: float
    commission: float
    swap: float
    profit: float
    fee: float
    time_msc: int
    reason: int
    comment: str


@dataclass(frozen=True, slots=True)
class BrokerPosition:
    """An open position as the broker reports it."""

    ticket: int
    identifier: int
    symbol: str
    side: Side
    magic: int
    volume: float
    price_open: float
    sl: float
    tp: float
    time_msc: int
    time_update_msc: int
    comment: str


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What became of one request: `attempts` lists every send (empty: nothing was sent)."""

    status: OutcomeStatus
    client_id: str
    retcode: int | None = None
    reason: str = ""
    order_ticket: int | None = None
    deal_ticket: int | None = None
    filled_volume: float = 0.0
    fill_price: float | None = None
    open_volume: float = 0.0
    attempts: tuple[SendAttempt, ...] = ()
    matched_by: str | None = None
    order: BrokerOrder | None = None
    deals: tuple[BrokerDeal, ...] = ()
    sent_ns: int = 0

    @property
    def definite(self) -> bool:
        """True unless the answer was lost and a lookup is still owed."""
        return self.status is not OutcomeStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """Everything known about a sent order, to find it at the broker without resending."""

    client_id: str
    magic: int
    symbol: str
    side: Side
    kind: OrderType
    volume: float
    ticket: int | None = None
    known_tickets: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def for_order(
        cls,
        order: PlaceOrder,
        ticket: int | None = None,
        known_tickets: frozenset[int] = frozenset(),
    ) -> OrderQuery:
        """The query for a PlaceOrder whose outcome was lost (`known_tickets`: already ours)."""
        return cls(
            client_id=order.client_id,
            magic=order.magic,
            symbol=order.symbol,
            side=order.side,
            kind=order.kind,
            volume=order.volume,
            ticket=ticket,
            known_tickets=known_tickets,
        )


@dataclass(frozen=True, slots=True)
class HistoryCursor:
    """Where incremental polling resumes: a server time and the tickets seen at or after it."""

    deals_from_msc: int = 0
    orders_from_msc: int = 0
    seen_deals: frozenset[int] = frozenset()
    seen_orders: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class BrokerChanges:
    """One polling cycle: new history since the cursor, plus the live orders and positions."""

    deals: tuple[BrokerDeal, ...]
    history_orders: tuple[BrokerOrder, ...]
    open_orders: tuple[BrokerOrder, ...]
    positions: tuple[BrokerPosition, ...]
    cursor: HistoryCursor
    records_read: int


class BrokerPort(Protocol):
    """The small surface the engine depends on; every method is safe to await on the loop."""

    @property
    def state(self) -> ConnectionState:
        """The connection state as of the last call."""
        ...

    async def connect(self) -> ConnectionState:
        """Open (or reopen) the terminal connection."""
        ...

    async def close(self) -> None:
        """Shut the terminal connection and the worker down."""
        ...

    async def place(self, order: PlaceOrder) -> SendOutcome:
        """Send a new order; UNKNOWN when the answer was lost."""
        ...

    async def modify(self, change: ModifyOrder) -> SendOutcome:
        """Change a resting order."""
        ...

    async def cancel(self, cancel: CancelOrder) -> SendOutcome:
        """Remove a resting order."""
        ...

    async def modify_position(self, change: ModifyPosition) -> SendOutcome:
        """Move an open position's stop loss and take profit."""
        ...

    async def close_by(self, close: CloseBy) -> SendOutcome:
        """Close a position against an opposite one."""
        ...

    async def lookup(self, query: OrderQuery) -> SendOutcome:
        """Find what became of a sent order, by ticket, magic and comment; never resends."""
        ...

    async def confirm_modify(self, change: ModifyOrder) -> SendOutcome:
        """Find whether a modify whose answer was lost took effect."""
        ...

    async def confirm_cancel(self, cancel: CancelOrder) -> SendOutcome:
        """Find whether a cancel whose answer was lost took effect."""
        ...

    async def poll(self) -> BrokerChanges:
        """Read what changed at the broker since the last poll."""
        ...
