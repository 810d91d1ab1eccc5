"""A paper session for reconciliation tests: orders go straight to the simulated terminal and
their events straight into a real journal, as the engine would write them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journal import Journal, NewEvent, migrate
from journal.writer import ThreadWaiter
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.domain.events import (
    Event,
    OrderAccepted,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSubmitted,
)
from oms.domain.ids import client_order_id, deal_event_id, magic_for, order_stream_id
from oms.reconcile.lock import lock_for
from oms.reconcile.reconciler import Reconciler
from oms.reconcile.snapshot import AdapterSnapshotSource, TerminalSnapshotSource

ACCOUNT = "A1"
STRATEGY = "mm"
ENTRIES = {0: "in", 1: "out", 2: "inout", 3: "out_by"}


def new_event(event: Event, event_id: str | None = None) -> NewEvent:
    """A domain event as the journal takes it."""
    return NewEvent(event.TYPE, event.to_payload(), event_id, {}, event.SCHEMA_VERSION)


@dataclass
class PaperSession:
    """Places orders on the simulator and journals what happened, batching appends."""

    journal: Journal
    terminal: SimulatedTerminal
    sequence: int = 0
    account: str = ACCOUNT
    pending: list[tuple[str, list[NewEvent]]] = field(default_factory=list)

    def place(
        self,
        symbol: str = "EURUSD",
        side: str = "buy",
        volume: float = 0.1,
        kind: str = "market",
        offset_points: int = 200,
        position: int | None = None,
        journal_fills: bool = True,
    ) -> tuple[str, Any]:
        """Send an order; journal submitted, accepted and (unless told not to) its fills."""
        mt5 = self.terminal
        coid = client_order_id(self.account, STRATEGY, self.sequence)
        self.sequence += 1
        tick = mt5.symbol_info_tick(symbol)
        point = mt5.symbol_info(symbol).point
        buy = side == "buy"
        request: dict[str, Any] = {
            "symbol": symbol,
            "volume": float(volume),
            "magic": magic_for(self.account, STRATEGY),
            "comment": coid,
        }
        if kind == "market":
            request |= {
                "action": mt5.TRADE_ACTION_DEAL,
                "type": 0 if buy else 1,
                "price": tick.ask if buy else tick.bid,
                "type_filling": mt5.ORDER_FILLING_IOC,
                "deviation": 50,
            }
            if position is not None:
                request["position"] = position
            price = None
        else:
            price = round((tick.bid - offset_points * point) if buy else
                          (tick.ask + offset_points * point), 5)  # fmt: skip
            request |= {
                "action": mt5.TRADE_ACTION_PENDING,
                "type": 2 if buy else 3,
                "price": price,
                "type_filling": mt5.ORDER_FILLING_RETURN,
                "type_time": mt5.ORDER_TIME_GTC,
            }
        submitted = OrderSubmitted(
            client_order_id=coid, account=self.account, strategy=STRATEGY, symbol=symbol,
            side=side, order_type="market" if kind == "market" else "limit",  # type: ignore[arg-type]
            volume=float(volume), price=price, magic=request["magic"], position_id=position,
        )  # fmt: skip
        result = mt5.order_send(request)
        assert result is not None, mt5.last_error()
        assert result.retcode in (10008, 10009), result
        events = [
            new_event(submitted),
            new_event(OrderAccepted(client_order_id=coid, broker_order_id=result.order)),
        ]
        if journal_fills:
            events += self.fill_events(coid, result.order, volume)
        self.pending.append((order_stream_id(coid), events))
        return coid, result

    def fill_events(self, coid: str, ticket: int, volume: float) -> list[NewEvent]:
        """Fill events for every deal of a broker order, ids derived from the deal tickets."""
        out = []
        filled = 0.0
        for deal in self.terminal.history_deals_get(ticket=ticket) or ():
            filled += deal.volume
            cls = OrderFilled if filled >= volume - 1e-9 else OrderPartiallyFilled
            fill = cls(
                client_order_id=coid, deal_ticket=deal.ticket, account=self.account,
                symbol=deal.symbol,
                side="buy" if deal.type == 0 else "sell",  # type: ignore[arg-type]
                volume=deal.volume, price=deal.price, fill_ns=deal.time_msc * 1_000_000,
                commission=deal.commission, fee=deal.fee, swap=deal.swap,
                position_id=deal.position_id, entry=ENTRIES[deal.entry],  # type: ignore[arg-type]
            )  # fmt: skip
            out.append(new_event(fill, deal_event_id(self.account, deal.ticket)))
        return out

    def flush(self) -> None:
        """Append everything pending, each stream its own append, committed in groups."""
        waiters = []
        requests = []
        for stream, events in self.pending:
            request = self.journal.prepare(stream, events, None)
            waiter = ThreadWaiter()
            request.waiter = waiter
            requests.append(request)
            waiters.append(waiter)
        self.journal.submit_many(requests)
        for waiter in waiters:
            waiter.wait()
        self.pending.clear()


def open_journal(url: str) -> Journal:
    """A migrated journal; durability off keeps big test sessions quick."""
    migrate(url)
    return Journal.open(url, durability="off")


async def make_reconciler(
    journal: Journal,
    terminal: SimulatedTerminal,
    url: str,
    *,
    hedging: bool = True,
    locked: bool = False,
    via_poll: bool = False,
    account: str = ACCOUNT,
) -> Reconciler:
    """A reconciler reading the terminal on the adapter's worker, connected."""
    worker = InlineWorker(SameObject(terminal))
    await Mt5Broker(worker).connect()
    source = (
        TerminalSnapshotSource(worker) if not via_poll else AdapterSnapshotSource(Mt5Broker(worker))
    )
    return Reconciler(
        journal, source, account=account, hedging=hedging,
        lock=lock_for(url) if locked else None,
    )  # fmt: skip
