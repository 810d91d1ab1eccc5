"""The account's books: working and finished orders, positions, deals and the balance.

Every execution goes through `book_fill`, which writes the deal, moves the position (hedging:
one per opening order; netting: one per symbol, with reversals) and the balance, and keeps
per-symbol exposure sums so equity and margin cost O(symbols), not O(positions). Swaps accrue
on positions at rollovers (`swaps.Rollover`) and reach the balance with the first deal that
reduces the position.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from oms.broker.sim.account import AccountSettings
from oms.broker.sim.constants import C
from oms.broker.sim.market import Market
from oms.broker.sim.money import Money
from oms.broker.sim.records import TradeDeal, TradeOrder, TradePosition, trusted
from oms.broker.sim.rules import BUY, SELL, STOP_LIMITS, volume_steps
from oms.broker.sim.state import OrderState, PositionState
from oms.broker.sim.symbols import SymbolSpec

IN, OUT, INOUT = C.DEAL_ENTRY_IN, C.DEAL_ENTRY_OUT, C.DEAL_ENTRY_INOUT
FILLED, CANCELED, PARTIAL = C.ORDER_STATE_FILLED, C.ORDER_STATE_CANCELED, C.ORDER_STATE_PARTIAL
EXPERT = C.ORDER_REASON_EXPERT


class Ledger:
    """Orders, positions, deals and balance of one account."""

    def __init__(
        self, market: Market, account: AccountSettings, money: Money, balance: float
    ) -> None:
        self.market = market
        self.account = account
        self.money = money
        self.hedging = account.hedging
        self.balance = balance
        self.open_swap = 0.0  # accrued swap of the open positions, in account currency
        self.orders: dict[int, OrderState] = {}
        self.history: dict[int, OrderState] = {}
        self.positions: dict[int, PositionState] = {}
        self.deals: list[TradeDeal] = []
        self.orders_by_symbol: dict[str, dict[int, OrderState]] = {s: {} for s in market.specs}
        self.positions_by_symbol: dict[str, dict[int, PositionState]] = {
            s: {} for s in market.specs
        }
        self.exposure: dict[str, list[float]] = {s: [0, 0.0, 0, 0.0] for s in market.specs}
        self.rewrite_comment: Callable[[str], str] | None = None
        self._netting: dict[str, PositionState] = {}
        self._history_seq: list[OrderState] = []
        self._history_done: list[int] = []
        self._deal_times: list[int] = []
        self._deals_by_order: dict[int, list[TradeDeal]] = {}
        self._deals_by_position: dict[int, list[TradeDeal]] = {}
        self._next_order = 10_000_000
        self._next_deal = 50_000_000

    # ------------------------------------------------------------------------ money
    def floating(self) -> float:
        """Unrealised profit of all positions with their accrued swaps, as MT5's account
        profit counts them into equity and free margin."""
        return self.money.floating(self.exposure) + self.open_swap

    def accrue_swap(self, pos: PositionState, amount: float) -> None:
        """Charge (or credit) a position at a rollover; the balance moves only when it closes."""
        pos.swap = round(pos.swap + amount, 2)
        self.open_swap = round(self.open_swap + amount, 2)

    def take_swap(self, pos: PositionState) -> float:
        """The position's accrued swap, handed to the deal that reduces it (zero from then on)."""
        swap = pos.swap
        pos.swap = 0.0
        self.open_swap = round(self.open_swap - swap, 2)
        return swap

    def margin(self) -> float:
        """Margin held by all positions."""
        return self.money.margin(self.exposure)

    def opens(self, spec: SymbolSpec, buy: bool, steps: int) -> bool:
        """Whether an execution would add exposure rather than only reduce it."""
        if self.hedging:
            return True
        bs, _, ss, _ = self.exposure[spec.name]
        net = bs - ss
        return (net >= 0) == buy or steps > abs(net)

    def margin_increase(self, spec: SymbolSpec, buy: bool, steps: int, closes: int) -> float:
        """Extra margin an execution of `steps` would need (zero when it only reduces)."""
        bs, _, ss, _ = self.exposure[spec.name]
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
        return self.money.symbol_margin(spec, nbs, nss) - self.money.symbol_margin(spec, bs, ss)

    def no_money(self, spec: SymbolSpec, buy: bool, steps: int, closes: int) -> bool:
        """Whether free margin cannot cover the execution (10019)."""
        extra = self.margin_increase(spec, buy, steps, closes)
        if extra <= 0:
            return False
        free = self.balance + self.floating() - self.margin()
        return extra > free + 1e-9

    # ----------------------------------------------------------------------- orders
    def new_order(
        self,
        spec: SymbolSpec,
        type_: int,
        steps: int,
        reason: int,
        magic: int,
        comment: str,
        type_filling: int,
        type_time: int = 0,
        time_expiration: int = 0,
        price_open: float = 0.0,
        price_stoplimit: float = 0.0,
        sl: float = 0.0,
        tp: float = 0.0,
    ) -> OrderState:
        """A fresh order with the next ticket; the broker may rewrite its comment."""
        self._next_order += 1
        if self.rewrite_comment is not None:
            comment = self.rewrite_comment(comment)
        return OrderState(
            self._next_order, spec, type_, steps, self.market.time_msc, magic, comment, reason,
            type_filling, type_time, time_expiration, price_open, price_stoplimit, sl, tp,
        )  # fmt: skip

    def forget_last_order(self) -> None:
        """Give back the ticket of an order that was never booked."""
        self._next_order -= 1

    def work_on(self, order: OrderState) -> None:
        """Put an order among the working ones."""
        self.orders[order.ticket] = order
        self.orders_by_symbol[order.spec.name][order.ticket] = order

    def finish(self, order: OrderState, state: int) -> None:
        """Move an order to history in its final state."""
        if self.orders.pop(order.ticket, None) is not None:
            del self.orders_by_symbol[order.spec.name][order.ticket]
        order.state = state
        order.time_done_msc = self.market.time_msc
        self.history[order.ticket] = order
        self._history_seq.append(order)
        self._history_done.append(order.time_done_msc)

    def netting_position(self, symbol: str) -> PositionState | None:
        """The one position of a symbol on a netting account."""
        return self._netting.get(symbol)

    # ------------------------------------------------------------------ executions
    def add_deal(
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
        swap: float,
    ) -> int:
        """Append a deal record; returns its ticket."""
        self._next_deal += 1
        now = self.market.time_msc
        deal = trusted(
            TradeDeal,
            (
                self._next_deal, order.ticket, now // 1000, now, type_, entry, order.magic,
                pos.identifier, reason, lots, price, commission, swap, round(profit, 2), 0.0,
                order.spec.name, order.comment, "",
            )
        )  # fmt: skip
        self.deals.append(deal)
        self._deal_times.append(now)
        by_order = self._deals_by_order.get(order.ticket)
        if by_order is None:
            self._deals_by_order[order.ticket] = [deal]
        else:
            by_order.append(deal)
        by_position = self._deals_by_position.get(pos.identifier)
        if by_position is None:
            self._deals_by_position[pos.identifier] = [deal]
        else:
            by_position.append(deal)
        return self._next_deal

    def balance_deal(self, amount: float, comment: str) -> int:
        """A deposit or withdrawal: a DEAL_TYPE_BALANCE deal with no order and no position."""
        self._next_deal += 1
        now = self.market.time_msc
        deal = trusted(
            TradeDeal,
            (
                self._next_deal, 0, now // 1000, now, C.DEAL_TYPE_BALANCE, IN, 0, 0,
                C.DEAL_REASON_CLIENT, 0.0, 0.0, 0.0, 0.0, round(amount, 2), 0.0, "", comment, "",
            ),
        )  # fmt: skip
        self.deals.append(deal)
        self._deal_times.append(now)
        self.balance += round(amount, 2)
        return self._next_deal

    def book_fill(self, order: OrderState, filled: int, cost: int, reason: int) -> int:
        """Book one execution of `order` (size in steps, cost in ticks x steps): the deal, the
        position change and the balance. Returns the deal ticket."""
        spec = order.spec
        price = round(cost * spec.tick_size / filled, spec.digits + 3)
        now = self.market.time_msc
        lots = round(filled * spec.volume_step, 8)
        rate = self.account.commission_per_lot
        commission = (-round(rate * lots, 2) or 0.0) if rate else 0.0
        profit = 0.0
        order.volume_current -= filled
        if self.hedging:
            if order.closes:
                pos = self.positions[order.closes]
                closed = min(filled, pos.volume)
                profit = self.money.profit_for(
                    spec, pos.type == BUY, closed * spec.volume_step, pos.price_open, price
                )
                entry = OUT
                self.reduce(pos, closed, now)
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
        deal_type = C.DEAL_TYPE_BUY if order.buy else C.DEAL_TYPE_SELL
        swap = 0.0 if entry == IN else self.take_swap(pos)
        ticket = self.add_deal(
            order, deal_type, entry, pos, lots, price, profit, reason, commission, swap
        )
        self.balance += round(profit, 2) + commission + swap
        return ticket

    def reduce(self, pos: PositionState, steps: int, now: int) -> None:
        """Take volume off a position, dropping it when nothing is left."""
        if steps >= pos.volume:
            self._drop_position(pos)
            return
        self._expose(pos, -1)
        pos.volume -= steps
        pos.time_update_msc = now
        self._expose(pos, 1)

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
        profit = self.money.profit_for(
            spec, pos.type == BUY, closed * spec.volume_step, pos.price_open, price
        )
        if filled <= pos.volume:
            self.reduce(pos, filled, now)
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
            order.ticket, order.spec, BUY if order.buy else SELL, filled, price, now,
            order.magic, order.comment, order.reason if order.reason <= EXPERT else EXPERT,
        )  # fmt: skip
        pos.sl, pos.tp = order.sl, order.tp
        self._add_position(pos)
        return pos

    def _expose(self, pos: PositionState, sign: int) -> None:
        e = self.exposure[pos.spec.name]
        if pos.type == BUY:
            e[0] += sign * pos.volume
            e[1] += sign * pos.volume * pos.price_open
        else:
            e[2] += sign * pos.volume
            e[3] += sign * pos.volume * pos.price_open

    def _add_position(self, pos: PositionState) -> None:
        self.positions[pos.ticket] = pos
        self.positions_by_symbol[pos.spec.name][pos.ticket] = pos
        if not self.hedging:
            self._netting[pos.spec.name] = pos
        self._expose(pos, 1)

    def _drop_position(self, pos: PositionState) -> None:
        self._expose(pos, -1)
        del self.positions[pos.ticket]
        del self.positions_by_symbol[pos.spec.name][pos.ticket]
        if not self.hedging:
            del self._netting[pos.spec.name]

    # ---------------------------------------------------------- behind the OMS's back
    def fill_now(self, ticket: int, price: float | None, volume: float | None) -> int:
        """Fill a working order at its own price (or `price`) whatever the book says."""
        order = self.orders[ticket]
        spec = order.spec
        steps = order.volume_current if volume is None else volume_steps(spec, volume)
        if not 0 < steps <= order.volume_current:
            raise ValueError(f"cannot fill {volume} lots of order {ticket}")
        if price is not None:
            px = price
        elif order.type in STOP_LIMITS:
            px = order.price_stoplimit
        else:
            px = order.price_open or self.money.quote(spec)[1 if order.buy else 0]
        deal = self.book_fill(order, steps, round(px / spec.tick_size) * steps, order.reason)
        if order.volume_current == 0:
            self.finish(order, FILLED)
        else:
            order.state = PARTIAL
        return deal

    def cancel_now(self, ticket: int) -> None:
        """Cancel a working order as the broker or the trader in the terminal would."""
        self.finish(self.orders[ticket], CANCELED)

    def vanish(self, ticket: int) -> None:
        """Make an order disappear from the open orders and from history alike."""
        order = self.orders.pop(ticket, None)
        if order is not None:
            del self.orders_by_symbol[order.spec.name][ticket]
        elif self.history.pop(ticket, None) is None:
            raise KeyError(ticket)

    # ----------------------------------------------------------------------- queries
    def order_records(self, orders: Sequence[OrderState]) -> tuple[TradeOrder, ...]:
        """Records of orders with their symbol's current price."""
        out = []
        for o in orders:
            bid, ask = self.money.quote(o.spec)
            out.append(o.record(ask if o.buy else bid))
        return tuple(out)

    def position_records(self, positions: Sequence[PositionState]) -> tuple[TradePosition, ...]:
        """Records of positions with current price and floating profit."""
        out = []
        for p in positions:
            spec = p.spec
            bid, ask = self.money.quote(spec)
            buy = p.type == BUY
            current = bid if buy else ask
            profit = round(self.money.profit_for(spec, buy, p.lots, p.price_open, current), 2)
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
