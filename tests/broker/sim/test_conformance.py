"""Conformance of a MetaTrader5-like module: request → result, field by field.

Written against the module surface only (functions, constants, records), so the same cases
run against the simulator and against a real terminal. The `terminal` fixture yields the
simulator on a hedging and on a netting account; a real terminal joins when
`OMS_MT5_CONFORMANCE=native` (the MetaTrader5 package, Windows) or `=mt5linux` with
`OMS_MT5LINUX_HOST` / `OMS_MT5LINUX_PORT` (the mt5linux client); otherwise that case is
skipped. Against a real terminal use a DEMO account: the cases place and close small orders
on `OMS_MT5_CONFORMANCE_SYMBOL` (default EURUSD) with magic 990099 and close what they open.
Behaviour that needs control of the market (closed market, triggers, faults) is tested on the
simulator alone, in the other files of this folder.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import pytest

MAGIC = 990099
SYMBOL = os.environ.get("OMS_MT5_CONFORMANCE_SYMBOL", "EURUSD")

FIELDS = {
    "TradeOrder": "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type "
    "type_time type_filling state magic position_id position_by_id reason volume_initial "
    "volume_current price_open sl tp price_current price_stoplimit symbol comment external_id",
    "TradeDeal": "ticket order time time_msc type entry magic position_id reason volume price "
    "commission swap profit fee symbol comment external_id",
    "TradePosition": "ticket time time_msc time_update time_update_msc type magic identifier "
    "reason volume price_open sl tp price_current swap profit symbol comment external_id",
    "OrderSendResult": "retcode deal order volume price bid ask comment request_id "
    "retcode_external request",
    "OrderCheckResult": "retcode balance equity profit margin margin_free margin_level comment "
    "request",
    "TradeRequest": "action magic order symbol volume price stoplimit sl tp deviation type "
    "type_filling type_time expiration comment position position_by",
    "Tick": "time bid ask last volume time_msc flags volume_real",
    "BookInfo": "type price volume volume_dbl",
}
RATE_FIELDS = ["time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume"]
MAIN_FIELDS = {
    "AccountInfo": "login trade_mode leverage limit_orders margin_so_mode trade_allowed "
    "trade_expert margin_mode currency_digits fifo_close balance credit profit equity margin "
    "margin_free margin_level name server currency company",
    "TerminalInfo": "connected trade_allowed tradeapi_disabled build ping_last name path",
    "SymbolInfo": "select visible digits spread trade_stops_level trade_freeze_level "
    "trade_exemode filling_mode order_mode bid ask last point trade_tick_value trade_tick_size "
    "trade_contract_size volume_min volume_max volume_step volume_limit currency_base "
    "currency_profit name path",
}
CONSTANTS = {
    "TRADE_ACTION_DEAL": 1,
    "TRADE_ACTION_PENDING": 5,
    "TRADE_ACTION_SLTP": 6,
    "TRADE_ACTION_MODIFY": 7,
    "TRADE_ACTION_REMOVE": 8,
    "TRADE_ACTION_CLOSE_BY": 10,
    "ORDER_TYPE_BUY": 0,
    "ORDER_TYPE_SELL": 1,
    "ORDER_TYPE_BUY_LIMIT": 2,
    "ORDER_TYPE_SELL_LIMIT": 3,
    "ORDER_TYPE_BUY_STOP": 4,
    "ORDER_TYPE_SELL_STOP": 5,
    "ORDER_TYPE_BUY_STOP_LIMIT": 6,
    "ORDER_TYPE_SELL_STOP_LIMIT": 7,
    "ORDER_TYPE_CLOSE_BY": 8,
    "ORDER_STATE_STARTED": 0,
    "ORDER_STATE_PLACED": 1,
    "ORDER_STATE_CANCELED": 2,
    "ORDER_STATE_PARTIAL": 3,
    "ORDER_STATE_FILLED": 4,
    "ORDER_STATE_REJECTED": 5,
    "ORDER_STATE_EXPIRED": 6,
    "ORDER_STATE_REQUEST_ADD": 7,
    "ORDER_STATE_REQUEST_MODIFY": 8,
    "ORDER_STATE_REQUEST_CANCEL": 9,
    "ORDER_FILLING_FOK": 0,
    "ORDER_FILLING_IOC": 1,
    "ORDER_FILLING_RETURN": 2,
    "ORDER_FILLING_BOC": 3,
    "ORDER_TIME_GTC": 0,
    "ORDER_TIME_DAY": 1,
    "ORDER_TIME_SPECIFIED": 2,
    "ORDER_TIME_SPECIFIED_DAY": 3,
    "ORDER_REASON_CLIENT": 0,
    "ORDER_REASON_MOBILE": 1,
    "ORDER_REASON_WEB": 2,
    "ORDER_REASON_EXPERT": 3,
    "ORDER_REASON_SL": 4,
    "ORDER_REASON_TP": 5,
    "ORDER_REASON_SO": 6,
    "DEAL_TYPE_BUY": 0,
    "DEAL_TYPE_SELL": 1,
    "DEAL_TYPE_BALANCE": 2,
    "DEAL_TYPE_CREDIT": 3,
    "DEAL_TYPE_CHARGE": 4,
    "DEAL_TYPE_CORRECTION": 5,
    "DEAL_TYPE_BONUS": 6,
    "DEAL_TYPE_COMMISSION": 7,
    "DEAL_TYPE_INTEREST": 12,
    "DEAL_TYPE_BUY_CANCELED": 13,
    "DEAL_TYPE_SELL_CANCELED": 14,
    "DEAL_ENTRY_IN": 0,
    "DEAL_ENTRY_OUT": 1,
    "DEAL_ENTRY_INOUT": 2,
    "DEAL_ENTRY_OUT_BY": 3,
    "DEAL_REASON_CLIENT": 0,
    "DEAL_REASON_MOBILE": 1,
    "DEAL_REASON_WEB": 2,
    "DEAL_REASON_EXPERT": 3,
    "DEAL_REASON_SL": 4,
    "DEAL_REASON_TP": 5,
    "DEAL_REASON_SO": 6,
    "DEAL_REASON_ROLLOVER": 7,
    "DEAL_REASON_VMARGIN": 8,
    "DEAL_REASON_SPLIT": 9,
    "POSITION_TYPE_BUY": 0,
    "POSITION_TYPE_SELL": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_NETTING": 0,
    "ACCOUNT_MARGIN_MODE_EXCHANGE": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING": 2,
    "BOOK_TYPE_SELL": 1,
    "BOOK_TYPE_BUY": 2,
    "BOOK_TYPE_SELL_MARKET": 3,
    "BOOK_TYPE_BUY_MARKET": 4,
    "TRADE_RETCODE_REQUOTE": 10004,
    "TRADE_RETCODE_REJECT": 10006,
    "TRADE_RETCODE_CANCEL": 10007,
    "TRADE_RETCODE_PLACED": 10008,
    "TRADE_RETCODE_DONE": 10009,
    "TRADE_RETCODE_DONE_PARTIAL": 10010,
    "TRADE_RETCODE_ERROR": 10011,
    "TRADE_RETCODE_TIMEOUT": 10012,
    "TRADE_RETCODE_INVALID": 10013,
    "TRADE_RETCODE_INVALID_VOLUME": 10014,
    "TRADE_RETCODE_INVALID_PRICE": 10015,
    "TRADE_RETCODE_INVALID_STOPS": 10016,
    "TRADE_RETCODE_TRADE_DISABLED": 10017,
    "TRADE_RETCODE_MARKET_CLOSED": 10018,
    "TRADE_RETCODE_NO_MONEY": 10019,
    "TRADE_RETCODE_PRICE_CHANGED": 10020,
    "TRADE_RETCODE_PRICE_OFF": 10021,
    "TRADE_RETCODE_INVALID_EXPIRATION": 10022,
    "TRADE_RETCODE_ORDER_CHANGED": 10023,
    "TRADE_RETCODE_TOO_MANY_REQUESTS": 10024,
    "TRADE_RETCODE_NO_CHANGES": 10025,
    "TRADE_RETCODE_SERVER_DISABLES_AT": 10026,
    "TRADE_RETCODE_CLIENT_DISABLES_AT": 10027,
    "TRADE_RETCODE_LOCKED": 10028,
    "TRADE_RETCODE_FROZEN": 10029,
    "TRADE_RETCODE_INVALID_FILL": 10030,
    "TRADE_RETCODE_CONNECTION": 10031,
    "TRADE_RETCODE_ONLY_REAL": 10032,
    "TRADE_RETCODE_LIMIT_ORDERS": 10033,
    "TRADE_RETCODE_LIMIT_VOLUME": 10034,
    "TRADE_RETCODE_INVALID_ORDER": 10035,
    "TRADE_RETCODE_POSITION_CLOSED": 10036,
    "TRADE_RETCODE_INVALID_CLOSE_VOLUME": 10038,
    "TRADE_RETCODE_CLOSE_ORDER_EXIST": 10039,
    "TRADE_RETCODE_LIMIT_POSITIONS": 10040,
    "TRADE_RETCODE_REJECT_CANCEL": 10041,
    "TRADE_RETCODE_LONG_ONLY": 10042,
    "TRADE_RETCODE_SHORT_ONLY": 10043,
    "TRADE_RETCODE_CLOSE_ONLY": 10044,
    "TRADE_RETCODE_FIFO_CLOSE": 10045,
    "RES_S_OK": 1,
    "RES_E_FAIL": -1,
    "RES_E_INVALID_PARAMS": -2,
    "RES_E_NO_MEMORY": -3,
    "RES_E_NOT_FOUND": -4,
    "RES_E_INVALID_VERSION": -5,
    "RES_E_AUTH_FAILED": -6,
    "RES_E_UNSUPPORTED": -7,
    "RES_E_AUTO_TRADING_DISABLED": -8,
    "RES_E_INTERNAL_FAIL": -10000,
    "RES_E_INTERNAL_FAIL_SEND": -10001,
    "RES_E_INTERNAL_FAIL_RECEIVE": -10002,
    "RES_E_INTERNAL_FAIL_INIT": -10003,
    "RES_E_INTERNAL_FAIL_CONNECT": -10004,
    "RES_E_INTERNAL_FAIL_TIMEOUT": -10005,
}


def _real_terminal() -> Any:
    mode = os.environ.get("OMS_MT5_CONFORMANCE", "")
    host = os.environ.get("OMS_MT5LINUX_HOST")
    if mode == "native":
        mt5 = pytest.importorskip("MetaTrader5")
    elif mode == "mt5linux" or host:
        client = pytest.importorskip("mt5linux")
        port = int(os.environ.get("OMS_MT5LINUX_PORT", "18812"))
        mt5 = client.MetaTrader5(host=host or "localhost", port=port)
    else:
        pytest.skip("no real terminal: set OMS_MT5_CONFORMANCE=native or =mt5linux")
    if not mt5.initialize():
        pytest.fail(f"initialize() failed against the real terminal: {mt5.last_error()}")
    return mt5


def _flatten(mt5: Any) -> None:
    """Remove our working orders and close our positions (magic MAGIC) on the test symbol."""
    for order in mt5.orders_get(symbol=SYMBOL) or ():
        if order.magic == MAGIC:
            mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": order.ticket})
    for pos in mt5.positions_get(symbol=SYMBOL) or ():
        if pos.magic == MAGIC:
            side = mt5.ORDER_TYPE_SELL if pos.type == mt5.POSITION_TYPE_BUY else mt5.ORDER_TYPE_BUY
            mt5.order_send({**_market(mt5, side, pos.volume), "position": pos.ticket})


@pytest.fixture(params=["sim-hedging", "sim-netting", "real"])
def terminal(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A module-like terminal: the simulator (two account modes) or a real one when configured."""
    if request.param == "real":
        mt5 = _real_terminal()
    else:
        from oms.broker.sim import SimulatedTerminal

        mode = request.param.removeprefix("sim-")
        mt5 = SimulatedTerminal(seed=11, margin_mode=mode, balance=10_000.0)
        assert mt5.initialize()
    yield mt5
    _flatten(mt5)
    if request.param == "real":
        mt5.shutdown()


def _bridged(mt5: Any) -> bool:
    """Whether calls go through the mt5linux client, which builds each call as source text."""
    return type(mt5).__module__.startswith("mt5linux")


def _hedging(mt5: Any) -> bool:
    return bool(mt5.account_info().margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING)


def _filling(mt5: Any, symbol: str = SYMBOL) -> int:
    """A filling mode the symbol accepts for market orders."""
    info = mt5.symbol_info(symbol)
    if info.filling_mode & 1:
        return int(mt5.ORDER_FILLING_FOK)
    if info.filling_mode & 2:
        return int(mt5.ORDER_FILLING_IOC)
    return int(mt5.ORDER_FILLING_RETURN)


def _market(mt5: Any, side: int, volume: float | None = None, **extra: Any) -> dict[str, Any]:
    info = mt5.symbol_info(SYMBOL)
    tick = mt5.symbol_info_tick(SYMBOL)
    req = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": SYMBOL,
        "volume": float(volume if volume is not None else info.volume_min),
        "type": side,
        "price": tick.ask if side == mt5.ORDER_TYPE_BUY else tick.bid,
        "deviation": 20,
        "magic": MAGIC,
        "comment": "conformance",
        "type_filling": _filling(mt5),
        "type_time": mt5.ORDER_TIME_GTC,
    }
    req.update(extra)
    return req


def _far(mt5: Any, below: bool, points: int = 0) -> float:
    """A price well away from the market, on the tick grid."""
    info = mt5.symbol_info(SYMBOL)
    tick = mt5.symbol_info_tick(SYMBOL)
    distance = (max(info.trade_stops_level, 10) * 20 + points) * info.point
    price = tick.bid - distance if below else tick.ask + distance
    return round(round(price / info.trade_tick_size) * info.trade_tick_size, info.digits)


def _limit(mt5: Any, **extra: Any) -> dict[str, Any]:
    req = {
        "action": mt5.TRADE_ACTION_PENDING,
        "symbol": SYMBOL,
        "volume": float(mt5.symbol_info(SYMBOL).volume_min),
        "type": mt5.ORDER_TYPE_BUY_LIMIT,
        "price": _far(mt5, below=True),
        "magic": MAGIC,
        "comment": "conformance",
        "type_filling": mt5.ORDER_FILLING_RETURN,
        "type_time": mt5.ORDER_TIME_GTC,
    }
    req.update(extra)
    return req


def _names(record: Any) -> list[str]:
    return list(record._asdict())


def _check_record(record: Any, kind: str) -> None:
    assert isinstance(record, tuple), kind
    assert not hasattr(record, "_fields") and not hasattr(record, "_replace"), kind
    names = _names(record)
    assert list(record) == [getattr(record, n) for n in names]
    if kind in FIELDS:
        assert names == FIELDS[kind].split(), kind
    else:
        main = MAIN_FIELDS[kind].split()
        assert [n for n in names if n in main] == main, kind


def _check_request_echo(result: Any, sent: dict[str, Any]) -> None:
    _check_record(result.request, "TradeRequest")
    echo = result.request._asdict()
    for key, value in sent.items():
        assert echo[key] == value, key
    for key in set(echo) - set(sent):
        assert echo[key] in (0, 0.0, ""), key


# ---------------------------------------------------------------------------- surface
def test_connection_and_last_error(terminal: Any) -> None:
    assert terminal.last_error() == (1, "Success")
    version = terminal.version()
    assert len(version) == 3 and isinstance(version[1], int)
    info = terminal.terminal_info()
    _check_record(info, "TerminalInfo")
    assert info.connected is True
    _check_record(terminal.account_info(), "AccountInfo")


def test_constants(terminal: Any) -> None:
    # mt5linux clients carry their own copy of the constants, without ORDER_FILLING_BOC
    optional = {"ORDER_FILLING_BOC"} if _bridged(terminal) else set()
    wrong = {
        n: getattr(terminal, n, None)
        for n, v in CONSTANTS.items()
        if getattr(terminal, n, None) != v and not (n in optional and not hasattr(terminal, n))
    }
    assert wrong == {}


def test_market_data_records(terminal: Any) -> None:
    info = terminal.symbol_info(SYMBOL)
    _check_record(info, "SymbolInfo")
    assert info.name == SYMBOL and info.ask >= info.bid > 0
    tick = terminal.symbol_info_tick(SYMBOL)
    _check_record(tick, "Tick")
    assert tick.ask >= tick.bid > 0 and tick.time_msc // 1000 == tick.time
    assert terminal.symbol_info("NO_SUCH_SYMBOL_X") is None
    assert terminal.last_error()[0] < 0
    if terminal.market_book_add(SYMBOL):
        book = terminal.market_book_get(SYMBOL)
        if book:
            _check_record(book[0], "BookInfo")
            assert {b.type for b in book} <= {1, 2, 3, 4}
        try:
            assert terminal.market_book_release(SYMBOL)
        except Exception:
            if not _bridged(terminal):  # mt5linux 1.0.11 sends the symbol unquoted
                raise


def test_history_arrays(terminal: Any) -> None:
    rates = terminal.copy_rates_from_pos(SYMBOL, terminal.TIMEFRAME_M1, 0, 5)
    assert rates is not None and list(rates.dtype.names) == RATE_FIELDS
    assert 1 <= len(rates) <= 5
    times = [int(t) for t in rates["time"]]
    assert times == sorted(times) and all(t % 60 == 0 for t in times)
    assert (rates["high"] >= rates["low"]).all() and (rates["tick_volume"] > 0).all()
    same = terminal.copy_rates_range(SYMBOL, terminal.TIMEFRAME_M1, times[0], times[-1])
    assert same is not None and [int(t) for t in same["time"]] == times
    ticks = terminal.copy_ticks_range(SYMBOL, times[-1], times[-1] + 59,
                                      terminal.COPY_TICKS_INFO)
    assert ticks is not None and list(ticks.dtype.names) == FIELDS["Tick"].split()
    assert all(times[-1] * 1000 <= int(t) < (times[-1] + 60) * 1000 for t in ticks["time_msc"])
    quote = terminal.TICK_FLAG_BID | terminal.TICK_FLAG_ASK
    assert all(int(f) & quote for f in ticks["flags"])
    assert terminal.copy_rates_from_pos("NO_SUCH_SYMBOL_X", terminal.TIMEFRAME_M1, 0, 1) is None
    assert terminal.last_error()[0] < 0


def test_positional_arguments_to_keyword_only_functions_are_errors(terminal: Any) -> None:
    for fn in (terminal.orders_get, terminal.positions_get):
        try:
            answer = fn(SYMBOL)
        except TypeError:
            continue
        assert answer is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("volume", 1),
        ("price", 1),
        ("sl", 0),
        ("type", -1),
        ("magic", -5),
        ("comment", "c" * 30),
        ("expiration", dt.datetime(2030, 1, 1, tzinfo=dt.UTC)),
        ("symbol", 7),
    ],
)
def test_local_validation(terminal: Any, field: str, value: Any) -> None:
    req = _market(terminal, terminal.ORDER_TYPE_BUY)
    req[field] = value
    try:
        answer = terminal.order_send(req)
    except Exception:
        if _bridged(terminal) and field == "expiration":
            return  # a bridge may refuse to carry a datetime at all: refused either way
        raise
    assert answer is None
    assert terminal.last_error() == (-2, f'Invalid "{field}" argument')


def test_order_check(terminal: Any) -> None:
    req = _market(terminal, terminal.ORDER_TYPE_BUY)
    res = terminal.order_check(req)
    _check_record(res, "OrderCheckResult")
    assert res.retcode == 0 and res.comment == "Done"
    assert res.margin > 0 and res.equity > 0
    _check_request_echo(res, req)


def test_order_check_names_the_problem(terminal: Any) -> None:
    info = terminal.symbol_info(SYMBOL)
    req = _market(terminal, terminal.ORDER_TYPE_BUY, info.volume_min / 2)
    res = terminal.order_check(req)
    assert res.retcode == terminal.TRADE_RETCODE_INVALID_VOLUME and res.comment
    assert terminal.positions_get(symbol=SYMBOL) == () or all(
        p.magic != MAGIC for p in terminal.positions_get(symbol=SYMBOL)
    )


# ---------------------------------------------------------------------- market orders
def test_market_order_and_close(terminal: Any) -> None:
    mt5 = terminal
    req = _market(mt5, mt5.ORDER_TYPE_BUY)
    res = mt5.order_send(req)
    _check_record(res, "OrderSendResult")
    assert res.retcode == mt5.TRADE_RETCODE_DONE, res
    assert res.order > 0 and res.deal > 0 and res.volume == req["volume"] and res.price > 0
    _check_request_echo(res, req)

    (order,) = mt5.history_orders_get(ticket=res.order)
    _check_record(order, "TradeOrder")
    assert (order.type, order.state, order.magic) == (0, mt5.ORDER_STATE_FILLED, MAGIC)
    assert order.volume_initial == req["volume"] and order.reason == mt5.ORDER_REASON_EXPERT
    deals = mt5.history_deals_get(ticket=res.order)  # ticket= filters on the ORDER ticket
    assert [d.ticket for d in deals] == [res.deal]
    deal = deals[0]
    _check_record(deal, "TradeDeal")
    assert (deal.order, deal.type, deal.entry, deal.magic) == (res.order, 0, 0, MAGIC)
    assert deal.reason == mt5.DEAL_REASON_EXPERT and deal.volume == req["volume"]
    (pos,) = [p for p in mt5.positions_get(symbol=SYMBOL) if p.identifier == deal.position_id]
    _check_record(pos, "TradePosition")
    assert pos.magic == MAGIC and pos.type == mt5.POSITION_TYPE_BUY
    if _hedging(mt5):
        assert pos.ticket == pos.identifier == res.order == deal.position_id

    close = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_SELL, pos.volume, position=pos.ticket))
    assert close.retcode == mt5.TRADE_RETCODE_DONE
    (out,) = mt5.history_deals_get(ticket=close.order)
    assert out.entry == mt5.DEAL_ENTRY_OUT and out.position_id == pos.identifier
    entries = [d.entry for d in mt5.history_deals_get(position=pos.identifier)]
    assert entries[-2:] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    now = mt5.symbol_info_tick(SYMBOL).time
    recent = mt5.history_deals_get(now - 3600, now + 3600)  # epoch seconds
    assert {res.deal, out.ticket} <= {d.ticket for d in recent}
    start = dt.datetime.fromtimestamp(now - 3600, tz=dt.UTC)
    end = dt.datetime.fromtimestamp(now + 3600, tz=dt.UTC)
    assert mt5.history_deals_get(start, end) == recent  # or datetimes
    assert mt5.history_deals_total(start, end) == len(recent)  # mt5linux needs datetimes here


def test_netting_reversal(terminal: Any) -> None:
    mt5 = terminal
    if _hedging(mt5):
        pytest.skip("netting account only")
    vol = float(mt5.symbol_info(SYMBOL).volume_min)
    first = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_BUY, vol))
    (pos,) = mt5.positions_get(symbol=SYMBOL)
    rev = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_SELL, vol * 2))
    assert rev.retcode == mt5.TRADE_RETCODE_DONE
    (deal,) = mt5.history_deals_get(ticket=rev.order)
    assert deal.entry == mt5.DEAL_ENTRY_INOUT and deal.position_id == pos.identifier
    (after,) = mt5.positions_get(symbol=SYMBOL)
    assert after.type == mt5.POSITION_TYPE_SELL and after.identifier == pos.identifier
    assert after.ticket == rev.order and first.order == pos.identifier


def test_hedging_close_by(terminal: Any) -> None:
    mt5 = terminal
    if not _hedging(mt5):
        pytest.skip("hedging account only")
    vol = float(mt5.symbol_info(SYMBOL).volume_min)
    buy = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_BUY, vol))
    sell = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_SELL, vol))
    assert len(mt5.positions_get(symbol=SYMBOL)) >= 2  # hedging never nets
    res = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_CLOSE_BY,
            "position": buy.order,
            "position_by": sell.order,
            "magic": MAGIC,
        }
    )
    assert res.retcode == mt5.TRADE_RETCODE_DONE
    (order,) = mt5.history_orders_get(ticket=res.order)
    assert order.type == mt5.ORDER_TYPE_CLOSE_BY
    assert (order.position_id, order.position_by_id) == (buy.order, sell.order)
    deals = mt5.history_deals_get(ticket=res.order)
    assert sorted(d.position_id for d in deals) == sorted([buy.order, sell.order])
    assert {d.entry for d in deals} == {mt5.DEAL_ENTRY_OUT_BY}
    assert not [p for p in mt5.positions_get(symbol=SYMBOL) if p.ticket in (buy.order, sell.order)]


# -------------------------------------------------------------------- pending orders
def test_pending_modify_remove(terminal: Any) -> None:
    mt5 = terminal
    req = _limit(mt5)
    res = mt5.order_send(req)
    assert res.retcode == mt5.TRADE_RETCODE_PLACED and res.order > 0 and res.deal == 0
    _check_request_echo(res, req)
    (order,) = mt5.orders_get(ticket=res.order)
    _check_record(order, "TradeOrder")
    assert order.state == mt5.ORDER_STATE_PLACED and order.price_open == req["price"]
    assert order.type == mt5.ORDER_TYPE_BUY_LIMIT and order.volume_current == req["volume"]
    modify = {
        "action": mt5.TRADE_ACTION_MODIFY,
        "order": res.order,
        "price": req["price"],
        "type_time": mt5.ORDER_TIME_GTC,
        "expiration": 0,
    }
    assert mt5.order_send(modify).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    lower = _far(mt5, below=True, points=50)
    moved = mt5.order_send({**modify, "price": lower})
    assert moved.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.orders_get(ticket=res.order)[0].price_open == lower
    removed = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": res.order})
    assert removed.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.orders_get(ticket=res.order) == ()
    (hist,) = mt5.history_orders_get(ticket=res.order)
    assert hist.state == mt5.ORDER_STATE_CANCELED


def test_pending_price_on_the_wrong_side(terminal: Any) -> None:
    res = terminal.order_send(_limit(terminal, price=_far(terminal, below=False)))
    assert res.retcode == terminal.TRADE_RETCODE_INVALID_PRICE


def test_sltp(terminal: Any) -> None:
    mt5 = terminal
    res = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_BUY))
    pos = [p for p in mt5.positions_get(symbol=SYMBOL) if p.magic == MAGIC][-1]
    req = {
        "action": mt5.TRADE_ACTION_SLTP,
        "symbol": SYMBOL,
        "position": pos.ticket,
        "sl": _far(mt5, below=True),
        "tp": _far(mt5, below=False),
    }
    assert mt5.order_send(req).retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.order_send(req).retcode == mt5.TRADE_RETCODE_NO_CHANGES
    after = mt5.positions_get(ticket=pos.ticket)[0]
    assert (after.sl, after.tp) == (req["sl"], req["tp"])
    wrong = mt5.order_send({**req, "sl": _far(mt5, below=False)})  # SL above the market
    assert wrong.retcode == mt5.TRADE_RETCODE_INVALID_STOPS
    assert res.retcode == mt5.TRADE_RETCODE_DONE


# ------------------------------------------------------------------ retcodes by rule
@pytest.mark.parametrize("filling", ["FOK", "IOC", "RETURN", "BOC"])
def test_filling_mode_bits(terminal: Any, filling: str) -> None:
    mt5 = terminal
    info = mt5.symbol_info(SYMBOL)
    value = getattr(mt5, f"ORDER_FILLING_{filling}", CONSTANTS[f"ORDER_FILLING_{filling}"])
    market_like = info.trade_exemode in (
        mt5.SYMBOL_TRADE_EXECUTION_MARKET,
        mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE,
    )
    allowed = {
        "FOK": bool(info.filling_mode & 1) or not market_like,
        "IOC": bool(info.filling_mode & 2) and market_like,
        "RETURN": market_like,
        "BOC": False,  # book-or-cancel never applies to a market order
    }[filling]
    res = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_BUY, type_filling=value))
    if allowed:
        assert res.retcode in (mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_DONE_PARTIAL)
    else:
        assert res.retcode == mt5.TRADE_RETCODE_INVALID_FILL
        assert res.order == 0 and res.deal == 0


def test_filling_mode_value_passed_as_type_filling(terminal: Any) -> None:
    bits = terminal.symbol_info(SYMBOL).filling_mode
    if bits in (terminal.ORDER_FILLING_FOK, terminal.ORDER_FILLING_IOC):
        pytest.skip("the bit set happens to be a valid ORDER_FILLING value for this symbol")
    res = terminal.order_send(_market(terminal, terminal.ORDER_TYPE_BUY, type_filling=bits))
    assert res.retcode == terminal.TRADE_RETCODE_INVALID_FILL


def test_invalid_volume(terminal: Any) -> None:
    info = terminal.symbol_info(SYMBOL)
    for volume in (info.volume_min / 2, info.volume_max + info.volume_step * 10):
        res = terminal.order_send(_market(terminal, terminal.ORDER_TYPE_BUY, volume))
        assert res.retcode == terminal.TRADE_RETCODE_INVALID_VOLUME, volume


def test_no_money(terminal: Any) -> None:
    mt5 = terminal
    info = mt5.symbol_info(SYMBOL)
    free = mt5.account_info().margin_free
    per_lot = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, SYMBOL, 1.0, info.ask)
    lots = round(round(free * 1.2 / per_lot / info.volume_step) * info.volume_step, 8)
    if lots > info.volume_max:
        pytest.skip("the account can afford the largest allowed order")
    res = mt5.order_send(_market(mt5, mt5.ORDER_TYPE_BUY, lots))
    assert res.retcode == mt5.TRADE_RETCODE_NO_MONEY and res.order == 0


def test_instant_execution_requote(terminal: Any) -> None:
    mt5 = terminal
    instant = [
        s for s in mt5.symbols_get() if s.trade_exemode == mt5.SYMBOL_TRADE_EXECUTION_INSTANT
    ]
    if not instant:
        pytest.skip("no symbol with instant execution on this server")
    info = instant[0]
    tick = mt5.symbol_info_tick(info.name)
    stale = round(tick.ask - 50 * info.point, info.digits)
    res = mt5.order_send(
        {
            "action": mt5.TRADE_ACTION_DEAL,
            "symbol": info.name,
            "volume": info.volume_min,
            "type": mt5.ORDER_TYPE_BUY,
            "price": stale,
            "deviation": 5,
            "magic": MAGIC,
            "type_filling": mt5.ORDER_FILLING_FOK,
        }
    )
    assert res.retcode in (mt5.TRADE_RETCODE_REQUOTE, mt5.TRADE_RETCODE_PRICE_OFF)
    assert res.order == 0 and res.ask > 0
