"""The status listener: polls each broker port incrementally and journals what changed, once.

The adapter keeps the watermark (a history cursor of server time plus the tickets already
seen there); the listener turns each new deal into a fill, each finished or newly seen order
into its acknowledgement and its end. Event ids come from deal tickets and order ids, so a
poll that returns something again (an overlap, a restart from an older cursor, the send task
having written the same fact) appends nothing new.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from oms.broker import port
from oms.domain.errors import IdentifierError
from oms.domain.ids import is_our_magic, parse_client_order_id
from oms.domain.order import Order
from oms.engine import translate
from oms.engine.manager import OrderManager
from oms.engine.mapping import deal_fields, is_trade_deal
from oms.engine.translate import FillCounter, Planned


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one polling round found and journaled."""

    records_read: int
    events_planned: int
    unmatched_deals: int


class StatusListener:
    """Turns broker changes into journaled events for the manager's orders."""

    def __init__(self, manager: OrderManager, ports: list[str] | None = None) -> None:
        self.manager = manager
        self.port_names = list(ports) if ports is not None else list(manager.router.ports)
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self.polls = 0
        self.unmatched: set[int] = set()

    def _order_for(self, ticket: int, magic: int, comment: str) -> Order | None:
        states = self.manager.states
        coid = states.by_ticket.get(ticket)
        if coid is None and is_our_magic(magic):
            try:
                parse_client_order_id(comment)
            except IdentifierError:
                return None
            coid = comment
        return None if coid is None else states.get(coid)

    async def poll_once(self) -> PollReport:
        """One round over every port; returns what was read and journaled."""
        read = planned_count = unmatched = 0
        for name in self.port_names:
            changes = await self.manager.router.ports[name].poll()
            read += changes.records_read
            plans, misses = self._plan(changes)
            unmatched += misses
            planned_count += sum(len(p) for p in plans.values())
            if plans:
                await asyncio.gather(
                    *(self.manager.append(coid, planned) for coid, planned in plans.items())
                )
        self.polls += 1
        return PollReport(read, planned_count, unmatched)

    def _plan(self, changes: port.BrokerChanges) -> tuple[dict[str, list[Planned]], int]:
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
            order = self._order_for(deal.order, deal.magic, deal.comment)
            if order is None:
                if deal.ticket not in self.unmatched:
                    self.unmatched.add(deal.ticket)
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
            order = self._order_for(broker.ticket, broker.magic, broker.comment)
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
