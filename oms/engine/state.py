"""The engine's working memory of its orders: Order aggregates folded in stream order.

Appends to one order stream can come back out of order (the send task and the status
listener both write to it), so records wait in `_early` until every earlier version of
their stream was folded; the state therefore always equals a fold of the journal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from journal import RecordedEvent
from oms.domain.enums import OPEN_STATUSES, Side
from oms.domain.ids import account_tickets
from oms.domain.order import FOLDS, ROW_FIELDS, Order
from oms.domain.transitions import DENIED_T, FILL_TYPES, SUBMITTED_T

Listener = Callable[[Order, RecordedEvent], None]
ORDER_STREAM_PREFIX = "order-"
_PREFIX_LEN = len(ORDER_STREAM_PREFIX)
OPENING_TYPES = frozenset({SUBMITTED_T, DENIED_T})
"""Events that open an order (its intent): a new order folds them through `Order.opened`."""


class OrderStates:
    """Orders by client order id, their stream versions, tickets, sequences and exposure."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.versions: dict[str, int] = {}
        # account → broker ticket → client order id: brokers number their orders
        # independently, so two accounts' orders may carry the same ticket.
        self.by_ticket: dict[str, dict[int, str]] = {}
        self.open_ids: set[str] = set()
        self.net: dict[tuple[str, str], float] = {}
        self.position = 0
        self._early: dict[str, dict[int, RecordedEvent]] = {}
        self._sequences: dict[tuple[str, str], int] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call `listener(order, record)` after each record is folded."""
        self._listeners.append(listener)

    @contextmanager
    def unheard(self) -> Iterator[None]:
        """Fold without calling the listeners: for a start-up replay of a history that was
        logged and published when it was journaled."""
        listeners, self._listeners = self._listeners, []
        try:
            yield
        finally:
            self._listeners = listeners + self._listeners

    def next_sequence(self, account: str, strategy: str) -> int:
        """Reserve the next unused sequence of an (account, strategy) pair."""
        key = (account, strategy)
        seq = self._sequences.get(key, 0)
        self._sequences[key] = seq + 1
        return seq

    def with_ticket(self, ticket: int) -> Iterator[Order]:
        """The orders the brokers know under this ticket (one per account at most)."""
        for tickets in self.by_ticket.values():
            coid = tickets.get(ticket)
            if coid is not None:
                yield self.orders[coid]

    def tickets_of(self, account: str) -> Iterator[int]:
        """Broker tickets of an account's orders."""
        return iter(self.by_ticket.get(account, ()))

    def get(self, client_order_id: str) -> Order | None:
        """The order, if any record of it was folded."""
        return self.orders.get(client_order_id)

    def open_orders(self) -> Iterator[Order]:
        """Orders that may still trade (submitted, working, unknown)."""
        for coid in sorted(self.open_ids):
            yield self.orders[coid]

    def open_count(self, account: str) -> int:
        """Working orders of an account."""
        return sum(1 for c in self.open_ids if self.orders[c].account == account)

    def working_volume(self, account: str, symbol: str) -> tuple[float, float]:
        """Remaining buy and sell lots of open orders on one symbol."""
        buy = sell = 0.0
        for coid in self.open_ids:
            o = self.orders[coid]
            if o.account == account and o.symbol == symbol:
                if o.side == Side.BUY:
                    buy += o.remaining_volume
                else:
                    sell += o.remaining_volume
        return buy, sell

    def absorb(self, records: Iterable[RecordedEvent]) -> None:
        """Fold appended or replayed records; out-of-order ones wait for their predecessors."""
        versions = self.versions
        early_by_stream = self._early
        fold = self._fold
        for record in records:
            stream = record.stream_id
            if not stream.startswith(ORDER_STREAM_PREFIX):
                if record.position > self.position:
                    self.position = record.position
                continue
            current = versions.get(stream, 0)
            version = record.version
            if version != current + 1:
                if version > current:
                    early_by_stream.setdefault(stream, {})[version] = record
                continue
            fold(stream, record)
            if early_by_stream:
                self._fold_waiting(stream)

    def _fold_waiting(self, stream: str) -> None:
        """Fold the records of a stream that were waiting for the one just folded."""
        early = self._early.get(stream)
        while early:
            nxt = early.pop(self.versions[stream] + 1, None)
            if nxt is None:
                break
            self._fold(stream, nxt)
        if early is not None and not early:
            del self._early[stream]

    def _fold(self, stream: str, record: RecordedEvent) -> None:
        self.versions[stream] = record.version
        if record.position > self.position:
            self.position = record.position
        coid = stream[_PREFIX_LEN:]
        event_type = record.type
        payload: dict[str, Any] = record.payload
        at = record.recorded_at_ns
        fold = FOLDS.get(event_type)
        order = self.orders.get(coid)
        if order is None:
            self._note_sequence(coid)
            if event_type in OPENING_TYPES and payload.get("client_order_id") == coid:
                order = self.orders[coid] = Order.opened(event_type, payload, at)
                fold = None
            else:
                order = self.orders[coid] = Order(coid)
        if fold is not None:
            if event_type in FILL_TYPES:
                before = len(order.deal_tickets)
                fold(order, event_type, payload, at)
                if len(order.deal_tickets) > before:
                    key = (order.account, payload["symbol"])
                    sign = 1.0 if payload["side"] == Side.BUY else -1.0
                    self.net[key] = self.net.get(key, 0.0) + sign * payload["volume"]
            else:
                fold(order, event_type, payload, at)
        ticket = order.broker_order_id
        if ticket is not None:
            account_tickets(self.by_ticket, order.account)[ticket] = coid
        if order.status in OPEN_STATUSES:
            self.open_ids.add(coid)
        else:
            self.open_ids.discard(coid)
        for listener in self._listeners:
            listener(order, record)

    def _note_sequence(self, coid: str) -> None:
        # A cheap split, not the full id check: only the sequence matters here, and a
        # malformed id never lowers what `next_sequence` hands out.
        parts = coid.split(".")
        if len(parts) != 3:
            return
        try:
            seq = int(parts[2], 36)
        except ValueError:
            return
        key = (parts[0], parts[1])
        if self._sequences.get(key, 0) <= seq:
            self._sequences[key] = seq + 1

    # -- snapshots -------------------------------------------------------------------------
    @property
    def settled(self) -> bool:
        """True when no record waits for an earlier version (a snapshot is exact only then)."""
        return not self._early

    def to_snapshot(self) -> dict[str, Any]:
        """Every piece of state as JSON-ready data, in fold order (equal folds, equal data)."""
        return {
            "position": self.position,
            "fields": list(ROW_FIELDS),
            "orders": [order.to_row() for order in self.orders.values()],
            "versions": [[s, v] for s, v in self.versions.items()],
            "by_ticket": [[a, t, c] for a, ts in self.by_ticket.items() for t, c in ts.items()],
            "net": [[a, s, v] for (a, s), v in self.net.items()],
            "sequences": [[a, s, n] for (a, s), n in self._sequences.items()],
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the state with `to_snapshot()`'s output; nothing changes if it is malformed.

        Listeners are kept and not called. KeyError, TypeError or ValueError name the problem.
        """
        if snapshot["fields"] != list(ROW_FIELDS):
            raise ValueError("the snapshot's order rows have other fields than this code")
        from_row = Order.from_row
        orders: dict[str, Order] = {}
        for row in snapshot["orders"]:
            order = from_row(row)
            orders[order.client_order_id] = order
        versions = {str(s): int(v) for s, v in snapshot["versions"]}
        by_ticket: dict[str, dict[int, str]] = {}
        for entry in snapshot["by_ticket"]:
            account, ticket = _ticket_key(entry, orders)
            account_tickets(by_ticket, account)[ticket] = str(entry[-1])
        net = {(str(a), str(s)): float(v) for a, s, v in snapshot["net"]}
        sequences = {(str(a), str(s)): int(n) for a, s, n in snapshot["sequences"]}
        position = int(snapshot["position"])
        self.orders, self.versions, self.by_ticket, self.net = orders, versions, by_ticket, net
        self.open_ids = {c for c, o in orders.items() if o.is_open}
        self._sequences, self._early, self.position = sequences, {}, position


def _ticket_key(entry: list[Any], orders: dict[str, Order]) -> tuple[str, int]:
    """(account, ticket) of a snapshot's ticket entry; older snapshots held [ticket, coid]."""
    if len(entry) == 2:
        return orders[str(entry[1])].account, int(entry[0])
    return str(entry[0]), int(entry[1])
