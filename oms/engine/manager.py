"""The order manager: validate, check risk, journal the intent durably, then send in the background.

`await place(...)` returns the client order id as soon as the intent is committed; the send,
the broker's answer and everything after it reach the strategy through `subscribe()` (an
async iterator) or `on_update(callback)`. Every failure — a risk denial, a reject, a lost
answer, an engine error — is journaled or logged and reported back as an `OrderUpdate`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from typing import Any, TypeVar

from journal import AsyncJournal, EventIdConflict, NewEvent, RecordedEvent
from oms.broker import port
from oms.broker.port import BrokerRequestError, OutcomeStatus
from oms.domain.commands import CancelOrder, ModifyOrder, PlaceOrder
from oms.domain.errors import CommandError, IdentifierError
from oms.domain.events import (
    KillSwitchCleared,
    KillSwitchEngaged,
    OrderCancelRejected,
    OrderDenied,
    OrderModified,
    OrderModifyRejected,
    OrderModifyRequested,
    OrderSubmitted,
)
from oms.domain.ids import order_stream_id, parse_client_order_id
from oms.domain.intents import (
    cancel_requested_event,
    modify_requested_event,
    submitted_event,
    submitted_payload,
)
from oms.domain.order import Order
from oms.domain.risk import RateWindow, RiskContext, RiskLimits, Tick, check_place, denied_event
from oms.domain.transitions import FILL_TYPES
from oms.engine import mapping, translate
from oms.engine.clock import BROKER_ACK, BROKER_SEND, FILL, JOURNAL, SIGNAL, SUBMIT, Stamp, stamp
from oms.engine.errors import NotReadyError, UnknownOrderError
from oms.engine.eventlog import EventLog
from oms.engine.router import OrderRouter
from oms.engine.state import OrderStates
from oms.engine.translate import Planned
from oms.engine.updates import ENGINE_ERROR, Callback, OrderUpdate, Subscription
from oms.frozen import builder

TickSource = Callable[[str], Tick | None]
RISK_STREAM = "risk"
_LOOKUP_DELAYS = (0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)
_update = builder(OrderUpdate)
_risk_context = builder(RiskContext)
_new_event = builder(NewEvent)


class OrderManager:
    """Places, modifies and cancels orders; the journal is written before the broker is called."""

    def __init__(
        self,
        journal: AsyncJournal,
        router: OrderRouter,
        *,
        limits: RiskLimits | None = None,
        ticks: TickSource | None = None,
        log: EventLog | None = None,
    ) -> None:
        self.journal = journal
        self.router = router
        self.limits = limits or RiskLimits()
        self.ticks = ticks
        self.log = log or EventLog()
        self.states = OrderStates()
        self.ready = False
        self.followed_position = 0
        """Every record at or below it, whoever wrote it, has been folded into `states`."""
        self._rate = RateWindow(self.limits.rate_window_ns)
        self._kill: set[str | None] = set()
        self._stages: dict[str, dict[str, Stamp]] = {}
        self._ports: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._subs: list[Subscription] = []
        self._callbacks: list[Callback] = []
        self.states.listen(self._on_folded)

    # -- subscribing ---------------------------------------------------------------------

    def subscribe(self, strategy: str | None = None, account: str | None = None) -> Subscription:
        """Updates of the selected orders as an async iterator (None selects every order)."""
        sub = Subscription(strategy, account, lambda: self._unsubscribe(sub))
        self._subs.append(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)

    def on_update(self, callback: Callback) -> None:
        """Call `callback(update)` for every update (it must not block)."""
        self._callbacks.append(callback)

    def _publish(self, update: OrderUpdate) -> None:
        for sub in self._subs:
            if sub.wants(update):
                sub.put(update)
        for callback in self._callbacks:
            try:
                callback(update)
            except Exception as exc:
                self.log.error("an update callback raised", error=repr(exc))

    def _on_folded(self, order: Order, record: RecordedEvent) -> None:
        self.log.event(record)
        if self._subs or self._callbacks:
            self._publish(_update(
                order.client_order_id, order.account, order.strategy, record.type,
                order.status, record.payload, record.position, record.metadata,
            ))
        if not order.is_open:
            self._stages.pop(order.client_order_id, None)
            self._ports.pop(order.client_order_id, None)  # `_port_for` routes again if asked

    def _report_error(self, coid: str, message: str, **fields: Any) -> None:
        """An error that is not a journaled event: logged, and sent to the order's strategy."""
        self.log.error(message, client_order_id=coid, **fields)
        order = self.states.get(coid)
        self._publish(OrderUpdate(
            coid,
            order.account if order else "",
            order.strategy if order else "",
            ENGINE_ERROR,
            order.status if order else Order(coid).status,
            {"message": message, **fields},
        ))

    # -- journaling ----------------------------------------------------------------------

    def absorb(self, records: Iterable[RecordedEvent]) -> None:
        """Fold records (replayed at start-up, or just appended) into the working state."""
        kill = self._kill
        for record in records:
            if record.stream_id.startswith(RISK_STREAM):
                scope = record.payload.get("account")
                if record.type == KillSwitchEngaged.TYPE:
                    kill.add(scope)
                elif record.type == KillSwitchCleared.TYPE:
                    kill.discard(scope)
        self.states.absorb(records)

    async def append(self, coid: str, planned: list[Planned],
                     extra: Mapping[str, Any] | None = None) -> list[RecordedEvent]:
        """Journal events on an order's stream in one append; idempotent by event id.

        Each event's metadata holds the correlation id and the stages the order passed so
        far (a fill adds its own stamp). When some of the events are recorded already (a
        deal the listener journaled first) the journal refuses the mixed append, and each
        event is appended on its own instead.
        """
        if not planned:
            return []
        stream = order_stream_id(coid)
        stages = self._stages.get(coid, {})
        events = []
        for event_type, payload, event_id in planned:
            if event_type in FILL_TYPES:
                metadata = {"correlation_id": coid, "stages": {**stages, FILL: stamp()}}
            else:
                metadata = {"correlation_id": coid, "stages": dict(stages)}
            if extra:
                metadata.update(extra)
            events.append(_new_event(event_type, payload, event_id, metadata, 1))
        try:
            records = await self.journal.append(stream, events)
        except EventIdConflict:
            if len(events) == 1:
                raise
            records = await self._append_each(stream, events)
        self.states.absorb(records)  # an order stream: nothing for the kill switch
        return records

    async def _append_each(self, stream: str, events: list[NewEvent]) -> list[RecordedEvent]:
        """Some of the events are recorded already (another path wrote them): one by one."""
        results = await asyncio.gather(
            *(self.journal.append(stream, [event]) for event in events), return_exceptions=True
        )
        records: list[RecordedEvent] = []
        failure: BaseException | None = None
        for result in results:
            if isinstance(result, BaseException):
                failure = failure or result
            else:
                records.extend(result)
        if failure is not None:
            self.absorb(records)
            raise failure
        return records

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every background send and lookup has finished, and their log lines out."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self.log.flush()

    # -- placing -------------------------------------------------------------------------

    def mark_ready(self) -> None:
        """Recovery is done: new orders may flow."""
        self.ready = True

    async def catch_up(self) -> int:
        """Fold what other writers (the reconciler's heals, another process) appended since
        the last look, so risk checks and order states see them; returns records read."""
        read = 0
        async for batch in self.journal.read_batches(self.followed_position):
            self.absorb(batch)
            self.followed_position = batch[-1].position
            read += len(batch)
        return read

    async def place(
        self, command: PlaceOrder | Mapping[str, Any], *, signal: Stamp | None = None
    ) -> str:
        """Validate, check risk, journal the intent (durably), start the send; the order id.

        A denied order's id is returned as well: its only event is `order.denied`, which the
        strategy receives like every other update. Bad commands raise `CommandError`, a
        missing route `NoRouteError`, a journal that cannot commit its error; in all three
        cases nothing was sent.
        """
        submit = stamp()
        self._require_ready()
        cmd = command if isinstance(command, PlaceOrder) else PlaceOrder.parse(command)
        port_name = self.router.port_name(cmd.account, cmd.symbol, cmd.strategy)
        sequence = self.states.next_sequence(cmd.account, cmd.strategy)
        intent = submitted_payload(cmd, sequence)
        coid: str = intent["client_order_id"]
        stages = {SIGNAL: signal, SUBMIT: submit} if signal is not None else {SUBMIT: submit}
        self._stages[coid] = stages
        now_ns = submit["wall_ns"]
        if self._kill or self.limits.any_rule:
            tick = self.ticks(cmd.symbol) if self.ticks is not None else None
            denial = check_place(cmd, self._risk_context(cmd, now_ns), self.limits, now_ns, tick)
        else:  # no rule is on and no switch engaged: nothing could deny the order
            denial = None
        if denial is not None:
            event = denied_event(submitted_event(cmd, sequence), denial)
            await self.append(coid, [(OrderDenied.TYPE, event.to_payload(), f"{coid}:denied")])
            return coid
        if self.limits.max_orders_per_window is not None:  # otherwise nothing reads the window
            self._rate.record(now_ns)
        try:
            await self.append(coid, [(OrderSubmitted.TYPE, intent, f"{coid}:submitted")])
        except BaseException:
            self._stages.pop(coid, None)  # nothing journaled, nothing sent
            raise
        stages[JOURNAL] = stamp()
        self._ports[coid] = port_name
        self._spawn(self._send_place(coid, port_name))
        return coid

    def _risk_context(self, cmd: PlaceOrder, now_ns: int) -> RiskContext:
        limits = self.limits
        states = self.states
        buy = sell = 0.0
        if limits.max_position_per_symbol is not None:
            buy, sell = states.working_volume(cmd.account, cmd.symbol)
        return _risk_context(
            None in self._kill or cmd.account in self._kill,
            states.open_count(cmd.account) if limits.max_open_orders is not None else 0,
            states.net.get((cmd.account, cmd.symbol), 0.0),
            buy,
            sell,
            self._rate.count(now_ns) if limits.max_orders_per_window is not None else 0,
        )

    def port_name_for(self, order: Order) -> str:
        """The name of the port an order was (or would be) sent through."""
        name = self._ports.get(order.client_order_id)
        if name is None:  # the router remembers its answer per account, symbol and strategy
            name = self.router.port_name(order.account, order.symbol, order.strategy)
        return name

    def _port_for(self, order: Order) -> port.BrokerPort:
        return self.router.ports[self.port_name_for(order)]

    async def _send_place(self, coid: str, port_name: str) -> None:
        order = self.states.orders[coid]
        stages = self._stages.setdefault(coid, {})
        try:
            broker = self.router.ports[port_name]
            close_by = order.position_by_id is not None
            try:
                request = (
                    mapping.close_by_request(order) if close_by else mapping.place_request(order)
                )
            except BrokerRequestError as exc:
                reason = f"refused before sending: {exc}"
                await self.append(coid, [translate.rejected(order, None, reason, None)])
                return
            stages[BROKER_SEND] = stamp()
            try:
                if isinstance(request, port.CloseBy):
                    outcome = await broker.close_by(request)
                else:
                    outcome = await broker.place(request)
            except Exception as exc:
                outcome = port.SendOutcome(
                    OutcomeStatus.UNKNOWN, coid, reason=f"{type(exc).__name__}: {exc}"
                )
            ack = stages[BROKER_ACK] = stamp()
            planned = translate.place_outcome(
                order, outcome, self.states.versions.get(order_stream_id(coid), 0), ack["wall_ns"]
            )
            await self.append(coid, planned, _attempts(outcome))
            if outcome.status is OutcomeStatus.UNKNOWN:
                self._spawn(self._resolve_in_session(coid))
        except Exception as exc:
            self._report_error(coid, "sending the order failed", error=repr(exc))

    # -- resolving lost answers ------------------------------------------------------------

    async def resolve(self, coid: str) -> bool:
        """Look an unanswered order up at the broker and journal what was found; never resends.

        True when the outcome is now definite.
        """
        order = self.states.orders[coid]
        query = mapping.order_query(order, self.states.tickets_of(order.account))
        outcome = await self._port_for(order).lookup(query)
        if outcome.status is OutcomeStatus.UNKNOWN:
            return False
        if _claimed_by_another(coid, outcome):
            outcome = port.SendOutcome(
                OutcomeStatus.NOT_FOUND, coid,
                reason=f"the only match carries another order's id {outcome.order.comment!r}"
                if outcome.order else "matched another order",
            )
        version = self.states.versions.get(order_stream_id(coid), 0)
        await self.append(coid, translate.resolution(order, outcome, version))
        return True

    async def _resolve_in_session(self, coid: str) -> None:
        for delay in _LOOKUP_DELAYS:
            if delay:
                await asyncio.sleep(delay)
            try:
                if await self.resolve(coid):
                    return
            except Exception as exc:
                self._report_error(coid, "looking the order up failed", error=repr(exc))
        self._report_error(coid, "the order's outcome is still unknown; recovery will retry")

    # -- modify and cancel -----------------------------------------------------------------

    def _require_ready(self) -> None:
        if not self.ready:
            raise NotReadyError("the engine does not take orders until recovery has finished")

    def _change_target(self, what: str, coid: str) -> tuple[Order, str]:
        """The order a modify or cancel acts on, and the id its request gets in the stream."""
        order = self.states.get(coid)
        if order is None:
            raise UnknownOrderError(f"no order {coid!r} in the journal")
        if order.broker_order_id is None:
            raise CommandError(what, [("client_order_id", "no broker ticket yet")])
        version = self.states.versions[order_stream_id(coid)]
        return order, f"{what[0]}{version + 1}"

    async def modify(self, command: ModifyOrder | Mapping[str, Any]) -> str:
        """Journal a modify request, then send it in the background; the request id."""
        self._require_ready()
        cmd = command if isinstance(command, ModifyOrder) else ModifyOrder.parse(command)
        coid = cmd.client_order_id
        order, request_id = self._change_target("modify", coid)
        event = modify_requested_event(order, cmd, request_id)
        await self.append(coid, [(event.TYPE, event.to_payload(),
                                  f"{coid}:modify_requested:{request_id}")])
        self._spawn(self._send_modify(coid, request_id, event.to_payload()))
        return request_id

    async def _send_modify(self, coid: str, request_id: str, changes: dict[str, Any]) -> None:
        order = self.states.orders[coid]
        try:
            request = mapping.modify_request(order, changes)
            broker = self._port_for(order)
            outcome = await _sent_or_confirmed(broker.modify, broker.confirm_modify, request)
            if outcome.status is OutcomeStatus.UNKNOWN:
                self._report_error(coid, "modify outcome unknown", request_id=request_id,
                                   reason=outcome.reason)
                return
            await self.append(coid, self._modify_events(coid, request_id, changes, outcome))
        except Exception as exc:
            self._report_error(coid, "modifying the order failed", error=repr(exc))

    @staticmethod
    def _modify_events(coid: str, request_id: str, changes: dict[str, Any],
                       outcome: port.SendOutcome) -> list[Planned]:
        if outcome.status is OutcomeStatus.MODIFIED:
            payload = OrderModified(
                client_order_id=coid, request_id=request_id,
                price=changes.get("price"), stop_limit_price=changes.get("stop_limit_price"),
                sl=changes.get("sl"), tp=changes.get("tp"), expiry_ns=changes.get("expiry_ns"),
            ).to_payload()
            return [(OrderModified.TYPE, payload, f"{coid}:modified:{request_id}")]
        payload = OrderModifyRejected(
            client_order_id=coid, request_id=request_id,
            retcode=outcome.retcode or 0, reason=outcome.reason,
        ).to_payload()
        return [(OrderModifyRejected.TYPE, payload, f"{coid}:modify_rejected:{request_id}")]

    async def cancel(self, command: CancelOrder | Mapping[str, Any]) -> str:
        """Journal a cancel request, then send it in the background; the request id."""
        self._require_ready()
        cmd = command if isinstance(command, CancelOrder) else CancelOrder.parse(command)
        coid = cmd.client_order_id
        order, request_id = self._change_target("cancel", coid)
        event = cancel_requested_event(order, cmd, request_id)
        await self.append(coid, [(event.TYPE, event.to_payload(),
                                  f"{coid}:cancel_requested:{request_id}")])
        self._spawn(self._send_cancel(coid, request_id))
        return request_id

    async def _send_cancel(self, coid: str, request_id: str) -> None:
        order = self.states.orders[coid]
        try:
            request = mapping.cancel_request(order)
            broker = self._port_for(order)
            outcome = await _sent_or_confirmed(broker.cancel, broker.confirm_cancel, request)
            await self.append(coid, self._cancel_events(order, request_id, outcome))
        except Exception as exc:
            self._report_error(coid, "canceling the order failed", error=repr(exc))

    def _cancel_events(self, order: Order, request_id: str, outcome: port.SendOutcome
                       ) -> list[Planned]:
        coid = order.client_order_id
        if outcome.status is OutcomeStatus.CANCELED:
            return [translate.canceled(order, "client")]
        if outcome.status is OutcomeStatus.UNKNOWN:
            self._report_error(coid, "cancel outcome unknown", request_id=request_id,
                               reason=outcome.reason)
            return []
        payload = OrderCancelRejected(
            client_order_id=coid, request_id=request_id, retcode=outcome.retcode or 0,
            reason=outcome.reason,
        ).to_payload()
        return [(OrderCancelRejected.TYPE, payload, f"{coid}:cancel_rejected:{request_id}")]

    async def confirm_pending(self, coid: str) -> None:
        """After a crash: settle a cancel or modify that was journaled but never answered."""
        order = self.states.orders[coid]
        broker = self._port_for(order)
        if order.pending_cancel is not None and order.broker_order_id is not None:
            outcome = await broker.confirm_cancel(mapping.cancel_request(order))
            if outcome.status is OutcomeStatus.NOT_FOUND:
                outcome = port.SendOutcome(OutcomeStatus.REJECTED, coid, reason=outcome.reason)
            await self.append(coid, self._cancel_events(order, order.pending_cancel, outcome))
        request_id = order.pending_modify
        if request_id is not None and order.broker_order_id is not None and order.is_open:
            changes = await self._requested_changes(coid, request_id)
            outcome = await broker.confirm_modify(mapping.modify_request(order, changes))
            if outcome.status is OutcomeStatus.NOT_FOUND:
                outcome = port.SendOutcome(OutcomeStatus.REJECTED, coid, reason=outcome.reason)
            await self.append(coid, self._modify_events(coid, request_id, changes, outcome))

    async def _requested_changes(self, coid: str, request_id: str) -> dict[str, Any]:
        """The terms a journaled modify request asked for."""
        for record in await self.journal.read_stream(order_stream_id(coid)):
            if record.type == OrderModifyRequested.TYPE and \
                    record.payload.get("request_id") == request_id:
                return dict(record.payload)
        raise UnknownOrderError(f"order {coid} has no modify request {request_id!r}")

    # -- kill switch -----------------------------------------------------------------------

    async def engage_kill_switch(self, reason: str, by: str, account: str | None = None) -> None:
        """Block new orders (of one account, or all) until cleared; journaled."""
        await self._risk_event(KillSwitchEngaged(account=account, reason=reason, by=by), account)

    async def clear_kill_switch(self, reason: str, by: str, account: str | None = None) -> None:
        """Let new orders flow again; journaled."""
        await self._risk_event(KillSwitchCleared(account=account, reason=reason, by=by), account)

    async def _risk_event(self, event: KillSwitchEngaged | KillSwitchCleared,
                          account: str | None) -> None:
        stream = RISK_STREAM if account is None else f"{RISK_STREAM}-{account}"
        records = await self.journal.append(stream, [NewEvent(event.TYPE, event.to_payload())])
        for record in records:
            self.log.event(record)
        self.absorb(records)


def _claimed_by_another(coid: str, outcome: port.SendOutcome) -> bool:
    """A fingerprint match whose comment is another client order id of ours is not this one."""
    found = outcome.order
    if outcome.matched_by != "fingerprint" or found is None or found.comment == coid:
        return False
    try:
        parse_client_order_id(found.comment)
    except IdentifierError:
        return False
    return True


def _attempts(outcome: port.SendOutcome) -> dict[str, Any] | None:
    """Requote retries, kept in the answer's metadata so every send stays auditable."""
    if len(outcome.attempts) < 2:
        return None
    return {"broker_attempts": [
        {"number": a.number, "retcode": a.retcode, "error_code": a.error_code,
         "reason": a.reason, "price": None if a.price is None else float(a.price),
         "sent_ns": a.sent_ns, "answered_ns": a.answered_ns}
        for a in outcome.attempts
    ]}


_Change = TypeVar("_Change", port.ModifyOrder, port.CancelOrder)


async def _sent_or_confirmed(
    send: Callable[[_Change], Awaitable[port.SendOutcome]],
    confirm: Callable[[_Change], Awaitable[port.SendOutcome]],
    request: _Change,
) -> port.SendOutcome:
    """Send a change; when its answer is lost (or the send raised), ask whether it took effect."""
    try:
        outcome = await send(request)
    except Exception as exc:
        outcome = port.SendOutcome(OutcomeStatus.UNKNOWN, request.client_id, reason=repr(exc))
    if outcome.status is OutcomeStatus.UNKNOWN:
        outcome = await confirm(request)
    return outcome
