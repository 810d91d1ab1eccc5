"""Records and constants look like the real module's: tuple subclasses, exact values."""

from __future__ import annotations

import inspect
import pickle

import pytest

from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.records import SymbolInfo, TradeDeal, field_names


def test_record_is_a_tuple_with_names_and_no_namedtuple_extras() -> None:
    deal = TradeDeal(range(18))
    assert isinstance(deal, tuple)
    assert deal.ticket == 0 and deal.order == 1 and deal.external_id == 17
    assert list(deal._asdict())[:3] == ["ticket", "order", "time"]
    assert not hasattr(deal, "_fields") and not hasattr(deal, "_replace")
    assert TradeDeal.n_fields == 18
    assert repr(deal).startswith("TradeDeal(ticket=0, order=1,")
    with pytest.raises(AttributeError):
        deal.ticket = 5  # type: ignore[misc]
    with pytest.raises(TypeError, match="18-sequence"):
        TradeDeal(range(3))
    assert pickle.loads(pickle.dumps(deal)) == deal


def test_symbol_info_has_96_fields_with_the_main_ones_in_order() -> None:
    names = field_names(SymbolInfo)
    assert len(names) == 96
    main = [
        "select",
        "visible",
        "digits",
        "spread",
        "trade_stops_level",
        "trade_freeze_level",
        "trade_exemode",
        "filling_mode",
        "order_mode",
        "bid",
        "ask",
        "last",
        "point",
        "trade_tick_value",
        "trade_tick_size",
        "trade_contract_size",
        "volume_min",
        "volume_max",
        "volume_step",
        "volume_limit",
        "currency_base",
        "currency_profit",
        "name",
        "path",
    ]
    positions = [names.index(n) for n in main]
    assert positions == sorted(positions)


def test_signatures_match_the_module(mt5: SimulatedTerminal) -> None:
    with pytest.raises(TypeError):
        mt5.orders_get("EURUSD")  # type: ignore[misc]
    with pytest.raises(TypeError):
        mt5.positions_get("EURUSD")  # type: ignore[misc]
    with pytest.raises(TypeError):
        mt5.symbol_info(symbol="EURUSD")  # type: ignore[call-arg]
    params = inspect.signature(SimulatedTerminal.order_send).parameters
    assert params["request"].kind is inspect.Parameter.POSITIONAL_ONLY
    kinds = {
        p.kind
        for n, p in inspect.signature(SimulatedTerminal.orders_get).parameters.items()
        if n != "self"
    }
    assert kinds == {inspect.Parameter.KEYWORD_ONLY}


def test_calls_before_initialize_fail_with_no_ipc() -> None:
    term = SimulatedTerminal(seed=1)
    assert term.account_info() is None
    assert term.last_error() == (-10004, "No IPC connection")
    assert term.initialize() and term.last_error() == (1, "Success")
    assert term.version() == (500, 4755, "31 Jan 2025")
    term.shutdown()
    assert term.positions_get() is None
    assert term.last_error()[0] == -10004


def test_login_and_account_mode() -> None:
    term = SimulatedTerminal(seed=1, margin_mode="netting", login=111, password="pw")
    assert not term.initialize(login=222)
    assert term.last_error()[0] == -6
    assert term.initialize(login=111, password="pw", server="OMS-Simulated")
    assert term.login(111, password="pw")
    assert not term.login(111, password="wrong")
    info = term.account_info()
    assert info.margin_mode == term.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    assert info.login == 111 and info.currency == "USD" and info.balance == 100_000.0


def test_symbols_and_book(mt5: SimulatedTerminal) -> None:
    assert mt5.symbols_total() == len(mt5.symbols_get()) == 5
    assert [s.name for s in mt5.symbols_get(group="*USD*,!EUR*,!GBP*")] == [
        "USDJPY",
        "AUDUSD",
        "XAUUSD",
    ]
    assert mt5.symbol_info("NOPE") is None and mt5.last_error()[0] == -4
    info = mt5.symbol_info("EURUSD")
    tick = mt5.symbol_info_tick("EURUSD")
    assert (info.bid, info.ask) == (tick.bid, tick.ask) and tick.ask > tick.bid
    assert info.filling_mode == 3 and info.trade_exemode == mt5.SYMBOL_TRADE_EXECUTION_MARKET
    assert mt5.symbol_select("EURUSD", False) and not mt5.symbol_info("EURUSD").visible
    assert mt5.market_book_get("EURUSD") is None  # not subscribed
    assert mt5.market_book_add("EURUSD")
    book = mt5.market_book_get("EURUSD")
    asks = [b for b in book if b.type == mt5.BOOK_TYPE_SELL]
    bids = [b for b in book if b.type == mt5.BOOK_TYPE_BUY]
    assert len(asks) == len(bids) == 10
    assert book[: len(asks)] == tuple(asks)  # asks first, highest price first
    assert [a.price for a in asks] == sorted((a.price for a in asks), reverse=True)
    assert [b.price for b in bids] == sorted((b.price for b in bids), reverse=True)
    assert asks[-1].price == tick.ask and bids[0].price == tick.bid
    assert mt5.market_book_release("EURUSD")


def test_calc_margin_and_profit(mt5: SimulatedTerminal) -> None:
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1) == 1100.0
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, 150.0) == 1000.0
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.101) == 100.0
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_SELL, "EURUSD", 0.5, 1.1, 1.101) == -50.0
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, 150.0, 151.5) == round(
        150_000 / 151.5, 2
    )
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY_LIMIT, "EURUSD", 1.0, 1.1) is None
    assert mt5.last_error()[0] == -2


def test_tick_value_is_in_the_account_currency(mt5: SimulatedTerminal) -> None:
    assert mt5.symbol_info("EURUSD").trade_tick_value == 1.0  # 0.00001 x 100,000 USD
    jpy = mt5.symbol_info("USDJPY")
    mid = (jpy.bid + jpy.ask) / 2
    assert jpy.trade_tick_value == 100 / mid  # 0.001 x 100,000 JPY, in USD
