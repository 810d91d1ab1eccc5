"""The simulated MetaTrader 5 terminal: the MetaTrader5 module's surface over the sim server.

Same function names and argument rules (positional-only and keyword-only where the real
module has them), same constants, same records, `None` plus `last_error()` on failure. One
lock guards all state, so the adapter's worker thread and an RPyC server's threads can share
one terminal.
"""

from __future__ import annotations

import bisect
import fnmatch
import functools
import threading
import time
from collections.abc import Callable, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from oms.broker.sim.account import AccountSettings
from oms.broker.sim.constants import RETCODE_COMMENTS, C, Mt5Constants
from oms.broker.sim.faults import Faults
from oms.broker.sim.feed import Feed, ReplayFeed, SyntheticFeed
from oms.broker.sim.history import (
    DEFAULT_MAX_TICKS,
    TICK_SELECTIONS,
    TIMEFRAMES,
    SymbolHistory,
    rate_array,
)
from oms.broker.sim.latency import Latency
from oms.broker.sim.market import DEFAULT_START_MSC, Market
from oms.broker.sim.records import (
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
    trusted,
)
from oms.broker.sim.server import Outcome, TradeServer
from oms.broker.sim.state import OrderState
from oms.broker.sim.symbol_info import SymbolInfoBuilder
from oms.broker.sim.symbols import SymbolSpec, default_symbols
from oms.broker.sim.validation import InvalidRequest, validate_request
from oms.errors import OmsError
from oms.market.queue import QueueModel

P = ParamSpec("P")
R = TypeVar("R")

BUILD = 4755
OK = (C.RES_S_OK, "Success")
NO_IPC = (C.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
IPC_TIMEOUT = (C.RES_E_INTERNAL_FAIL_TIMEOUT, "IPC timeout")
INVALID_ARGS = (C.RES_E_INVALID_PARAMS, "Invalid arguments")
NOT_FOUND = (C.RES_E_NOT_FOUND, "Terminal: Not found")
MARGIN_MODES = {
    "hedging": C.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
    "netting": C.ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
}


def _api(failure: Any = None) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a module function: latency, the lock, the IPC check, last_error reset to Success."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def call(*args: P.args, **kwargs: P.kwargs) -> R:
            self: SimulatedTerminal = args[0]  # type: ignore[assignment]
            if self._latency is not None:
                time.sleep(self._latency())
            with self._lock:
                faults = self.faults
                if faults.ipc_down or faults.needs_initialize or not self._initialized:
                    self._error = faults.ipc_error if faults.ipc_down else NO_IPC
                    return failure  # type: ignore[no-any-return]
                self._error = OK
                return fn(*args, **kwargs)

        return call

    return wrap


def _seconds(value: object) -> float:
    """Epoch seconds from an int/float or anything with `.timestamp()` (build UTC datetimes)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    stamp = getattr(value, "timestamp", None)
    if callable(stamp):
        return float(stamp())
    raise TypeError(value)


def _count_ok(value: object) -> bool:
    """Counts and positions are non-negative ints (a bool is not one)."""
    return type(value) is int and value >= 0


def group_matches(group: str | None, name: str) -> bool:
    """MT5 group filter: comma-separated wildcards, `!` excludes (`"*USD*,!EUR*"`)."""
    if not group:
        return True
    include = False
    positives = 0
    for raw in group.split(","):
        pattern = raw.strip()
        if pattern.startswith("!"):
            if fnmatch.fnmatchcase(name, pattern[1:]):
                return False
            continue
        positives += 1
        include = include or fnmatch.fnmatchcase(name, pattern)
    return include or positives == 0


class SimulatedTerminal(Mt5Constants):
    """`mt5 = SimulatedTerminal(seed=1, margin_mode="hedging"); mt5.initialize()` then trade as
    with the MetaTrader5 module. `mt5.market` drives prices and the clock; `mt5.faults` breaks
    things on purpose."""

    def __init__(
        self,
        seed: int = 1,
        margin_mode: str = "hedging",
        *,
        symbols: Sequence[SymbolSpec] | None = None,
        feed: Feed | None = None,
        replay: str | Path | None = None,
        balance: float = 100_000.0,
        leverage: int = 100,
        commission_per_lot: float = 0.0,
        limit_orders: int = 200,
        stop_out: float = 30.0,
        currency: str = "USD",
        login: int = 5_000_001,
        password: str | None = None,
        server: str = "OMS-Simulated",
        latency: Latency | None = None,
        start_msc: int = DEFAULT_START_MSC,
        step_msc: int = 100,
        weekend_closed: bool = False,
        queue_model: QueueModel = "conservative",
        queue_power: float = 2.0,
        max_history_ticks: int = DEFAULT_MAX_TICKS,
    ) -> None:
        if margin_mode not in MARGIN_MODES:
            raise OmsError(f"margin_mode must be 'hedging' or 'netting', not {margin_mode!r}")
        for name, value, low in (
            ("leverage", leverage, 1),
            ("step_msc", step_msc, 1),
            ("balance", balance, 0),
            ("commission_per_lot", commission_per_lot, 0),
            ("limit_orders", limit_orders, 0),
        ):
            if value < low:
                raise OmsError(f"{name} must be at least {low}, not {value}")
        self._lock = threading.RLock()
        specs = tuple(symbols) if symbols is not None else default_symbols()
        if feed is None:
            feed = ReplayFeed(replay) if replay is not None else SyntheticFeed(seed)
        self.market = Market(
            specs,
            feed,
            self._lock,
            start_msc,
            step_msc,
            weekend_closed,
            queue_model,
            queue_power,
            max_history_ticks,
        )
        self._margin_mode = MARGIN_MODES[margin_mode]
        self._server = TradeServer(
            self.market,
            AccountSettings(
                login,
                margin_mode == "hedging",
                leverage,
                currency,
                commission_per_lot,
                "Simulated Trader",
                server,
                "OMS Simulated Broker",
                limit_orders,
                max(50.0, stop_out),
                stop_out,
            ),
            balance,
        )
        self._ledger = self._server.ledger
        self._password = password
        self._latency = latency
        self._initialized = False
        self._error: tuple[int, str] = OK
        self._request_id = 0
        self._selected: dict[str, bool] = dict.fromkeys(self.market.specs, True)
        self._books: set[str] = set()
        self._symbol_info = SymbolInfoBuilder()
        self.faults = Faults(self._lock, self._server, self._result)

    # ------------------------------------------------------------------ connection
    def initialize(
        self,
        path: str | None = None,
        *,
        login: int | None = None,
        password: str | None = None,
        server: str | None = None,
        timeout: int = 60000,
        portable: bool = False,
    ) -> bool:
        """Connect to the (simulated) terminal; a wrong login or password fails with -6."""
        with self._lock:
            if self.faults.ipc_down:
                self._error = (
                    C.RES_E_INTERNAL_FAIL_INIT,
                    "IPC initialize failed, terminal not found",
                )
                return False
            if not self._credentials_ok(login, password, server):
                self._error = (C.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
                return False
            self._initialized = True
            self.faults.needs_initialize = False
            self._error = OK
            return True

    def _credentials_ok(self, login: int | None, password: str | None, server: str | None) -> bool:
        acct = self._server.account
        if login is not None and login != acct.login:
            return False
        if server is not None and server != acct.server:
            return False
        return not (
            self._password is not None and password is not None and password != self._password
        )

    @_api(False)
    def login(
        self,
        login: int,
        password: str | None = None,
        server: str | None = None,
        timeout: int = 60000,
    ) -> bool:
        """Log in to the simulated account (only its own login, server and password pass)."""
        if not self._credentials_ok(login, password, server):
            self._error = (C.RES_E_AUTH_FAILED, "Terminal: Authorization failed")
            return False
        return True

    def shutdown(self) -> None:
        """Close the connection; calls fail with -10004 until initialize()."""
        with self._lock:
            self._initialized = False
            self._error = OK

    def last_error(self) -> tuple[int, str]:
        """(code, message) of the last call; (1, 'Success') after a successful one."""
        return self._error

    @_api()
    def version(self) -> tuple[int, int, str]:
        """(terminal version, build, build date)."""
        return (500, BUILD, "31 Jan 2025")

    # ------------------------------------------------------------------- account
    @_api()
    def account_info(self) -> AccountInfo:
        """Balance, equity, margin and the account's fixed properties."""
        ledger = self._ledger
        acct = self._server.account
        profit = round(ledger.floating(), 2)
        equity = round(ledger.balance + profit, 2)
        margin = round(ledger.margin(), 2)
        level = round(equity / margin * 100, 2) if margin else 0.0
        return AccountInfo(
            (
                acct.login,
                C.ACCOUNT_TRADE_MODE_DEMO,
                acct.leverage,
                acct.limit_orders,
                C.ACCOUNT_STOPOUT_MODE_PERCENT,
                True,
                True,
                self._margin_mode,
                2,
                False,
                round(ledger.balance, 2),
                0.0,
                profit,
                equity,
                margin,
                round(equity - margin, 2),
                level,
                acct.margin_call,
                acct.stop_out,
                0.0,
                0.0,
                0.0,
                0.0,
                0.0,
                acct.name,
                acct.server,
                acct.currency,
                acct.company,
            )
        )

    @_api()
    def terminal_info(self) -> TerminalInfo:
        """Terminal state; `connected` is False while the trade server is unreachable."""
        return TerminalInfo(
            (
                False,
                False,
                not self.faults.server_down,
                False,
                self.faults.algo_trading,
                False,
                False,
                False,
                False,
                False,
                BUILD,
                100000,
                1252,
                0 if self.faults.server_down else 1500,
                0.0,
                0.0,
                "OMS Simulated Broker",
                "MetaTrader 5",
                "English",
                "sim://terminal",
                "sim://terminal",
                "sim://common",
            )
        )

    # ------------------------------------------------------------------- symbols
    def _symbol_record(self, spec: SymbolSpec) -> SymbolInfo:
        money = self._server.money
        bid, ask = money.quote(spec)
        tick_value = money.to_account(spec, spec.tick_value(), money.mid(spec))
        updated = self.market.updated_msc[spec.name]
        return self._symbol_info.build(
            spec, bid, ask, updated, self._selected[spec.name], tick_value
        )

    @_api()
    def symbols_total(self) -> int:
        """Number of symbols the server offers."""
        return len(self.market.specs)

    @_api()
    def symbols_get(self, group: str | None = None) -> tuple[SymbolInfo, ...]:
        """All symbols, or those matching a group filter."""
        return tuple(
            self._symbol_record(s)
            for s in self.market.specs.values()
            if group_matches(group, s.name)
        )

    @_api()
    def symbol_info(self, symbol: str, /) -> SymbolInfo | None:
        """Specification and prices of one symbol."""
        spec = self.market.specs.get(symbol)
        if spec is None:
            self._error = NOT_FOUND
            return None
        return self._symbol_record(spec)

    @_api()
    def symbol_info_tick(self, symbol: str, /) -> Tick | None:
        """Last bid/ask of one symbol, with the price and volume of its last trade."""
        spec = self.market.specs.get(symbol)
        if spec is None:
            self._error = NOT_FOUND
            return None
        bid, ask = self._server.money.quote(spec)
        msc = self.market.updated_msc[symbol]
        flags = C.TICK_FLAG_BID | C.TICK_FLAG_ASK
        history = self.market.history[symbol]
        lots = history.last_lots
        return Tick((msc // 1000, bid, ask, history.last, round(lots), msc, flags, lots))

    @_api(False)
    def symbol_select(self, symbol: str, enable: bool = True, /) -> bool:
        """Show or hide a symbol in Market Watch."""
        if symbol not in self.market.specs:
            self._error = NOT_FOUND
            return False
        self._selected[symbol] = bool(enable)
        return True

    @_api(False)
    def market_book_add(self, symbol: str, /) -> bool:
        """Subscribe to a symbol's depth of market."""
        if symbol not in self.market.specs:
            self._error = NOT_FOUND
            return False
        self._books.add(symbol)
        return True

    @_api(False)
    def market_book_release(self, symbol: str, /) -> bool:
        """Unsubscribe from a symbol's depth of market."""
        if symbol not in self._books:
            self._error = NOT_FOUND
            return False
        self._books.discard(symbol)
        return True

    @_api()
    def market_book_get(self, symbol: str, /) -> tuple[BookInfo, ...] | None:
        """Depth of market: asks from the highest price down, then bids from the highest down."""
        if symbol not in self._books:
            self._error = NOT_FOUND
            return None
        spec = self.market.specs[symbol]
        tick, step, digits = spec.tick_size, spec.volume_step, spec.digits
        bids, asks = self.market.books[symbol].depth()
        out = []
        for side, levels in ((C.BOOK_TYPE_SELL, reversed(asks)), (C.BOOK_TYPE_BUY, bids)):
            for px, qty in levels:
                lots = round(qty * step, 8)
                out.append(BookInfo((side, round(px * tick, digits), round(lots), lots)))
        return tuple(out)

    # ------------------------------------------------------------ history
    @_api()
    def copy_rates_from(
        self, symbol: str, timeframe: int, date_from: object, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """Up to `count` bars opened at or before `date_from`, oldest first."""
        history = self._history(symbol, timeframe, count)
        seconds = self._date(date_from)
        if history is None or seconds is None:
            return None
        bars = history.bars(timeframe)
        end = bisect.bisect_right(bars, seconds, key=itemgetter(0))
        return rate_array(bars[max(0, end - count) : end])

    @_api()
    def copy_rates_from_pos(
        self, symbol: str, timeframe: int, start_pos: int, count: int, /
    ) -> npt.NDArray[np.void] | None:
        """Up to `count` bars ending `start_pos` bars before the current one (0), oldest first."""
        if not _count_ok(start_pos):
            self._error = INVALID_ARGS
            return None
        history = self._history(symbol, timeframe, count)
        if history is None:
            return None
        bars = history.bars(timeframe)
        end = max(0, len(bars) - start_pos)
        return rate_array(bars[max(0, end - count) : end])

    @_api()
    def copy_rates_range(
        self, symbol: str, timeframe: int, date_from: object, date_to: object, /
    ) -> npt.NDArray[np.void] | None:
        """The bars opened from `date_from` to `date_to`, both included, oldest first."""
        history = self._history(symbol, timeframe, 0)
        start, end = self._date(date_from), self._date(date_to)
        if history is None or start is None or end is None:
            return None
        bars = history.bars(timeframe)
        opened = itemgetter(0)
        first = bisect.bisect_left(bars, start, key=opened)
        return rate_array(bars[first : bisect.bisect_right(bars, end, key=opened)])

    @_api()
    def copy_ticks_from(
        self, symbol: str, date_from: object, count: int, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """Up to `count` ticks at or after `date_from` of the kind `flags` selects."""
        history = self._tick_history(symbol, flags, count)
        seconds = self._date(date_from)
        if history is None or seconds is None:
            return None
        return history.ticks_from(seconds * 1000, count, flags)

    @_api()
    def copy_ticks_range(
        self, symbol: str, date_from: object, date_to: object, flags: int, /
    ) -> npt.NDArray[np.void] | None:
        """The ticks from `date_from` to `date_to` (seconds, both included) of the kind asked."""
        history = self._tick_history(symbol, flags, 0)
        start, end = self._date(date_from), self._date(date_to)
        if history is None or start is None or end is None:
            return None
        return history.ticks_range(start * 1000, end * 1000 + 999, flags)

    def _history(self, symbol: str, timeframe: int, count: int) -> SymbolHistory | None:
        """The symbol's history, or None with last_error set when an argument is wrong."""
        if type(timeframe) is not int or timeframe not in TIMEFRAMES or not _count_ok(count):
            self._error = INVALID_ARGS
            return None
        return self._symbol_history(symbol)

    def _tick_history(self, symbol: str, flags: int, count: int) -> SymbolHistory | None:
        if type(flags) is not int or flags not in TICK_SELECTIONS or not _count_ok(count):
            self._error = INVALID_ARGS
            return None
        return self._symbol_history(symbol)

    def _symbol_history(self, symbol: str) -> SymbolHistory | None:
        if not isinstance(symbol, str):
            self._error = INVALID_ARGS
            return None
        history = self.market.history.get(symbol)
        if history is None:
            self._error = NOT_FOUND
        return history

    def _date(self, value: object) -> int | None:
        """Whole epoch seconds of a date argument, or None with last_error set."""
        try:
            return int(_seconds(value))
        except TypeError:
            self._error = INVALID_ARGS
            return None

    # ------------------------------------------------------------ orders/positions
    @_api()
    def orders_total(self) -> int:
        """Number of working orders."""
        return len(self._ledger.orders)

    @_api()
    def orders_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradeOrder, ...]:
        """Working orders, filtered by symbol, group or ticket (keyword arguments only)."""
        orders: list[OrderState] = list(self._ledger.orders.values())
        if ticket is not None:
            orders = [o for o in orders if o.ticket == ticket]
        if symbol is not None:
            orders = [o for o in orders if o.spec.name == symbol]
        if group is not None:
            orders = [o for o in orders if group_matches(group, o.spec.name)]
        return self._ledger.order_records(orders)

    @_api()
    def positions_total(self) -> int:
        """Number of open positions."""
        return len(self._ledger.positions)

    @_api()
    def positions_get(
        self, *, symbol: str | None = None, group: str | None = None, ticket: int | None = None
    ) -> tuple[TradePosition, ...]:
        """Open positions, filtered by symbol, group or ticket (keyword arguments only)."""
        positions = sorted(
            self._ledger.positions.values(), key=lambda p: (p.time_msc, p.identifier)
        )
        if ticket is not None:
            positions = [p for p in positions if p.ticket == ticket]
        if symbol is not None:
            positions = [p for p in positions if p.spec.name == symbol]
        if group is not None:
            positions = [p for p in positions if group_matches(group, p.spec.name)]
        return self._ledger.position_records(positions)

    def _range_msc(self, date_from: object, date_to: object) -> tuple[int, int] | None:
        try:
            start, end = _seconds(date_from), _seconds(date_to)
        except TypeError:
            self._error = INVALID_ARGS
            return None
        return round(start * 1000), round(end * 1000) + 999

    @_api()
    def history_orders_total(self, date_from: object, date_to: object) -> int | None:
        """Number of finished orders whose time_done lies in the range."""
        rng = self._range_msc(date_from, date_to)
        return None if rng is None else len(self._ledger.history_between(*rng))

    @_api()
    def history_orders_get(
        self,
        date_from: object = None,
        date_to: object = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeOrder, ...] | None:
        """Finished orders by time range (on time_done, unverified live), ticket or position."""
        ledger = self._ledger
        if ticket is not None:
            order = ledger.history.get(ticket)
            return ledger.order_records([order] if order is not None else [])
        if position is not None:
            return ledger.order_records(ledger.history_of_position(position))
        if date_from is None or date_to is None:
            self._error = INVALID_ARGS
            return None
        rng = self._range_msc(date_from, date_to)
        if rng is None:
            return None
        orders = ledger.history_between(*rng)
        if group is not None:
            orders = [o for o in orders if group_matches(group, o.spec.name)]
        return ledger.order_records(orders)

    @_api()
    def history_deals_total(self, date_from: object, date_to: object) -> int | None:
        """Number of deals in the time range."""
        rng = self._range_msc(date_from, date_to)
        return None if rng is None else len(self._ledger.deals_between(*rng))

    @_api()
    def history_deals_get(
        self,
        date_from: object = None,
        date_to: object = None,
        group: str | None = None,
        ticket: int | None = None,
        position: int | None = None,
    ) -> tuple[TradeDeal, ...] | None:
        """Deals by time range, by ORDER ticket (`ticket=`) or by position id (`position=`)."""
        ledger = self._ledger
        if ticket is not None:
            return tuple(ledger.deals_of_order(ticket))
        if position is not None:
            return tuple(ledger.deals_of_position(position))
        if date_from is None or date_to is None:
            self._error = INVALID_ARGS
            return None
        rng = self._range_msc(date_from, date_to)
        if rng is None:
            return None
        deals = ledger.deals_between(*rng)
        if group is not None:
            deals = [d for d in deals if group_matches(group, d.symbol)]
        return tuple(deals)

    # -------------------------------------------------------------------- trading
    def _result(self, outcome: Outcome, req: TradeRequest) -> OrderSendResult:
        self._request_id += 1
        retcode = outcome.retcode
        return trusted(
            OrderSendResult,
            (
                retcode,
                outcome.deal,
                outcome.order,
                outcome.volume,
                outcome.price,
                outcome.bid,
                outcome.ask,
                RETCODE_COMMENTS.get(retcode, "Request rejected"),
                self._request_id,
                0,
                req,
            ),
        )

    def _gate(self, req: TradeRequest) -> Outcome | None:
        """Refusals that happen before the trade server sees the request."""
        faults = self.faults
        if not faults.algo_trading:
            return Outcome(C.TRADE_RETCODE_CLIENT_DISABLES_AT)
        if faults.server_down:
            return Outcome(C.TRADE_RETCODE_CONNECTION)
        if faults.rejects:
            return Outcome(faults.rejects.pop(0))
        return None

    @_api()
    def order_send(self, request: dict[str, Any], /) -> OrderSendResult | None:
        """Send a trade request; None with (-2, 'Invalid "<field>" argument') on a bad field."""
        try:
            req = validate_request(request)
        except InvalidRequest as exc:
            self._error = (C.RES_E_INVALID_PARAMS, exc.message)
            return None
        outcome = self._gate(req) or self._server.send(req)
        result = self._result(outcome, req)
        if self.faults.drop_acks:
            self.faults.drop_acks -= 1
            self._error = IPC_TIMEOUT
            return None
        return result

    @_api()
    def order_check(self, request: dict[str, Any], /) -> OrderCheckResult | None:
        """Check a request without sending it: retcode 0 and 'Done' when it would pass."""
        try:
            req = validate_request(request)
        except InvalidRequest as exc:
            self._error = (C.RES_E_INVALID_PARAMS, exc.message)
            return None
        ledger = self._ledger
        outcome = self._gate(req) or self._server.send(req, dry_run=True)
        profit = ledger.floating()
        equity = ledger.balance + profit
        margin = ledger.margin()
        spec = self.market.specs.get(req.symbol)
        if (
            outcome.retcode == 0
            and spec is not None
            and req.action in (C.TRADE_ACTION_DEAL, C.TRADE_ACTION_PENDING)
        ):
            steps = round(req.volume / spec.volume_step)
            buy = req.type % 2 == 0
            margin += max(0.0, ledger.margin_increase(spec, buy, steps, req.position))
        level = equity / margin * 100 if margin else 0.0
        comment = "Done" if outcome.retcode == 0 else RETCODE_COMMENTS.get(outcome.retcode, "")
        return OrderCheckResult(
            (
                outcome.retcode,
                round(ledger.balance, 2),
                round(equity, 2),
                round(profit, 2),
                round(margin, 2),
                round(equity - margin, 2),
                round(level, 2),
                comment,
                req,
            )
        )

    @_api()
    def order_calc_margin(
        self, action: int, symbol: str, volume: float, price: float, /
    ) -> float | None:
        """Margin of a buy or sell of `volume` lots at `price`, in account currency."""
        spec = self.market.specs.get(symbol)
        if spec is None or action not in (C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL) or volume <= 0:
            self._error = INVALID_ARGS
            return None
        return round(self._server.money.margin_for(spec, volume, price), 2)

    @_api()
    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float, /
    ) -> float | None:
        """Profit of a buy or sell opened and closed at the given prices, in account currency."""
        spec = self.market.specs.get(symbol)
        if spec is None or action not in (C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL) or volume <= 0:
            self._error = INVALID_ARGS
            return None
        buy = action == C.ORDER_TYPE_BUY
        return round(self._server.money.profit_for(spec, buy, volume, price_open, price_close), 2)
