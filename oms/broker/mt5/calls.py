"""Blocking terminal calls, run on the worker: each returns plain, picklable records.

Everything that touches the terminal object happens here, on the worker's thread or process,
never on the event loop: over the mt5linux bridge even reading a field is a network round trip.
A `None` answer and its `last_error()` are read in the same call so no other call can come
between them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oms.broker.mt5 import constants as c
from oms.broker.mt5.outcomes import RawReply, is_retryable, match_orders
from oms.broker.mt5.records import (
    ORDER_SEND_RESULT_FIELDS,
    SYMBOL_SPEC_FIELDS,
    TICK_FIELDS,
    TRADE_DEAL_FIELDS,
    TRADE_ORDER_FIELDS,
    TRADE_POSITION_FIELDS,
    BrokerDataError,
    Quote,
    RecordLayouts,
    SymbolSpec,
    deal_from,
    order_from,
    position_from,
    price,
    symbol_spec_from,
)
from oms.broker.mt5.requests import QUOTE_DRIVEN, place_request, reprice
from oms.broker.port import (
    BrokerChanges,
    BrokerDeal,
    BrokerOrder,
    BrokerPosition,
    HistoryCursor,
    OrderQuery,
    PlaceOrder,
)
from oms.domain.enums import OrderType
from oms.frozen import builder

TerminalFactory = Callable[[], Any]
_RESULT_FIELDS = ORDER_SEND_RESULT_FIELDS[:-1]  # without the echoed request
_raw_reply = builder(RawReply)


class TerminalCallError(Exception):
    """A terminal call answered `None`; carries `last_error()`."""

    def __init__(self, call: str, error: tuple[int, str]) -> None:
        super().__init__(f"{call} failed: last_error {error[0]}: {error[1]}")
        self.call = call
        self.code = error[0]
        self.message = error[1]


@dataclass(slots=True)
class Session:
    """The terminal object on the worker side, with what was learnt about its records."""

    factory: TerminalFactory
    mt5: Any = None
    layouts: RecordLayouts = field(default_factory=RecordLayouts)

    def terminal(self) -> Any:
        """The terminal object, built on first use."""
        if self.mt5 is None:
            self.mt5 = self.factory()
        return self.mt5


@dataclass(frozen=True, slots=True)
class LoginArgs:
    """Arguments of initialize(); the password is a plain str only on its way to the terminal."""

    path: str | None = None
    login: int | None = None
    password: str | None = None
    server: str | None = None
    timeout_ms: int = 60_000

    def __repr__(self) -> str:
        return f"LoginArgs(path={self.path!r}, login={self.login!r}, server={self.server!r})"


def _last_error(mt5: Any) -> tuple[int, str]:
    err = mt5.last_error()
    return int(err[0]), str(err[1])


def _call(mt5: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(mt5, name)(*args, **kwargs)
    if result is None:
        raise TerminalCallError(name, _last_error(mt5))
    return result


# --- connection -----------------------------------------------------------------------------


def connect(session: Session, login: LoginArgs, rebuild: bool) -> tuple[bool, bool, str]:
    """shutdown() then initialize(); returns (initialized, trade server connected, detail)."""
    shutdown(session)
    if rebuild or session.mt5 is None:
        session.mt5 = None
        session.layouts = RecordLayouts()
    try:
        mt5 = session.terminal()
        kwargs: dict[str, Any] = {"timeout": int(login.timeout_ms)}
        if login.login is not None:
            kwargs["login"] = int(login.login)
        if login.password is not None:
            kwargs["password"] = str(login.password)
        if login.server is not None:
            kwargs["server"] = str(login.server)
        args = (login.path,) if login.path else ()
        if not mt5.initialize(*args, **kwargs):
            code, message = _last_error(mt5)
            return False, False, f"initialize failed: last_error {code}: {message}"
    except Exception as exc:
        return False, False, f"initialize failed: {type(exc).__name__}: {exc}"
    connected, detail = probe(session)
    return True, connected, detail


def probe(session: Session) -> tuple[bool, str]:
    """Whether the terminal reaches its trade server (terminal_info().connected)."""
    try:
        info = session.terminal().terminal_info()
        if info is None:
            code, message = _last_error(session.terminal())
            return False, f"terminal_info failed: last_error {code}: {message}"
        return bool(info.connected), "connected" if info.connected else "no trade server"
    except Exception as exc:
        return False, f"terminal_info failed: {type(exc).__name__}: {exc}"


def shutdown(session: Session) -> None:
    """Close the terminal connection, ignoring a bridge that is already gone."""
    if session.mt5 is None:
        return
    with contextlib.suppress(Exception):
        session.mt5.shutdown()


# --- market data ----------------------------------------------------------------------------


def symbol_spec(session: Session, symbol: str) -> SymbolSpec:
    """Read (and select) a symbol's trading properties."""
    mt5 = session.terminal()
    info = _call(mt5, "symbol_info", symbol)
    spec = symbol_spec_from({name: getattr(info, name) for name in SYMBOL_SPEC_FIELDS})
    if not spec.visible:
        _call(mt5, "symbol_select", symbol, True)
    return spec


def quote(session: Session, symbol: str) -> Quote | None:
    """The symbol's best bid and ask, or None when the terminal has none."""
    tick = session.terminal().symbol_info_tick(symbol)
    if tick is None:
        return None
    raw = session.layouts.read("Tick", tick, TICK_FIELDS)
    return Quote(bid=price(raw["bid"]), ask=price(raw["ask"]), time_msc=int(raw["time_msc"]))


# --- trading --------------------------------------------------------------------------------


def send_once(session: Session, request: dict[str, Any]) -> RawReply:
    """One order_send, with last_error() read at once after a None."""
    sent = time.time_ns()
    try:
        mt5 = session.terminal()
        result = mt5.order_send(request)
        if result is None:
            error = _last_error(mt5)
            return RawReply(request, sent, time.time_ns(), error=error)
        (retcode, deal, order, lots, px, bid, ask, comment, request_id, external) = (
            session.layouts.values("OrderSendResult", result, _RESULT_FIELDS)
        )
        plain = {
            "retcode": int(retcode),
            "deal": int(deal),
            "order": int(order),
            "volume": float(lots),
            "price": float(px),
            "bid": float(bid),
            "ask": float(ask),
            "comment": str(comment),
            "request_id": int(request_id),
            "retcode_external": int(external),
        }
        answered = time.time_ns()
        deals = _fill_deals(session, plain)
        return _raw_reply(request, sent, answered, plain, None, None, False, deals)
    except (BrokerDataError, TypeError, ValueError, KeyError) as exc:
        return RawReply(request, sent, time.time_ns(), problem=f"unreadable result: {exc}")
    except Exception as exc:  # the bridge: EOFError, TimeoutError, ConnectionError
        return RawReply(
            request, sent, time.time_ns(), problem=f"{type(exc).__name__}: {exc}", link_lost=True
        )


def _fill_deals(session: Session, result: dict[str, Any]) -> tuple[BrokerDeal, ...]:
    """The deals of an order the result says was (partly) filled, read at once.

    Only the deal records carry the position id, entry and costs. A failed read is no
    error: the fill stands on the result, and the status listener brings the deal later.
    """
    order, deal = result["order"], result["deal"]
    if not (order and deal and result["retcode"] in (c.RETCODE_DONE, c.RETCODE_DONE_PARTIAL)):
        return ()
    try:
        found = _deals(session, Reads(), ticket=order)
    except Exception:  # the bridge or the terminal failing: the answer itself is what counts
        return ()
    return tuple(d for d in found if d.order == order)


def send(session: Session, request: dict[str, Any], max_attempts: int) -> tuple[RawReply, ...]:
    """order_send, resent at a fresh price after a requote or off quotes, at most max_attempts.

    Only a definite refusal because the price moved is retried; anything else, including a
    lost answer, ends the loop.
    """
    replies = [send_once(session, request)]
    retry_market = request.get("action") == c.ACTION_DEAL
    while retry_market and is_retryable(replies[-1]) and len(replies) < max_attempts:
        fresh = quote(session, str(request["symbol"]))
        if fresh is None:
            break
        request = reprice(request, fresh)
        replies.append(send_once(session, request))
    return tuple(replies)


# --- reading state --------------------------------------------------------------------------


@dataclass(slots=True)
class Reads:
    """Counts every record the terminal returned, so polling cost can be checked."""

    records: int = 0


def _orders(session: Session, reads: Reads, call: str, *args: Any, **kw: Any) -> list[BrokerOrder]:
    found = getattr(session.terminal(), call)(*args, **kw)
    if found is None:
        code, message = _last_error(session.terminal())
        if code in c.IPC_ERRORS or code == c.RES_E_FAIL:
            raise TerminalCallError(call, (code, message))
        return []
    live = call == "orders_get"
    out = [
        order_from(session.layouts.read("TradeOrder", o, TRADE_ORDER_FIELDS), live=live)
        for o in found
    ]
    reads.records += len(out)
    return out


def _deals(session: Session, reads: Reads, *args: Any, **kw: Any) -> list[BrokerDeal]:
    found = session.terminal().history_deals_get(*args, **kw)
    if found is None:
        code, message = _last_error(session.terminal())
        if code in c.IPC_ERRORS or code == c.RES_E_FAIL:
            raise TerminalCallError("history_deals_get", (code, message))
        return []
    values = session.layouts.values
    out = [deal_from(values("TradeDeal", d, TRADE_DEAL_FIELDS)) for d in found]
    reads.records += len(out)
    return out


def _positions(session: Session, reads: Reads, **kw: Any) -> list[BrokerPosition]:
    found = session.terminal().positions_get(**kw)
    if found is None:
        code, message = _last_error(session.terminal())
        if code in c.IPC_ERRORS or code == c.RES_E_FAIL:
            raise TerminalCallError("positions_get", (code, message))
        return []
    out = [
        position_from(session.layouts.read("TradePosition", p, TRADE_POSITION_FIELDS))
        for p in found
    ]
    reads.records += len(out)
    return out


@dataclass(frozen=True, slots=True)
class Found:
    """What the broker shows about one sent order."""

    orders: tuple[BrokerOrder, ...]
    deals: tuple[BrokerDeal, ...]
    positions: tuple[BrokerPosition, ...]


def find_order(session: Session, query: OrderQuery, window_s: int, wall_now_s: int) -> Found:
    """Look a sent order up by ticket, then by magic/comment in working orders and history.

    History is searched around the trade server's clock (the symbol's last tick time), since
    server time need not be UTC; the local clock is the fallback.
    """
    reads = Reads()
    orders: list[BrokerOrder] = []
    if query.ticket is not None:
        orders += _orders(session, reads, "orders_get", ticket=int(query.ticket))
        orders += _orders(session, reads, "history_orders_get", ticket=int(query.ticket))
    if not orders:
        orders += _orders(session, reads, "orders_get", symbol=str(query.symbol))
        fresh = quote(session, query.symbol)
        now_s = fresh.time_msc // 1000 if fresh is not None and fresh.time_msc else wall_now_s
        date_from = int(now_s - window_s)
        date_to = int(max(now_s, wall_now_s) + window_s)
        orders += _orders(session, reads, "history_orders_get", date_from, date_to)
    _, hits = match_orders(query, orders)
    deals: list[BrokerDeal] = []
    for order in hits:
        deals += _deals(session, reads, ticket=int(order.ticket))
    positions = [] if hits else _positions(session, reads, symbol=str(query.symbol))
    return Found(tuple(hits), tuple(deals), tuple(positions))


def find_ticket(session: Session, ticket: int) -> tuple[BrokerOrder, ...]:
    """The order with this ticket, working or in history."""
    reads = Reads()
    live = _orders(session, reads, "orders_get", ticket=int(ticket))
    return tuple(live + _orders(session, reads, "history_orders_get", ticket=int(ticket)))


def poll(
    session: Session,
    cursor: HistoryCursor,
    previously_open: frozenset[int],
    overlap_ms: int,
    now_s: int,
    future_s: int,
) -> BrokerChanges:
    """New deals and finished orders since the cursor, plus the working orders and positions.

    History is read from the cursor's time less an overlap (late-arriving records), and what
    was already seen in that overlap is dropped by ticket; an order that left the working set
    is fetched by ticket, since its setup time may lie before the cursor.
    """
    reads = Reads()
    date_to = int(now_s + future_s)
    deal_from_s = max(0, (cursor.deals_from_msc - overlap_ms) // 1000)
    all_deals = _deals(session, reads, int(deal_from_s), date_to)
    new_deals = tuple(d for d in all_deals if d.ticket not in cursor.seen_deals)
    order_from_s = max(0, (cursor.orders_from_msc - overlap_ms) // 1000)
    hist = _orders(session, reads, "history_orders_get", int(order_from_s), date_to)
    open_orders = _orders(session, reads, "orders_get")
    open_tickets = {o.ticket for o in open_orders}
    hist_tickets = {o.ticket for o in hist}
    for gone in sorted(previously_open - open_tickets - hist_tickets):
        hist += _orders(session, reads, "history_orders_get", ticket=int(gone))
    new_orders = tuple(o for o in hist if o.ticket not in cursor.seen_orders)
    positions = tuple(_positions(session, reads))

    deal_mark = max([cursor.deals_from_msc, *(d.time_msc for d in all_deals)])
    order_mark = max([cursor.orders_from_msc, *(_done_msc(o) for o in hist)])
    next_cursor = HistoryCursor(
        deals_from_msc=deal_mark,
        orders_from_msc=order_mark,
        seen_deals=frozenset(
            d.ticket for d in all_deals if d.time_msc >= deal_mark - overlap_ms - 1000
        ),
        seen_orders=frozenset(
            o.ticket for o in hist if _done_msc(o) >= order_mark - overlap_ms - 1000
        ),
    )
    return BrokerChanges(
        deals=new_deals,
        history_orders=new_orders,
        open_orders=tuple(open_orders),
        positions=positions,
        cursor=next_cursor,
        records_read=reads.records,
    )


def _done_msc(order: BrokerOrder) -> int:
    return order.time_done_msc or order.time_setup_msc


def place(
    session: Session, order: PlaceOrder, spec: SymbolSpec, deviation: int, max_attempts: int
) -> tuple[RawReply, ...]:
    """Build the request for a new order and send it.

    Under Market and Exchange execution a market order carries no price (the server fills at
    the book), so the quote is read only for Instant and Request execution, which need one.
    """
    needs_quote = order.kind is OrderType.MARKET and spec.execution_mode in QUOTE_DRIVEN
    fresh = quote(session, order.symbol) if needs_quote else None
    request = place_request(order, spec, fresh, deviation)
    return send(session, request, max_attempts)


def send_request(session: Session, request: dict[str, Any]) -> tuple[RawReply, ...]:
    """Send a modify or remove request once."""
    return (send_once(session, request),)
