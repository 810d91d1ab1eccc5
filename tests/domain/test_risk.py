"""Pre-trade risk: every rule denies with its name and numbers, and lets good orders through."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from oms.domain.commands import PlaceOrder
from oms.domain.intents import submitted_event
from oms.domain.order import Order
from oms.domain.risk import (
    RateWindow,
    RiskContext,
    RiskLimits,
    Tick,
    check_place,
    denied_event,
)

TICK = Tick(bid=1.0999, ask=1.1001, time_ns=5)
NOW = 10**18


def cmd(**kw: Any) -> PlaceOrder:
    data: dict[str, Any] = {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "buy",
                            "order_type": "limit", "volume": 1.0, "price": 1.1}
    data.update(kw)
    return PlaceOrder.parse(data)


def test_nothing_configured_lets_everything_through() -> None:
    assert check_place(cmd(volume=1e6), RiskContext(open_orders=10**6), RiskLimits(), NOW,
                       None) is None


def test_without_any_rule_only_the_kill_switch_denies() -> None:
    limits = RiskLimits(rate_window_ns=1)
    assert not limits.any_rule
    worst = RiskContext(open_orders=10**6, net_position=1e9, open_buy_volume=1e9,
                        open_sell_volume=1e9, orders_in_window=10**6)
    for side in ("buy", "sell"):
        assert check_place(cmd(volume=1e6, side=side, price=9.9), worst, limits, NOW,
                           None) is None


@pytest.mark.parametrize(
    "field", [f.name for f in dataclasses.fields(RiskLimits) if f.name != "rate_window_ns"]
)
def test_any_rule_notices_each_rule(field: str) -> None:
    assert RiskLimits(**{field: 1}).any_rule


@pytest.mark.parametrize(
    ("command", "ctx", "limits", "rule", "limit", "value"),
    [
        (cmd(), RiskContext(kill_switch=True), RiskLimits(), "kill_switch", 0.0, 1.0),
        (cmd(volume=2.5), RiskContext(), RiskLimits(max_order_volume=2.0),
         "max_order_volume", 2.0, 2.5),
        (cmd(), RiskContext(open_orders=3), RiskLimits(max_open_orders=3),
         "max_open_orders", 3.0, 4.0),
        (cmd(), RiskContext(orders_in_window=5), RiskLimits(max_orders_per_window=5),
         "order_rate", 5.0, 6.0),
        (cmd(volume=1.0), RiskContext(net_position=2.0, open_buy_volume=1.5),
         RiskLimits(max_position_per_symbol=4.0), "max_position_per_symbol", 4.0, 4.5),
        (cmd(side="sell", price=1.2), RiskContext(net_position=-3.5),
         RiskLimits(max_position_per_symbol=4.0), "max_position_per_symbol", 4.0, 4.5),
        (cmd(price=1.2), RiskContext(), RiskLimits(price_band=0.05), "price_band", 0.05,
         pytest.approx(1.2 / 1.1001 - 1)),
    ],
)
def test_each_rule_denies_with_numbers(
    command: PlaceOrder, ctx: RiskContext, limits: RiskLimits, rule: str, limit: float,
    value: Any,
) -> None:
    denial = check_place(command, ctx, limits, NOW, TICK)
    assert denial is not None
    assert (denial.rule, denial.limit, denial.value) == (rule, limit, value)
    assert denial.reason


def test_allowed_at_the_limit_and_for_reductions() -> None:
    limits = RiskLimits(max_order_volume=1.0, max_open_orders=4, max_orders_per_window=4,
                        max_position_per_symbol=2.0, price_band=0.01)
    ctx = RiskContext(open_orders=3, orders_in_window=3, net_position=1.0)
    assert check_place(cmd(volume=1.0), ctx, limits, NOW, TICK) is None
    over = RiskContext(net_position=5.0)
    assert check_place(cmd(side="sell", volume=1.0), over, limits, NOW, TICK) is None, \
        "a reduction of an oversized position is allowed"


def test_price_band_uses_bid_for_sells_and_needs_a_tick() -> None:
    limits = RiskLimits(price_band=0.001)
    assert check_place(cmd(side="sell", price=1.0999), RiskContext(), limits, NOW, TICK) is None
    denial = check_place(cmd(side="sell", price=1.0999), RiskContext(), limits, NOW, None)
    assert denial is not None and denial.rule == "price_band" and "no last tick" in denial.reason
    market = cmd(order_type="market", price=None)
    assert check_place(market, RiskContext(), limits, NOW, None) is None
    stop_limit = cmd(order_type="stop_limit", price=1.2, stop_limit_price=1.1)
    denial = check_place(stop_limit, RiskContext(), limits, NOW, TICK)
    assert denial is not None and "stop" in denial.reason


def test_kill_switch_is_checked_first() -> None:
    denial = check_place(cmd(volume=5), RiskContext(kill_switch=True),
                         RiskLimits(max_order_volume=1), NOW, TICK)
    assert denial is not None and denial.rule == "kill_switch"


def test_denied_event_carries_terms_rule_and_numbers() -> None:
    command = cmd(volume=3.0)
    denial = check_place(command, RiskContext(), RiskLimits(max_order_volume=1.0), NOW, TICK)
    assert denial is not None
    event = denied_event(submitted_event(command, 7), denial)
    assert event.client_order_id == "A1.mm.7"
    assert (event.rule, event.limit, event.value, event.volume) == ("max_order_volume", 1.0,
                                                                     3.0, 3.0)
    order = Order(event.client_order_id).apply(event)
    assert order.denial == {"rule": "max_order_volume", "limit": 1.0, "value": 3.0}


def test_rate_window_slides() -> None:
    window = RateWindow(window_ns=1_000)
    for t in (0, 100, 900):
        window.record(t)
    assert window.count(950) == 3
    assert window.count(1_000) == 2, "the order at 0 left the window at exactly 1000"
    assert window.count(1_901) == 0
