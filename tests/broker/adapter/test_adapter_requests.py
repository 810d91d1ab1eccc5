"""Requests the real module accepts: builtin floats and ints, filling from the symbol's bits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.broker.mt5 import constants as c
from oms.broker.mt5.records import Quote, SymbolSpec
from oms.broker.mt5.requests import (
    cancel_request,
    choose_filling,
    modify_request,
    place_request,
    reprice,
)
from oms.broker.port import BrokerRequestError, CancelOrder, ModifyOrder, PlaceOrder
from oms.domain.enums import Filling, OrderType, Side, TimeInForce


def spec(filling_mode: int = 3, execution: int = c.SYMBOL_TRADE_EXECUTION_MARKET) -> SymbolSpec:
    return SymbolSpec(
        name="EURUSD",
        digits=5,
        point=Decimal("0.00001"),
        tick_size=Decimal("0.00001"),
        volume_min=Decimal("0.01"),
        volume_max=Decimal("100"),
        volume_step=Decimal("0.01"),
        filling_mode=filling_mode,
        execution_mode=execution,
        stops_level=0,
        visible=True,
    )


QUOTE = Quote(bid=1.10000, ask=1.10002, time_msc=1)


def order(**kw: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "client_id": "O-1",
        "magic": 7,
        "symbol": "EURUSD",
        "side": Side.BUY,
        "kind": OrderType.MARKET,
        "volume": 0.10,
    }
    fields.update(kw)
    return PlaceOrder(**fields)  # type: ignore[arg-type]


def _plain(value: object) -> bool:
    return type(value) in (int, float, str)


def test_market_request_holds_only_builtins_and_survives_repr() -> None:
    request = place_request(order(sl=1.09, tp=1.2), spec(), QUOTE, 20)
    assert all(_plain(v) for v in request.values()), request
    assert type(request["volume"]) is float and type(request["magic"]) is int
    assert eval(repr(request)) == request  # what mt5linux sends is repr(request)
    assert request["price"] == 1.10002
    assert request["action"] == c.ACTION_DEAL and request["type"] == c.ORDER_TYPE_BUY
    assert request["comment"] == "O-1" and request["deviation"] == 20


def test_sell_takes_the_bid_and_reprice_moves_it() -> None:
    request = place_request(order(side=Side.SELL), spec(), QUOTE, 5)
    assert request["price"] == 1.1
    moved = reprice(request, Quote(bid=1.09990, ask=1.1, time_msc=2))
    assert moved["price"] == 1.0999 and request["price"] == 1.1


@pytest.mark.parametrize(
    ("bits", "wanted", "expected"),
    [
        (1, None, c.ORDER_FILLING_FOK),
        (2, None, c.ORDER_FILLING_IOC),
        (3, None, c.ORDER_FILLING_FOK),
        (0, None, c.ORDER_FILLING_RETURN),
        (3, Filling.IOC, c.ORDER_FILLING_IOC),
        (2, Filling.RETURN, c.ORDER_FILLING_RETURN),
    ],
)
def test_filling_comes_from_the_bits_never_the_bitset(
    bits: int, wanted: Filling | None, expected: int
) -> None:
    assert choose_filling(order(filling=wanted), spec(bits)) == expected


def test_filling_the_symbol_forbids_is_refused_before_sending() -> None:
    with pytest.raises(BrokerRequestError, match="does not allow IOC"):
        choose_filling(order(filling=Filling.IOC), spec(1))
    with pytest.raises(BrokerRequestError, match="FOK filling only"):
        choose_filling(order(filling=Filling.IOC), spec(3, c.SYMBOL_TRADE_EXECUTION_INSTANT))
    with pytest.raises(BrokerRequestError, match="BOC"):
        choose_filling(order(filling=Filling.BOC), spec(7))


def test_instant_execution_defaults_to_fok() -> None:
    assert choose_filling(order(), spec(2, c.SYMBOL_TRADE_EXECUTION_INSTANT)) == 0


def test_pending_request() -> None:
    limit = order(
        kind=OrderType.STOP_LIMIT,
        price=1.10100,
        stop_limit=1.10050,
        expiry=TimeInForce.SPECIFIED,
        expiration_s=1_900_000_000,
    )
    request = place_request(limit, spec(), None, 10)
    assert request["action"] == c.ACTION_PENDING
    assert request["type"] == c.ORDER_TYPE_BUY_STOP_LIMIT
    assert request["stoplimit"] == 1.1005 and request["price"] == 1.101
    assert request["type_time"] == c.ORDER_TIME_SPECIFIED
    assert request["expiration"] == 1_900_000_000 and type(request["expiration"]) is int
    assert request["type_filling"] == c.ORDER_FILLING_RETURN


def test_volume_and_price_off_the_grid_are_refused() -> None:
    with pytest.raises(BrokerRequestError, match="multiple of the volume step"):
        place_request(order(volume=0.015), spec(), QUOTE, 0)
    with pytest.raises(BrokerRequestError, match="outside"):
        place_request(order(volume=500.0), spec(), QUOTE, 0)
    with pytest.raises(BrokerRequestError, match="tick size"):
        place_request(order(kind=OrderType.LIMIT, price=1.100001), spec(), None, 0)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"client_id": "x" * 30}, "client id"),
        ({"client_id": "has space"}, "client id"),
        ({"magic": -1}, "magic"),
        ({"magic": 2**64}, "magic"),
        ({"volume": 0.0}, "volume"),
        ({"kind": OrderType.LIMIT, "price": float("nan")}, "price must be a positive"),
        ({"kind": OrderType.LIMIT, "price": -1.0}, "price must be a positive"),
        ({"kind": OrderType.STOP_LIMIT, "price": 1.0, "stop_limit": float("inf")},
         "stop_limit must be a positive"),
        ({"sl": 0.0}, "sl must be a positive"),
        ({"tp": float("-inf")}, "tp must be a positive"),
        ({"kind": OrderType.LIMIT}, "needs a price"),
        ({"kind": OrderType.LIMIT, "price": 1.0, "stop_limit": 1.0}, "stop_limit"),
        ({"expiry": TimeInForce.SPECIFIED}, "expiration_s"),
    ],
)
def test_commands_that_could_never_be_sent_name_the_problem(
    kw: dict[str, object], message: str
) -> None:
    with pytest.raises(BrokerRequestError, match=message):
        order(**kw)


def test_modify_and_cancel_requests() -> None:
    change = ModifyOrder(client_id="O-1", ticket=5, price=1.2, sl=1.1)
    request = modify_request(change)
    assert request == {
        "action": c.ACTION_MODIFY,
        "order": 5,
        "price": 1.2,
        "stoplimit": 0.0,
        "sl": 1.1,
        "tp": 0.0,
        "type_time": c.ORDER_TIME_GTC,
    }
    assert cancel_request(CancelOrder(client_id="O-1", ticket=5)) == {
        "action": c.ACTION_REMOVE,
        "order": 5,
    }
