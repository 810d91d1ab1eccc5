"""Map MT5 answers to one definite outcome each, or UNKNOWN when the answer was lost.

Pure functions over plain records: the worker gathers the raw answers, this module decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from oms.broker.mt5 import constants as c
from oms.broker.mt5.records import price, volume
from oms.broker.mt5.requests import order_type
from oms.broker.port import (
    BrokerDeal,
    BrokerOrder,
    BrokerPosition,
    OrderQuery,
    OutcomeStatus,
    SendAttempt,
    SendOutcome,
)
from oms.frozen import builder

ZERO: Final = 0.0
_send_outcome = builder(SendOutcome)
_send_attempt = builder(SendAttempt)
_SETTLED_FAILURE: Final = frozenset({c.ORDER_STATE_CANCELED, c.ORDER_STATE_EXPIRED})
_IN_FLIGHT: Final = frozenset(
    {
        c.ORDER_STATE_STARTED,
        c.ORDER_STATE_REQUEST_ADD,
        c.ORDER_STATE_REQUEST_MODIFY,
        c.ORDER_STATE_REQUEST_CANCEL,
    }
)


@dataclass(frozen=True, slots=True)
class RawReply:
    """One order_send call as it happened: the request, then a result, an error or an exception.

    `result` holds the OrderSendResult fields (without `request`) as builtins; `error` is
    `last_error()` after a `None`; `problem` names an exception or an unreadable result, and
    `link_lost` says the exception was the connection failing (socket closed, no answer).
    `deals` are the filled order's deal records, read right after the result: only they carry
    the position id, entry, commission, fee and swap.
    """

    request: dict[str, Any]
    sent_ns: int
    answered_ns: int
    result: dict[str, Any] | None = None
    error: tuple[int, str] | None = None
    problem: str | None = None
    link_lost: bool = False
    deals: tuple[BrokerDeal, ...] = ()

    @property
    def retcode(self) -> int | None:
        """The result's retcode, if a result came back."""
        return None if self.result is None else int(self.result["retcode"])


def attempt_record(number: int, reply: RawReply) -> SendAttempt:
    """The journaled form of one attempt."""
    result = reply.result
    requested = reply.request.get("price")
    error = reply.error
    if result is None:
        retcode = bid = ask = None
        comment = ""
    else:
        retcode = int(result["retcode"])
        comment = result.get("comment", "")
        bid = result.get("bid")
        ask = result.get("ask")
    if reply.problem is not None:
        reason = reply.problem
    elif error is not None:
        reason = f"last_error {error[0]}: {error[1]}"
    else:
        reason = str(comment)
    return _send_attempt(
        number,
        retcode,
        None if error is None else error[0],
        reason,
        price(requested) if requested else None,
        price(bid) if bid else None,
        price(ask) if ask else None,
        reply.sent_ns,
        reply.answered_ns,
    )


def is_retryable(reply: RawReply) -> bool:
    """True for a definite refusal because the price moved (requote, off quotes)."""
    return reply.retcode in c.RETRYABLE_RETCODES


def _retcode_reason(retcode: int, comment: str) -> str:
    name = c.RETCODE_NAMES.get(retcode, "UNKNOWN_RETCODE")
    return f"{retcode} {name}: {comment}" if comment else f"{retcode} {name}"


def send_outcome(
    client_id: str, requested_volume: float, replies: tuple[RawReply, ...], sent_ns: int = 0
) -> SendOutcome:
    """The outcome of a place, modify or cancel from its attempts (the last one decides)."""
    if not replies:
        raise ValueError("an outcome needs at least one attempt")
    if len(replies) == 1:
        attempts: tuple[SendAttempt, ...] = (attempt_record(1, replies[0]),)
    else:
        attempts = tuple(attempt_record(n, r) for n, r in enumerate(replies, start=1))
    last = replies[-1]
    action = int(last.request.get("action", 0))
    if last.problem is not None:
        return _outcome(OutcomeStatus.UNKNOWN, client_id, last.problem, attempts, sent_ns)
    if last.result is None:
        code, message = last.error if last.error is not None else (c.RES_E_FAIL, "no error")
        status = (
            OutcomeStatus.REJECTED if code in c.DEFINITE_LOCAL_ERRORS else OutcomeStatus.UNKNOWN
        )
        return _outcome(
            status, client_id, f"order_send returned None, last_error {code}: {message}",
            attempts, sent_ns,
        )
    result = last.result
    retcode = int(result["retcode"])
    reason = _retcode_reason(retcode, str(result.get("comment", "")))
    order = int(result.get("order", 0)) or None
    deal = int(result.get("deal", 0)) or None
    if retcode not in c.RETCODE_NAMES or retcode in c.AMBIGUOUS_RETCODES:
        return _outcome(OutcomeStatus.UNKNOWN, client_id, reason, attempts, sent_ns, retcode, order)
    success = retcode in (c.RETCODE_DONE, c.RETCODE_DONE_PARTIAL, c.RETCODE_PLACED)
    if not success:
        return _outcome(
            OutcomeStatus.REJECTED, client_id, reason, attempts, sent_ns, retcode, order
        )
    if action == c.ACTION_REMOVE:
        return _outcome(
            OutcomeStatus.CANCELED, client_id, reason, attempts, sent_ns, retcode, order
        )
    if action in (c.ACTION_MODIFY, c.ACTION_SLTP):
        return _outcome(
            OutcomeStatus.MODIFIED, client_id, reason, attempts, sent_ns, retcode, order
        )
    if order is None:
        return _outcome(
            OutcomeStatus.UNKNOWN, client_id, f"{reason} (no order ticket in the result)",
            attempts, sent_ns, retcode,
        )
    if action == c.ACTION_PENDING:
        return _outcome(
            OutcomeStatus.PLACED, client_id, reason, attempts, sent_ns, retcode, order,
            open_volume=requested_volume,
        )
    filled = volume(result.get("volume", 0.0))
    if action == c.ACTION_CLOSE_BY:
        requested_volume = filled
    fill_price = price(result["price"]) if result.get("price") else None
    if filled <= 0 or retcode == c.RETCODE_PLACED:
        return _outcome(
            OutcomeStatus.PLACED, client_id, reason, attempts, sent_ns, retcode, order,
            open_volume=requested_volume,
        )
    if deal is None:
        return _outcome(
            OutcomeStatus.UNKNOWN, client_id, f"{reason} (volume {filled} but no deal ticket)",
            attempts, sent_ns, retcode, order,
        )
    if filled >= requested_volume and retcode == c.RETCODE_DONE:
        return _outcome(
            OutcomeStatus.FILLED, client_id, reason, attempts, sent_ns, retcode, order,
            deal_ticket=deal, filled_volume=filled, fill_price=fill_price, deals=last.deals,
        )
    keeps_working = int(last.request.get("type_filling", -1)) == c.ORDER_FILLING_RETURN
    return _outcome(
        OutcomeStatus.PARTIALLY_FILLED, client_id, reason, attempts, sent_ns, retcode, order,
        deal_ticket=deal, filled_volume=filled, fill_price=fill_price,
        open_volume=volume(requested_volume - filled) if keeps_working else ZERO,
        deals=last.deals,
    )


def _outcome(
    status: OutcomeStatus,
    client_id: str,
    reason: str,
    attempts: tuple[SendAttempt, ...],
    sent_ns: int,
    retcode: int | None = None,
    order_ticket: int | None = None,
    *,
    deal_ticket: int | None = None,
    filled_volume: float = ZERO,
    fill_price: float | None = None,
    open_volume: float = ZERO,
    deals: tuple[BrokerDeal, ...] = (),
) -> SendOutcome:
    """A send's outcome, built positionally (the dataclass's field order)."""
    return _send_outcome(
        status, client_id, retcode, reason, order_ticket, deal_ticket, filled_volume,
        fill_price, open_volume, attempts, None, None, deals, sent_ns,
    )


def _fill_summary(deals: Iterable[BrokerDeal]) -> tuple[float, float | None]:
    deals = list(deals)
    total = volume(sum(d.volume for d in deals))
    if total <= 0:
        return ZERO, None
    notional = sum(d.volume * d.price for d in deals)
    return total, price(notional / total)


def match_orders(
    query: OrderQuery, orders: Iterable[BrokerOrder]
) -> tuple[str | None, tuple[BrokerOrder, ...]]:
    """The orders that are ours for this query, and which key matched them.

    Ticket first; then magic + symbol + exact comment; then a comment the broker decorated
    but that still holds the id as a token; last, for a comment rewritten beyond recognition,
    magic + symbol + type + initial volume among tickets not already ours (`known_tickets`
    must list every ticket the caller owns, or a same-shaped order of ours could match).
    """
    pool = [o for o in orders if o.ticket not in query.known_tickets]
    if query.ticket is not None:
        hits = tuple(o for o in pool if o.ticket == query.ticket)
        if hits:
            return "ticket", hits[:1]
    same = [o for o in pool if o.magic == query.magic and o.symbol == query.symbol]
    by_comment = tuple(o for o in same if o.comment == query.client_id)
    if by_comment:
        return "comment", _unique(by_comment)
    token = re.compile(rf"(?<![\w-]){re.escape(query.client_id)}(?![\w-])")
    in_comment = tuple(o for o in same if token.search(o.comment))
    if in_comment:
        return "comment_token", _unique(in_comment)
    kind = order_type(query.side, query.kind)
    fingerprint = tuple(o for o in same if o.kind == kind and o.volume_initial == query.volume)
    if fingerprint:
        return "fingerprint", _unique(fingerprint)
    return None, ()


def _unique(orders: tuple[BrokerOrder, ...]) -> tuple[BrokerOrder, ...]:
    seen: dict[int, BrokerOrder] = {}
    for o in orders:
        if o.ticket not in seen or o.live:
            seen[o.ticket] = o
    return tuple(seen.values())


def resolve_place(
    query: OrderQuery,
    orders: Iterable[BrokerOrder],
    deals: Iterable[BrokerDeal],
    positions: Iterable[BrokerPosition],
) -> SendOutcome:
    """What became of a sent order whose answer was lost, from what the broker shows."""
    key, hits = match_orders(query, orders)
    deals = tuple(deals)
    if len(hits) > 1:
        tickets = ", ".join(str(o.ticket) for o in hits)
        return SendOutcome(
            status=OutcomeStatus.UNKNOWN,
            client_id=query.client_id,
            reason=f"several broker orders match by {key}: {tickets}",
        )
    if not hits:
        return _resolve_by_position(query, tuple(positions))
    order = hits[0]
    own_deals = tuple(d for d in deals if d.order == order.ticket)
    filled, avg = _fill_summary(own_deals)

    def outcome(status: OutcomeStatus, reason: str, open_volume: float = ZERO) -> SendOutcome:
        return SendOutcome(
            status=status,
            client_id=query.client_id,
            reason=reason,
            order_ticket=order.ticket,
            deal_ticket=own_deals[0].ticket if own_deals else None,
            filled_volume=filled,
            fill_price=avg,
            open_volume=open_volume,
            matched_by=key,
            order=order,
            deals=own_deals,
        )

    state = order.state
    if state in _IN_FLIGHT:
        return outcome(OutcomeStatus.UNKNOWN, f"order {order.ticket} is still in state {state}")
    if order.live:
        if filled > 0 or state == c.ORDER_STATE_PARTIAL:
            return outcome(
                OutcomeStatus.PARTIALLY_FILLED, "found working", open_volume=order.volume_current
            )
        return outcome(OutcomeStatus.PLACED, "found working", open_volume=order.volume_current)
    if state == c.ORDER_STATE_FILLED:
        return outcome(OutcomeStatus.FILLED, "found filled in history")
    if state == c.ORDER_STATE_REJECTED:
        return outcome(OutcomeStatus.REJECTED, "found rejected in history")
    if state in _SETTLED_FAILURE:
        if filled > 0:
            return outcome(OutcomeStatus.PARTIALLY_FILLED, f"found in history in state {state}")
        return outcome(OutcomeStatus.CANCELED, f"found in history in state {state}")
    return outcome(OutcomeStatus.UNKNOWN, f"order {order.ticket} has unknown state {state}")


def _resolve_by_position(query: OrderQuery, positions: tuple[BrokerPosition, ...]) -> SendOutcome:
    """Last resort: a position opened by the order proves it executed."""
    hits = [
        p
        for p in positions
        if p.symbol == query.symbol
        and p.magic == query.magic
        and (
            (query.ticket is not None and p.identifier == query.ticket)
            or p.comment == query.client_id
        )
    ]
    if len(hits) == 1:
        p = hits[0]
        return SendOutcome(
            status=OutcomeStatus.FILLED,
            client_id=query.client_id,
            reason="found as an open position; the order is not in history yet",
            order_ticket=p.identifier,
            filled_volume=min(p.volume, query.volume),
            fill_price=p.price_open,
            matched_by="position",
        )
    return SendOutcome(
        status=OutcomeStatus.NOT_FOUND,
        client_id=query.client_id,
        reason="no order, deal or position at the broker matches",
    )


def resolve_cancel(client_id: str, ticket: int, orders: Iterable[BrokerOrder]) -> SendOutcome:
    """Whether a cancel whose answer was lost took effect."""
    found = [o for o in orders if o.ticket == ticket]
    live = [o for o in found if o.live]
    if live:
        return SendOutcome(
            status=OutcomeStatus.NOT_FOUND,
            client_id=client_id,
            reason=f"order {ticket} is still working: the cancel did not take effect",
            order_ticket=ticket,
            order=live[0],
        )
    if not found:
        return SendOutcome(
            status=OutcomeStatus.NOT_FOUND,
            client_id=client_id,
            reason=f"order {ticket} is neither working nor in history",
            order_ticket=ticket,
        )
    order = found[0]
    status = OutcomeStatus.CANCELED if order.state in _SETTLED_FAILURE else OutcomeStatus.REJECTED
    return SendOutcome(
        status=status,
        client_id=client_id,
        reason=f"order {ticket} is in history in state {order.state}",
        order_ticket=ticket,
        order=order,
    )


def modify_applied(order: BrokerOrder, request: dict[str, Any]) -> bool:
    """True when a working order already carries the requested price and stops."""
    return (
        order.price_open == price(request["price"])
        and order.sl == price(request.get("sl", 0.0))
        and order.tp == price(request.get("tp", 0.0))
        and order.price_stoplimit == price(request.get("stoplimit", 0.0))
    )
