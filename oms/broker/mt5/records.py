"""Turn MT5 result records (local struct sequences or bridge proxies) into plain port records."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from oms.broker.mt5 import constants as c
from oms.broker.port import BrokerDeal, BrokerOrder, BrokerPosition
from oms.domain.enums import Side
from oms.errors import OmsError
from oms.frozen import builder

TRADE_ORDER_FIELDS: Final = (
    "ticket", "time_setup", "time_setup_msc", "time_done", "time_done_msc", "time_expiration",
    "type", "type_time", "type_filling", "state", "magic", "position_id", "position_by_id",
    "reason", "volume_initial", "volume_current", "price_open", "sl", "tp", "price_current",
    "price_stoplimit", "symbol", "comment", "external_id",
)  # fmt: skip
TRADE_DEAL_FIELDS: Final = (
    "ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason",
    "volume", "price", "commission", "swap", "profit", "fee", "symbol", "comment", "external_id",
)  # fmt: skip
TRADE_POSITION_FIELDS: Final = (
    "ticket", "time", "time_msc", "time_update", "time_update_msc", "type", "magic",
    "identifier", "reason", "volume", "price_open", "sl", "tp", "price_current", "swap",
    "profit", "symbol", "comment", "external_id",
)  # fmt: skip
ORDER_SEND_RESULT_FIELDS: Final = (
    "retcode", "deal", "order", "volume", "price", "bid", "ask", "comment", "request_id",
    "retcode_external", "request",
)  # fmt: skip
TICK_FIELDS: Final = ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real")
SYMBOL_SPEC_FIELDS: Final = (
    "name", "digits", "point", "trade_tick_size", "volume_min", "volume_max", "volume_step",
    "filling_mode", "trade_exemode", "trade_stops_level", "visible",
)  # fmt: skip

_broker_deal = builder(BrokerDeal)
PRICE_PLACES: Final = 10
VOLUME_PLACES: Final = 8


class BrokerDataError(OmsError):
    """A record from the broker lacks a field or holds a value of the wrong kind."""


def price(value: Any) -> float:
    """A broker float rounded to ten places, so 1.1 + noise compares equal to 1.1."""
    return round(float(value), PRICE_PLACES)


def volume(value: Any) -> float:
    """A broker volume rounded to eight places, so sums and comparisons stay exact enough."""
    return round(float(value), VOLUME_PLACES)


def exact(value: float) -> Decimal:
    """A float as the Decimal of its shortest repr, for grid arithmetic (0.3 % 0.1 == 0)."""
    return Decimal(repr(value))


@dataclass(slots=True)
class RecordLayouts:
    """Which record kinds were checked to list their fields in the documented order.

    Reading a record as one slice costs one round trip over the mt5linux bridge instead of one
    per field; it is only done once `_asdict()` has shown the order matches.
    """

    positional: dict[str, bool] = field(default_factory=dict)

    def read(self, kind: str, record: Any, fields: tuple[str, ...]) -> dict[str, Any]:
        """Return the record's fields by name."""
        return dict(zip(fields, self.values(kind, record, fields), strict=True))

    def values(self, kind: str, record: Any, fields: tuple[str, ...]) -> tuple[Any, ...]:
        """Return the record's fields as a tuple in the order of `fields`."""
        ok = self.positional.get(kind)
        if ok is None:
            ok = self.positional[kind] = _fields_in_order(record, fields)
        if ok:
            values = tuple(record[: len(fields)])
            if len(values) == len(fields):
                return values
        try:
            return tuple([getattr(record, name) for name in fields])
        except AttributeError as exc:
            raise BrokerDataError(f"{kind} record has no field {exc.name!r}: {record!r}") from exc


def _fields_in_order(record: Any, fields: tuple[str, ...]) -> bool:
    """True when the record's own field names start with `fields`, in that order."""
    try:
        names = tuple(record._asdict().keys())
    except Exception:
        return False
    return names[: len(fields)] == fields


def order_from(raw: dict[str, Any], *, live: bool) -> BrokerOrder:
    """Build a BrokerOrder from a TradeOrder's fields."""
    try:
        return BrokerOrder(
            ticket=int(raw["ticket"]),
            symbol=str(raw["symbol"]),
            kind=int(raw["type"]),
            state=int(raw["state"]),
            magic=int(raw["magic"]),
            comment=str(raw["comment"]),
            volume_initial=volume(raw["volume_initial"]),
            volume_current=volume(raw["volume_current"]),
            price_open=price(raw["price_open"]),
            price_stoplimit=price(raw["price_stoplimit"]),
            sl=price(raw["sl"]),
            tp=price(raw["tp"]),
            position_id=int(raw["position_id"]),
            time_setup_msc=int(raw["time_setup_msc"]),
            time_done_msc=int(raw["time_done_msc"]),
            filling=int(raw["type_filling"]),
            type_time=int(raw["type_time"]),
            expiration_s=int(raw["time_expiration"]),
            reason=int(raw["reason"]),
            live=live,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokerDataError(f"unreadable TradeOrder {raw!r}: {exc}") from exc


def deal_from(values: tuple[Any, ...]) -> BrokerDeal:
    """Build a BrokerDeal from a TradeDeal's values in `TRADE_DEAL_FIELDS` order."""
    try:
        (ticket, order, _, time_msc, kind, entry, magic, position_id, reason, lots, px,
         commission, swap, profit, fee, symbol, comment, _) = values
        return _broker_deal(
            int(ticket), int(order), str(symbol), int(kind), int(entry), int(magic),
            int(position_id), volume(lots), price(px), price(commission), price(swap),
            price(profit), price(fee), int(time_msc), int(reason), str(comment),
        )
    except (TypeError, ValueError) as exc:
        raw = dict(zip(TRADE_DEAL_FIELDS, values, strict=False))
        raise BrokerDataError(f"unreadable TradeDeal {raw!r}: {exc}") from exc


def position_from(raw: dict[str, Any]) -> BrokerPosition:
    """Build a BrokerPosition from a TradePosition's fields."""
    try:
        kind = int(raw["type"])
        if kind not in (c.POSITION_TYPE_BUY, c.POSITION_TYPE_SELL):
            raise ValueError(f"position type {kind}")
        return BrokerPosition(
            ticket=int(raw["ticket"]),
            identifier=int(raw["identifier"]),
            symbol=str(raw["symbol"]),
            side=Side.BUY if kind == c.POSITION_TYPE_BUY else Side.SELL,
            magic=int(raw["magic"]),
            volume=volume(raw["volume"]),
            price_open=price(raw["price_open"]),
            sl=price(raw["sl"]),
            tp=price(raw["tp"]),
            time_msc=int(raw["time_msc"]),
            time_update_msc=int(raw["time_update_msc"]),
            comment=str(raw["comment"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokerDataError(f"unreadable TradePosition {raw!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """The symbol properties that shape a request: digits, volume grid, filling, execution."""

    name: str
    digits: int
    point: Decimal
    tick_size: Decimal
    volume_min: Decimal
    volume_max: Decimal
    volume_step: Decimal
    filling_mode: int
    execution_mode: int
    stops_level: int
    visible: bool


def symbol_spec_from(raw: dict[str, Any]) -> SymbolSpec:
    """Build a SymbolSpec from a SymbolInfo's fields."""
    try:
        return SymbolSpec(
            name=str(raw["name"]),
            digits=int(raw["digits"]),
            point=exact(price(raw["point"])),
            tick_size=exact(price(raw["trade_tick_size"])),
            volume_min=exact(volume(raw["volume_min"])),
            volume_max=exact(volume(raw["volume_max"])),
            volume_step=exact(volume(raw["volume_step"])),
            filling_mode=int(raw["filling_mode"]),
            execution_mode=int(raw["trade_exemode"]),
            stops_level=int(raw["trade_stops_level"]),
            visible=bool(raw["visible"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokerDataError(f"unreadable SymbolInfo {raw!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask from a Tick."""

    bid: float
    ask: float
    time_msc: int
