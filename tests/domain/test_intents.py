"""The intent's payload built directly equals the event's own payload, key order included."""

from __future__ import annotations

from typing import Any

import pytest

from oms.domain.commands import PlaceOrder
from oms.domain.intents import submitted_event, submitted_payload

COMMANDS: list[dict[str, Any]] = [
    {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "buy",
     "order_type": "market", "volume": 0.1},
    {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "sell",
     "order_type": "limit", "volume": 1, "price": 1.1, "sl": 1.2, "tp": 1.0,
     "filling": "return", "deviation": 7},
    {"account": "B-2", "strategy": "s_1", "symbol": "XAUUSD", "side": "buy",
     "order_type": "stop_limit", "volume": 0.3, "price": 2000.0, "stop_limit_price": 1999.5,
     "time_in_force": "specified", "expiry_ns": 1_900_000_000_000_000_000},
    {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "sell",
     "order_type": "market", "volume": 0.2, "position_id": 5, "position_by_id": 6},
    {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": "buy",
     "order_type": "stop", "volume": 2.0, "price": 1.3, "time_in_force": "day",
     "filling": "ioc", "position_id": 9},
]


@pytest.mark.parametrize("data", COMMANDS)
@pytest.mark.parametrize("sequence", [0, 35, 36**9 - 1])
def test_submitted_payload_is_the_events_payload(data: dict[str, Any], sequence: int) -> None:
    cmd = PlaceOrder.parse(data)
    direct = submitted_payload(cmd, sequence)
    expected = submitted_event(cmd, sequence).to_payload()
    assert direct == expected
    assert list(direct) == list(expected)
    assert [type(v) for v in direct.values()] == [type(v) for v in expected.values()]
