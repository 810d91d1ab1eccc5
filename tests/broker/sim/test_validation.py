"""Local request validation: None and (-2, 'Invalid "<field>" argument') like the real module."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest

from oms.broker.sim import SimulatedTerminal

from .conftest import market


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("volume", 1),
        ("price", 1),
        ("sl", "1.0"),
        ("tp", None),
        ("stoplimit", 2),
        ("action", -1),
        ("type", 1.0),
        ("type_filling", -3),
        ("type_time", "0"),
        ("magic", -1),
        ("magic", 2**64),
        ("magic", np.int64(5)),
        ("order", 1.5),
        ("deviation", -10),
        ("position", "123"),
        ("position_by", -2),
        ("expiration", dt.datetime(2026, 1, 6, tzinfo=dt.UTC)),
        ("symbol", 5),
        ("symbol", "X" * 30),
        ("comment", "c" * 30),
        ("comment", b"bytes"),
    ],
)
def test_bad_field_is_refused_locally(mt5: SimulatedTerminal, field: str, value: Any) -> None:
    before = mt5.orders_total(), mt5.positions_total()
    req = market(mt5, mt5.ORDER_TYPE_BUY)
    req[field] = value
    assert mt5.order_send(req) is None
    assert mt5.last_error() == (-2, f'Invalid "{field}" argument')
    assert mt5.order_check(req) is None
    assert (mt5.orders_total(), mt5.positions_total()) == before


def test_non_dict_is_refused(mt5: SimulatedTerminal) -> None:
    assert mt5.order_send([("action", 1)]) is None  # type: ignore[arg-type]
    assert mt5.last_error() == (-2, "Invalid arguments")


def test_accepted_types_unknown_keys_and_defaults(mt5: SimulatedTerminal) -> None:
    req = market(mt5, mt5.ORDER_TYPE_BUY, volume=np.float64(0.1))
    req.update({"magic": 2**64 - 1, "comment": "c" * 29, "whatever": object(), "deviation": 0})
    del req["type"]  # missing keys default to 0: ORDER_TYPE_BUY
    res = mt5.order_send(req)
    assert res is not None and res.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.last_error() == (1, "Success")
    assert res.request.type == 0 and res.request.magic == 2**64 - 1
    assert res.request.sl == 0.0 and res.request.position_by == 0
    assert mt5.positions_get()[0].comment == "c" * 29


def test_unknown_action_and_symbol_reach_the_server(mt5: SimulatedTerminal) -> None:
    res = mt5.order_send(market(mt5, 0, action=2))
    assert res.retcode == mt5.TRADE_RETCODE_INVALID
    res = mt5.order_send(market(mt5, 0, symbol="NOPE"))
    assert res.retcode == mt5.TRADE_RETCODE_INVALID and res.comment == "Invalid request"
