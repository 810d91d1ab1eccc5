"""What the trade server does when the market moves: expiry, triggers, fills, SL/TP."""

from __future__ import annotations

from collections.abc import Sequence

from oms.broker.sim.book import SimBook
from oms.broker.sim.constants import C
from oms.broker.sim.ledger import Ledger
from oms.broker.sim.market import Market
from oms.broker.sim.rules import (
    BUY,
    BUY_LIMIT,
    BUY_STOP,
    FOK,
    IOC,
    SELL,
    SELL_LIMIT,
    SELL_STOP,
    STOP_LIMITS,
)
from oms.broker.sim.state import OrderState, PositionState
from oms.broker.sim.swaps import Rollover

PLACED, CANCELED, PARTIAL = C.ORDER_STATE_PLACED, C.ORDER_STATE_CANCELED, C.ORDER_STATE_PARTIAL
FILLED, REJECTED, EXPIRED = C.ORDER_STATE_FILLED, C.ORDER_STATE_REJECTED, C.ORDER_STATE_EXPIRED
REASON_SL, REASON_TP, REASON_SO = C.ORDER_REASON_SL, C.ORDER_REASON_TP, C.ORDER_REASON_SO
_MAX_SETTLE_ROUNDS = 1_000


class Triggers:
    """Reacts to book updates for the working orders and open positions of a ledger.

    Limits fill up to their price when the opposite side reaches it (walking that side, so
    with price improvement). Until then a limit order (RETURN or IOC filling) waits in the
    queue of its price level, and the book's queue-position estimate decides when trades
    there reach it: it fills at its own price by what trades beyond the volume ahead of it,
    or all of it when a trade goes through its price; IOC then cancels the rest. A FOK limit
    only fills when the opposite side offers all of it. Stops become market orders when the
    same-side price crosses them; stop-limits turn into limits at the stop-limit price (same
    ticket, joining the queue then). SL/TP close at market with reason SL/TP and a comment
    like `[sl 1.08400]`. Margin is checked when a pending order first triggers (REJECTED).
    Below the stop-out margin level the most losing position is closed (reason SO).
    """

    def __init__(self, market: Market, ledger: Ledger, rollover: Rollover) -> None:
        self.market = market
        self.ledger = ledger
        self.rollover = rollover
        market.listen(self.on_market)

    def on_market(self, symbols: Sequence[str]) -> None:
        """React to new books: charge the rollovers passed, expire, trigger and fill working
        orders, run SL/TP; then whatever those fills moved, as `settle` does."""
        self.rollover.catch_up()
        ledger = self.ledger
        now = self.market.time_msc
        if ledger.orders:
            due = [o for o in ledger.orders.values() if o.expires_msc and o.expires_msc <= now]
            for order in due:
                ledger.finish(order, EXPIRED)
        self._react(symbols)
        self.settle()

    def settle(self) -> None:
        """React to the quotes our own executions moved (a buy that lifts the ask through one
        of our buy stops, or a short's stop loss), round after round until nothing moves: the
        trade server sees our deals' ticks like anyone else's. Each round fills something or
        stops, and liquidity is finite; the bound only guards against a bug."""
        for _ in range(_MAX_SETTLE_ROUNDS):
            moved = self.market.moved_by_us()
            if not moved:
                return
            self._react(moved)

    def _react(self, symbols: Sequence[str]) -> None:
        """Working orders, SL/TP and stop-out against the books of `symbols` as they are now."""
        ledger = self.ledger
        books = self.market.books
        for name in symbols:
            book = books[name]
            queue_filled = book.queue_fills()
            working = ledger.orders_by_symbol[name]
            if working:
                for order in list(working.values()):
                    self._work(order, book, queue_filled)
            if working or book.queued:
                self._requeue(book, working)
            positions = ledger.positions_by_symbol[name]
            if positions:
                for pos in [p for p in positions.values() if p.sl or p.tp]:
                    self._check_stops(pos)
        if ledger.positions:
            self._stop_out()

    def _stop_out(self) -> None:
        """Below the stop-out margin level, close the most losing position until above it."""
        ledger, money = self.ledger, self.ledger.money
        floor = ledger.account.stop_out
        for _ in range(len(ledger.positions)):
            margin = ledger.margin()
            if not margin:
                return
            level = (ledger.balance + ledger.floating()) / margin * 100
            if level >= floor:
                return
            worst = min(
                ledger.positions.values(),
                key=lambda p: money.profit_for(
                    p.spec, p.type == BUY, p.lots, p.price_open, money.quote(p.spec)[p.type]
                ),
            )
            if not self._close_at_market(worst, REASON_SO, f"[so {level:.2f}%]"):
                return

    def queue(self, order: OrderState) -> None:
        """Put a resting limit order in (or back in) its level's queue; others are left out."""
        book = self.market.books[order.spec.name]
        if order.type in (BUY_LIMIT, SELL_LIMIT) and order.type_filling != FOK:
            price = round(order.price_open / order.spec.tick_size)
            book.track(order.ticket, order.buy, price, order.volume_current)
        else:
            book.untrack(order.ticket)

    def _requeue(self, book: SimBook, working: dict[int, OrderState]) -> None:
        """Keep the queue to the working limit orders, as they are now."""
        for ticket in book.tracked():
            if ticket not in working:
                book.untrack(ticket)
        for order in working.values():
            self.queue(order)

    def _work(self, order: OrderState, book: SimBook, queue_filled: dict[int, int]) -> None:
        ledger = self.ledger
        spec = order.spec
        buy = order.buy
        type_ = order.type
        tick = spec.tick_size
        if type_ in STOP_LIMITS:
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
                traded = queue_filled.get(order.ticket, 0)
                if traded and self._affordable(order):
                    size = min(traded, order.volume_current)
                    self._done(order, size, size * limit)
                return
        if not self._affordable(order):
            return
        wanted = order.volume_current
        if order.type_filling == FOK and not book.covers(buy, wanted, limit):
            if not limit:
                ledger.finish(order, CANCELED)
            return
        self._done(order, *self.market.take(spec.name, buy, wanted, limit))

    def _affordable(self, order: OrderState) -> bool:
        """Margin for a pending order's first execution; rejects the order when it is short."""
        ledger = self.ledger
        if order.state == PLACED and ledger.no_money(
            order.spec, order.buy, order.volume_current, order.closes
        ):
            ledger.finish(order, REJECTED)
            return False
        return True

    def _done(self, order: OrderState, filled: int, cost: int) -> None:
        """Book what executed; then FILLED, IOC's rest CANCELED, or PARTIAL and working."""
        ledger = self.ledger
        if filled:
            ledger.book_fill(order, filled, cost, order.reason)
        if order.volume_current == 0:
            ledger.finish(order, FILLED)
        elif order.type_filling == IOC:
            ledger.finish(order, CANCELED)
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
                hit = REASON_SL
        if not hit and pos.tp:
            tp = round(pos.tp / tick)
            if (px >= tp) if buy else (px <= tp):
                hit = REASON_TP
        if not hit:
            return
        level, tag = (pos.sl, "sl") if hit == REASON_SL else (pos.tp, "tp")
        self._close_at_market(pos, hit, f"[{tag} {level:.{spec.digits}f}]")

    def _close_at_market(self, pos: PositionState, reason: int, comment: str) -> bool:
        """Close what the book allows of a position, by a server-made order; False if nothing."""
        spec = pos.spec
        buy = pos.type == BUY
        filled, cost = self.market.take(spec.name, not buy, pos.volume)
        if not filled:
            return False
        ledger = self.ledger
        order = ledger.new_order(
            spec, SELL if buy else BUY, filled, reason, pos.magic, comment, FOK
        )
        order.closes = pos.ticket if ledger.hedging else 0
        ledger.book_fill(order, filled, cost, reason)
        ledger.finish(order, FILLED)
        return True
