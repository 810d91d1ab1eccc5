"""The bridge reads only `mt5.<function>(<literals>)` and the client's setup imports."""

from __future__ import annotations

import datetime as dt

import pytest

from oms.broker.bridge import BridgeError, check_setup, parse_call


def test_calls_the_mt5linux_client_writes_are_read_back_exactly() -> None:
    request = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "comment": "O-1"}
    assert parse_call(f"mt5.order_send({request})") == ("order_send", (request,), {})
    assert parse_call("mt5.orders_get(*(),**{'symbol': 'EURUSD'})") == (
        "orders_get",
        (),
        {"symbol": "EURUSD"},
    )
    assert parse_call("mt5.history_deals_get(*(1, 2),**{})") == ("history_deals_get", (1, 2), {})
    since = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
    name, args, _ = parse_call(f"mt5.history_orders_total({since!r}, {since.astimezone()!r})")
    assert name == "history_orders_total" and args == (since, since)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('id')",
        "mt5.order_send.__globals__",
        "mt5.faults.disconnect()",
        "mt5.market.step()",
        "os.system('id')",
        "mt5.order_send(open('/etc/passwd').read())",
        "mt5.order_send(*[x for x in ()])",
        "mt5.order_send(",
    ],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BridgeError):
        parse_call(text)


def test_setup_statements() -> None:
    check_setup("import sys; sys.path.append('C:\\\\mt5libs')")
    check_setup("import MetaTrader5 as mt5")
    check_setup("import datetime")
    for bad in ("import os", "import MetaTrader5", "sys.path.append(x)", "x = 1"):
        with pytest.raises(BridgeError):
            check_setup(bad)


def test_serve_on_a_busy_port_is_a_one_line_error() -> None:
    import socket

    from typer.testing import CliRunner

    from oms.cli.main import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["sim", "serve", "--port", str(port)])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
