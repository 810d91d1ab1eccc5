"""The MT5 adapter: the BrokerPort over any object with the MetaTrader5 module's surface."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from oms.broker.mt5 import calls
from oms.broker.mt5 import constants as c
from oms.broker.mt5.calls import LoginArgs, TerminalCallError
from oms.broker.mt5.outcomes import (
    RawReply,
    modify_applied,
    resolve_cancel,
    resolve_place,
    send_outcome,
)
from oms.broker.mt5.records import Quote, SymbolSpec
from oms.broker.mt5.requests import (
    cancel_request,
    close_by_request,
    modify_position_request,
    modify_request,
)
from oms.broker.port import (
    BrokerChanges,
    BrokerOrder,
    BrokerRequestError,
    CancelOrder,
    CloseBy,
    ConnectionState,
    HistoryCursor,
    ModifyOrder,
    ModifyPosition,
    OrderQuery,
    OutcomeStatus,
    PlaceOrder,
    SendOutcome,
)
from oms.broker.worker import InlineWorker, Worker
from oms.errors import OmsError

R = TypeVar("R")


class BrokerUnavailableError(OmsError):
    """The terminal cannot be reached (not running, bridge down, no answer in time)."""


@dataclass(frozen=True, slots=True)
class AdapterPolicy:
    """Timeouts, retry bounds and polling windows of the adapter."""

    call_timeout_s: float = 10.0
    requote_attempts: int = 3
    deviation_points: int = 20
    lookup_window_s: int = 86_400
    poll_overlap_ms: int = 5_000
    poll_future_s: int = 86_400
    reconnect_delays_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)

    def __post_init__(self) -> None:
        if self.requote_attempts < 1:
            raise OmsError("requote_attempts must be at least 1 (the first send)")
        if self.call_timeout_s <= 0:
            raise OmsError("call_timeout_s must be positive")


def _connection_lost(replies: tuple[RawReply, ...]) -> bool:
    last = replies[-1]
    return last.link_lost or (last.error is not None and last.error[0] in c.IPC_ERRORS)


class Mt5Broker:
    """BrokerPort over a MetaTrader5-like terminal reached through a worker.

    A lost answer is reported as UNKNOWN and resolved by `lookup`, never by resending; only a
    requote or off-quotes refusal is resent, within `requote_attempts`, and every attempt is
    returned for the journal.
    """

    def __init__(
        self,
        worker: Worker,
        login: LoginArgs | None = None,
        policy: AdapterPolicy | None = None,
        *,
        rebuild_on_reconnect: bool = False,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_state: Callable[[ConnectionState], None] | None = None,
    ) -> None:
        self._worker = worker
        # An inline worker's calls are plain function calls: sends skip the awaiting layers.
        self._call_now = worker.call if type(worker) is InlineWorker else None
        self._login = login or LoginArgs()
        self.policy = policy or AdapterPolicy()
        self._rebuild = rebuild_on_reconnect
        self._clock = clock
        self._sleep = sleep
        self.on_state = on_state
        self._state = ConnectionState.DISCONNECTED
        self._specs: dict[str, SymbolSpec] = {}
        self._cursor = HistoryCursor()
        self._open_tickets: frozenset[int] = frozenset()
        self._connect_lock = asyncio.Lock()
        self.last_connect_detail = ""

    # --- connection ---------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        """The connection state as of the last call."""
        return self._state

    @property
    def worker(self) -> Worker:
        """Where the terminal calls run."""
        return self._worker

    @property
    def cursor(self) -> HistoryCursor:
        """Where the next poll resumes."""
        return self._cursor

    def resume_from(self, cursor: HistoryCursor, open_tickets: frozenset[int]) -> None:
        """Continue polling from a cursor kept from an earlier session."""
        self._cursor = cursor
        self._open_tickets = open_tickets

    def _set_state(self, state: ConnectionState) -> None:
        if state is not self._state:
            self._state = state
            if self.on_state is not None:
                self.on_state(state)

    async def connect(self) -> ConnectionState:
        """shutdown() + initialize(), retried with backoff; raises when every try failed."""
        async with self._connect_lock:
            self._set_state(ConnectionState.CONNECTING)
            delays = (0.0, *self.policy.reconnect_delays_s)
            for delay in delays:
                if delay:
                    await self._sleep(delay)
                try:
                    ok, connected, detail = await self._run(
                        calls.connect, self._login, self._rebuild
                    )
                except BrokerUnavailableError as exc:
                    ok, connected, detail = False, False, str(exc)
                self.last_connect_detail = detail
                if ok:
                    self._specs.clear()
                    state = (
                        ConnectionState.CONNECTED if connected else ConnectionState.NO_TRADE_SERVER
                    )
                    self._set_state(state)
                    return state
            self._set_state(ConnectionState.DISCONNECTED)
            raise BrokerUnavailableError(
                f"terminal unreachable after {len(delays)} attempts: {self.last_connect_detail}"
            )

    async def refresh_state(self) -> ConnectionState:
        """Ask the terminal whether it reaches its trade server."""
        connected, _ = await self._run(calls.probe)
        if self._state is not ConnectionState.DISCONNECTED:
            self._set_state(
                ConnectionState.CONNECTED if connected else ConnectionState.NO_TRADE_SERVER
            )
        return self._state

    async def close(self) -> None:
        """Shut the terminal connection and the worker down."""
        with contextlib.suppress(BrokerUnavailableError):
            await self._run(calls.shutdown)
        await self._worker.close()
        self._set_state(ConnectionState.DISCONNECTED)

    async def _ready(self) -> None:
        if self._state is ConnectionState.DISCONNECTED:
            await self.connect()

    async def _call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run on the worker within the call timeout (an inline worker cannot be waited on)."""
        if self._worker.inline:
            return await self._worker.run(fn, *args)
        return await asyncio.wait_for(
            self._worker.run(fn, *args), timeout=self.policy.call_timeout_s
        )

    async def _run(self, fn: Callable[..., R], *args: Any) -> R:
        try:
            return await self._call(fn, *args)
        except TimeoutError as exc:
            self._set_state(ConnectionState.DISCONNECTED)
            raise BrokerUnavailableError(
                f"{fn.__name__} got no answer within {self.policy.call_timeout_s} s"
            ) from exc
        except TerminalCallError as exc:
            if exc.code in c.IPC_ERRORS:
                self._set_state(ConnectionState.DISCONNECTED)
            raise BrokerUnavailableError(str(exc)) from exc
        except (OSError, EOFError) as exc:
            self._set_state(ConnectionState.DISCONNECTED)
            raise BrokerUnavailableError(f"{fn.__name__}: {type(exc).__name__}: {exc}") from exc

    # --- trading ------------------------------------------------------------------------------

    async def symbol(self, symbol: str) -> SymbolSpec:
        """The symbol's trading properties, read once per connection."""
        spec = self._specs.get(symbol)
        if spec is None:
            spec = self._specs[symbol] = await self._run(calls.symbol_spec, symbol)
        return spec

    async def quote(self, symbol: str) -> Quote | None:
        """The symbol's best bid and ask now, or None when the terminal has no tick."""
        await self._ready()
        return await self._run(calls.quote, symbol)

    async def place(self, order: PlaceOrder) -> SendOutcome:
        """Send a new order; UNKNOWN when the answer was lost (then call `lookup`)."""
        sent_ns = time.time_ns()
        spec = self._specs.get(order.symbol)
        if spec is None or self._state is ConnectionState.DISCONNECTED:
            try:
                await self._ready()
                spec = await self.symbol(order.symbol)
            except BrokerUnavailableError as exc:
                return _not_sent(order.client_id, str(exc), sent_ns)
        return await self._send(
            order.client_id,
            order.volume,
            sent_ns,
            calls.place,
            order,
            spec,
            self.policy.deviation_points,
            self.policy.requote_attempts,
        )

    async def modify(self, change: ModifyOrder) -> SendOutcome:
        """Move a resting order's price, stops or expiry."""
        return await self._send_once(change.client_id, modify_request(change))

    async def cancel(self, cancel: CancelOrder) -> SendOutcome:
        """Remove a resting order."""
        return await self._send_once(cancel.client_id, cancel_request(cancel))

    async def modify_position(self, change: ModifyPosition) -> SendOutcome:
        """Move an open position's stop loss and take profit (0 removes a level)."""
        return await self._send_once(change.client_id, modify_position_request(change))

    async def close_by(self, close: CloseBy) -> SendOutcome:
        """Close a position against an opposite one of the same symbol (hedging accounts)."""
        return await self._send_once(close.client_id, close_by_request(close))

    async def _send_once(self, client_id: str, request: dict[str, Any]) -> SendOutcome:
        sent_ns = time.time_ns()
        if self._state is ConnectionState.DISCONNECTED:
            try:
                await self._ready()
            except BrokerUnavailableError as exc:
                return _not_sent(client_id, str(exc), sent_ns)
        return await self._send(client_id, 0.0, sent_ns, calls.send_request, request)

    async def _send(
        self,
        client_id: str,
        volume: float,
        sent_ns: int,
        fn: Callable[..., tuple[RawReply, ...]],
        *args: Any,
    ) -> SendOutcome:
        call_now = self._call_now
        try:
            replies = call_now(fn, *args) if call_now is not None else await self._call(fn, *args)
        except BrokerRequestError as exc:
            return _not_sent(client_id, f"refused before sending: {exc}", sent_ns)
        except TimeoutError:
            self._set_state(ConnectionState.DISCONNECTED)
            return SendOutcome(
                status=OutcomeStatus.UNKNOWN,
                client_id=client_id,
                reason=f"no answer within {self.policy.call_timeout_s} s",
                sent_ns=sent_ns,
            )
        if _connection_lost(replies):
            self._set_state(ConnectionState.DISCONNECTED)
        return send_outcome(client_id, volume, replies, sent_ns)

    # --- looking up ---------------------------------------------------------------------------

    async def lookup(self, query: OrderQuery) -> SendOutcome:
        """Find what became of a sent order; UNKNOWN again if the terminal cannot be asked."""
        try:
            await self._ready()
            found = await self._run(
                calls.find_order, query, self.policy.lookup_window_s, int(self._clock())
            )
        except BrokerUnavailableError as exc:
            return SendOutcome(
                status=OutcomeStatus.UNKNOWN,
                client_id=query.client_id,
                reason=f"lookup failed: {exc}",
            )
        return resolve_place(query, found.orders, found.deals, found.positions)

    async def _orders_by_ticket(
        self, client_id: str, ticket: int
    ) -> tuple[BrokerOrder, ...] | SendOutcome:
        """The broker's orders with this ticket, or an UNKNOWN outcome when it cannot be asked."""
        try:
            await self._ready()
            return await self._run(calls.find_ticket, ticket)
        except BrokerUnavailableError as exc:
            return SendOutcome(
                status=OutcomeStatus.UNKNOWN, client_id=client_id, reason=f"lookup failed: {exc}"
            )

    async def confirm_cancel(self, cancel: CancelOrder) -> SendOutcome:
        """Find whether a cancel whose answer was lost took effect."""
        orders = await self._orders_by_ticket(cancel.client_id, cancel.ticket)
        if isinstance(orders, SendOutcome):
            return orders
        return resolve_cancel(cancel.client_id, cancel.ticket, orders)

    async def confirm_modify(self, change: ModifyOrder) -> SendOutcome:
        """Find whether a modify whose answer was lost took effect."""
        orders = await self._orders_by_ticket(change.client_id, change.ticket)
        if isinstance(orders, SendOutcome):
            return orders
        live = [o for o in orders if o.live]
        if not live:
            return SendOutcome(
                status=OutcomeStatus.REJECTED,
                client_id=change.client_id,
                reason=f"order {change.ticket} is no longer working",
                order_ticket=change.ticket,
                order=orders[0] if orders else None,
            )
        applied = modify_applied(live[0], modify_request(change))
        return SendOutcome(
            status=OutcomeStatus.MODIFIED if applied else OutcomeStatus.NOT_FOUND,
            client_id=change.client_id,
            reason="the order carries the new values" if applied else "the order is unchanged",
            order_ticket=change.ticket,
            order=live[0],
        )

    # --- polling ------------------------------------------------------------------------------

    async def poll(self) -> BrokerChanges:
        """New deals and finished orders since the last poll, plus working orders and positions."""
        await self._ready()
        polled = await self._run(
            calls.poll,
            self._cursor,
            self._open_tickets,
            self.policy.poll_overlap_ms,
            int(self._clock()),
            self.policy.poll_future_s,
        )
        self._cursor = polled.cursor
        self._open_tickets = frozenset(o.ticket for o in polled.open_orders)
        return polled


def _not_sent(client_id: str, reason: str, sent_ns: int) -> SendOutcome:
    """A definite refusal: nothing reached the terminal."""
    return SendOutcome(
        status=OutcomeStatus.REJECTED, client_id=client_id, reason=reason, sent_ns=sent_ns
    )
