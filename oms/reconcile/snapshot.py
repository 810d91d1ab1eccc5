"""The broker's side of a run: working orders, positions, and history since a watermark.

Two sources give the same `BrokerSnapshot`:

- `TerminalSnapshotSource` reads the terminal on the adapter's worker (the same session and
  connection the adapter uses) straight into light float records. It exists because the
  adapter's poll turns every record into checked port records, which is right for trading but
  costs seconds on a 50,000-deal history that the reconciler only compares.
- `AdapterSnapshotSource` uses the adapter's own incremental poll (its own `Mt5Broker`
  instance, so the status listener's cursor is never moved).

History is read from the watermark less an overlap, rounded down to the second the
terminal's date filter works in; `deals_from_msc` in the snapshot is that start, so the diff
knows which journal fills the broker was asked about. Orders the journal holds as working
but the broker no longer lists are looked up by ticket, whatever their time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple, Protocol

from oms.broker.mt5 import constants as c
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import Session
from oms.broker.mt5.records import (
    TRADE_DEAL_FIELDS,
    TRADE_ORDER_FIELDS,
    TRADE_POSITION_FIELDS,
    BrokerDataError,
)
from oms.broker.port import BrokerDeal, BrokerOrder, BrokerPosition, HistoryCursor
from oms.broker.worker import Worker
from oms.errors import OmsError
from oms.projections.base import gc_paused

OVERLAP_MS = 5_000
FUTURE_S = 86_400
_LIVE_STATES = frozenset({0, 1, 3, 7, 8, 9})


class SnapshotError(OmsError):
    """The terminal could not be read for a reconciliation."""


class SnapOrder(NamedTuple):
    """An order as the broker shows it (floats: the reconciler compares, it does not trade)."""

    ticket: int
    symbol: str
    kind: int
    state: int
    magic: int
    comment: str
    volume_initial: float
    volume_current: float
    price_open: float
    price_stoplimit: float
    sl: float
    tp: float
    position_id: int
    time_setup_msc: int
    time_done_msc: int
    filling: int
    type_time: int
    live: bool


class SnapDeal(NamedTuple):
    """A deal as the broker shows it."""

    ticket: int
    order: int
    symbol: str
    kind: int
    entry: int
    magic: int
    position_id: int
    volume: float
    price: float
    commission: float
    swap: float
    fee: float
    time_msc: int
    comment: str


class SnapPosition(NamedTuple):
    """An open position as the broker shows it; `side` is "buy" or "sell"."""

    ticket: int
    identifier: int
    symbol: str
    side: str
    magic: int
    volume: float
    price_open: float


@dataclass(frozen=True, slots=True)
class BrokerSnapshot:
    """What the broker showed in one read; every deal at or after `deals_from_msc` is here."""

    open_orders: tuple[SnapOrder, ...]
    history_orders: tuple[SnapOrder, ...]
    deals: tuple[SnapDeal, ...]
    positions: tuple[SnapPosition, ...]
    deals_from_msc: int = 0
    orders_from_msc: int = 0
    next_deals_from_msc: int = 0
    next_orders_from_msc: int = 0
    records_read: int = 0


class SnapshotSource(Protocol):
    """Reads a snapshot of the broker; `expected_open` are tickets the journal holds working."""

    async def snapshot(
        self, deals_from_msc: int, orders_from_msc: int, expected_open: frozenset[int]
    ) -> BrokerSnapshot:
        """Read the broker now."""
        ...


def window_start(from_msc: int, overlap_ms: int) -> int:
    """The first millisecond a history read from `from_msc` covers (whole seconds)."""
    return max(0, (from_msc - overlap_ms) // 1000) * 1000


# --- reading the terminal on the worker --------------------------------------------------------

_O = {name: i for i, name in enumerate(TRADE_ORDER_FIELDS)}
_D = {name: i for i, name in enumerate(TRADE_DEAL_FIELDS)}
_P = {name: i for i, name in enumerate(TRADE_POSITION_FIELDS)}


def _rows(
    session: Session, kind: str, records: Iterable[Any], fields: tuple[str, ...]
) -> tuple[list[Any], bool]:
    """Records indexable in field order, and whether they are local struct sequences.

    Local records (the native module's C struct sequences, the simulator's tuples) are used
    as they are: their fields are typed by construction. Remote ones (mt5linux proxies) are
    copied with one slice each (one round trip over the bridge) and converted field by field.
    """
    records = list(records)
    if not records:
        return [], True
    layouts = session.layouts
    layouts.read(kind, records[0], fields)  # checks the layout once per session
    if layouts.positional.get(kind):
        kinds = {type(r) for r in records}  # type(), not isinstance: proxies fake __class__
        if all(k is not tuple and issubclass(k, tuple) for k in kinds):
            return records, True
        n = len(fields)
        return [tuple(r[:n]) for r in records], False
    return [tuple(getattr(r, name) for name in fields) for r in records], False


_ORDER_PICK = itemgetter(*(_O[name] for name in (
    "ticket", "symbol", "type", "state", "magic", "comment", "volume_initial",
    "volume_current", "price_open", "price_stoplimit", "sl", "tp", "position_id",
    "time_setup_msc", "time_done_msc", "type_filling", "type_time",
)))  # fmt: skip
_DEAL_PICK = itemgetter(*(_D[name] for name in (
    "ticket", "order", "symbol", "type", "entry", "magic", "position_id", "volume", "price",
    "commission", "swap", "fee", "time_msc", "comment",
)))  # fmt: skip
_POSITION_PICK = itemgetter(*(_P[name] for name in (
    "ticket", "identifier", "symbol", "type", "magic", "volume", "price_open",
)))  # fmt: skip
_new = tuple.__new__


def _orders(rows: tuple[list[Any], bool], live: bool) -> list[SnapOrder]:
    records, local = rows
    if local:
        pick, new = _ORDER_PICK, _new
        return [new(SnapOrder, (*pick(r), live)) for r in records]
    return [_order(r, live) for r in records]


def _deals(rows: tuple[list[Any], bool]) -> tuple[SnapDeal, ...]:
    records, local = rows
    if local:
        pick, new = _DEAL_PICK, _new
        return tuple(new(SnapDeal, pick(r)) for r in records)
    return tuple(map(_deal, records))


def _order(row: Any, live: bool) -> SnapOrder:
    (ticket, symbol, kind, state, magic, comment, vol_init, vol_cur, price, stoplimit, sl, tp,
     pid, setup, done, filling, type_time) = _ORDER_PICK(row)  # fmt: skip
    return _new(SnapOrder, (
        int(ticket), str(symbol), int(kind), int(state), int(magic), str(comment),
        float(vol_init), float(vol_cur), float(price), float(stoplimit), float(sl), float(tp),
        int(pid), int(setup), int(done), int(filling), int(type_time), live,
    ))  # fmt: skip


def _deal(row: Any) -> SnapDeal:
    (ticket, order, symbol, kind, entry, magic, pid, volume, price, commission, swap, fee,
     time_msc, comment) = _DEAL_PICK(row)  # fmt: skip
    return _new(SnapDeal, (
        int(ticket), int(order), str(symbol), int(kind), int(entry), int(magic), int(pid),
        float(volume), float(price), float(commission), float(swap), float(fee),
        int(time_msc), str(comment),
    ))  # fmt: skip


def _position(row: Any) -> SnapPosition:
    ticket, identifier, symbol, kind, magic, volume, price = _POSITION_PICK(row)
    if kind not in (c.POSITION_TYPE_BUY, c.POSITION_TYPE_SELL):
        raise ValueError(f"position type {kind}")
    return _new(SnapPosition, (
        int(ticket), int(identifier), str(symbol), "buy" if kind == c.POSITION_TYPE_BUY else
        "sell", int(magic), float(volume), float(price),
    ))  # fmt: skip


def _fetch(session: Session, call: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    mt5 = session.terminal()
    found = getattr(mt5, call)(*args, **kwargs)
    if found is None:
        code, message = mt5.last_error()
        if code in c.IPC_ERRORS or code == c.RES_E_FAIL:
            raise SnapshotError(f"{call} failed: last_error {code}: {message}")
        return ()
    return tuple(found)


def read_snapshot(
    session: Session,
    deals_from_msc: int,
    orders_from_msc: int,
    expected_open: frozenset[int],
    now_s: int,
    overlap_ms: int,
    future_s: int,
) -> BrokerSnapshot:
    """Runs on the worker: every record the reconciler needs, as light picklable tuples.

    The collector is paused while the records are built: they are many small tuples that
    live on, and every collection would walk the whole heap again for nothing.
    """
    with gc_paused():
        return _read_snapshot(
            session, deals_from_msc, orders_from_msc, expected_open, now_s, overlap_ms, future_s
        )


def _read_snapshot(
    session: Session,
    deals_from_msc: int,
    orders_from_msc: int,
    expected_open: frozenset[int],
    now_s: int,
    overlap_ms: int,
    future_s: int,
) -> BrokerSnapshot:
    deals_start = window_start(deals_from_msc, overlap_ms)
    orders_start = window_start(orders_from_msc, overlap_ms)
    date_to = int(now_s + future_s)
    try:
        deal_rows = _rows(session, "TradeDeal",
                          _fetch(session, "history_deals_get", deals_start // 1000, date_to),
                          TRADE_DEAL_FIELDS)  # fmt: skip
        hist_rows = _rows(session, "TradeOrder",
                          _fetch(session, "history_orders_get", orders_start // 1000, date_to),
                          TRADE_ORDER_FIELDS)  # fmt: skip
        live_rows = _rows(session, "TradeOrder", _fetch(session, "orders_get"),
                          TRADE_ORDER_FIELDS)  # fmt: skip
        pos_rows = _rows(session, "TradePosition", _fetch(session, "positions_get"),
                         TRADE_POSITION_FIELDS)  # fmt: skip
        deals = _deals(deal_rows)
        history = _orders(hist_rows, False)
        live = tuple(_orders(live_rows, True))
        positions = tuple(map(_position, pos_rows[0]))
        seen = {o.ticket for o in history}
        seen.update(o.ticket for o in live)
        for ticket in sorted(expected_open - seen):
            rows = _rows(session, "TradeOrder",
                         _fetch(session, "history_orders_get", ticket=int(ticket)),
                         TRADE_ORDER_FIELDS)  # fmt: skip
            history.extend(_orders(rows, False))
    except (TypeError, ValueError, IndexError, KeyError, BrokerDataError) as exc:
        raise SnapshotError(
            f"the terminal returned a record the reconciler cannot read: {exc}"
        ) from exc
    next_deals = max([deals_from_msc, *(d.time_msc for d in deals)])
    next_orders = max([orders_from_msc, *(o.time_done_msc or o.time_setup_msc for o in history)])
    return BrokerSnapshot(
        open_orders=live,
        history_orders=tuple(history),
        deals=deals,
        positions=positions,
        deals_from_msc=deals_start,
        orders_from_msc=orders_start,
        next_deals_from_msc=next_deals,
        next_orders_from_msc=next_orders,
        records_read=len(deals) + len(history) + len(live) + len(positions),
    )


class TerminalSnapshotSource:
    """Snapshots read on the adapter's worker; the caller keeps the terminal connected."""

    def __init__(
        self,
        worker: Worker,
        *,
        overlap_ms: int = OVERLAP_MS,
        future_s: int = FUTURE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.worker = worker
        self.overlap_ms = overlap_ms
        self.future_s = future_s
        self.clock = clock

    async def snapshot(
        self, deals_from_msc: int, orders_from_msc: int, expected_open: frozenset[int]
    ) -> BrokerSnapshot:
        """One read of the terminal."""
        return await self.worker.run(
            read_snapshot, deals_from_msc, orders_from_msc, expected_open, int(self.clock()),
            self.overlap_ms, self.future_s,
        )  # fmt: skip


# --- through the adapter's poll ---------------------------------------------------------------


def _from_order(o: BrokerOrder) -> SnapOrder:
    return SnapOrder(
        o.ticket, o.symbol, o.kind, o.state, o.magic, o.comment, float(o.volume_initial),
        float(o.volume_current), float(o.price_open), float(o.price_stoplimit), float(o.sl),
        float(o.tp), o.position_id, o.time_setup_msc, o.time_done_msc, o.filling, o.type_time,
        o.live,
    )  # fmt: skip


def _from_deal(d: BrokerDeal) -> SnapDeal:
    return SnapDeal(
        d.ticket, d.order, d.symbol, d.kind, d.entry, d.magic, d.position_id, float(d.volume),
        float(d.price), float(d.commission), float(d.swap), float(d.fee), d.time_msc, d.comment,
    )  # fmt: skip


def _from_position(p: BrokerPosition) -> SnapPosition:
    return SnapPosition(
        p.ticket, p.identifier, p.symbol, p.side.value, p.magic, float(p.volume),
        float(p.price_open),
    )  # fmt: skip


class AdapterSnapshotSource:
    """Snapshots through an `Mt5Broker` dedicated to the reconciler (its own cursor)."""

    def __init__(self, broker: Mt5Broker) -> None:
        self.broker = broker

    async def snapshot(
        self, deals_from_msc: int, orders_from_msc: int, expected_open: frozenset[int]
    ) -> BrokerSnapshot:
        """Poll once from the watermark, with no tickets marked as already seen."""
        overlap = self.broker.policy.poll_overlap_ms
        self.broker.resume_from(
            HistoryCursor(deals_from_msc=deals_from_msc, orders_from_msc=orders_from_msc),
            expected_open,
        )
        changes = await self.broker.poll()
        return BrokerSnapshot(
            open_orders=tuple(map(_from_order, changes.open_orders)),
            history_orders=tuple(map(_from_order, changes.history_orders)),
            deals=tuple(map(_from_deal, changes.deals)),
            positions=tuple(map(_from_position, changes.positions)),
            deals_from_msc=window_start(deals_from_msc, overlap),
            orders_from_msc=window_start(orders_from_msc, overlap),
            next_deals_from_msc=changes.cursor.deals_from_msc,
            next_orders_from_msc=changes.cursor.orders_from_msc,
            records_read=changes.records_read,
        )
