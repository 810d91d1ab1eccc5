"""The status listener: polls each broker port incrementally and journals what changed, once.

The adapter keeps the watermark (a history cursor of server time plus the tickets already
seen there); the listener turns each new deal into a fill, each finished or newly seen order
into its acknowledgement and its end. Event ids come from deal tickets and order ids, so a
poll that returns something again (an overlap, a restart from an older cursor, the send task
having written the same fact) appends nothing new.

With a checkpoint store the watermark outlives the process: after each round whose events
are durably journaled, the cursor's times and the working tickets are saved (only when they
moved); the first poll after a restart resumes from them less `resume_overlap_ms`, so a
restart reads the recent history again rather than all of it. The watermark lives in the
store, not the journal: it decides only how much is read again, never what is journaled
(a re-read appends nothing), so the journal stays facts only and its replay never depends
on it; saved after the round's appends, it can lag the journal but never lead it.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from oms.broker import port
from oms.domain.errors import IdentifierError
from oms.domain.ids import is_our_magic, parse_client_order_id
from oms.domain.order import Order
from oms.engine import translate
from oms.engine.errors import NoRouteError
from oms.engine.manager import OrderManager
from oms.engine.mapping import deal_fields, is_trade_deal
from oms.engine.translate import FillCounter, Planned
from oms.errors import OmsError
from oms.projections.store import CheckpointStore

WATERMARK_FORMAT = 1
DEFAULT_RESUME_OVERLAP_MS = 60_000


@runtime_checkable
class ResumablePort(Protocol):
    """A port whose history cursor can be read and set (the MT5 adapter is one)."""

    @property
    def cursor(self) -> port.HistoryCursor:
        """Where the next poll resumes."""
        ...

    def resume_from(self, cursor: port.HistoryCursor, open_tickets: frozenset[int]) -> None:
        """Continue polling from a cursor kept from an earlier session."""
        ...


def watermark_body(cursor: port.HistoryCursor, open_tickets: frozenset[int]) -> dict[str, Any]:
    """What is saved of a cursor: its times and the working tickets (seen sets are not)."""
    return {
        "format": WATERMARK_FORMAT,
        "deals_from_msc": cursor.deals_from_msc,
        "orders_from_msc": cursor.orders_from_msc,
        "open_tickets": sorted(open_tickets),
    }


def resume_point(
    body: dict[str, Any], overlap_ms: int
) -> tuple[port.HistoryCursor, frozenset[int]]:
    """The cursor to resume from (times less the overlap) and the tickets last seen working."""
    if body.get("format") != WATERMARK_FORMAT:
        raise ValueError(f"watermark format {body.get('format')!r} is not {WATERMARK_FORMAT}")
    deals, orders = body["deals_from_msc"], body["orders_from_msc"]
    tickets = body["open_tickets"]
    if not (isinstance(deals, int) and isinstance(orders, int) and isinstance(tickets, list)
            and all(isinstance(t, int) for t in tickets)):
        raise ValueError("watermark times and tickets must be integers")
    cursor = port.HistoryCursor(
        deals_from_msc=max(0, deals - overlap_ms), orders_from_msc=max(0, orders - overlap_ms)
    )
    return cursor, frozenset(tickets)


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one polling round found and journaled."""

    records_read: int
    events_planned: int
    unmatched_deals: int


class StatusListener:
    """Turns broker changes into journaled events for the manager's orders."""

    def __init__(
        self,
        manager: OrderManager,
        ports: list[str] | None = None,
        *,
        store: CheckpointStore | None = None,
        resume_overlap_ms: int = DEFAULT_RESUME_OVERLAP_MS,
    ) -> None:
        if resume_overlap_ms < 0:
            raise ValueError(f"resume_overlap_ms must not be negative, got {resume_overlap_ms}")
        self.manager = manager
        self.port_names = list(ports) if ports is not None else list(manager.router.ports)
        self.store = store
        self.resume_overlap_ms = resume_overlap_ms
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.polls = 0
        self.unmatched: set[tuple[str, int]] = set()  # (port, deal ticket) warned about
        self._resumed: set[str] = set()
        self._saved: dict[str, dict[str, Any]] = {}

    @staticmethod
    def watermark_name(port_name: str) -> str:
        """The store key of a port's watermark."""
        return f"listener.{port_name}"

    async def _resume(self, name: str, broker: port.BrokerPort) -> None:
        """Before a port's first poll: continue from its saved watermark, if there is one."""
        self._resumed.add(name)
        if self.store is None or not isinstance(broker, ResumablePort):
            return
        key = self.watermark_name(name)
        try:
            body = await asyncio.to_thread(self.store.watermark, key)
            if body is None:
                return
            cursor, tickets = resume_point(body, self.resume_overlap_ms)
        except (ValueError, KeyError, TypeError, OmsError) as exc:
            self.manager.log.warning("polling watermark ignored; reading all history",
                                     port=name, reason=str(exc))
            return
        working = frozenset(o.broker_order_id for o in self.manager.states.open_orders()
                            if o.broker_order_id is not None)
        broker.resume_from(cursor, tickets | working)
        self._saved[name] = body
        self.manager.log.info("polling resumed from the saved watermark", port=name,
                              deals_from_msc=cursor.deals_from_msc,
                              orders_from_msc=cursor.orders_from_msc)

    async def _save(self, name: str, changes: port.BrokerChanges) -> None:
        """Record how far a port's history was read, once its events are journaled."""
        if self.store is None:
            return
        body = watermark_body(changes.cursor, frozenset(o.ticket for o in changes.open_orders))
        if body != self._saved.get(name):
            await asyncio.to_thread(self.store.save_watermark, self.watermark_name(name), body)
            self._saved[name] = body

    def _order_for(self, port_name: str, ticket: int, magic: int, comment: str) -> Order | None:
        """Our order behind a broker ticket of this port: another broker may use the same
        numbers, so an order counts only if it is routed to the port that reported it."""
        for order in self.manager.states.with_ticket(ticket):
            if self._routed_to(order, port_name):
                return order
        if not is_our_magic(magic):
            return None
        try:
            parse_client_order_id(comment)
        except IdentifierError:
            return None
        mine = self.manager.states.get(comment)
        if mine is None or not self._routed_to(mine, port_name):
            return None
        return mine

    def _routed_to(self, order: Order, port_name: str) -> bool:
        """Whether the order goes through this port; one no rule routes (an adopted order,
        say) can only belong to the port when there is no other."""
        try:
            return self.manager.port_name_for(order) == port_name
        except NoRouteError:
            return len(self.manager.router.ports) == 1

    async def poll_once(self) -> PollReport:
        """One round over every port; returns what was read and journaled."""
        read = planned_count = unmatched = 0
        for name in self.port_names:
            broker = self.manager.router.ports[name]
            if name not in self._resumed:
                await self._resume(name, broker)
            changes = await broker.poll()
            read += changes.records_read
            plans, misses = self._plan(name, changes)
            unmatched += misses
            planned_count += sum(len(p) for p in plans.values())
            if plans:
                await asyncio.gather(
                    *(self.manager.append(coid, planned) for coid, planned in plans.items())
                )
            await self._save(name, changes)
        self.polls += 1
        return PollReport(read, planned_count, unmatched)

    def _plan(
        self, port_name: str, changes: port.BrokerChanges
    ) -> tuple[dict[str, list[Planned]], int]:
        plans: dict[str, list[Planned]] = {}
        counters: dict[str, FillCounter] = {}
        acked: set[str] = set()
        misses = 0

        def counter_for(order: Order) -> FillCounter:
            counter = counters.get(order.client_order_id)
            if counter is None:
                counter = counters[order.client_order_id] = FillCounter(order)
            return counter

        def ack(order: Order, ticket: int) -> None:
            coid = order.client_order_id
            if order.broker_order_id is None and order.is_open and coid not in acked:
                acked.add(coid)
                plans.setdefault(coid, []).append(translate.accepted(order, ticket, None))

        for deal in sorted(changes.deals, key=lambda d: (d.time_msc, d.ticket)):
            if not is_trade_deal(deal):
                continue
            order = self._order_for(port_name, deal.order, deal.magic, deal.comment)
            if order is None:
                if (port_name, deal.ticket) not in self.unmatched:
                    self.unmatched.add((port_name, deal.ticket))
                    misses += 1
                    self.manager.log.warning(
                        "a deal matches no order of ours", deal_ticket=deal.ticket,
                        order_ticket=deal.order, magic=deal.magic, symbol=deal.symbol,
                    )
                continue
            ack(order, deal.order)
            fill = counter_for(order).plan(deal_fields(deal))
            if fill is not None:
                plans.setdefault(order.client_order_id, []).append(fill)
        for broker in (*changes.history_orders, *changes.open_orders):
            order = self._order_for(port_name, broker.ticket, broker.magic, broker.comment)
            if order is None:
                continue
            coid = order.client_order_id
            if broker.state == translate.STATE_REJECTED and order.broker_order_id is None:
                acked.add(coid)
            ack(order, broker.ticket)
            end = translate.broker_order_end(order, broker, counter_for(order))
            if end is not None:
                plans.setdefault(coid, []).append(end)
        return plans, misses

    async def run(self, interval_s: float = 0.05) -> None:
        """Poll until `stop()`; errors are logged and polling goes on."""
        while not self._stop.is_set():
            try:
                await self.poll_once()
            except Exception as exc:
                self.manager.log.error("polling the broker failed", error=repr(exc))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval_s)

    def kick(self) -> None:
        """Poll again now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        """End `run()` after the current round."""
        self._stop.set()
        self._wake.set()
