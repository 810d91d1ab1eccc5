"""Reading the terminal: local struct sequences and bridge-like proxies give the same snapshot;
a record the reconciler cannot read is a clear error."""

from __future__ import annotations

from typing import Any

import pytest

from oms.broker.mt5.calls import Session
from oms.broker.sim import SimulatedTerminal
from oms.reconcile.snapshot import SnapshotError, read_snapshot


class Proxy:
    """Stands for an mt5linux record: indexable and with attributes, but not a tuple."""

    def __init__(self, record: Any, override: dict[int, Any] | None = None) -> None:
        self._record = record
        self._override = override or {}

    def __getitem__(self, index: Any) -> Any:
        values = list(self._record)
        for i, v in self._override.items():
            values[i] = v
        return tuple(values)[index] if isinstance(index, slice) else values[index]

    def _asdict(self) -> dict[str, Any]:
        return dict(self._record._asdict())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)


class Bridged:
    """A terminal whose record-returning calls hand out proxies."""

    def __init__(self, terminal: SimulatedTerminal, bad_volume: bool = False) -> None:
        self._terminal = terminal
        self._bad = bad_volume

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._terminal, name)
        if name not in ("history_deals_get", "history_orders_get", "orders_get", "positions_get"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            found = attr(*args, **kwargs)
            if found is None:
                return None
            override = {9: "lots"} if self._bad and name == "history_deals_get" else None
            return tuple(Proxy(r, override) for r in found)

        return call


def _world() -> SimulatedTerminal:
    mt5 = SimulatedTerminal(seed=4)
    assert mt5.initialize()
    for side in (0, 1, 0):
        tick = mt5.symbol_info_tick("EURUSD")
        price = tick.ask if side == 0 else tick.bid
        mt5.order_send({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": side,
                        "price": price, "type_filling": 1})  # fmt: skip
    tick = mt5.symbol_info_tick("EURUSD")
    mt5.order_send({"action": 5, "symbol": "EURUSD", "volume": 0.2, "type": 2,
                    "price": round(tick.bid - 0.01, 5), "type_filling": 2})  # fmt: skip
    return mt5


def _read(terminal: Any) -> Any:
    return read_snapshot(Session(lambda: terminal), 0, 0, frozenset({12345}), 2_000_000_000,
                         5_000, 86_400)  # fmt: skip


def test_proxies_and_local_records_read_the_same() -> None:
    mt5 = _world()
    local = _read(mt5)
    bridged = _read(Bridged(mt5))
    assert local == bridged
    assert len(local.deals) == 3 and len(local.open_orders) == 1 and len(local.positions) == 3
    assert {o.live for o in local.open_orders} == {True}
    assert local.records_read == 3 + 3 + 1 + 3
    assert local.next_deals_from_msc == max(d.time_msc for d in local.deals)


def test_unreadable_record_is_a_snapshot_error() -> None:
    with pytest.raises(SnapshotError, match="cannot read"):
        _read(Bridged(_world(), bad_volume=True))
