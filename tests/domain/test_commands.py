"""Place/modify/cancel validation: each broken rule comes back naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from oms.domain.commands import CancelOrder, ModifyOrder, PlaceOrder
from oms.domain.enums import Filling, OrderType, Side, TimeInForce
from oms.domain.errors import CommandError


def place(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account": "A1",
        "strategy": "mm",
        "symbol": "EURUSD",
        "side": "buy",
        "order_type": "limit",
        "volume": 0.1,
        "price": 1.1,
    }
    base.update(overrides)
    return base


def fields_of(exc: pytest.ExceptionInfo[CommandError]) -> set[str]:
    return {field for field, _ in exc.value.problems}


def test_valid_limit_order_parses_with_defaults() -> None:
    cmd = PlaceOrder.parse(place(sl=1.0, tp=1.2))
    assert cmd.side is Side.BUY
    assert cmd.order_type is OrderType.LIMIT
    assert cmd.time_in_force is TimeInForce.GTC
    assert cmd.filling is Filling.FOK


def test_book_or_cancel_is_a_resting_order_filling() -> None:
    cmd = PlaceOrder.parse(place(filling="boc"))
    assert cmd.filling is Filling.BOC


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"volume": 0}, "volume"),
        ({"volume": -1}, "volume"),
        ({"volume": float("nan")}, "volume"),
        ({"price": None}, "price"),
        ({"order_type": "stop", "price": None}, "price"),
        ({"order_type": "stop_limit", "price": 1.2}, "stop_limit_price"),
        ({"order_type": "stop_limit", "price": 1.2, "stop_limit_price": 1.3}, "stop_limit_price"),
        ({"side": "sell", "order_type": "stop_limit", "price": 1.2, "stop_limit_price": 1.1},
         "stop_limit_price"),
        ({"stop_limit_price": 1.0}, "stop_limit_price"),
        ({"time_in_force": "specified"}, "expiry_ns"),
        ({"expiry_ns": 5}, "expiry_ns"),
        ({"order_type": "market", "price": None, "time_in_force": "day"}, "time_in_force"),
        ({"sl": 1.2}, "sl"),
        ({"tp": 1.0}, "tp"),
        ({"side": "sell", "sl": 1.0}, "sl"),
        ({"side": "sell", "tp": 1.2}, "tp"),
        ({"account": "has space"}, "account"),
        ({"account": "A" * 11}, "account"),
        ({"strategy": "s" * 9}, "strategy"),
        ({"symbol": ""}, "symbol"),
        ({"symbol": "EUR USD"}, "symbol"),
        ({"side": "long"}, "side"),
        ({"filling": "all_or_none"}, "filling"),
        ({"order_type": "market", "price": None, "filling": "boc"}, "filling"),
        ({"order_type": "stop", "filling": "boc"}, "filling"),
        ({"order_type": "market", "price": None, "position_by_id": 7}, "position_by_id"),
        ({"order_type": "market", "price": None, "position_id": 7, "position_by_id": 7},
         "position_by_id"),
        ({"position_id": 7, "position_by_id": 8}, "order_type"),
        ({"position_id": 2**64}, "position_id"),
        ({"extra": 1}, "extra"),
    ],
)
def test_each_rule_names_its_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(CommandError) as exc:
        PlaceOrder.parse(place(**overrides))
    assert field in fields_of(exc), exc.value.problems
    assert field in str(exc.value)


def test_stop_limit_takes_sl_tp_relative_to_the_limit_price() -> None:
    cmd = PlaceOrder.parse(
        place(order_type="stop_limit", price=1.2, stop_limit_price=1.15, sl=1.14, tp=1.19)
    )
    assert cmd.stop_limit_price == 1.15
    with pytest.raises(CommandError) as exc:
        PlaceOrder.parse(
            place(order_type="stop_limit", price=1.2, stop_limit_price=1.15, sl=1.16)
        )
    assert fields_of(exc) == {"sl"}


def test_market_order_needs_no_price_and_close_by_is_accepted() -> None:
    cmd = PlaceOrder.parse(
        place(order_type="market", price=None, side="sell", position_id=5, position_by_id=6)
    )
    assert cmd.price is None
    assert cmd.position_by_id == 6


def test_specified_expiry_is_accepted_with_an_expiry() -> None:
    cmd = PlaceOrder.parse(place(time_in_force="specified", expiry_ns=1_700_000_000 * 10**9))
    assert cmd.expiry_ns == 1_700_000_000 * 10**9


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(CommandError) as exc:
        PlaceOrder.parse(place(price=None, time_in_force="specified"))
    assert fields_of(exc) == {"price", "expiry_ns"}
    assert str(exc.value).startswith("invalid place command:")


def test_modify_needs_a_change_and_a_valid_id() -> None:
    with pytest.raises(CommandError) as exc:
        ModifyOrder.parse({"client_order_id": "A1.mm.1"})
    assert "nothing to change" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        ModifyOrder.parse({"client_order_id": "not-ours", "price": 1.0})
    assert fields_of(exc) == {"client_order_id"}
    cmd = ModifyOrder.parse({"client_order_id": "A1.mm.1", "sl": 0.0})
    assert cmd.sl == 0.0


def test_cancel_checks_the_id() -> None:
    assert CancelOrder.parse({"client_order_id": "A1.mm.z"}).client_order_id == "A1.mm.z"
    with pytest.raises(CommandError) as exc:
        CancelOrder.parse({"client_order_id": "A1.mm.Z!"})
    assert fields_of(exc) == {"client_order_id"}
