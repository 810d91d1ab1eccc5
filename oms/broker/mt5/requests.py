"""Build order_send requests the real module accepts and the mt5linux bridge can carry.

Every value is a builtin float, int or str: the bridge sends `repr(request)` as source text,
so a Decimal, datetime or numpy scalar would not survive it, and the module itself rejects an
int volume or a comment over 29 characters.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Final

from oms.broker.mt5 import constants as c
from oms.broker.mt5.records import Quote, SymbolSpec, exact
from oms.broker.port import (
    BrokerRequestError,
    CancelOrder,
    CloseBy,
    ModifyOrder,
    ModifyPosition,
    PlaceOrder,
)
from oms.domain.enums import Filling, OrderType, Side, TimeInForce

_ORDER_TYPES: Final = {
    (Side.BUY, OrderType.MARKET): c.ORDER_TYPE_BUY,
    (Side.SELL, OrderType.MARKET): c.ORDER_TYPE_SELL,
    (Side.BUY, OrderType.LIMIT): c.ORDER_TYPE_BUY_LIMIT,
    (Side.SELL, OrderType.LIMIT): c.ORDER_TYPE_SELL_LIMIT,
    (Side.BUY, OrderType.STOP): c.ORDER_TYPE_BUY_STOP,
    (Side.SELL, OrderType.STOP): c.ORDER_TYPE_SELL_STOP,
    (Side.BUY, OrderType.STOP_LIMIT): c.ORDER_TYPE_BUY_STOP_LIMIT,
    (Side.SELL, OrderType.STOP_LIMIT): c.ORDER_TYPE_SELL_STOP_LIMIT,
}
_TYPE_TIME: Final = {
    TimeInForce.GTC: c.ORDER_TIME_GTC,
    TimeInForce.DAY: c.ORDER_TIME_DAY,
    TimeInForce.SPECIFIED: c.ORDER_TIME_SPECIFIED,
}
_FILLING: Final = {
    Filling.FOK: c.ORDER_FILLING_FOK,
    Filling.IOC: c.ORDER_FILLING_IOC,
    Filling.RETURN: c.ORDER_FILLING_RETURN,
    Filling.BOC: c.ORDER_FILLING_BOC,
}
_FILLING_BIT: Final = {
    Filling.FOK: c.SYMBOL_FILLING_FOK,
    Filling.IOC: c.SYMBOL_FILLING_IOC,
    Filling.BOC: c.SYMBOL_FILLING_BOC,
}
QUOTE_DRIVEN: Final = frozenset(
    {c.SYMBOL_TRADE_EXECUTION_INSTANT, c.SYMBOL_TRADE_EXECUTION_REQUEST}
)


def order_type(side: Side, kind: OrderType) -> int:
    """The ORDER_TYPE value of a side and kind."""
    return _ORDER_TYPES[(side, kind)]


def choose_filling(order: PlaceOrder, spec: SymbolSpec) -> int:
    """The ORDER_FILLING value to send, chosen from the symbol's filling_mode bits.

    Market orders take FOK, then IOC, then RETURN (Market/Exchange execution only); Instant
    and Request execution allow FOK only; resting orders default to RETURN.
    """
    wanted = order.filling
    is_market = order.kind is OrderType.MARKET
    quote_driven = spec.execution_mode in QUOTE_DRIVEN
    if wanted is None:
        if not is_market:
            return c.ORDER_FILLING_RETURN
        if quote_driven:
            return c.ORDER_FILLING_FOK
        for candidate in (Filling.FOK, Filling.IOC):
            if spec.filling_mode & _FILLING_BIT[candidate]:
                return _FILLING[candidate]
        return c.ORDER_FILLING_RETURN
    if wanted is Filling.BOC and order.kind not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
        raise BrokerRequestError("BOC filling is only for limit and stop-limit orders")
    if is_market and quote_driven and wanted is not Filling.FOK:
        raise BrokerRequestError(
            f"{spec.name} uses instant/request execution, which allows FOK filling only"
        )
    if wanted is Filling.RETURN:
        return c.ORDER_FILLING_RETURN
    if not spec.filling_mode & _FILLING_BIT[wanted]:
        raise BrokerRequestError(
            f"{spec.name} does not allow {wanted.value.upper()} filling "
            f"(filling_mode bits {spec.filling_mode})"
        )
    return _FILLING[wanted]


def check_volume(value: float, spec: SymbolSpec) -> float:
    """The volume as a float, once it is on the symbol's min/max/step grid."""
    problem = _volume_problem(value, spec.volume_min, spec.volume_max, spec.volume_step)
    if problem:
        raise BrokerRequestError(f"volume {value} {problem} {spec.name}")
    return float(value)


@functools.lru_cache(maxsize=1024, typed=True)  # a few volumes recur on every order
def _volume_problem(value: float, low: Decimal, high: Decimal, step: Decimal) -> str:
    """What keeps a volume off the grid, or "" when it is on it."""
    grid_value = exact(value)
    if grid_value < low or grid_value > high:
        return f"is outside {low}..{high} for"
    if step > 0 and grid_value % step != 0:
        return f"is not a multiple of the volume step {step} of"
    return ""


def check_price(name: str, value: float | None, spec: SymbolSpec) -> float:
    """The price as a float (0.0 when absent), once it is on the symbol's tick grid."""
    if value is None:
        return 0.0
    grid = spec.tick_size if spec.tick_size > 0 else spec.point
    if grid > 0 and _off_grid(value, grid):
        raise BrokerRequestError(
            f"{name} {value} is not a multiple of the tick size {grid} of {spec.name}"
        )
    return float(value)


@functools.lru_cache(maxsize=4096, typed=True)  # orders reuse a few price levels
def _off_grid(value: float, grid: Decimal) -> bool:
    return exact(value) % grid != 0


def place_request(
    order: PlaceOrder, spec: SymbolSpec, quote: Quote | None, default_deviation: int
) -> dict[str, Any]:
    """The order_send request for a new order (market orders take the quote's price)."""
    is_market = order.kind is OrderType.MARKET
    if is_market and quote is not None:
        px = float(quote.ask if order.side is Side.BUY else quote.bid)
    else:
        px = check_price("price", order.price, spec)
    request: dict[str, Any] = {
        "action": c.ACTION_DEAL if is_market else c.ACTION_PENDING,
        "symbol": str(order.symbol),
        "volume": check_volume(order.volume, spec),
        "type": order_type(order.side, order.kind),
        "price": px,
        "stoplimit": check_price("stop_limit", order.stop_limit, spec),
        "sl": check_price("sl", order.sl, spec),
        "tp": check_price("tp", order.tp, spec),
        "deviation": int(
            order.deviation_points if order.deviation_points is not None else default_deviation
        ),
        "magic": int(order.magic),
        "comment": str(order.client_id),
        "type_time": _TYPE_TIME[order.expiry],
        "type_filling": choose_filling(order, spec),
    }
    if order.expiration_s is not None:
        request["expiration"] = int(order.expiration_s)
    if order.position is not None:
        request["position"] = int(order.position)
    return request


def reprice(request: dict[str, Any], quote: Quote) -> dict[str, Any]:
    """The same market request at the fresh quote's price, for a requote retry."""
    buy = request["type"] == c.ORDER_TYPE_BUY
    return {**request, "price": float(quote.ask if buy else quote.bid)}


def modify_request(change: ModifyOrder) -> dict[str, Any]:
    """The order_send request that moves a resting order's price, stops or expiry."""
    request: dict[str, Any] = {
        "action": c.ACTION_MODIFY,
        "order": int(change.ticket),
        "price": float(change.price),
        "stoplimit": float(change.stop_limit) if change.stop_limit is not None else 0.0,
        "sl": float(change.sl) if change.sl is not None else 0.0,
        "tp": float(change.tp) if change.tp is not None else 0.0,
        "type_time": _TYPE_TIME[change.expiry],
    }
    if change.expiration_s is not None:
        request["expiration"] = int(change.expiration_s)
    return request


def cancel_request(cancel: CancelOrder) -> dict[str, Any]:
    """The order_send request that removes a resting order."""
    return {"action": c.ACTION_REMOVE, "order": int(cancel.ticket)}


def modify_position_request(change: ModifyPosition) -> dict[str, Any]:
    """The order_send request that sets a position's stop loss and take profit."""
    return {
        "action": c.ACTION_SLTP,
        "symbol": str(change.symbol),
        "position": int(change.position),
        "sl": float(change.sl) if change.sl is not None else 0.0,
        "tp": float(change.tp) if change.tp is not None else 0.0,
    }


def close_by_request(close: CloseBy) -> dict[str, Any]:
    """The order_send request that closes `position` against the opposite `position_by`."""
    return {
        "action": c.ACTION_CLOSE_BY,
        "symbol": str(close.symbol),
        "position": int(close.position),
        "position_by": int(close.position_by),
        "magic": int(close.magic),
        "comment": str(close.client_id),
    }
