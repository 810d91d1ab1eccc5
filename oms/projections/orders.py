"""Our own order book: every order's state, folded from the order streams.

Answers the engine (open orders and working volume for risk, the next client order id
sequence, an order by broker ticket) and the reports (orders by status, symbol, account).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oms.domain.enums import OPEN_STATUSES, OrderStatus
from oms.domain.order import FOLDS, Order, OrderFold
from oms.domain.records import JournalRecord
from oms.domain.transitions import ACCEPTED_T, DENIED_T, OUTCOME_RESOLVED_T, REJECTED_T, SUBMITTED_T
from oms.projections.base import Handler, Projection

_TICKET_TYPES = frozenset({ACCEPTED_T, REJECTED_T, OUTCOME_RESOLVED_T})
_TERMS_TYPES = frozenset({SUBMITTED_T, DENIED_T})


class OrderBook(Projection):
    """Orders by client order id, with the open ones and broker tickets indexed."""

    name = "orders"

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, Order] = {}
        self.open: dict[str, Order] = {}
        self.by_ticket: dict[int, str] = {}
        self.sequences: dict[str, int] = {}
        self._handlers = {t: self._handler(t, fold) for t, fold in FOLDS.items()}

    def _handler(self, event_type: str, fold: OrderFold) -> Handler:
        """One closure per event type: the Order's fold plus the book's indexes."""
        orders = self.orders
        open_orders = self.open
        opening = event_type in _TERMS_TYPES
        ticketing = event_type in _TICKET_TYPES
        open_statuses = OPEN_STATUSES

        opened = Order.opened

        def handle(record: JournalRecord, payload: dict[str, Any]) -> None:
            coid = payload["client_order_id"]
            order = orders.get(coid)
            if order is None:
                if opening:
                    order = orders[coid] = opened(event_type, payload, record.recorded_at_ns)
                    if order.status in open_statuses:
                        open_orders[coid] = order
                    self._note_sequence(coid)
                    return
                order = orders[coid] = Order(coid)
            was_open = order.status in open_statuses
            fold(order, event_type, payload, record.recorded_at_ns)
            if (order.status in open_statuses) is not was_open:
                if was_open:
                    del open_orders[coid]
                else:
                    open_orders[coid] = order
            if opening:
                self._note_sequence(coid)
            elif ticketing and order.broker_order_id is not None:
                self.by_ticket[order.broker_order_id] = coid

        return handle

    def _note_sequence(self, coid: str) -> None:
        """Track the highest sequence used per account.strategy, whatever its fate."""
        prefix, _, seq = coid.rpartition(".")
        try:
            number = int(seq, 36)
        except ValueError:
            return
        if number > self.sequences.get(prefix, -1):
            self.sequences[prefix] = number

    # -- queries -----------------------------------------------------------------------
    def get(self, client_order_id: str) -> Order | None:
        """One order, or None."""
        return self.orders.get(client_order_id)

    def by_broker_ticket(self, ticket: int) -> Order | None:
        """The order the broker knows under this ticket."""
        coid = self.by_ticket.get(ticket)
        return None if coid is None else self.orders[coid]

    def next_sequence(self, account: str, strategy: str) -> int:
        """The sequence for the next client order id of this account and strategy."""
        return self.sequences.get(f"{account}.{strategy}", -1) + 1

    def select(
        self,
        *,
        status: OrderStatus | None = None,
        account: str | None = None,
        symbol: str | None = None,
        open_only: bool = False,
    ) -> Iterator[Order]:
        """Orders matching every given filter, in client order id order."""
        pool = self.open if open_only else self.orders
        for coid in sorted(pool):
            order = pool[coid]
            if status is not None and order.status is not status:
                continue
            if account is not None and order.account != account:
                continue
            if symbol is not None and order.symbol != symbol:
                continue
            yield order

    def open_count(self, account: str | None = None) -> int:
        """Orders that may still trade (for the max-open-orders rule)."""
        if account is None:
            return len(self.open)
        return sum(1 for order in self.open.values() if order.account == account)

    def working_volume(self, account: str, symbol: str) -> tuple[float, float]:
        """Remaining (buy, sell) lots of open orders on a symbol (for the position rule)."""
        buy = sell = 0.0
        for order in self.open.values():
            if order.account == account and order.symbol == symbol:
                if order.side == "buy":
                    buy += order.remaining_volume
                else:
                    sell += order.remaining_volume
        return buy, sell

    def counts(self) -> dict[str, int]:
        """Orders per status."""
        out: dict[str, int] = {}
        for order in self.orders.values():
            out[order.status.value] = out.get(order.status.value, 0) + 1
        return out

    def anomalies(self) -> Iterator[tuple[Order, dict[str, Any]]]:
        """Every recorded anomaly (overfills are discrepancies for the reconciler)."""
        for coid in sorted(self.orders):
            order = self.orders[coid]
            for anomaly in order.anomalies:
                yield order, anomaly

    def flagged_deals(self) -> dict[int, str]:
        """Deal ticket → why it did not fit its order (late_fill, overfill, unknown_order)."""
        out: dict[int, str] = {}
        for _, anomaly in self.anomalies():
            deal = anomaly.get("deal_ticket")
            if deal is not None and anomaly["kind"] != "duplicate_fill":
                out[deal] = f"{out[deal]},{anomaly['kind']}" if deal in out else anomaly["kind"]
        return out

    # -- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "orders": {coid: order.to_dict() for coid, order in self.orders.items()},
            "sequences": dict(self.sequences),
        }

    def _load(self, state: dict[str, Any]) -> None:
        self.orders.clear()
        self.orders.update(
            (coid, Order.from_dict(data)) for coid, data in state["orders"].items()
        )
        self.open.clear()
        self.open.update((c, o) for c, o in self.orders.items() if o.status in OPEN_STATUSES)
        self.by_ticket = {
            o.broker_order_id: c for c, o in self.orders.items() if o.broker_order_id is not None
        }
        self.sequences = dict(state["sequences"])
