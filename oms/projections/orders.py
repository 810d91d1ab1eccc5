"""Our own order book: every order's state, folded from the order streams.

Answers the engine (open orders and working volume for risk, the next client order id
sequence, an order by broker ticket) and the reports (orders by status, symbol, account).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from oms.domain.enums import OPEN_STATUSES, OrderStatus
from oms.domain.ids import account_tickets
from oms.domain.order import FOLDS, ROW_FIELDS, Order, OrderFold
from oms.domain.transitions import (
    ACCEPTED_T,
    DENIED_T,
    FILLED_T,
    OUTCOME_RESOLVED_T,
    PARTIALLY_FILLED_T,
    REJECTED_T,
    STEPS,
    SUBMITTED_T,
)
from oms.projections.base import Handler, Projection, ProjectionError

_TICKET_TYPES = frozenset({ACCEPTED_T, REJECTED_T, OUTCOME_RESOLVED_T})
_TERMS_TYPES = frozenset({SUBMITTED_T, DENIED_T})
_REFINED_TYPES = frozenset({PARTIALLY_FILLED_T, FILLED_T, OUTCOME_RESOLVED_T})
_OPENNESS_STABLE = frozenset(
    t
    for t in FOLDS
    if t not in _REFINED_TYPES
    and all(
        (status in OPEN_STATUSES) == (moves[t] in OPEN_STATUSES)
        for status, moves in STEPS.items()
        if t in moves
    )
)
"""Event types after which an order is open exactly when it was before (no index update)."""


class OrderBook(Projection):
    """Orders by client order id; open orders, broker tickets and sequences indexed on demand.

    A replay only needs `orders`, so the indexes the engine's queries use (`open`,
    `by_ticket`, `sequences`) are built by the first query, in one pass over the orders,
    and from then on kept up to date by the fold itself.
    """

    name = "orders"

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, Order] = {}
        self._open: dict[str, Order] | None = None
        self._by_ticket: dict[str, dict[int, str]] | None = None
        self._sequences: dict[str, int] | None = None
        self._lean = {t: self._lean_handler(t, fold) for t, fold in FOLDS.items()}
        self._handlers = self._lean

    # -- folding -----------------------------------------------------------------------
    def _lean_handler(self, event_type: str, fold: OrderFold) -> Handler:
        """The fold alone: find or create the order, apply the event."""
        orders = self.orders
        setdefault = orders.setdefault
        opened = Order.opened
        new_order = Order

        if event_type in _TERMS_TYPES:

            def handle_opening(payload: dict[str, Any], _position: int, at: int) -> None:
                order = opened(event_type, payload, at)
                known = setdefault(order.client_order_id, order)
                if known is not order:  # a second intent for the same id: the fold records it
                    fold(known, event_type, payload, at)

            return handle_opening

        def handle(payload: dict[str, Any], _position: int, at: int) -> None:
            coid = payload["client_order_id"]
            order = orders.get(coid)
            if order is None:
                order = orders[coid] = new_order(coid)
            fold(order, event_type, payload, at)

        return handle

    def _indexed_handler(
        self,
        event_type: str,
        fold: OrderFold,
        open_orders: dict[str, Order],
        by_ticket: dict[str, dict[int, str]],
        sequences: dict[str, int],
    ) -> Handler:
        """The fold plus upkeep of only the indexes this event type can change."""
        orders = self.orders
        open_statuses = OPEN_STATUSES
        opened = Order.opened

        if event_type in _TERMS_TYPES:

            def handle_opening(payload: dict[str, Any], _position: int, at: int) -> None:
                coid = payload["client_order_id"]
                order = orders.get(coid)
                if order is None:
                    order = orders[coid] = opened(event_type, payload, at)
                    if order.status in open_statuses:
                        open_orders[coid] = order
                else:
                    fold(order, event_type, payload, at)
                _note_sequence(sequences, coid)

            return handle_opening

        ticketing = event_type in _TICKET_TYPES
        stable = event_type in _OPENNESS_STABLE

        def handle(payload: dict[str, Any], _position: int, at: int) -> None:
            coid = payload["client_order_id"]
            order = orders.get(coid)
            if order is None:
                order = orders[coid] = Order(coid)
            was_open = order.status in open_statuses
            fold(order, event_type, payload, at)
            if not stable and (order.status in open_statuses) is not was_open:
                if was_open:
                    del open_orders[coid]
                else:
                    open_orders[coid] = order
            if ticketing and order.broker_order_id is not None:
                _index_ticket(by_ticket, order, coid)

        return handle

    def _index(self) -> tuple[dict[str, Order], dict[str, dict[int, str]], dict[str, int]]:
        """Build the query indexes once and switch the fold to keeping them."""
        if self._open is None or self._by_ticket is None or self._sequences is None:
            open_orders: dict[str, Order] = {}
            by_ticket: dict[str, dict[int, str]] = {}
            sequences: dict[str, int] = {}
            for coid, order in self.orders.items():
                if order.status in OPEN_STATUSES:
                    open_orders[coid] = order
                if order.broker_order_id is not None:
                    _index_ticket(by_ticket, order, coid)
                if order.strategy:  # opened by its intent (submitted or denied)
                    _note_sequence(sequences, coid)
            self._open, self._by_ticket, self._sequences = open_orders, by_ticket, sequences
            self._handlers = {
                t: self._indexed_handler(t, fold, open_orders, by_ticket, sequences)
                for t, fold in FOLDS.items()
            }
        return self._open, self._by_ticket, self._sequences

    @property
    def open(self) -> dict[str, Order]:
        """Orders that may still trade, by client order id."""
        return self._index()[0]

    @property
    def by_ticket(self) -> dict[str, dict[int, str]]:
        """account → broker order ticket → client order id; brokers number independently."""
        return self._index()[1]

    @property
    def sequences(self) -> dict[str, int]:
        """Highest sequence used per ``account.strategy``, denied orders included."""
        return self._index()[2]

    # -- queries -----------------------------------------------------------------------
    def get(self, client_order_id: str) -> Order | None:
        """One order, or None."""
        return self.orders.get(client_order_id)

    def by_broker_ticket(self, account: str, ticket: int) -> Order | None:
        """The order an account's broker knows under this ticket."""
        coid = self.by_ticket.get(account, {}).get(ticket)
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
        # Rows in first-event order: the fold's own order, identical for equal journals.
        return {
            "fields": list(ROW_FIELDS),
            "orders": [order.to_row() for order in self.orders.values()],
        }

    def _load(self, state: dict[str, Any]) -> None:
        if state["fields"] != list(ROW_FIELDS):
            raise ProjectionError("orders snapshot has other fields than this code: rebuild")
        from_row = Order.from_row
        self.orders.clear()
        for row in state["orders"]:
            order = from_row(row)
            self.orders[order.client_order_id] = order
        self._open = self._by_ticket = self._sequences = None
        self._handlers = self._lean


def _note_sequence(sequences: dict[str, int], coid: str) -> None:
    """Track the highest sequence used per account.strategy, whatever the order's fate."""
    prefix, _, seq = coid.rpartition(".")
    try:
        number = int(seq, 36)
    except ValueError:
        return
    if number > sequences.get(prefix, -1):
        sequences[prefix] = number


def _index_ticket(by_ticket: dict[str, dict[int, str]], order: Order, coid: str) -> None:
    """Remember an order under its account's broker ticket."""
    assert order.broker_order_id is not None
    account_tickets(by_ticket, order.account)[order.broker_order_id] = coid
