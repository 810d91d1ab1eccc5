"""The pure comparison of the journal's view with a broker snapshot.

`diff(view, snapshot, account=..., hedging=...)` returns one `Discrepancy` per fact that
differs, each with the journal's view and the broker's view as plain JSON, and, for the
safe cases, the events that heal it:

- a deal at the broker that the journal lacks becomes a fill event whose id derives from
  the account and deal ticket (`oms.domain.ids.deal_event_id`), on the order's stream;
- an order at the broker that the journal does not know (manual or another robot) is
  adopted under the strategy tag ``external`` (submitted + accepted, and its end state);
- an order that is working here but canceled or expired at the broker gets that event;
- an order whose send outcome is unknown here gets an outcome-resolved event.

Everything else only alerts, overfills included (deals adding up to more than the order's
volume: the journal cannot take a deal back, so an operator decides). Positions are
compared after the healing fills are counted, so a position that a missed deal explains is
not reported twice; a position that no deal explains is. Orders whose journal state moved
after the broker was read (`view.settled_position`) are left for the next run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from oms.domain.enums import DealEntry, Filling, OrderStatus, OrderType, Side, TimeInForce
from oms.domain.events import (
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderExpired,
    OrderFilled,
    OrderOutcomeResolved,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    Resolution,
)
from oms.domain.ids import client_order_id, deal_event_id, order_stream_id
from oms.domain.order import VOLUME_EPS, Order
from oms.domain.positions import DEFAULT_SPEC, Position
from oms.projections.base import gc_paused
from oms.reconcile.snapshot import BrokerSnapshot, SnapDeal, SnapOrder, SnapPosition
from oms.reconcile.view import JournalView, ViewFill

EXTERNAL_STRATEGY = "external"
PRICE_TOLERANCE = 1e-6
"""Relative difference below which two prices are equal (averages are computed in floats)."""
VOLUME_TOLERANCE = 1e-8
"""MT5's finest volume step; smaller differences are float noise."""

DEAL_BUY, DEAL_SELL = 0, 1
STATE_STARTED, STATE_PLACED, STATE_CANCELED, STATE_PARTIAL = 0, 1, 2, 3
STATE_FILLED, STATE_REJECTED, STATE_EXPIRED = 4, 5, 6
_BROKER_STATE_NAMES = {
    0: "started", 1: "placed", 2: "canceled", 3: "partial", 4: "filled", 5: "rejected",
    6: "expired", 7: "request_add", 8: "request_modify", 9: "request_cancel",
}  # fmt: skip
_ENTRIES = {0: DealEntry.IN, 1: DealEntry.OUT, 2: DealEntry.INOUT, 3: DealEntry.OUT_BY}
_ORDER_TYPES = {
    0: OrderType.MARKET, 1: OrderType.MARKET, 2: OrderType.LIMIT, 3: OrderType.LIMIT,
    4: OrderType.STOP, 5: OrderType.STOP, 6: OrderType.STOP_LIMIT, 7: OrderType.STOP_LIMIT,
    8: OrderType.MARKET,
}  # fmt: skip
_FILLINGS = {0: Filling.FOK, 1: Filling.IOC, 2: Filling.RETURN, 3: Filling.BOC}
_TIME_IN_FORCE = {
    0: TimeInForce.GTC,
    1: TimeInForce.DAY,
    2: TimeInForce.SPECIFIED,
    3: TimeInForce.SPECIFIED,
}
_WORKING = frozenset({OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
_FILLED = OrderStatus.FILLED
_FILLABLE = _WORKING | {
    OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.UNKNOWN,
}  # fmt: skip


class Kind(StrEnum):
    """What differs; the values are what `discrepancy detected` events carry."""

    ORDER_MISSING_AT_BROKER = "order_missing_at_broker"
    ORDER_UNKNOWN_HERE = "order_unknown_here"
    STATE_DIFFERS = "state_differs"
    FILL_MISSING_HERE = "fill_missing_here"
    FILL_MISSING_AT_BROKER = "fill_missing_at_broker"
    VOLUME_OR_PRICE_DIFFERS = "volume_or_price_differs"
    POSITION_DIFFERS = "position_differs"
    POSITION_UNKNOWN_HERE = "position_unknown_here"
    ORDER_OVERFILLED = "order_overfilled"


@dataclass(frozen=True, slots=True)
class HealEvent:
    """One event that heals a discrepancy, with the id that makes appending it idempotent."""

    stream_id: str
    event_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference between journal and broker; `heals` is empty when it only alerts."""

    kind: Kind
    key: str
    journal: dict[str, Any] | None
    broker: dict[str, Any] | None
    detail: str = ""
    heals: tuple[HealEvent, ...] = field(default=())

    @property
    def identity(self) -> tuple[str, str]:
        """(kind, key): the same identity on every run while the difference persists."""
        return (self.kind.value, self.key)


def end_event_id(coid: str, event: Event) -> str:
    """The id of an order's end event (`A1.mm.1z:canceled`), the form the engine uses."""
    return f"{coid}:{event.TYPE.rsplit('.', 1)[1]}"


def external_order_id(account: str, ticket: int) -> str:
    """The client order id an adopted broker order gets."""
    return client_order_id(account, EXTERNAL_STRATEGY, ticket)


def broker_state_name(state: int) -> str:
    """MT5's ORDER_STATE as a word."""
    return _BROKER_STATE_NAMES.get(state, f"state_{state}")


def diff(
    view: JournalView,
    snapshot: BrokerSnapshot,
    *,
    account: str,
    hedging: bool,
    price_tolerance: float = PRICE_TOLERANCE,
) -> list[Discrepancy]:
    """Every difference between the journal's view and the broker snapshot, in a stable order."""
    with gc_paused():  # the fold allocates many small objects that live on; see gc_paused
        return _Diff(view, snapshot, account, hedging, price_tolerance).run()


class _Diff:
    """One comparison; holds the indexes both sides are looked up by."""

    def __init__(
        self, view: JournalView, snap: BrokerSnapshot, account: str, hedging: bool, tol: float
    ) -> None:
        self.view = view
        self.snap = snap
        self.account = account
        self.hedging = hedging
        self.tol = tol
        self.out: list[Discrepancy] = []
        self.live = {o.ticket: o for o in snap.open_orders}
        self.history = {o.ticket: o for o in snap.history_orders}
        self.deals = {d.ticket: d for d in snap.deals if d.kind in (DEAL_BUY, DEAL_SELL)}
        self.deal_orders = {d.order for d in self.deals.values()}
        # This account's orders by client order id and by broker ticket (tickets of other
        # accounts' brokers may collide with this one's).
        self.orders = {
            c: o for c, o in view.orders.items() if o.account == account or not o.account
        }
        self.tickets = {
            o.broker_order_id: c for c, o in self.orders.items() if o.broker_order_id is not None
        }
        # Volume each order will have filled once the healing fills are journaled.
        self.virtual_filled: dict[str, float] = {}
        self.healed_deals: list[tuple[SnapDeal, str]] = []
        self.adopted: dict[int, str] = {}

    def run(self) -> list[Discrepancy]:
        """Fills first (their heals change order states and positions), then orders, positions."""
        self._fills()
        self._broker_orders()
        self._journal_orders()
        self._overfills()
        self._positions()
        return self.out

    # -- lookups ---------------------------------------------------------------------------
    def _order_for_ticket(self, ticket: int, comment: str) -> str | None:
        """The client order id the journal knows a broker order by (ticket, then comment)."""
        coid = self.tickets.get(ticket)
        if coid is not None:
            return coid
        order = self.orders.get(comment)
        if order is not None and order.broker_order_id in (None, ticket):
            return comment
        return None

    def _broker_order(self, ticket: int) -> SnapOrder | None:
        return self.live.get(ticket) or self.history.get(ticket)

    def _settled(self, coid: str) -> bool:
        return self.view.last_position.get(coid, 0) <= self.view.settled_position

    # -- fills -----------------------------------------------------------------------------
    def _fills(self) -> None:
        fills = self.view.fills_of(self.account)
        for ticket in sorted(self.deals):
            deal = self.deals[ticket]
            mine = fills.get(ticket)
            if mine is None:
                self._missing_here(deal)
            else:
                self._compare_fill(mine, deal)
        window_ns = self.snap.deals_from_msc * 1_000_000
        settled = self.view.settled_position
        for ticket, fill in fills.items():
            if ticket in self.deals or fill.fill_ns < window_ns:
                continue
            if fill.journal_position > settled:
                continue  # journaled after the broker was read: its deal may be newer
            if fill.client_order_id not in self.orders:
                continue
            self.out.append(
                Discrepancy(
                    Kind.FILL_MISSING_AT_BROKER,
                    f"deal:{ticket}",
                    _fill_view(fill),
                    None,
                    detail=f"deal {ticket} is journaled but the broker has no such deal",
                )
            )

    def _compare_fill(self, mine: ViewFill, deal: SnapDeal) -> None:
        if mine.volume == deal.volume and mine.price == deal.price:
            return
        if mine.client_order_id not in self.orders:
            return
        volume, price = float(deal.volume), float(deal.price)
        problems = []
        if abs(mine.volume - volume) > VOLUME_TOLERANCE:
            problems.append(f"volume {mine.volume} here, {volume} at the broker")
        if not _same_price(mine.price, price, self.tol):
            problems.append(f"price {mine.price} here, {price} at the broker")
        if problems:
            self.out.append(
                Discrepancy(
                    Kind.VOLUME_OR_PRICE_DIFFERS,
                    f"deal:{deal.ticket}",
                    _fill_view(mine),
                    _deal_view(deal),
                    detail="; ".join(problems),
                )
            )

    def _missing_here(self, deal: SnapDeal) -> None:
        coid = self._order_for_ticket(deal.order, deal.comment)
        heals: list[HealEvent] = []
        if coid is None:
            coid = self._adopt(deal.order, deal)
            order_volume = float(self._adopted_volume(deal))
            filled_before = self.virtual_filled.get(coid, 0.0)
        else:
            order = self.orders[coid]
            order_volume = order.volume
            filled_before = self.virtual_filled.get(coid, order.filled_volume)
        filled = filled_before + float(deal.volume)
        self.virtual_filled[coid] = filled
        complete = filled >= order_volume - VOLUME_EPS
        cls = OrderFilled if complete else OrderPartiallyFilled
        fill = cls(
            client_order_id=coid,
            deal_ticket=deal.ticket,
            account=self.account,
            symbol=deal.symbol,
            side=Side.BUY if deal.kind == DEAL_BUY else Side.SELL,
            volume=float(deal.volume),
            price=float(deal.price),
            fill_ns=deal.time_msc * 1_000_000,
            commission=float(deal.commission),
            fee=float(deal.fee),
            swap=float(deal.swap),
            position_id=deal.position_id or None,
            entry=_ENTRIES.get(deal.entry),
        )
        event_id = deal_event_id(self.account, deal.ticket)
        heals.append(HealEvent(order_stream_id(coid), event_id, fill))
        self.healed_deals.append((deal, coid))
        self.out.append(
            Discrepancy(
                Kind.FILL_MISSING_HERE,
                f"deal:{deal.ticket}",
                None,
                _deal_view(deal),
                detail=f"deal {deal.ticket} of order {deal.order} journaled as a fill of {coid}",
                heals=tuple(heals),
            )
        )

    def _adopted_volume(self, deal: SnapDeal) -> float:
        order = self._broker_order(deal.order)
        return float(order.volume_initial) if order is not None else float(deal.volume)

    # -- orders ----------------------------------------------------------------------------
    def _adopt(self, ticket: int, deal: SnapDeal | None = None) -> str:
        """The client order id of an adopted broker order; the adoption is reported once."""
        coid = self.adopted.get(ticket)
        if coid is not None:
            return coid
        coid = self.adopted[ticket] = external_order_id(self.account, ticket)
        order = self._broker_order(ticket)
        stream = order_stream_id(coid)
        heals: list[HealEvent] = []
        if order is not None:
            side = Side.BUY if order.kind % 2 == 0 and order.kind != 8 else Side.SELL
            if order.kind == 8 and deal is not None:
                side = Side.BUY if deal.kind == DEAL_BUY else Side.SELL
            kind = _ORDER_TYPES.get(order.kind, OrderType.MARKET)
            submitted = OrderSubmitted(
                client_order_id=coid,
                account=self.account,
                strategy=EXTERNAL_STRATEGY,
                symbol=order.symbol,
                side=side,
                order_type=kind,
                volume=float(order.volume_initial),
                price=None if kind is OrderType.MARKET else float(order.price_open),
                stop_limit_price=float(order.price_stoplimit) or None,
                sl=float(order.sl) or None,
                tp=float(order.tp) or None,
                time_in_force=_TIME_IN_FORCE.get(order.type_time, TimeInForce.GTC),
                filling=_FILLINGS.get(order.filling, Filling.RETURN),
                magic=order.magic,
                position_id=order.position_id or None,
            )
            broker_view = _order_view(order)
        else:
            assert deal is not None
            submitted = OrderSubmitted(
                client_order_id=coid,
                account=self.account,
                strategy=EXTERNAL_STRATEGY,
                symbol=deal.symbol,
                side=Side.BUY if deal.kind == DEAL_BUY else Side.SELL,
                order_type=OrderType.MARKET,
                volume=float(deal.volume),
                magic=deal.magic,
            )
            broker_view = {"ticket": ticket, "known_from_deal": deal.ticket}
        heals.append(HealEvent(stream, f"{coid}:submitted", submitted))
        heals.append(
            HealEvent(
                stream,
                f"{coid}:accepted",
                OrderAccepted(client_order_id=coid, broker_order_id=ticket, retcode=0),
            )
        )
        has_deals = ticket in self.deal_orders
        end = _end_event(coid, order) if order is not None and not has_deals else None
        if end is not None:
            heals.append(HealEvent(stream, end_event_id(coid, end), end))
        self.out.append(
            Discrepancy(
                Kind.ORDER_UNKNOWN_HERE,
                f"ticket:{ticket}",
                None,
                broker_view,
                detail=f"broker order {ticket} adopted as {coid}",
                heals=tuple(heals),
            )
        )
        return coid

    def _broker_orders(self) -> None:
        """Broker orders the journal does not know are adopted; known ones are compared."""
        by_ticket = self.tickets
        orders = self.orders
        last = self.view.last_position
        settled = self.view.settled_position
        adopted = self.adopted
        both = {**self.history, **self.live}
        for ticket in sorted(both):
            order = both[ticket]
            if ticket in adopted:
                continue
            coid = by_ticket.get(ticket)
            if coid is None:
                coid = self._order_for_ticket(ticket, order.comment)
            if coid is None:
                self._adopt(ticket)
                continue
            mine = orders[coid]
            if mine.status is _FILLED and order.state == STATE_FILLED and not order.live:
                continue  # the common case of a finished order: nothing to compare
            if last.get(coid, 0) <= settled:
                self._compare_order(coid, mine, order)

    def _compare_order(self, coid: str, mine: Order, theirs: SnapOrder) -> None:
        status = mine.status
        if status is OrderStatus.FILLED and theirs.state == STATE_FILLED and not theirs.live:
            return  # the common case of a finished order: nothing to compare
        filled = self.virtual_filled.get(coid, mine.filled_volume)
        if status in _FILLABLE and filled >= mine.volume - VOLUME_EPS:
            status = OrderStatus.FILLED  # as the healing fills will leave it (late fills too)
        if status is OrderStatus.SUBMITTED:
            return  # the answer is on its way; the engine owns it
        here = _status_class(status)
        there = _broker_class(theirs)
        if status is OrderStatus.UNKNOWN:
            self._state_differs(coid, mine, theirs, _resolve(coid, theirs))
            return
        if here != there:
            heal: tuple[HealEvent, ...] = ()
            if here == "working" and there in ("canceled", "expired"):
                end = _end_event(coid, theirs)
                if end is not None:
                    heal = (HealEvent(order_stream_id(coid), end_event_id(coid, end), end),)
            self._state_differs(coid, mine, theirs, heal)
            return
        if there == "working":
            self._compare_terms(coid, mine, theirs, filled)

    def _state_differs(
        self, coid: str, mine: Order, theirs: SnapOrder, heals: tuple[HealEvent, ...]
    ) -> None:
        self.out.append(
            Discrepancy(
                Kind.STATE_DIFFERS,
                f"order:{coid}",
                _journal_order_view(mine),
                _order_view(theirs),
                detail=f"{mine.status.value} here, {broker_state_name(theirs.state)} at the broker",
                heals=heals,
            )
        )

    def _compare_terms(self, coid: str, mine: Order, theirs: SnapOrder, filled: float) -> None:
        problems = []
        if abs(mine.volume - float(theirs.volume_initial)) > VOLUME_TOLERANCE:
            problems.append(f"volume {mine.volume} here, {theirs.volume_initial} at the broker")
        remaining = max(mine.volume - filled, 0.0)
        if abs(remaining - float(theirs.volume_current)) > VOLUME_TOLERANCE:
            problems.append(f"remaining {remaining} here, {theirs.volume_current} at the broker")
        if (
            mine.pending_modify is None
            and mine.order_type in (OrderType.LIMIT, OrderType.STOP)
            and mine.price is not None
            and not _same_price(mine.price, float(theirs.price_open), self.tol)
        ):
            problems.append(f"price {mine.price} here, {theirs.price_open} at the broker")
        if problems:
            self.out.append(
                Discrepancy(
                    Kind.VOLUME_OR_PRICE_DIFFERS,
                    f"order:{coid}",
                    _journal_order_view(mine),
                    _order_view(theirs),
                    detail="; ".join(problems),
                )
            )

    def _journal_orders(self) -> None:
        """Orders working here that the broker shows nowhere."""
        for coid in sorted(self.orders):
            mine = self.orders[coid]
            ticket = mine.broker_order_id
            if ticket is None or mine.status not in _WORKING or not self._settled(coid):
                continue
            if ticket in self.live or ticket in self.history:
                continue
            if self.virtual_filled.get(coid, mine.filled_volume) >= mine.volume - VOLUME_EPS:
                continue
            self.out.append(
                Discrepancy(
                    Kind.ORDER_MISSING_AT_BROKER,
                    f"order:{coid}",
                    _journal_order_view(mine),
                    None,
                    detail=f"{coid} is {mine.status.value} here; broker ticket {ticket} is "
                    "neither working nor in history",
                )
            )

    def _overfills(self) -> None:
        """Orders whose journaled deals add up to more than their volume: never healed."""
        for coid in sorted(self.orders):
            mine = self.orders[coid]
            if mine.filled_volume <= mine.volume + VOLUME_EPS or not self._settled(coid):
                continue
            ticket = mine.broker_order_id
            theirs = None if ticket is None else (self.live.get(ticket) or self.history.get(ticket))
            deals = sorted(
                t for t, f in self.view.fills_of(self.account).items()
                if f.client_order_id == coid
            )
            self.out.append(
                Discrepancy(
                    Kind.ORDER_OVERFILLED,
                    f"order:{coid}",
                    {**_journal_order_view(mine), "deal_tickets": deals},
                    None if theirs is None else _order_view(theirs),
                    detail=f"{coid} has {mine.filled_volume} filled here against an order "
                    f"volume of {mine.volume}; deals {deals}",
                )
            )

    # -- positions -------------------------------------------------------------------------
    def _positions(self) -> None:
        mine = self._journal_positions()
        theirs = {self._broker_key(p): p for p in self.snap.positions}
        for key in sorted(set(mine) | set(theirs), key=str):
            here = mine.get(key)
            there = theirs.get(key)
            if here is not None and here.volume <= VOLUME_TOLERANCE:
                here = None
            if here is None and there is None:
                continue
            name = f"position:{key}"
            if here is None:
                assert there is not None
                self.out.append(
                    Discrepancy(
                        Kind.POSITION_UNKNOWN_HERE,
                        name,
                        None,
                        _position_view(there),
                        detail="the broker holds a position that no journaled deal explains",
                    )
                )
                continue
            if there is None:
                self.out.append(
                    Discrepancy(
                        Kind.POSITION_DIFFERS,
                        name,
                        _journal_position_view(here),
                        None,
                        detail=f"{here.side} {here.volume} here, flat at the broker",
                    )
                )
                continue
            problems = []
            if here.side != there.side:
                problems.append(f"side {here.side} here, {there.side} at the broker")
            if abs(here.volume - float(there.volume)) > VOLUME_TOLERANCE:
                problems.append(f"volume {here.volume} here, {there.volume} at the broker")
            if not _same_price(here.avg_price, float(there.price_open), self.tol):
                problems.append(
                    f"average price {here.avg_price} here, {there.price_open} at the broker"
                )
            if problems:
                self.out.append(
                    Discrepancy(
                        Kind.POSITION_DIFFERS,
                        name,
                        _journal_position_view(here),
                        _position_view(there),
                        detail="; ".join(problems),
                    )
                )

    def _broker_key(self, p: SnapPosition) -> str:
        return str(p.identifier) if self.hedging else p.symbol

    def _journal_positions(self) -> dict[str, Position]:
        """Positions folded from this account's fills and the healing deals, by deal ticket."""
        fills = self.view.fills_of(self.account)
        orders = self.orders
        healed = {deal.ticket: (deal, coid) for deal, coid in self.healed_deals}
        tickets = sorted(fills.keys() | healed.keys()) if healed else sorted(fills)
        out: dict[str, Position] = {}
        hedging = self.hedging
        account = self.account
        spec = DEFAULT_SPEC
        settled = self.view.settled_position
        deals = self.deals
        for ticket in tickets:
            fill = fills.get(ticket)
            if fill is not None:
                coid = fill.client_order_id
                order = orders.get(coid)
                if order is None:
                    continue
                if fill.journal_position > settled and ticket not in deals:
                    continue  # a deal newer than the broker's positions in this snapshot
                symbol, side, volume, price = fill.symbol, fill.side, fill.volume, fill.price
                pid = fill.position_id
                if pid is None:  # as MT5 assigns it: the position closed, else the order
                    pid = order.position_id or order.broker_order_id
            else:
                deal, coid = healed[ticket]
                symbol, volume, price = deal.symbol, deal.volume, deal.price
                side = "buy" if deal.kind == DEAL_BUY else "sell"
                pid = deal.position_id or None
            key = (str(pid) if pid is not None else coid) if hedging else symbol
            pos = out.get(key)
            if pos is None:
                pos = out[key] = Position(key, account, symbol)
                pos.position_id = pid
            pos.trade(side, volume, price, spec, 0, not hedging)
        return out


def _same_price(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= max(1e-12, tol * max(abs(a), abs(b)))


_STATUS_CLASS = {s: "working" if s in _WORKING else s.value for s in OrderStatus}
_BROKER_CLASS = {
    STATE_FILLED: "filled",
    STATE_CANCELED: "canceled",
    STATE_REJECTED: "rejected",
    STATE_EXPIRED: "expired",
}


def _status_class(status: OrderStatus) -> str:
    return _STATUS_CLASS[status]


def _broker_class(order: SnapOrder) -> str:
    if order.live:
        return "working"
    return _BROKER_CLASS.get(order.state, "working")


def _end_event(coid: str, order: SnapOrder) -> Event | None:
    """The event that records a broker order's end when no deal explains it."""
    if order.live:
        return None
    if order.state == STATE_CANCELED:
        return OrderCanceled(client_order_id=coid, reason="broker")
    if order.state == STATE_EXPIRED:
        return OrderExpired(client_order_id=coid)
    if order.state == STATE_REJECTED:
        return OrderRejected(
            client_order_id=coid, retcode=0, reason="rejected at the broker",
            broker_order_id=order.ticket,
        )  # fmt: skip
    return None


_RESOLUTIONS = {
    STATE_FILLED: Resolution.FILLED,
    STATE_CANCELED: Resolution.CANCELED,
    STATE_REJECTED: Resolution.REJECTED,
    STATE_EXPIRED: Resolution.EXPIRED,
    STATE_PARTIAL: Resolution.PARTIALLY_FILLED,
}


def _resolve(coid: str, order: SnapOrder) -> tuple[HealEvent, ...]:
    """The outcome-resolved event for an order whose send was lost but which the broker has."""
    resolution = (
        Resolution.ACCEPTED if order.live else _RESOLUTIONS.get(order.state, Resolution.ACCEPTED)
    )
    if order.live and order.state == STATE_PARTIAL:
        resolution = Resolution.PARTIALLY_FILLED
    event = OrderOutcomeResolved(
        client_order_id=coid,
        resolution=resolution,
        broker_order_id=order.ticket,
        reason="found at the broker by the reconciler",
    )
    return (HealEvent(order_stream_id(coid), f"{coid}:resolved:reconcile", event),)


def _order_view(order: SnapOrder) -> dict[str, Any]:
    return {
        "ticket": order.ticket,
        "symbol": order.symbol,
        "type": order.kind,
        "state": broker_state_name(order.state),
        "live": order.live,
        "magic": order.magic,
        "comment": order.comment,
        "volume_initial": float(order.volume_initial),
        "volume_current": float(order.volume_current),
        "price_open": float(order.price_open),
    }


def _journal_order_view(order: Order) -> dict[str, Any]:
    return {
        "client_order_id": order.client_order_id,
        "status": order.status.value,
        "symbol": order.symbol,
        "side": str(order.side),
        "order_type": str(order.order_type),
        "volume": order.volume,
        "filled_volume": order.filled_volume,
        "price": order.price,
        "broker_order_id": order.broker_order_id,
    }


def _deal_view(deal: SnapDeal) -> dict[str, Any]:
    return {
        "ticket": deal.ticket,
        "order": deal.order,
        "symbol": deal.symbol,
        "side": "buy" if deal.kind == DEAL_BUY else "sell",
        "volume": float(deal.volume),
        "price": float(deal.price),
        "position_id": deal.position_id,
        "time_msc": deal.time_msc,
        "magic": deal.magic,
    }


def _fill_view(fill: ViewFill) -> dict[str, Any]:
    return {
        "deal_ticket": fill.deal_ticket,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side,
        "volume": fill.volume,
        "price": fill.price,
        "fill_ns": fill.fill_ns,
        "position_id": fill.position_id,
    }


def _position_view(p: SnapPosition) -> dict[str, Any]:
    return {
        "ticket": p.ticket,
        "identifier": p.identifier,
        "symbol": p.symbol,
        "side": p.side,
        "volume": float(p.volume),
        "price_open": float(p.price_open),
        "magic": p.magic,
    }


def _journal_position_view(p: Position) -> dict[str, Any]:
    return {
        "key": p.key,
        "symbol": p.symbol,
        "side": p.side,
        "volume": p.volume,
        "avg_price": p.avg_price,
        "position_id": p.position_id,
    }


def kinds_of(discrepancies: Iterable[Discrepancy]) -> list[str]:
    """The kinds, in order (for messages and tests)."""
    return [d.kind.value for d in discrepancies]
