"""The simulated trade server: validates requests, matches them on the book, keeps the ledger.

It owns orders, positions, deals and the balance of one account (netting or hedging), and
reacts to every market update: limit, stop and stop-limit orders trigger, SL/TP close
positions, DAY/SPECIFIED orders expire. Retcodes follow the MetaTrader 5 trade server; where
the real behaviour is not documented the choice is named in the method's docstring.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from oms.broker.sim.constants import (
    EXPIRATION_DAY_BIT,
    EXPIRATION_GTC_BIT,
    EXPIRATION_SPECIFIED_BIT,
    EXPIRATION_SPECIFIED_DAY_BIT,
    FILLING_BOC_BIT,
    FILLING_FOK_BIT,
    FILLING_IOC_BIT,
    C,
)
from oms.broker.sim.market import DAY_MSC, Market
from oms.broker.sim.records import TradeDeal, TradeOrder, TradePosition, TradeRequest
from oms.broker.sim.state import OrderState, PositionState
from oms.broker.sim.symbols import SymbolSpec

BUY, SELL = C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL
BUY_LIMIT, SELL_LIMIT = C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_SELL_LIMIT
BUY_STOP, SELL_STOP = C.ORDER_TYPE_BUY_STOP, C.ORDER_TYPE_SELL_STOP
BUY_STOP_LIMIT, SELL_STOP_LIMIT = C.ORDER_TYPE_BUY_STOP_LIMIT, C.ORDER_TYPE_SELL_STOP_LIMIT
FOK, IOC, RETURN, BOC = (
    C.ORDER_FILLING_FOK,
    C.ORDER_FILLING_IOC,
    C.ORDER_FILLING_RETURN,
    C.ORDER_FILLING_BOC,
)
GTC, DAY, SPECIFIED, SPECIFIED_DAY = (
    C.ORDER_TIME_GTC,
    C.ORDER_TIME_DAY,
    C.ORDER_TIME_SPECIFIED,
    C.ORDER_TIME_SPECIFIED_DAY,
)
PLACED, CANCELED, PARTIAL, FILLED, REJECTED, EXPIRED = (
    C.ORDER_STATE_PLACED,
    C.ORDER_STATE_CANCELED,
    C.ORDER_STATE_PARTIAL,
    C.ORDER_STATE_FILLED,
    C.ORDER_STATE_REJECTED,
    C.ORDER_STATE_EXPIRED,
)
IN, OUT, INOUT, OUT_BY = (
    C.DEAL_ENTRY_IN,
    C.DEAL_ENTRY_OUT,
    C.DEAL_ENTRY_INOUT,
    C.DEAL_ENTRY_OUT_BY,
)
EXPERT = C.ORDER_REASON_EXPERT
INSTANT_LIKE = (C.SYMBOL_TRADE_EXECUTION_INSTANT, C.SYMBOL_TRADE_EXECUTION_REQUEST)
EXPIRATION_BITS = {
    GTC: EXPIRATION_GTC_BIT,
    DAY: EXPIRATION_DAY_BIT,
    SPECIFIED: EXPIRATION_SPECIFIED_BIT,
    SPECIFIED_DAY: EXPIRATION_SPECIFIED_DAY_BIT,
}
ORDER_MODE_BITS = {BUY: 1, SELL: 1, BUY_LIMIT: 2, SELL_LIMIT: 2, BUY_STOP: 4, SELL_STOP: 4}
ORDER_MODE_BITS.update({BUY_STOP_LIMIT: 8, SELL_STOP_LIMIT: 8})
ORDER_MODE_CLOSEBY = 64

R_DONE = C.TRADE_RETCODE_DONE


class Outcome(NamedTuple):
    """What the server answered; the terminal turns it into an OrderSendResult."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    bid: float = 0.0
    ask: float = 0.0


class AccountSettings(NamedTuple):
    """Fixed properties of the simulated account."""

    login: int
    hedging: bool
    leverage: int
    currency: str
    commission_per_lot: float
    name: str
    server: str
    company: str
    limit_orders: int = 200


def _on_grid(price: float, tick: float) -> bool:
    x = price / tick
    return abs(x - round(x)) < 1e-6


class TradeServer:
    """Orders, positions, deals and balance of one account, matched against the market."""

    def __init__(self, market: Market, account: AccountSettings, balance: float) -> None:
        self.market = market
        self.account = account
        self.hedging = account.hedging
        self.balance = balance
        self.orders: dict[int, OrderState] = {}
        self.history: dict[int, OrderState] = {}
        self._history_seq: list[OrderState] = []
        self._history_done: list[int] = []
        self.positions: dict[int, PositionState] = {}
        self.deals: list[TradeDeal] = []
        self._deal_times: list[int] = []
        self._deals_by_order: dict[int, list[TradeDeal]] = {}
        self._deals_by_position: dict[int, list[TradeDeal]] = {}
        self._orders_by_symbol: dict[str, dict[int, OrderState]] = {s: {} for s in market.specs}
        self._positions_by_symbol: dict[str, dict[int, PositionState]] = {
            s: {} for s in market.specs
        }
        self._netting: dict[str, PositionState] = {}
        # per symbol: buy steps, sum(steps x open price), sell steps, sum(steps x open price)
        self._exposure: dict[str, list[float]] = {s: [0, 0.0, 0, 0.0] for s in market.specs}
        self._last_quote: dict[str, tuple[float, float]] = {}
        self._next_order = 10_000_000
        self._next_deal = 50_000_000
        self.rewrite_comment: Callable[[str], str] | None = None
        market.listen(self.on_market)

    # ----------------------------------------------------------------- prices and money
    def quote(self, spec: SymbolSpec) -> tuple[float, float]:
        """Best bid and ask as prices; the last known ones when a side is empty."""
        book = self.market.books[spec.name]
        last = self._last_quote.get(spec.name, (0.0, 0.0))
        tick = spec.tick_size
        bid = round(book.bid_px[0] * tick, spec.digits) if book.bid_px else last[0]
        ask = round(book.ask_px[0] * tick, spec.digits) if book.ask_px else last[1]
        if (bid, ask) != last:
            self._last_quote[spec.name] = (bid, ask)
        return bid, ask

    def _mid(self, spec: SymbolSpec) -> float:
        bid, ask = self.quote(spec)
        return (bid + ask) / 2 if bid and ask else bid or ask

    def to_account(self, spec: SymbolSpec, amount: float, mid: float) -> float:
        """Convert an amount in the symbol's profit currency to the account currency."""
        if spec.currency_profit == self.account.currency or not mid:
            return amount
        if spec.currency_base == self.account.currency:
            return amount / mid
        return amount

    def margin_for(self, spec: SymbolSpec, lots: float, price: float) -> float:
        """Margin of `lots` at `price`: contract value over leverage, in account currency."""
        rate = 1.0 if spec.currency_base == self.account.currency else price
        return lots * spec.contract_size * rate / self.account.leverage

    def profit_for(
        self, spec: SymbolSpec, buy: bool, lots: float, open_: float, close: float
    ) -> float:
        """Profit of a trade opened at `open_` and closed at `close`, in account currency."""
        diff = (close - open_) if buy else (open_ - close)
        return self.to_account(spec, diff * lots * spec.contract_size, close)

    def _symbol_margin(self, spec: SymbolSpec, buy_steps: float, sell_steps: float) -> float:
        lots = max(buy_steps, sell_steps) * spec.volume_step
        return self.margin_for(spec, lots, self._mid(spec)) if lots else 0.0

    def floating(self) -> float:
        """Unrealised profit of all positions, in account currency."""
        total = 0.0
        for name, (bs, bn, ss, sn) in self._exposure.items():
            if not bs and not ss:
                continue
            spec = self.market.specs[name]
            bid, ask = self.quote(spec)
            diff = (bid * bs - bn) + (sn - ask * ss)
            total += self.to_account(
                spec, diff * spec.volume_step * spec.contract_size, self._mid(spec)
            )
        return total

    def margin(self) -> float:
        """Margin held by all positions (the larger leg per symbol; hedged volume is free)."""
        total = 0.0
        for name, (bs, _, ss, _) in self._exposure.items():
            if bs or ss:
                total += self._symbol_margin(self.market.specs[name], bs, ss)
        return total

    def _margin_increase(self, spec: SymbolSpec, buy: bool, steps: int, closes: int) -> float:
        """Extra margin an execution of `steps` would need (negative or zero when it reduces)."""
        bs, _, ss, _ = self._exposure[spec.name]
        nbs, nss = bs, ss
        if self.hedging:
            if closes:
                nbs, nss = (bs, ss - steps) if buy else (bs - steps, ss)
            elif buy:
                nbs = bs + steps
            else:
                nss = ss + steps
        else:
            net = bs - ss + (steps if buy else -steps)
            nbs, nss = max(net, 0), max(-net, 0)
        if nbs <= bs and nss <= ss:
            return 0.0
        return self._symbol_margin(spec, nbs, nss) - self._symbol_margin(spec, bs, ss)

    def _no_money(self, spec: SymbolSpec, buy: bool, steps: int, closes: int) -> bool:
        extra = self._margin_increase(spec, buy, steps, closes)
        if extra <= 0:
            return False
        free = self.balance + self.floating() - self.margin()
        return extra > free + 1e-9

    # ----------------------------------------------------------------------- requests
    def send(
        self,
        req: TradeRequest,
        reason: int = EXPERT,
        magic_override: int | None = None,
        dry_run: bool = False,
    ) -> Outcome:
        """Handle one validated request; `dry_run` stops after the checks (order_check)."""
        action = req.action
        if action == C.TRADE_ACTION_DEAL:
            return self._deal(req, reason, dry_run)
        if action == C.TRADE_ACTION_PENDING:
            return self._pending(req, reason, dry_run)
        if action == C.TRADE_ACTION_SLTP:
            return self._sltp(req, dry_run)
        if action == C.TRADE_ACTION_MODIFY:
            return self._modify(req, dry_run)
        if action == C.TRADE_ACTION_REMOVE:
            return self._remove(req, dry_run)
        if action == C.TRADE_ACTION_CLOSE_BY:
            return self._close_by(req, reason, dry_run)
        return Outcome(C.TRADE_RETCODE_INVALID)

    def _spec_or_none(self, symbol: str) -> SymbolSpec | None:
        return self.market.specs.get(symbol)

    def _volume_steps(self, spec: SymbolSpec, volume: float) -> int:
        """Volume in steps, or 0 when it is off the step grid or outside min/max."""
        if volume < spec.volume_min - 1e-12 or volume > spec.volume_max + 1e-12:
            return 0
        x = volume / spec.volume_step
        steps = round(x)
        return steps if abs(x - steps) < 1e-6 else 0

    def _filling_ok(self, spec: SymbolSpec, filling: int, type_: int) -> bool:
        if spec.trade_exemode in INSTANT_LIKE and type_ <= SELL:
            return filling == FOK
        if filling == FOK:
            return bool(spec.filling_mode & FILLING_FOK_BIT)
        if filling == IOC:
            return bool(spec.filling_mode & FILLING_IOC_BIT)
        if filling == RETURN:
            return True
        if filling == BOC:
            limit_like = type_ in (BUY_LIMIT, SELL_LIMIT, BUY_STOP_LIMIT, SELL_STOP_LIMIT)
            return limit_like and bool(spec.filling_mode & FILLING_BOC_BIT)
        return False

    def _stops_ok(self, spec: SymbolSpec, buy: bool, ref: float, sl: float, tp: float) -> bool:
        """SL/TP on the right side of `ref`, at least the stops level (and one tick) away."""
        tick = spec.tick_size
        gap = max(spec.stops_level, 1)
        r = round(ref / tick)
        for value, below in ((sl, buy), (tp, not buy)):
            if not value:
                continue
            if value < 0 or not _on_grid(value, tick):
                return False
            v = round(value / tick)
            if (r - v if below else v - r) < gap:
                return False
        return True

    def _new_order(
        self,
        spec: SymbolSpec,
        req: TradeRequest,
        type_: int,
        steps: int,
        reason: int,
        magic: int,
        comment: str,
    ) -> OrderState:
        self._next_order += 1
        if self.rewrite_comment is not None:
            comment = self.rewrite_comment(comment)
        return OrderState(
            self._next_order,
            spec,
            type_,
            steps,
            self.market.time_msc,
            magic,
            comment,
            reason,
            req.type_filling,
            req.type_time,
            req.expiration,
            req.price,
            req.stoplimit,
            req.sl,
            req.tp,
        )

    def _deal(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Market order. FOK that the book cannot fill, or IOC that fills nothing, gives 10006
        and creates no order (unverified live); a partial IOC/RETURN fill gives 10010."""
        spec = self.market.specs.get(req.symbol)
        if spec is None:
            return Outcome(C.TRADE_RETCODE_INVALID)
        type_ = req.type
        if type_ > SELL:
            return Outcome(C.TRADE_RETCODE_INVALID)
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if spec.trade_mode == C.SYMBOL_TRADE_MODE_DISABLED:
            return Outcome(C.TRADE_RETCODE_TRADE_DISABLED)
        steps = self._volume_steps(spec, req.volume)
        if not steps:
            return Outcome(C.TRADE_RETCODE_INVALID_VOLUME)
        buy = type_ == BUY
        closes = 0
        if req.position:
            pos = self.positions.get(req.position)
            if pos is None:
                return Outcome(C.TRADE_RETCODE_POSITION_CLOSED)
            if pos.spec is not spec:
                return Outcome(C.TRADE_RETCODE_INVALID)
            if self.hedging:
                if (pos.type == BUY) == buy:
                    return Outcome(C.TRADE_RETCODE_INVALID)
                if steps > pos.volume:
                    return Outcome(C.TRADE_RETCODE_INVALID_CLOSE_VOLUME)
                closes = pos.ticket
        if spec.trade_mode != C.SYMBOL_TRADE_MODE_FULL and not closes:
            refused = self._trade_mode_refuses(spec, buy, steps)
            if refused:
                return Outcome(refused)
        if not self._filling_ok(spec, req.type_filling, type_):
            return Outcome(C.TRADE_RETCODE_INVALID_FILL)
        book = self.market.books[spec.name]
        top = book.best_ask if buy else book.best_bid
        if not top:
            return Outcome(C.TRADE_RETCODE_PRICE_OFF)
        if spec.trade_exemode in INSTANT_LIKE:
            asked = round(req.price / spec.tick_size)
            moved = abs(top - asked) * spec.tick_size / spec.point
            if moved > spec.off_quotes_points:
                bid, ask = self.quote(spec)
                return Outcome(C.TRADE_RETCODE_PRICE_OFF, bid=bid, ask=ask)
            if moved > req.deviation:
                bid, ask = self.quote(spec)
                return Outcome(C.TRADE_RETCODE_REQUOTE, bid=bid, ask=ask)
        if not closes and (req.sl or req.tp):
            ref = (book.best_bid if buy else book.best_ask) * spec.tick_size
            if not self._stops_ok(spec, buy, ref, req.sl, req.tp):
                return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if self._no_money(spec, buy, steps, closes):
            return Outcome(C.TRADE_RETCODE_NO_MONEY)
        filling = req.type_filling
        if filling == FOK and book.available(buy) < steps:
            return Outcome(C.TRADE_RETCODE_REJECT)
        if dry_run:
            return Outcome(0)
        order = self._new_order(spec, req, type_, steps, reason, req.magic, req.comment)
        order.closes = closes
        filled, cost = book.take(buy, steps)
        if not filled:
            self._next_order -= 1
            return Outcome(C.TRADE_RETCODE_REJECT)
        deal = self._fill(order, filled, cost, reason)
        price = self.deals[-1].price
        lots = round(filled * spec.volume_step, 8)
        if order.volume_current == 0:
            self._finish(order, FILLED)
            return Outcome(R_DONE, deal, order.ticket, lots, price)
        if filling == RETURN and not closes:
            order.state = PARTIAL
            self._work_on(order)
        else:
            self._finish(order, CANCELED)
        return Outcome(C.TRADE_RETCODE_DONE_PARTIAL, deal, order.ticket, lots, price)

    def _trade_mode_refuses(self, spec: SymbolSpec, buy: bool, steps: int) -> int:
        """Retcode when the symbol's trade mode forbids opening this side, else 0."""
        if not self._opens(spec, buy, steps):
            return 0
        mode = spec.trade_mode
        if mode == C.SYMBOL_TRADE_MODE_CLOSEONLY:
            return C.TRADE_RETCODE_CLOSE_ONLY
        if mode == C.SYMBOL_TRADE_MODE_LONGONLY and not buy:
            return C.TRADE_RETCODE_LONG_ONLY
        if mode == C.SYMBOL_TRADE_MODE_SHORTONLY and buy:
            return C.TRADE_RETCODE_SHORT_ONLY
        return 0

    def _frozen(self, spec: SymbolSpec, price: float, buy: bool) -> bool:
        """Whether `price` lies within the freeze level of the price that would trigger it."""
        if not spec.freeze_level or not price:
            return False
        book = self.market.books[spec.name]
        ref = book.best_ask if buy else book.best_bid
        return bool(ref) and abs(round(price / spec.tick_size) - ref) < spec.freeze_level

    def _opens(self, spec: SymbolSpec, buy: bool, steps: int) -> bool:
        """Whether an execution would add exposure rather than only reduce it."""
        bs, _, ss, _ = self._exposure[spec.name]
        if self.hedging:
            return True
        net = bs - ss
        return (net >= 0) == buy or steps > abs(net)

    def _pending_price_ok(self, spec: SymbolSpec, type_: int, price: float) -> bool:
        if price <= 0 or not _on_grid(price, spec.tick_size):
            return False
        book = self.market.books[spec.name]
        p = round(price / spec.tick_size)
        gap = max(spec.stops_level, 1)
        bid, ask = book.best_bid, book.best_ask
        if type_ == BUY_LIMIT:
            return bool(ask) and ask - p >= gap
        if type_ == SELL_LIMIT:
            return bool(bid) and p - bid >= gap
        if type_ in (BUY_STOP, BUY_STOP_LIMIT):
            return bool(ask) and p - ask >= gap
        return bool(bid) and bid - p >= gap  # SELL_STOP, SELL_STOP_LIMIT

    def _expiry_ok(self, spec: SymbolSpec, type_time: int, expiration: int) -> bool:
        bit = EXPIRATION_BITS.get(type_time)
        if bit is None or not spec.expiration_mode & bit:
            return False
        now_s = self.market.time_msc // 1000
        if type_time == SPECIFIED:
            return expiration > now_s
        if type_time == SPECIFIED_DAY:
            return expiration // 86400 >= now_s // 86400
        return True

    def _expires_msc(self, type_time: int, expiration: int) -> int:
        now = self.market.time_msc
        if type_time == DAY:
            return (now // DAY_MSC + 1) * DAY_MSC
        if type_time == SPECIFIED:
            return expiration * 1000
        if type_time == SPECIFIED_DAY:
            return (expiration * 1000 // DAY_MSC + 1) * DAY_MSC
        return 0

    def _pending(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Place a limit, stop or stop-limit order: 10008 and state PLACED."""
        spec = self.market.specs.get(req.symbol)
        if spec is None:
            return Outcome(C.TRADE_RETCODE_INVALID)
        type_ = req.type
        if (
            type_ not in ORDER_MODE_BITS
            or type_ <= SELL
            or not spec.order_mode & ORDER_MODE_BITS[type_]
        ):
            return Outcome(C.TRADE_RETCODE_INVALID_ORDER)
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if spec.trade_mode == C.SYMBOL_TRADE_MODE_DISABLED:
            return Outcome(C.TRADE_RETCODE_TRADE_DISABLED)
        steps = self._volume_steps(spec, req.volume)
        if not steps:
            return Outcome(C.TRADE_RETCODE_INVALID_VOLUME)
        if spec.trade_mode != C.SYMBOL_TRADE_MODE_FULL:
            refused = self._trade_mode_refuses(spec, type_ % 2 == 0, steps)
            if refused:
                return Outcome(refused)
        if len(self.orders) >= self.account.limit_orders:
            return Outcome(C.TRADE_RETCODE_LIMIT_ORDERS)
        if not self._pending_price_ok(spec, type_, req.price):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        stop_limit = type_ in (BUY_STOP_LIMIT, SELL_STOP_LIMIT)
        if stop_limit and (req.stoplimit <= 0 or not _on_grid(req.stoplimit, spec.tick_size)):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        ref = req.stoplimit if stop_limit else req.price
        if not self._stops_ok(spec, type_ % 2 == 0, ref, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if not self._filling_ok(spec, req.type_filling, type_):
            return Outcome(C.TRADE_RETCODE_INVALID_FILL)
        if not self._expiry_ok(spec, req.type_time, req.expiration):
            return Outcome(C.TRADE_RETCODE_INVALID_EXPIRATION)
        if dry_run:
            return Outcome(0)
        order = self._new_order(spec, req, type_, steps, reason, req.magic, req.comment)
        if not stop_limit:
            order.price_stoplimit = 0.0
        order.time_expiration = req.expiration if req.type_time in (SPECIFIED, SPECIFIED_DAY) else 0
        order.expires_msc = self._expires_msc(req.type_time, req.expiration)
        order.state = PLACED
        self._work_on(order)
        return Outcome(C.TRADE_RETCODE_PLACED, 0, order.ticket, req.volume, req.price)

    def _position_for(self, req: TradeRequest) -> PositionState | None:
        if req.position:
            return self.positions.get(req.position)
        if not self.hedging:
            return self._netting.get(req.symbol)
        return None

    def _sltp(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Set SL/TP of a position (`position`, or `symbol` on netting); unchanged is 10025."""
        pos = self._position_for(req)
        if pos is None:
            return Outcome(
                C.TRADE_RETCODE_POSITION_CLOSED if req.position else C.TRADE_RETCODE_INVALID
            )
        spec = pos.spec
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if req.sl == pos.sl and req.tp == pos.tp:
            return Outcome(C.TRADE_RETCODE_NO_CHANGES)
        buy = pos.type == BUY
        if self._frozen(spec, pos.sl, not buy) or self._frozen(spec, pos.tp, not buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        bid, ask = self.quote(spec)
        if not self._stops_ok(spec, buy, bid if buy else ask, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if dry_run:
            return Outcome(0)
        pos.sl, pos.tp = req.sl, req.tp
        pos.time_update_msc = self.market.time_msc
        return Outcome(R_DONE)

    def _modify(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Change price, stop-limit, SL/TP and expiry of a working pending order."""
        order = self.orders.get(req.order)
        if order is None or order.type <= SELL or order.triggered:
            return Outcome(C.TRADE_RETCODE_INVALID)
        spec = order.spec
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        stop_limit = order.type in (BUY_STOP_LIMIT, SELL_STOP_LIMIT)
        stoplimit = req.stoplimit if stop_limit else order.price_stoplimit
        expiration = req.expiration if req.type_time in (SPECIFIED, SPECIFIED_DAY) else 0
        if (
            req.price == order.price_open
            and stoplimit == order.price_stoplimit
            and req.sl == order.sl
            and req.tp == order.tp
            and req.type_time == order.type_time
            and expiration == order.time_expiration
        ):
            return Outcome(C.TRADE_RETCODE_NO_CHANGES)
        if self._frozen(spec, order.price_open, order.buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        if not self._pending_price_ok(spec, order.type, req.price):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        if stop_limit and (stoplimit <= 0 or not _on_grid(stoplimit, spec.tick_size)):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        ref = stoplimit if stop_limit else req.price
        if not self._stops_ok(spec, order.buy, ref, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if not self._expiry_ok(spec, req.type_time, req.expiration):
            return Outcome(C.TRADE_RETCODE_INVALID_EXPIRATION)
        if dry_run:
            return Outcome(0)
        order.price_open, order.price_stoplimit = req.price, stoplimit
        order.sl, order.tp = req.sl, req.tp
        order.type_time, order.time_expiration = req.type_time, expiration
        order.expires_msc = self._expires_msc(req.type_time, req.expiration)
        return Outcome(R_DONE, 0, order.ticket, 0.0, req.price)

    def _remove(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Cancel a working order: it goes to history CANCELED."""
        order = self.orders.get(req.order)
        if order is None:
            return Outcome(C.TRADE_RETCODE_INVALID)
        if not self.market.is_open(order.spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if order.type > SELL and self._frozen(order.spec, order.price_open, order.buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        if dry_run:
            return Outcome(0)
        self._finish(order, CANCELED)
        return Outcome(R_DONE, 0, order.ticket)

    def _close_by(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Close two opposite positions of one symbol against each other (hedging only).

        One ORDER_TYPE_CLOSE_BY order and two DEAL_ENTRY_OUT_BY deals: the first closes
        `position` at the open price of `position_by` and carries the whole profit; the second
        closes `position_by` at its own open price, with zero profit.
        """
        if not self.hedging:
            return Outcome(C.TRADE_RETCODE_INVALID)
        pos = self.positions.get(req.position)
        by = self.positions.get(req.position_by)
        if pos is None or by is None:
            return Outcome(C.TRADE_RETCODE_POSITION_CLOSED)
        spec = pos.spec
        if by.spec is not spec or by.type == pos.type or pos is by:
            return Outcome(C.TRADE_RETCODE_INVALID)
        if not spec.order_mode & ORDER_MODE_CLOSEBY:
            return Outcome(C.TRADE_RETCODE_INVALID_ORDER)
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if dry_run:
            return Outcome(0)
        steps = min(pos.volume, by.volume)
        order = self._new_order(
            spec, req, C.ORDER_TYPE_CLOSE_BY, steps, reason, req.magic, req.comment
        )
        order.type_filling, order.type_time, order.time_expiration = FOK, GTC, 0
        order.price_open = order.price_stoplimit = order.sl = order.tp = 0.0
        order.position_id, order.position_by_id = pos.identifier, by.identifier
        lots = round(steps * spec.volume_step, 8)
        profit = self.profit_for(spec, pos.type == BUY, lots, pos.price_open, by.price_open)
        first = self._add_deal(
            order, 1 - pos.type, OUT_BY, pos, lots, by.price_open, profit, reason, 0.0
        )
        self._add_deal(order, 1 - by.type, OUT_BY, by, lots, by.price_open, 0.0, reason, 0.0)
        self.balance += round(profit, 2)
        now = self.market.time_msc
        self._reduce(pos, steps, now)
        self._reduce(by, steps, now)
        order.volume_current = 0
        self._finish(order, FILLED)
        return Outcome(R_DONE, first, order.ticket, lots, by.price_open)

    # ------------------------------------------------------------------ execution core
    def _work_on(self, order: OrderState) -> None:
        self.orders[order.ticket] = order
        self._orders_by_symbol[order.spec.name][order.ticket] = order

    def _finish(self, order: OrderState, state: int) -> None:
        if self.orders.pop(order.ticket, None) is not None:
            del self._orders_by_symbol[order.spec.name][order.ticket]
        order.state = state
        order.time_done_msc = self.market.time_msc
        self.history[order.ticket] = order
        self._history_seq.append(order)
        self._history_done.append(order.time_done_msc)

    def _add_deal(
        self,
        order: OrderState,
        type_: int,
        entry: int,
        pos: PositionState,
        lots: float,
        price: float,
        profit: float,
        reason: int,
        commission: float,
    ) -> int:
        self._next_deal += 1
        now = self.market.time_msc
        deal = TradeDeal(
            (
                self._next_deal,
                order.ticket,
                now // 1000,
                now,
                type_,
                entry,
                order.magic,
                pos.identifier,
                reason,
                lots,
                price,
                commission,
                0.0,
                round(profit, 2),
                0.0,
                order.spec.name,
                order.comment,
                "",
            )
        )
        self.deals.append(deal)
        self._deal_times.append(now)
        self._deals_by_order.setdefault(order.ticket, []).append(deal)
        self._deals_by_position.setdefault(pos.identifier, []).append(deal)
        return self._next_deal

    def _expose(self, pos: PositionState, sign: int) -> None:
        e = self._exposure[pos.spec.name]
        if pos.type == BUY:
            e[0] += sign * pos.volume
            e[1] += sign * pos.volume * pos.price_open
        else:
            e[2] += sign * pos.volume
            e[3] += sign * pos.volume * pos.price_open

    def _add_position(self, pos: PositionState) -> None:
        self.positions[pos.ticket] = pos
        self._positions_by_symbol[pos.spec.name][pos.ticket] = pos
        if not self.hedging:
            self._netting[pos.spec.name] = pos
        self._expose(pos, 1)

    def _drop_position(self, pos: PositionState) -> None:
        self._expose(pos, -1)
        del self.positions[pos.ticket]
        del self._positions_by_symbol[pos.spec.name][pos.ticket]
        if not self.hedging:
            del self._netting[pos.spec.name]

    def _reduce(self, pos: PositionState, steps: int, now: int) -> None:
        if steps >= pos.volume:
            self._drop_position(pos)
            return
        self._expose(pos, -1)
        pos.volume -= steps
        pos.time_update_msc = now
        self._expose(pos, 1)

    def _fill(self, order: OrderState, filled: int, cost: int, reason: int) -> int:
        """Book one execution of `order`: a deal, the position change and the balance."""
        spec = order.spec
        price = round(cost * spec.tick_size / filled, spec.digits + 3)
        now = self.market.time_msc
        buy = order.buy
        lots = round(filled * spec.volume_step, 8)
        commission = -round(self.account.commission_per_lot * lots, 2) or 0.0
        deal_type = C.DEAL_TYPE_BUY if buy else C.DEAL_TYPE_SELL
        profit = 0.0
        order.volume_current -= filled
        if self.hedging:
            if order.closes:
                pos = self.positions[order.closes]
                closed = min(filled, pos.volume)
                profit = self.profit_for(
                    spec, pos.type == BUY, closed * spec.volume_step, pos.price_open, price
                )
                entry = OUT
                self._reduce(pos, closed, now)
            else:
                own = self.positions.get(order.ticket)  # a later fill of a partly filled order
                if own is None:
                    pos = self._open(order, filled, price, now)
                else:
                    pos = own
                    self._grow(pos, filled, price, now)
                entry = IN
        else:
            existing = self._netting.get(spec.name)
            if existing is None:
                pos = self._open(order, filled, price, now)
                entry = IN
            else:
                pos = existing
                entry, profit = self._net(pos, order, filled, price, now)
        order.position_id = pos.identifier
        ticket = self._add_deal(
            order, deal_type, entry, pos, lots, price, profit, reason, commission
        )
        self.balance += round(profit, 2) + commission
        return ticket

    def _net(
        self, pos: PositionState, order: OrderState, filled: int, price: float, now: int
    ) -> tuple[int, float]:
        """Apply an execution to the netting position; returns the deal entry and profit."""
        spec = pos.spec
        buy = order.buy
        if (pos.type == BUY) == buy:
            self._grow(pos, filled, price, now)
            if order.sl or order.tp:
                pos.sl, pos.tp = order.sl, order.tp
            return IN, 0.0
        closed = min(filled, pos.volume)
        profit = self.profit_for(
            spec, pos.type == BUY, closed * spec.volume_step, pos.price_open, price
        )
        if filled <= pos.volume:
            self._reduce(pos, filled, now)
            return OUT, profit
        # reversal: the identifier stays, the ticket becomes the reversing order's
        self._drop_position(pos)
        pos.ticket = order.ticket
        pos.type = BUY if buy else SELL
        pos.volume = filled - closed
        pos.price_open = price
        pos.time_update_msc = now
        pos.sl, pos.tp = order.sl, order.tp
        self._add_position(pos)
        return INOUT, profit

    def _grow(self, pos: PositionState, filled: int, price: float, now: int) -> None:
        """Add to a position at `price`; the open price becomes the volume-weighted average."""
        self._expose(pos, -1)
        total = pos.volume + filled
        avg = (pos.price_open * pos.volume + price * filled) / total
        pos.price_open = round(avg, pos.spec.digits + 3)
        pos.volume = total
        pos.time_update_msc = now
        self._expose(pos, 1)

    def _open(self, order: OrderState, filled: int, price: float, now: int) -> PositionState:
        pos = PositionState(
            order.ticket,
            order.spec,
            BUY if order.buy else SELL,
            filled,
            price,
            now,
            order.magic,
            order.comment,
            order.reason if order.reason <= EXPERT else EXPERT,
        )
        pos.sl, pos.tp = order.sl, order.tp
        self._add_position(pos)
        return pos

    # ---------------------------------------------------------------- market reactions
    def on_market(self, symbols: Sequence[str]) -> None:
        """React to new books: expire, trigger and fill working orders, run SL/TP."""
        now = self.market.time_msc
        if self.orders:
            for order in [
                o for o in self.orders.values() if o.expires_msc and o.expires_msc <= now
            ]:
                self._finish(order, EXPIRED)
        for name in symbols:
            working = self._orders_by_symbol[name]
            if working:
                for order in list(working.values()):
                    self._work(order)
            positions = self._positions_by_symbol[name]
            if positions:
                for pos in [p for p in positions.values() if p.sl or p.tp]:
                    self._check_stops(pos)

    def _work(self, order: OrderState) -> None:
        spec = order.spec
        book = self.market.books[spec.name]
        buy = order.buy
        type_ = order.type
        tick = spec.tick_size
        if type_ in (BUY_STOP_LIMIT, SELL_STOP_LIMIT):
            stop = round(order.price_open / tick)
            if not (book.best_ask >= stop if buy else (book.best_bid and book.best_bid <= stop)):
                return
            order.type = type_ = BUY_LIMIT if buy else SELL_LIMIT
            order.price_open = order.price_stoplimit
        if type_ in (BUY_STOP, SELL_STOP) and not order.triggered:
            stop = round(order.price_open / tick)
            if not (book.best_ask >= stop if buy else (book.best_bid and book.best_bid <= stop)):
                return
            order.triggered = True
        limit = 0
        if type_ in (BUY_LIMIT, SELL_LIMIT):
            limit = round(order.price_open / tick)
            top = book.best_ask if buy else book.best_bid
            if not top or (top > limit if buy else top < limit):
                return
        wanted = order.volume_current
        if order.state == PLACED and self._no_money(spec, buy, wanted, order.closes):
            self._finish(order, REJECTED)
            return
        if order.type_filling == FOK and book.available(buy, limit) < wanted:
            if limit:
                return
            self._finish(order, CANCELED)
            return
        filled, cost = book.take(buy, wanted, limit)
        if filled:
            self._fill(order, filled, cost, order.reason)
        if order.volume_current == 0:
            self._finish(order, FILLED)
        elif order.type_filling == IOC:
            self._finish(order, CANCELED)
        elif filled:
            order.state = PARTIAL

    def _check_stops(self, pos: PositionState) -> None:
        spec = pos.spec
        book = self.market.books[spec.name]
        tick = spec.tick_size
        buy = pos.type == BUY
        px = book.best_bid if buy else book.best_ask
        if not px:
            return
        hit = 0
        if pos.sl:
            sl = round(pos.sl / tick)
            if (px <= sl) if buy else (px >= sl):
                hit = C.ORDER_REASON_SL
        if not hit and pos.tp:
            tp = round(pos.tp / tick)
            if (px >= tp) if buy else (px <= tp):
                hit = C.ORDER_REASON_TP
        if not hit:
            return
        filled, cost = book.take(not buy, pos.volume)
        if not filled:
            return
        level = pos.sl if hit == C.ORDER_REASON_SL else pos.tp
        tag = "sl" if hit == C.ORDER_REASON_SL else "tp"
        self._next_order += 1
        order = OrderState(
            self._next_order,
            spec,
            SELL if buy else BUY,
            filled,
            self.market.time_msc,
            pos.magic,
            f"[{tag} {level:.{spec.digits}f}]",
            hit,
            FOK,
        )
        order.closes = pos.ticket if self.hedging else 0
        self._fill(order, filled, cost, hit)
        self._finish(order, FILLED)

    # -------------------------------------------------------------- faults and manual
    def fill_now(self, ticket: int, price: float | None, volume: float | None) -> int:
        """Fill a working order at its own price (or `price`) whatever the book says."""
        order = self.orders[ticket]
        spec = order.spec
        steps = order.volume_current if volume is None else self._volume_steps(spec, volume)
        if not 0 < steps <= order.volume_current:
            raise ValueError(f"cannot fill {volume} lots of order {ticket}")
        px = (
            price
            if price is not None
            else (order.price_open or self.quote(spec)[1 if order.buy else 0])
        )
        if order.type in (BUY_STOP_LIMIT, SELL_STOP_LIMIT) and price is None:
            px = order.price_stoplimit
        deal = self._fill(order, steps, round(px / spec.tick_size) * steps, order.reason)
        if order.volume_current == 0:
            self._finish(order, FILLED)
        else:
            order.state = PARTIAL
        return deal

    def cancel_now(self, ticket: int) -> None:
        """Cancel a working order as the broker or the trader in the terminal would."""
        self._finish(self.orders[ticket], CANCELED)

    def vanish(self, ticket: int) -> None:
        """Make an order disappear from the open orders and from history alike."""
        order = self.orders.pop(ticket, None)
        if order is not None:
            del self._orders_by_symbol[order.spec.name][ticket]
        elif self.history.pop(ticket, None) is None:
            raise KeyError(ticket)

    # ----------------------------------------------------------------------- queries
    def order_records(self, orders: Sequence[OrderState]) -> tuple[TradeOrder, ...]:
        """Records of orders with their symbol's current price."""
        out = []
        for o in orders:
            bid, ask = self.quote(o.spec)
            out.append(o.record(ask if o.buy else bid))
        return tuple(out)

    def position_records(self, positions: Sequence[PositionState]) -> tuple[TradePosition, ...]:
        """Records of positions with current price and floating profit."""
        out = []
        for p in positions:
            spec = p.spec
            bid, ask = self.quote(spec)
            buy = p.type == BUY
            current = bid if buy else ask
            profit = round(self.profit_for(spec, buy, p.lots, p.price_open, current), 2)
            out.append(p.record(current, profit))
        return tuple(out)

    def history_between(self, start_msc: int, end_msc: int) -> list[OrderState]:
        """Finished orders with time_done in [start, end] (ms), in the order they finished."""
        lo = bisect_left(self._history_done, start_msc)
        hi = bisect_right(self._history_done, end_msc)
        history = self.history
        return [o for o in self._history_seq[lo:hi] if history.get(o.ticket) is o]

    def deals_between(self, start_msc: int, end_msc: int) -> list[TradeDeal]:
        """Deals whose time falls in [start, end] (ms)."""
        lo = bisect_left(self._deal_times, start_msc)
        hi = bisect_right(self._deal_times, end_msc)
        return self.deals[lo:hi]

    def deals_of_order(self, ticket: int) -> list[TradeDeal]:
        """Deals made by one order."""
        return self._deals_by_order.get(ticket, [])

    def deals_of_position(self, identifier: int) -> list[TradeDeal]:
        """Deals of one position identifier."""
        return self._deals_by_position.get(identifier, [])

    def history_of_position(self, identifier: int) -> list[OrderState]:
        """Finished orders that opened, changed or closed one position."""
        return [o for o in self.history.values() if identifier in (o.position_id, o.position_by_id)]
