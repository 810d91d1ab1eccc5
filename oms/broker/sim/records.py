"""Result records shaped like the MetaTrader5 module's struct sequences.

Each record is a tuple subclass built from one sequence (`TradeDeal(values)`, like a C struct
sequence), with attribute access, `_asdict()`, `n_fields`, and deliberately no `_fields` or
`_replace`, so code written against the simulator does not lean on namedtuple extras the real
module lacks.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from operator import itemgetter
from typing import Any, ClassVar, TypeVar

_NAMES: dict[type, tuple[str, ...]] = {}

R = TypeVar("R", bound="Record")


class Record(tuple):  # type: ignore[type-arg]
    """Base of every record: a fixed-length tuple whose items are also named attributes."""

    __slots__ = ()
    n_fields: ClassVar[int] = 0
    n_sequence_fields: ClassVar[int] = 0
    n_unnamed_fields: ClassVar[int] = 0

    def __new__(cls, values: Iterable[Any]) -> Record:
        """Build from one sequence of exactly `n_fields` values, as struct sequences are."""
        self = tuple.__new__(cls, values)
        if len(self) != cls.n_fields:
            raise TypeError(f"{cls.__name__}() takes a {cls.n_fields}-sequence ({len(self)} given)")
        return self

    def _asdict(self) -> dict[str, Any]:
        """Field name to value, in field order, like the real records."""
        return dict(zip(_NAMES[type(self)], self, strict=True))

    def __repr__(self) -> str:
        """`Name(field=value, ...)`, as the real module prints its records."""
        body = ", ".join(f"{n}={v!r}" for n, v in zip(_NAMES[type(self)], self, strict=True))
        return f"{type(self).__name__}({body})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle as the class applied to a plain tuple (the real records do not pickle at all)."""
        return (type(self), (tuple(self),))


def trusted(cls: type[R], values: tuple[Any, ...]) -> R:
    """Build a record from a tuple already known to have the right length (hot paths)."""
    return tuple.__new__(cls, values)


def _record(cls: type[R]) -> type[R]:
    """Turn the annotated field names of `cls`, in order, into read-only item attributes."""
    names = tuple(inspect.get_annotations(cls))
    for index, name in enumerate(names):
        setattr(cls, name, property(itemgetter(index), doc=f"item {index}"))
    cls.n_fields = cls.n_sequence_fields = len(names)
    _NAMES[cls] = names
    return cls


def field_names(cls: type[Record]) -> tuple[str, ...]:
    """Names of a record type's fields in order (for tests and tooling, not on the records)."""
    return _NAMES[cls]


@_record
class TradeRequest(Record):
    """The request echoed back in OrderSendResult and OrderCheckResult."""

    __slots__ = ()
    action: int
    magic: int
    order: int
    symbol: str
    volume: float
    price: float
    stoplimit: float
    sl: float
    tp: float
    deviation: int
    type: int
    type_filling: int
    type_time: int
    expiration: int
    comment: str
    position: int
    position_by: int


@_record
class OrderSendResult(Record):
    """Answer of order_send."""

    __slots__ = ()
    retcode: int
    deal: int
    order: int
    volume: float
    price: float
    bid: float
    ask: float
    comment: str
    request_id: int
    retcode_external: int
    request: TradeRequest


@_record
class OrderCheckResult(Record):
    """Answer of order_check: retcode 0 and comment 'Done' on success."""

    __slots__ = ()
    retcode: int
    balance: float
    equity: float
    profit: float
    margin: float
    margin_free: float
    margin_level: float
    comment: str
    request: TradeRequest


@_record
class TradeOrder(Record):
    """An open or historical order."""

    __slots__ = ()
    ticket: int
    time_setup: int
    time_setup_msc: int
    time_done: int
    time_done_msc: int
    time_expiration: int
    type: int
    type_time: int
    type_filling: int
    state: int
    magic: int
    position_id: int
    position_by_id: int
    reason: int
    volume_initial: float
    volume_current: float
    price_open: float
    sl: float
    tp: float
    price_current: float
    price_stoplimit: float
    symbol: str
    comment: str
    external_id: str


@_record
class TradeDeal(Record):
    """A deal (an execution) in history."""

    __slots__ = ()
    ticket: int
    order: int
    time: int
    time_msc: int
    type: int
    entry: int
    magic: int
    position_id: int
    reason: int
    volume: float
    price: float
    commission: float
    swap: float
    profit: float
    fee: float
    symbol: str
    comment: str
    external_id: str


@_record
class TradePosition(Record):
    """An open position."""

    __slots__ = ()
    ticket: int
    time: int
    time_msc: int
    time_update: int
    time_update_msc: int
    type: int
    magic: int
    identifier: int
    reason: int
    volume: float
    price_open: float
    sl: float
    tp: float
    price_current: float
    swap: float
    profit: float
    symbol: str
    comment: str
    external_id: str


@_record
class Tick(Record):
    """Last prices of a symbol."""

    __slots__ = ()
    time: int
    bid: float
    ask: float
    last: float
    volume: int
    time_msc: int
    flags: int
    volume_real: float


@_record
class BookInfo(Record):
    """One level of market depth."""

    __slots__ = ()
    type: int
    price: float
    volume: int
    volume_dbl: float


@_record
class AccountInfo(Record):
    """Trading account state."""

    __slots__ = ()
    login: int
    trade_mode: int
    leverage: int
    limit_orders: int
    margin_so_mode: int
    trade_allowed: bool
    trade_expert: bool
    margin_mode: int
    currency_digits: int
    fifo_close: bool
    balance: float
    credit: float
    profit: float
    equity: float
    margin: float
    margin_free: float
    margin_level: float
    margin_so_call: float
    margin_so_so: float
    margin_initial: float
    margin_maintenance: float
    assets: float
    liabilities: float
    commission_blocked: float
    name: str
    server: str
    currency: str
    company: str


@_record
class TerminalInfo(Record):
    """Terminal state; `connected` says whether it reaches its trade server."""

    __slots__ = ()
    community_account: bool
    community_connection: bool
    connected: bool
    dlls_allowed: bool
    trade_allowed: bool
    tradeapi_disabled: bool
    email_enabled: bool
    ftp_enabled: bool
    notifications_enabled: bool
    mqid: bool
    build: int
    maxbars: int
    codepage: int
    ping_last: int
    community_balance: float
    retransmission: float
    company: str
    name: str
    language: str
    path: str
    data_path: str
    commondata_path: str


@_record
class SymbolInfo(Record):
    """Symbol specification and last prices: all 96 fields of the real record, in its order.

    Every field of the real module is present; the simulator fills the trading ones (digits,
    point, tick size and value, contract size, volume limits, stops and freeze levels,
    execution mode, filling/expiration/order mode bits, bid/ask, currencies, name, path) and
    leaves session statistics and option greeks at zero.
    """

    __slots__ = ()
    custom: bool
    chart_mode: int
    select: bool
    visible: bool
    session_deals: int
    session_buy_orders: int
    session_sell_orders: int
    volume: int
    volumehigh: int
    volumelow: int
    time: int
    digits: int
    spread: int
    spread_float: bool
    ticks_bookdepth: int
    trade_calc_mode: int
    trade_mode: int
    start_time: int
    expiration_time: int
    trade_stops_level: int
    trade_freeze_level: int
    trade_exemode: int
    swap_mode: int
    swap_rollover3days: int
    margin_hedged_use_leg: bool
    expiration_mode: int
    filling_mode: int
    order_mode: int
    order_gtc_mode: int
    option_mode: int
    option_right: int
    bid: float
    bidhigh: float
    bidlow: float
    ask: float
    askhigh: float
    asklow: float
    last: float
    lasthigh: float
    lastlow: float
    volume_real: float
    volumehigh_real: float
    volumelow_real: float
    option_strike: float
    point: float
    trade_tick_value: float
    trade_tick_value_profit: float
    trade_tick_value_loss: float
    trade_tick_size: float
    trade_contract_size: float
    trade_accrued_interest: float
    trade_face_value: float
    trade_liquidity_rate: float
    volume_min: float
    volume_max: float
    volume_step: float
    volume_limit: float
    swap_long: float
    swap_short: float
    margin_initial: float
    margin_maintenance: float
    session_volume: float
    session_turnover: float
    session_interest: float
    session_buy_orders_volume: float
    session_sell_orders_volume: float
    session_open: float
    session_close: float
    session_aw: float
    session_price_settlement: float
    session_price_limit_min: float
    session_price_limit_max: float
    margin_hedged: float
    price_change: float
    price_volatility: float
    price_theoretical: float
    price_greeks_delta: float
    price_greeks_theta: float
    price_greeks_gamma: float
    price_greeks_vega: float
    price_greeks_rho: float
    price_greeks_omega: float
    price_sensitivity: float
    basis: str
    category: str
    currency_base: str
    currency_profit: str
    currency_margin: str
    bank: str
    description: str
    exchange: str
    formula: str
    isin: str
    name: str
    page: str
    path: str
