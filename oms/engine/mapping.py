"""Domain orders as broker port requests, and broker deals as domain fill fields.

The port speaks the domain's enums and float prices, so what is left here is choosing which
of an order's journaled terms a request carries, and reading MT5's integer deal codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, TypeVar

from oms.broker import port
from oms.domain.enums import DealEntry, Filling, OrderType, Side, TimeInForce
from oms.domain.order import Order
from oms.frozen import builder

# MT5 DEAL_TYPE_BUY = 0, DEAL_TYPE_SELL = 1; DEAL_ENTRY_IN/OUT/INOUT/OUT_BY = 0/1/2/3.
_DEAL_SIDE = {0: Side.BUY, 1: Side.SELL}
E = TypeVar("E", bound=StrEnum)
_DEAL_ENTRY = {0: DealEntry.IN, 1: DealEntry.OUT, 2: DealEntry.INOUT, 3: DealEntry.OUT_BY}


def _members(enum_type: type[E]) -> Callable[[str], E]:
    """`enum_type(value)` through a dict first: orders hold the enums' plain string values."""
    by_value: dict[str, E] = {member.value: member for member in enum_type}

    def member(value: str) -> E:
        found = by_value.get(value)
        return enum_type(value) if found is None else found

    return member


_side = _members(Side)
_place_order = builder(port.PlaceOrder)
_cancel_order = builder(port.CancelOrder)
_order_type = _members(OrderType)
_filling = _members(Filling)
_time_in_force = _members(TimeInForce)


def place_request(order: Order) -> port.PlaceOrder:
    """The broker request for an order's journaled terms (never anything not journaled)."""
    market = order.order_type == OrderType.MARKET
    expiry_ns = order.expiry_ns
    return _place_order(
        order.client_order_id,
        order.magic,
        order.symbol,
        _side(order.side),
        _order_type(order.order_type),
        order.volume,
        None if market else order.price,
        order.stop_limit_price,
        order.sl,
        order.tp,
        _filling(order.filling),
        _time_in_force(order.time_in_force),
        None if expiry_ns is None else expiry_ns // 1_000_000_000,
        order.deviation or None,
        order.position_id if market else None,
    )


def close_by_request(order: Order) -> port.CloseBy:
    """The broker request for a close-by order (position against the opposite position_by)."""
    if order.position_id is None or order.position_by_id is None:
        raise ValueError(f"order {order.client_order_id} is not a close-by")
    return port.CloseBy(
        client_id=order.client_order_id,
        magic=order.magic,
        symbol=order.symbol,
        position=order.position_id,
        position_by=order.position_by_id,
    )


def order_query(order: Order, owned_tickets: Iterable[int] = ()) -> port.OrderQuery:
    """What the broker needs to find an order whose answer was lost.

    `owned_tickets` are broker orders already known to be other orders of ours: the
    adapter's last-resort match by fingerprint must never pick one of those.
    """
    known = frozenset(t for t in owned_tickets if t != order.broker_order_id)
    return port.OrderQuery.for_order(place_request(order), order.broker_order_id, known)


def modify_request(order: Order, changes: dict[str, Any]) -> port.ModifyOrder:
    """The broker request for a journaled modify: unchanged fields keep the order's terms."""
    if order.broker_order_id is None:
        raise ValueError(f"order {order.client_order_id} has no broker ticket yet")

    def pick(name: str) -> Any:
        value = changes.get(name)
        return getattr(order, name) if value is None else value

    price = pick("price")
    sl = pick("sl") or None  # 0.0 removes the level
    tp = pick("tp") or None
    expiry_ns: int | None = pick("expiry_ns")
    expiry = _time_in_force(order.time_in_force)
    return port.ModifyOrder(
        client_id=order.client_order_id,
        ticket=order.broker_order_id,
        price=price if price is not None else 0.0,
        stop_limit=pick("stop_limit_price"),
        sl=sl,
        tp=tp,
        expiry=expiry,
        expiration_s=(
            None if expiry is not TimeInForce.SPECIFIED or expiry_ns is None
            else expiry_ns // 1_000_000_000
        ),
    )


def cancel_request(order: Order) -> port.CancelOrder:
    """The broker request that removes a working order."""
    if order.broker_order_id is None:
        raise ValueError(f"order {order.client_order_id} has no broker ticket yet")
    return _cancel_order(order.client_order_id, order.broker_order_id)


def deal_fields(deal: port.BrokerDeal) -> dict[str, Any]:
    """A broker deal as the domain's fill payload fields (without client_order_id)."""
    entry = _DEAL_ENTRY.get(deal.entry)
    return {
        "deal_ticket": deal.ticket,
        "symbol": deal.symbol,
        "side": _DEAL_SIDE.get(deal.kind, Side.BUY).value,
        "volume": deal.volume,
        "price": deal.price,
        "fill_ns": deal.time_msc * 1_000_000,
        "commission": deal.commission,
        "fee": deal.fee,
        "swap": deal.swap,
        "position_id": deal.position_id or None,
        "entry": None if entry is None else entry.value,
    }


def is_trade_deal(deal: port.BrokerDeal) -> bool:
    """Buy and sell deals are fills; balance, credit and the like are not."""
    return deal.kind in _DEAL_SIDE and deal.order != 0
