"""Swaps charged at the daily rollover, as the MetaTrader 5 trade server charges them.

When: at server midnight (00:00 of the simulated clock, which is the trade server's clock).
A rollover belongs to the trading day it ends, so the midnight that starts a Thursday is
Wednesday's rollover. It charges one day of swap, three days on the symbol's
`swap_rollover3days` weekday (0 = Sunday ... 6 = Saturday; Wednesday by default, which pays
for the weekend) and nothing for Saturday and Sunday (unless one of them is the triple day):
five rollovers, seven days a week, whatever `weekend_closed` says. Every position open at
the midnight pays, priced when the clock passes it; a jump over several midnights charges
each one once, in order, at the prices after the jump. Each charge is rounded to the cent.

How much (`SYMBOL_SWAP_MODE_*`, `swap_long` for buys and `swap_short` for sells, per lot and
day, negative pays): POINTS swap x point x contract size, in the profit currency;
CURRENCY_SYMBOL and CURRENCY_MARGIN money in the base currency (the margin currency of
these symbols); CURRENCY_DEPOSIT money in the account currency; INTEREST_CURRENT and
INTEREST_OPEN an annual percent of the position's value (contract size x current or open
price) over a 360-day year. Amounts convert to the account currency as profit does.
REOPEN_CURRENT and REOPEN_BID (close and reopen at the rollover) are not simulated: a
symbol with either, or any other mode, is refused when the terminal is built.

Where it goes: the accrued swap shows in the position's `swap` and moves the account's
profit, equity and free margin, not its balance. The first deal that takes volume off the
position (a full or partial close, a netting reduction or reversal, a close-by) carries the
whole accrued swap in its `swap` field and books it to the balance; what stays open starts
again from zero.
"""

from __future__ import annotations

from oms.broker.sim.constants import C
from oms.broker.sim.ledger import Ledger
from oms.broker.sim.market import DAY_MSC, WEEKEND, Market, day_of_week
from oms.broker.sim.money import base_to_account, profit_to_account
from oms.broker.sim.rules import BUY
from oms.broker.sim.symbols import SymbolSpec
from oms.errors import OmsError

SIMULATED_MODES = frozenset(
    {
        C.SYMBOL_SWAP_MODE_DISABLED,
        C.SYMBOL_SWAP_MODE_POINTS,
        C.SYMBOL_SWAP_MODE_CURRENCY_SYMBOL,
        C.SYMBOL_SWAP_MODE_CURRENCY_MARGIN,
        C.SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT,
        C.SYMBOL_SWAP_MODE_INTEREST_CURRENT,
        C.SYMBOL_SWAP_MODE_INTEREST_OPEN,
    }
)
REOPEN_MODES = {
    C.SYMBOL_SWAP_MODE_REOPEN_CURRENT: "REOPEN_CURRENT",
    C.SYMBOL_SWAP_MODE_REOPEN_BID: "REOPEN_BID",
}


def check_swap_mode(spec: SymbolSpec) -> None:
    """Refuse a symbol whose swaps the simulator cannot charge, rather than charge nothing."""
    if spec.swap_mode not in SIMULATED_MODES:
        raise swap_mode_error(spec)


def swap_mode_error(spec: SymbolSpec) -> OmsError:
    """The configuration error for a swap mode the simulator does not charge, naming it."""
    mode = spec.swap_mode
    if mode in REOPEN_MODES:
        return OmsError(
            f"{spec.name}: swap_mode {mode} (SYMBOL_SWAP_MODE_{REOPEN_MODES[mode]}) closes and "
            "reopens positions at the rollover, which the simulator does not do; pick another"
        )
    return OmsError(f"{spec.name}: swap_mode {mode} is not a SYMBOL_SWAP_MODE_* value")


def rollover_days(midnight_msc: int, triple_weekday: int) -> int:
    """Swap days one midnight charges: MT5 triples one weekday to pay for the weekend."""
    ended = day_of_week(midnight_msc - DAY_MSC)
    if ended == triple_weekday:
        return 3
    return 0 if ended in WEEKEND else 1


def rollovers_between(t0_msc: int, t1_msc: int, triple_weekday: int) -> tuple[int, ...]:
    """Days charged at each midnight in (t0, t1], in order, so a clock jump misses none and
    a midnight already passed is never charged again; free rollovers are left out."""
    first, last = t0_msc // DAY_MSC + 1, t1_msc // DAY_MSC
    days = (rollover_days(day * DAY_MSC, triple_weekday) for day in range(first, last + 1))
    return tuple(n for n in days if n)


def swap_charge(
    spec: SymbolSpec,
    buy: bool,
    lots: float,
    price_open: float,
    price_current: float,
    days: int,
    currency: str,
) -> float:
    """Swap of one position for `days` days in the account `currency`, rounded to the cent
    as the account books it (negative pays)."""
    mode = spec.swap_mode
    rate = (spec.swap_long if buy else spec.swap_short) * lots * days
    if mode == C.SYMBOL_SWAP_MODE_DISABLED:
        amount = 0.0
    elif mode == C.SYMBOL_SWAP_MODE_POINTS:
        money = rate * spec.point * spec.contract_size
        amount = profit_to_account(spec, money, price_current, currency)
    elif mode in (C.SYMBOL_SWAP_MODE_CURRENCY_SYMBOL, C.SYMBOL_SWAP_MODE_CURRENCY_MARGIN):
        amount = base_to_account(spec, rate, price_current, currency)
    elif mode == C.SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT:
        amount = rate
    elif mode in (C.SYMBOL_SWAP_MODE_INTEREST_CURRENT, C.SYMBOL_SWAP_MODE_INTEREST_OPEN):
        current = mode == C.SYMBOL_SWAP_MODE_INTEREST_CURRENT
        value = (price_current if current else price_open) * spec.contract_size
        amount = profit_to_account(spec, value * rate / 100 / 360, price_current, currency)
    else:
        raise swap_mode_error(spec)
    return round(amount, 2) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0


class Rollover:
    """Charges the open positions at every rollover the simulated clock passes, each once."""

    def __init__(self, market: Market, ledger: Ledger) -> None:
        for spec in market.specs.values():
            check_swap_mode(spec)
        self.market = market
        self.ledger = ledger
        self._through_msc = market.time_msc

    def catch_up(self) -> None:
        """Charge the midnights passed since the last call; called before anything reacts to
        the new time, so positions opened after the midnight do not pay for it."""
        now = self.market.time_msc
        since, self._through_msc = self._through_msc, now
        ledger = self.ledger
        if now // DAY_MSC == since // DAY_MSC or not ledger.positions:
            return
        currency = ledger.account.currency
        for name, positions in ledger.positions_by_symbol.items():
            if not positions:
                continue
            spec = self.market.specs[name]
            charged = rollovers_between(since, now, spec.swap_rollover3days)
            if not charged:
                continue
            bid, ask = ledger.money.quote(spec)
            for pos in positions.values():
                buy = pos.type == BUY
                current = bid if buy else ask
                for days in charged:
                    ledger.accrue_swap(
                        pos,
                        swap_charge(spec, buy, pos.lots, pos.price_open, current, days, currency),
                    )
