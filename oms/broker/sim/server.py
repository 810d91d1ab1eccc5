"""The simulated trade server: checks each request, matches it on the book, books the result.

Retcodes follow the MetaTrader 5 trade server; where the real behaviour is not documented the
choice is named in the handler's docstring. Bookkeeping lives in `Ledger`, prices and money
in `Money`, reactions to market moves in `Triggers`, the individual checks in `rules`.
"""

from __future__ import annotations

from typing import NamedTuple

from oms.broker.sim import rules
from oms.broker.sim.account import AccountSettings
from oms.broker.sim.constants import C
from oms.broker.sim.ledger import Ledger
from oms.broker.sim.market import Market
from oms.broker.sim.money import Money
from oms.broker.sim.records import TradeRequest
from oms.broker.sim.rules import (
    BUY,
    FOK,
    GTC,
    INSTANT_LIKE,
    ORDER_MODE_BITS,
    ORDER_MODE_CLOSEBY,
    RETURN,
    SELL,
    SPECIFIED,
    SPECIFIED_DAY,
    STOP_LIMITS,
)
from oms.broker.sim.state import PositionState
from oms.broker.sim.swaps import Rollover
from oms.broker.sim.symbols import SymbolSpec
from oms.broker.sim.triggers import Triggers

EXPERT = C.ORDER_REASON_EXPERT
OUT_BY = C.DEAL_ENTRY_OUT_BY
PLACED, CANCELED = C.ORDER_STATE_PLACED, C.ORDER_STATE_CANCELED
PARTIAL, FILLED = C.ORDER_STATE_PARTIAL, C.ORDER_STATE_FILLED
FULL = C.SYMBOL_TRADE_MODE_FULL
R_DONE = C.TRADE_RETCODE_DONE
R_INVALID = C.TRADE_RETCODE_INVALID


class Outcome(NamedTuple):
    """What the server answered; the terminal turns it into an OrderSendResult."""

    retcode: int
    deal: int = 0
    order: int = 0
    volume: float = 0.0
    price: float = 0.0
    bid: float = 0.0
    ask: float = 0.0


class TradeServer:
    """Handles the six trade actions for one account against the simulated market."""

    def __init__(self, market: Market, account: AccountSettings, balance: float) -> None:
        self.market = market
        self.account = account
        self.hedging = account.hedging
        self.money = Money(market, account)
        self.ledger = Ledger(market, account, self.money, balance)
        self.triggers = Triggers(market, self.ledger, Rollover(market, self.ledger))

    def send(self, req: TradeRequest, reason: int = EXPERT, dry_run: bool = False) -> Outcome:
        """Handle one validated request; `dry_run` stops after the checks (order_check)."""
        if req.action == C.TRADE_ACTION_DEAL:
            outcome = self._deal(req, reason, dry_run)
            self.triggers.settle()  # the quote our deal moved reaches our stops at once
            return outcome
        return self._handle(req, reason, dry_run)

    def _handle(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """The requests that take no liquidity from the book."""
        action = req.action
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
        return Outcome(R_INVALID)

    def _trade_mode_refuses(self, spec: SymbolSpec, buy: bool, steps: int) -> int:
        """Retcode when the symbol's trade mode forbids opening this side, else 0."""
        mode = spec.trade_mode
        if mode == FULL or not self.ledger.opens(spec, buy, steps):
            return 0
        if mode == C.SYMBOL_TRADE_MODE_CLOSEONLY:
            return C.TRADE_RETCODE_CLOSE_ONLY
        if mode == C.SYMBOL_TRADE_MODE_LONGONLY and not buy:
            return C.TRADE_RETCODE_LONG_ONLY
        if mode == C.SYMBOL_TRADE_MODE_SHORTONLY and buy:
            return C.TRADE_RETCODE_SHORT_ONLY
        return 0

    def _deal(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Market order, walking the book. FOK that the book cannot fill, or IOC that fills
        nothing, gives 10006 and creates no order (unverified live); a partial IOC or RETURN
        fill gives 10010, and RETURN keeps the rest working (state PARTIAL)."""
        market, ledger = self.market, self.ledger
        spec = market.specs.get(req.symbol)
        if spec is None:
            return Outcome(R_INVALID)
        type_ = req.type
        if type_ > SELL:
            return Outcome(R_INVALID)
        if not market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if spec.trade_mode == C.SYMBOL_TRADE_MODE_DISABLED:
            return Outcome(C.TRADE_RETCODE_TRADE_DISABLED)
        steps = rules.volume_steps(spec, req.volume)
        if not steps:
            return Outcome(C.TRADE_RETCODE_INVALID_VOLUME)
        buy = type_ == BUY
        closes = 0
        if req.position:
            pos = ledger.positions.get(req.position)
            if pos is None:
                return Outcome(C.TRADE_RETCODE_POSITION_CLOSED)
            if pos.spec is not spec:
                return Outcome(R_INVALID)
            if self.hedging:
                if (pos.type == BUY) == buy:
                    return Outcome(R_INVALID)
                if steps > pos.volume:
                    return Outcome(C.TRADE_RETCODE_INVALID_CLOSE_VOLUME)
                closes = pos.ticket
        if not closes:
            refused = self._trade_mode_refuses(spec, buy, steps)
            if refused:
                return Outcome(refused)
        if not rules.filling_ok(spec, req.type_filling, type_):
            return Outcome(C.TRADE_RETCODE_INVALID_FILL)
        book = market.books[spec.name]
        top = book.best_ask if buy else book.best_bid
        if not top:
            return Outcome(C.TRADE_RETCODE_PRICE_OFF)
        if spec.trade_exemode in INSTANT_LIKE:
            moved = abs(top - round(req.price / spec.tick_size)) * spec.tick_size / spec.point
            if moved > spec.off_quotes_points or moved > req.deviation:
                bid, ask = self.money.quote(spec)
                far = moved > spec.off_quotes_points
                retcode = C.TRADE_RETCODE_PRICE_OFF if far else C.TRADE_RETCODE_REQUOTE
                return Outcome(retcode, bid=bid, ask=ask)
        if not closes and (req.sl or req.tp):
            ref = (book.best_bid if buy else book.best_ask) * spec.tick_size
            if not rules.stops_ok(spec, buy, ref, req.sl, req.tp):
                return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if ledger.no_money(spec, buy, steps, closes):
            return Outcome(C.TRADE_RETCODE_NO_MONEY)
        filling = req.type_filling
        if filling == FOK and not book.covers(buy, steps):
            return Outcome(C.TRADE_RETCODE_REJECT)
        if dry_run:
            return Outcome(0)
        order = ledger.new_order(
            spec, type_, steps, reason, req.magic, req.comment, filling, req.type_time,
            req.expiration, req.price, req.stoplimit, req.sl, req.tp,
        )  # fmt: skip
        order.closes = closes
        filled, cost = market.take(spec.name, buy, steps)
        if not filled:
            ledger.forget_last_order()
            return Outcome(C.TRADE_RETCODE_REJECT)
        deal = ledger.book_fill(order, filled, cost, reason)
        price = ledger.deals[-1].price
        lots = round(filled * spec.volume_step, 8)
        if order.volume_current == 0:
            ledger.finish(order, FILLED)
            return Outcome(R_DONE, deal, order.ticket, lots, price)
        if filling == RETURN and not closes:
            order.state = PARTIAL
            ledger.work_on(order)
        else:
            ledger.finish(order, CANCELED)
        return Outcome(C.TRADE_RETCODE_DONE_PARTIAL, deal, order.ticket, lots, price)

    def _pending(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Place a limit, stop or stop-limit order: 10008 and state PLACED. No margin is
        reserved; it is checked when the order triggers."""
        market, ledger = self.market, self.ledger
        spec = market.specs.get(req.symbol)
        if spec is None:
            return Outcome(R_INVALID)
        type_ = req.type
        if type_ <= SELL or not spec.order_mode & ORDER_MODE_BITS.get(type_, 0):
            return Outcome(C.TRADE_RETCODE_INVALID_ORDER)
        if not market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if spec.trade_mode == C.SYMBOL_TRADE_MODE_DISABLED:
            return Outcome(C.TRADE_RETCODE_TRADE_DISABLED)
        steps = rules.volume_steps(spec, req.volume)
        if not steps:
            return Outcome(C.TRADE_RETCODE_INVALID_VOLUME)
        buy = type_ % 2 == 0
        refused = self._trade_mode_refuses(spec, buy, steps)
        if refused:
            return Outcome(refused)
        if len(ledger.orders) >= self.account.limit_orders:
            return Outcome(C.TRADE_RETCODE_LIMIT_ORDERS)
        book = market.books[spec.name]
        if not rules.pending_price_ok(spec, book, type_, req.price):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        stop_limit = type_ in STOP_LIMITS
        if stop_limit and (req.stoplimit <= 0 or not rules.on_grid(req.stoplimit, spec.tick_size)):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        ref = req.stoplimit if stop_limit else req.price
        if not rules.stops_ok(spec, buy, ref, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if not rules.filling_ok(spec, req.type_filling, type_):
            return Outcome(C.TRADE_RETCODE_INVALID_FILL)
        if not rules.expiry_ok(spec, req.type_time, req.expiration, market.time_msc):
            return Outcome(C.TRADE_RETCODE_INVALID_EXPIRATION)
        if dry_run:
            return Outcome(0)
        dated = req.type_time in (SPECIFIED, SPECIFIED_DAY)
        order = ledger.new_order(
            spec, type_, steps, reason, req.magic, req.comment, req.type_filling,
            req.type_time, req.expiration if dated else 0, req.price,
            req.stoplimit if stop_limit else 0.0, req.sl, req.tp,
        )  # fmt: skip
        order.expires_msc = rules.expires_msc(req.type_time, req.expiration, market.time_msc)
        order.state = PLACED
        ledger.work_on(order)
        self.triggers.queue(order)
        return Outcome(C.TRADE_RETCODE_PLACED, 0, order.ticket, req.volume, req.price)

    def _position_for(self, req: TradeRequest) -> PositionState | None:
        if req.position:
            return self.ledger.positions.get(req.position)
        if not self.hedging:
            return self.ledger.netting_position(req.symbol)
        return None

    def _sltp(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Set SL/TP of a position (`position`, or `symbol` on netting); unchanged is 10025."""
        pos = self._position_for(req)
        if pos is None:
            return Outcome(C.TRADE_RETCODE_POSITION_CLOSED if req.position else R_INVALID)
        spec = pos.spec
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if req.sl == pos.sl and req.tp == pos.tp:
            return Outcome(C.TRADE_RETCODE_NO_CHANGES)
        buy = pos.type == BUY
        book = self.market.books[spec.name]
        if rules.frozen(spec, book, pos.sl, not buy) or rules.frozen(spec, book, pos.tp, not buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        bid, ask = self.money.quote(spec)
        if not rules.stops_ok(spec, buy, bid if buy else ask, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if dry_run:
            return Outcome(0)
        pos.sl, pos.tp = req.sl, req.tp
        pos.time_update_msc = self.market.time_msc
        return Outcome(R_DONE)

    def _modify(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Change price, stop-limit, SL/TP and expiry of a working pending order; volume and
        type cannot change; unchanged values give 10025."""
        market = self.market
        order = self.ledger.orders.get(req.order)
        if order is None or order.type <= SELL or order.triggered:
            return Outcome(R_INVALID)
        spec = order.spec
        if not market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        stop_limit = order.type in STOP_LIMITS
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
        book = market.books[spec.name]
        if rules.frozen(spec, book, order.price_open, order.buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        if not rules.pending_price_ok(spec, book, order.type, req.price):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        if stop_limit and (stoplimit <= 0 or not rules.on_grid(stoplimit, spec.tick_size)):
            return Outcome(C.TRADE_RETCODE_INVALID_PRICE)
        ref = stoplimit if stop_limit else req.price
        if not rules.stops_ok(spec, order.buy, ref, req.sl, req.tp):
            return Outcome(C.TRADE_RETCODE_INVALID_STOPS)
        if not rules.expiry_ok(spec, req.type_time, req.expiration, market.time_msc):
            return Outcome(C.TRADE_RETCODE_INVALID_EXPIRATION)
        if dry_run:
            return Outcome(0)
        order.price_open, order.price_stoplimit = req.price, stoplimit
        order.sl, order.tp = req.sl, req.tp
        order.type_time, order.time_expiration = req.type_time, expiration
        order.expires_msc = rules.expires_msc(req.type_time, req.expiration, market.time_msc)
        self.triggers.queue(order)  # a new price goes to the back of that level's queue
        return Outcome(R_DONE, 0, order.ticket, 0.0, req.price)

    def _remove(self, req: TradeRequest, dry_run: bool) -> Outcome:
        """Cancel a working order: it goes to history CANCELED."""
        order = self.ledger.orders.get(req.order)
        if order is None:
            return Outcome(R_INVALID)
        spec = order.spec
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        book = self.market.books[spec.name]
        if order.type > SELL and rules.frozen(spec, book, order.price_open, order.buy):
            return Outcome(C.TRADE_RETCODE_FROZEN)
        if dry_run:
            return Outcome(0)
        self.ledger.finish(order, CANCELED)
        book.untrack(order.ticket)
        return Outcome(R_DONE, 0, order.ticket)

    def _close_by(self, req: TradeRequest, reason: int, dry_run: bool) -> Outcome:
        """Close two opposite positions of one symbol against each other (hedging only).

        One ORDER_TYPE_CLOSE_BY order and two DEAL_ENTRY_OUT_BY deals: the first closes
        `position` at the open price of `position_by` and carries the whole profit; the second
        closes `position_by` at its own open price, with zero profit. Each deal carries the
        accrued swap of the position it closes.
        """
        ledger = self.ledger
        if not self.hedging:
            return Outcome(R_INVALID)
        pos = ledger.positions.get(req.position)
        by = ledger.positions.get(req.position_by)
        if pos is None or by is None:
            return Outcome(C.TRADE_RETCODE_POSITION_CLOSED)
        spec = pos.spec
        if by.spec is not spec or by.type == pos.type:
            return Outcome(R_INVALID)
        if not spec.order_mode & ORDER_MODE_CLOSEBY:
            return Outcome(C.TRADE_RETCODE_INVALID_ORDER)
        if not self.market.is_open(spec.name):
            return Outcome(C.TRADE_RETCODE_MARKET_CLOSED)
        if dry_run:
            return Outcome(0)
        steps = min(pos.volume, by.volume)
        order = ledger.new_order(
            spec, C.ORDER_TYPE_CLOSE_BY, steps, reason, req.magic, req.comment, FOK, GTC
        )
        order.position_id, order.position_by_id = pos.identifier, by.identifier
        lots = round(steps * spec.volume_step, 8)
        profit = self.money.profit_for(spec, pos.type == BUY, lots, pos.price_open, by.price_open)
        swap, by_swap = ledger.take_swap(pos), ledger.take_swap(by)
        first = ledger.add_deal(
            order, 1 - pos.type, OUT_BY, pos, lots, by.price_open, profit, reason, 0.0, swap
        )
        ledger.add_deal(
            order, 1 - by.type, OUT_BY, by, lots, by.price_open, 0.0, reason, 0.0, by_swap
        )
        ledger.balance += round(profit, 2) + swap + by_swap
        now = self.market.time_msc
        ledger.reduce(pos, steps, now)
        ledger.reduce(by, steps, now)
        order.volume_current = 0
        ledger.finish(order, FILLED)
        return Outcome(R_DONE, first, order.ticket, lots, by.price_open)
