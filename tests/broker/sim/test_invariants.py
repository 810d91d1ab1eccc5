"""Random order flow keeps the ledger consistent: balance, positions and deals agree."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.broker.sim import SimulatedTerminal

from .conftest import market, pending

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell", "close", "limit", "stop", "step", "remove"]),
        st.integers(min_value=1, max_value=300),  # volume in 0.01 lots
        st.integers(min_value=0, max_value=10_000),  # a choice among open things
    ),
    min_size=1,
    max_size=40,
)


def _apply(mt5: SimulatedTerminal, kind: str, size: int, pick: int) -> None:
    volume = round(size * 0.01, 2)
    tick = mt5.symbol_info_tick("EURUSD")
    if kind in ("buy", "sell"):
        mt5.order_send(market(mt5, 0 if kind == "buy" else 1, volume))
    elif kind == "close":
        positions = mt5.positions_get()
        if positions:
            pos = positions[pick % len(positions)]
            side = 1 if pos.type == 0 else 0
            mt5.order_send(market(mt5, side, pos.volume, position=pos.ticket))
    elif kind == "limit":
        mt5.order_send(
            pending(
                mt5,
                2 + pick % 2,
                round(tick.bid - 0.0005, 5) if pick % 2 == 0 else round(tick.ask + 0.0005, 5),
                volume,
            )
        )
    elif kind == "stop":
        mt5.order_send(
            pending(
                mt5,
                4 + pick % 2,
                round(tick.ask + 0.0005, 5) if pick % 2 == 0 else round(tick.bid - 0.0005, 5),
                volume,
            )
        )
    elif kind == "remove":
        orders = mt5.orders_get()
        if orders:
            mt5.order_send(
                {"action": mt5.TRADE_ACTION_REMOVE, "order": orders[pick % len(orders)].ticket}
            )
    else:
        mt5.market.step(1 + pick % 20)


def _check(mt5: SimulatedTerminal, start_balance: float) -> None:
    deals = mt5.history_deals_get(0, 2**40)
    info = mt5.account_info()
    booked = start_balance + sum(d.profit + d.commission for d in deals)
    assert info.balance == pytest.approx(booked, abs=0.01)
    signed: dict[int, float] = defaultdict(float)
    for d in deals:
        signed[d.position_id] += d.volume if d.type == mt5.DEAL_TYPE_BUY else -d.volume
    open_ids = set()
    for pos in mt5.positions_get():
        open_ids.add(pos.identifier)
        expected = pos.volume if pos.type == mt5.POSITION_TYPE_BUY else -pos.volume
        assert signed[pos.identifier] == pytest.approx(expected, abs=1e-9)
    for ident, net in signed.items():
        if ident not in open_ids:
            assert net == pytest.approx(0.0, abs=1e-9)
    floating = sum(p.profit for p in mt5.positions_get())
    assert info.equity == pytest.approx(info.balance + floating, abs=0.01 * (1 + len(open_ids)))
    for order in mt5.orders_get():
        assert 0 < order.volume_current <= order.volume_initial


@pytest.mark.parametrize("margin_mode", ["hedging", "netting"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_random_flow_keeps_the_ledger_consistent(margin_mode: str, actions: list) -> None:
    mt5 = SimulatedTerminal(seed=7, margin_mode=margin_mode, commission_per_lot=2.0)
    assert mt5.initialize()
    for kind, size, pick in actions:
        _apply(mt5, kind, size, pick)
        _check(mt5, 100_000.0)
