"""History queries with `datetime` bounds cross the bridge as the mt5linux client writes them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from oms.broker.bridge import BridgeError, parse_call
from tests.broker.adapter.test_adapter_bridge import _free_port, served_simulator

UTC = dt.UTC
PLUS3 = dt.timezone(dt.timedelta(hours=3))


def test_datetimes_inside_spread_arguments_are_read_back() -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=UTC)
    end = dt.datetime(2026, 1, 6, 2, 30, tzinfo=PLUS3)
    naive = dt.datetime(2026, 1, 5, 12)
    text = f"mt5.history_deals_get(*{(start, end, naive)},**{ {'group': '*USD*'} })"
    assert parse_call(text) == ("history_deals_get", (start, end, naive), {"group": "*USD*"})
    named = f"mt5.history_orders_get(*(),**{ {'date_from': start, 'date_to': [end]} })"
    assert parse_call(named)[2] == {"date_from": start, "date_to": [end]}
    local = start.astimezone(dt.timezone(dt.timedelta(0), "UTC"))
    assert parse_call(f"mt5.history_orders_total({local!r}, {end!r})")[1] == (local, end)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mt5.history_deals_get(*(datetime.datetime(2026, 13, 1),),**{})", "not a valid datetime"),
        ("mt5.history_deals_get(*(datetime.date(2026, 1, 1),),**{})", "not a literal"),
        ("mt5.history_deals_get(*((x for x in ()),),**{})", "not a literal"),
        ("mt5.history_deals_get(*({**{}},),**{})", "dict unpacking"),
        ("mt5.history_deals_get(*(datetime.datetime(*(2026, 1, 1)),),**{})", "no unpacking"),
        ("mt5.history_deals_get(*(" + "[" * 12 + "os.name" + "]" * 12 + ",),**{})", "nested"),
        ("mt5.history_deals_get(*(datetime.timezone.__init__,),**{})", "not a literal"),
    ],
)
def test_anything_but_values_inside_arguments_is_refused(text: str, problem: str) -> None:
    with pytest.raises(BridgeError, match=problem):
        parse_call(text)


@pytest.fixture(scope="module")
def served_port() -> Iterator[int]:
    """`oms sim serve` on a free local port for this module's tests."""
    port = _free_port()
    with served_simulator(port):
        yield port


@pytest.mark.slow
def test_history_by_datetime_through_the_mt5linux_client(served_port: int) -> None:
    from mt5linux import MetaTrader5

    client = MetaTrader5(host="127.0.0.1", port=served_port)
    assert client.initialize() is True
    request = {
        "action": client.TRADE_ACTION_DEAL,
        "symbol": "EURUSD",
        "volume": 0.01,
        "type": client.ORDER_TYPE_BUY,
        "type_filling": client.ORDER_FILLING_IOC,
        "magic": 4242,
        "comment": "dt",
    }
    sent = client.order_send(request)
    assert sent.retcode == client.TRADE_RETCODE_DONE
    day_from = dt.datetime(2026, 1, 5, tzinfo=UTC)  # the simulated clock starts on this day
    day_to = dt.datetime(2026, 1, 6, 3, tzinfo=PLUS3)  # midnight UTC, written with an offset
    deals = client.history_deals_get(day_from, day_to)
    assert deals is not None, client.last_error()
    assert sent.deal in {d.ticket for d in deals}
    assert client.history_orders_total(day_from, day_to) >= 1
    before = dt.datetime(2025, 12, 1, tzinfo=UTC)
    assert client.history_deals_get(before, day_from) == ()
    assert client.history_orders_total(before, day_from) == 0
    by_group = client.history_deals_get(day_from, day_to, group="*EUR*")
    assert sent.deal in {d.ticket for d in by_group}
