"""From validated commands to the events that record them, and checks against current state.

The engine calls these after `PlaceOrder.parse` (and friends): the sequence number and the
request ids come from it, the rest is derived here so that every process derives the same
client order id and magic for the same input.
"""

from __future__ import annotations

from typing import Any

from oms.domain.commands import CancelOrder, ModifyOrder, PlaceOrder, stops_problems
from oms.domain.enums import OrderStatus, OrderType, Side, TimeInForce
from oms.domain.errors import CommandError
from oms.domain.events import OrderCancelRequested, OrderModifyRequested, OrderSubmitted
from oms.domain.ids import client_order_id, magic_for
from oms.domain.order import Order

WORKING_STATUSES = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


def submitted_event(cmd: PlaceOrder, sequence: int) -> OrderSubmitted:
    """The intent to journal before the send: id and magic derived from account and strategy."""
    return OrderSubmitted(
        client_order_id=client_order_id(cmd.account, cmd.strategy, sequence),
        account=cmd.account,
        strategy=cmd.strategy,
        symbol=cmd.symbol,
        side=cmd.side,
        order_type=cmd.order_type,
        volume=float(cmd.volume),
        price=cmd.price,
        stop_limit_price=cmd.stop_limit_price,
        sl=cmd.sl,
        tp=cmd.tp,
        time_in_force=cmd.time_in_force,
        expiry_ns=cmd.expiry_ns,
        filling=cmd.filling,
        deviation=cmd.deviation,
        magic=magic_for(cmd.account, cmd.strategy),
        position_id=cmd.position_id,
        position_by_id=cmd.position_by_id,
    )


def submitted_payload(cmd: PlaceOrder, sequence: int) -> dict[str, Any]:
    """`submitted_event(cmd, sequence).to_payload()`, built without the event object.

    Every order journals its intent first; this skips a 19-field frozen dataclass on that
    path. `tests/domain/test_intents.py` holds the two to the same payload, key order too.
    """
    payload: dict[str, Any] = {
        "client_order_id": client_order_id(cmd.account, cmd.strategy, sequence),
        "account": cmd.account,
        "strategy": cmd.strategy,
        "symbol": cmd.symbol,
        "side": cmd.side.value,
        "order_type": cmd.order_type.value,
        "volume": float(cmd.volume),
    }
    if cmd.price is not None:
        payload["price"] = cmd.price
    if cmd.stop_limit_price is not None:
        payload["stop_limit_price"] = cmd.stop_limit_price
    if cmd.sl is not None:
        payload["sl"] = cmd.sl
    if cmd.tp is not None:
        payload["tp"] = cmd.tp
    payload["time_in_force"] = cmd.time_in_force.value
    if cmd.expiry_ns is not None:
        payload["expiry_ns"] = cmd.expiry_ns
    payload["filling"] = cmd.filling.value
    payload["deviation"] = cmd.deviation
    payload["magic"] = magic_for(cmd.account, cmd.strategy)
    if cmd.position_id is not None:
        payload["position_id"] = cmd.position_id
    if cmd.position_by_id is not None:
        payload["position_by_id"] = cmd.position_by_id
    return payload


def modify_problems(order: Order, cmd: ModifyOrder) -> list[tuple[str, str]]:
    """What is wrong with modifying this order so (empty when the request may be sent)."""
    problems: list[tuple[str, str]] = []
    if order.status not in WORKING_STATUSES:
        problems.append(("client_order_id", f"order is {order.status.value}, not working"))
        return problems
    if order.pending_modify is not None:
        problems.append(("client_order_id", f"modify {order.pending_modify} still pending"))
    if cmd.price is not None and order.order_type == OrderType.MARKET:
        problems.append(("price", "a market order has no price to modify"))
    if cmd.stop_limit_price is not None and order.order_type != OrderType.STOP_LIMIT:
        problems.append(("stop_limit_price", f"only for stop_limit orders, not {order.order_type}"))
    if cmd.expiry_ns is not None and order.time_in_force != TimeInForce.SPECIFIED:
        problems.append(("expiry_ns", f"order's time_in_force is {order.time_in_force}"))
    stop = cmd.price if cmd.price is not None else order.price
    limit = cmd.stop_limit_price if cmd.stop_limit_price is not None else order.stop_limit_price
    reference = limit if order.order_type == OrderType.STOP_LIMIT else stop
    if order.order_type == OrderType.STOP_LIMIT and stop is not None and limit is not None:
        if order.side == Side.BUY and limit > stop:
            problems.append(("stop_limit_price", f"{limit} must be <= stop price {stop}"))
        if order.side == Side.SELL and limit < stop:
            problems.append(("stop_limit_price", f"{limit} must be >= stop price {stop}"))
    if reference is not None:
        sl = cmd.sl if cmd.sl is not None else order.sl
        tp = cmd.tp if cmd.tp is not None else order.tp
        problems.extend(stops_problems(Side(order.side), reference, sl, tp))
    return problems


def modify_requested_event(order: Order, cmd: ModifyOrder, request_id: str) -> OrderModifyRequested:
    """The modify request to journal, or `CommandError` when the order cannot take it."""
    problems = modify_problems(order, cmd)
    if problems:
        raise CommandError("modify", problems)
    return OrderModifyRequested(
        client_order_id=cmd.client_order_id,
        request_id=request_id,
        price=cmd.price,
        stop_limit_price=cmd.stop_limit_price,
        sl=cmd.sl,
        tp=cmd.tp,
        expiry_ns=cmd.expiry_ns,
    )


def cancel_requested_event(order: Order, cmd: CancelOrder, request_id: str) -> OrderCancelRequested:
    """The cancel request to journal, or `CommandError` when the order is not open."""
    if not order.is_open:
        raise CommandError("cancel", [("client_order_id", f"order is {order.status.value}")])
    if order.pending_cancel is not None:
        raise CommandError(
            "cancel", [("client_order_id", f"cancel {order.pending_cancel} still pending")]
        )
    return OrderCancelRequested(client_order_id=cmd.client_order_id, request_id=request_id)
