"""Swaps at the simulator's daily rollover: amounts, calendar, and where the money goes."""

from __future__ import annotations

import calendar
from dataclasses import replace
from typing import Any

import pytest

from oms.broker.sim import SimulatedTerminal, SymbolSpec, default_symbols
from oms.broker.sim.constants import C
from oms.broker.sim.market import DAY_MSC
from oms.broker.sim.swaps import rollover_days, rollovers_between, swap_charge
from oms.errors import OmsError

from .conftest import market, set_eurusd

MONDAY_9 = calendar.timegm((2026, 1, 5, 9, 0, 0)) * 1000  # the simulator's default start
FRIDAY_12 = calendar.timegm((2026, 1, 9, 12, 0, 0)) * 1000
WEDNESDAY = C.DAY_OF_WEEK_WEDNESDAY
DAY = 86_400.0  # seconds, for Market.advance


def spec(name: str, **swap: Any) -> SymbolSpec:
    """A default symbol with the given swap settings."""
    (found,) = [s for s in default_symbols() if s.name == name]
    return replace(found, **swap)


def terminal(margin_mode: str = "hedging", start_msc: int = MONDAY_9, **swap: Any) -> Any:
    """An initialised terminal whose EURUSD carries `swap` (points: -7 long, +2.5 short)."""
    settings = {"swap_long": -7.0, "swap_short": 2.5, **swap}
    mt5 = SimulatedTerminal(
        seed=1, margin_mode=margin_mode, symbols=[spec("EURUSD", **settings)], start_msc=start_msc
    )
    assert mt5.initialize()
    set_eurusd(mt5, 1.08500, 1.08510)
    return mt5


def open_(mt5: Any, type_: int, volume: float = 1.0) -> int:
    """Open a EURUSD position at market; its ticket."""
    result = mt5.order_send(market(mt5, type_, volume))
    assert result.retcode == mt5.TRADE_RETCODE_DONE
    return int(result.order)


def close(mt5: Any, ticket: int, volume: float | None = None) -> Any:
    """Close (part of) a hedging position at market; the exit deal."""
    (pos,) = mt5.positions_get(ticket=ticket)
    side = mt5.ORDER_TYPE_SELL if pos.type == mt5.POSITION_TYPE_BUY else mt5.ORDER_TYPE_BUY
    result = mt5.order_send(market(mt5, side, volume or pos.volume, position=ticket))
    assert result.retcode == mt5.TRADE_RETCODE_DONE
    (deal,) = mt5.history_deals_get(ticket=result.order)
    return deal


def swap_of(mt5: Any, ticket: int) -> float:
    (pos,) = mt5.positions_get(ticket=ticket)
    return float(pos.swap)


# ----------------------------------------------------------------------------- calendar
def test_a_week_of_rollovers_charges_seven_days_with_wednesday_tripled() -> None:
    week = rollovers_between(MONDAY_9, MONDAY_9 + 7 * DAY_MSC, WEDNESDAY)
    # the midnights ending Mon, Tue, Wed (x3), Thu, Fri; Saturday's and Sunday's are free
    assert week == (1, 1, 3, 1, 1)
    thursday_midnight = calendar.timegm((2026, 1, 8, 0, 0, 0)) * 1000
    assert rollover_days(thursday_midnight, WEDNESDAY) == 3
    assert rollover_days(thursday_midnight, C.DAY_OF_WEEK_FRIDAY) == 1
    assert rollovers_between(FRIDAY_12, FRIDAY_12 + 3 * DAY_MSC, C.DAY_OF_WEEK_FRIDAY) == (3,)


def test_each_midnight_counts_once_however_the_interval_is_cut() -> None:
    midnight = (MONDAY_9 // DAY_MSC + 1) * DAY_MSC
    assert rollovers_between(MONDAY_9, midnight - 1, WEDNESDAY) == ()
    assert rollovers_between(MONDAY_9, midnight, WEDNESDAY) == (1,)
    assert rollovers_between(midnight, midnight + 1, WEDNESDAY) == ()
    assert rollovers_between(midnight, midnight, WEDNESDAY) == ()


# ------------------------------------------------------------------------------ amounts
@pytest.mark.parametrize(
    ("mode", "buy", "price_open", "price_current", "days", "expected"),
    [
        (C.SYMBOL_SWAP_MODE_DISABLED, True, 1.1, 1.2, 1, 0.0),
        # -7 points x 0.00001 x 100 000 per lot
        (C.SYMBOL_SWAP_MODE_POINTS, True, 1.1, 1.2, 1, -7.0),
        (C.SYMBOL_SWAP_MODE_POINTS, False, 1.1, 1.2, 3, 7.5),
        # -7 EUR per lot at 1.2 USD per EUR
        (C.SYMBOL_SWAP_MODE_CURRENCY_SYMBOL, True, 1.1, 1.2, 1, -8.4),
        (C.SYMBOL_SWAP_MODE_CURRENCY_MARGIN, True, 1.1, 1.2, 1, -8.4),
        (C.SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT, False, 1.1, 1.2, 3, 7.5),
        # -7 % a year of 120 000 USD (current) or 110 000 USD (open), over 360 days
        (C.SYMBOL_SWAP_MODE_INTEREST_CURRENT, True, 1.1, 1.2, 1, -23.33),
        (C.SYMBOL_SWAP_MODE_INTEREST_OPEN, True, 1.1, 1.2, 1, -21.39),
    ],
)
def test_swap_charge_per_mode(
    mode: int, buy: bool, price_open: float, price_current: float, days: int, expected: float
) -> None:
    eurusd = spec("EURUSD", swap_mode=mode, swap_long=-7.0, swap_short=2.5)
    charge = swap_charge(eurusd, buy, 1.0, price_open, price_current, days, "USD")
    assert charge == expected


def test_swap_charge_converts_a_foreign_profit_currency_like_profit() -> None:
    usdjpy = spec("USDJPY", swap_long=10.0)  # 10 points x 0.001 x 100 000 = 1000 JPY a lot
    assert swap_charge(usdjpy, True, 0.5, 150.0, 150.0, 1, "USD") == round(500 / 150.0, 2)
    interest = replace(usdjpy, swap_mode=C.SYMBOL_SWAP_MODE_INTEREST_CURRENT, swap_short=3.6)
    # a short pays on 100 000 USD whatever the price: 3.6 % / 360 = 10 USD a day
    assert swap_charge(interest, False, 1.0, 150.0, 140.0, 1, "USD") == 10.0


def test_the_symbol_record_reports_the_swap_settings() -> None:
    mt5 = terminal(swap_mode=C.SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT, swap_rollover3days=5)
    info = mt5.symbol_info("EURUSD")
    assert (info.swap_mode, info.swap_long, info.swap_short, info.swap_rollover3days) == (
        mt5.SYMBOL_SWAP_MODE_CURRENCY_DEPOSIT, -7.0, 2.5, mt5.DAY_OF_WEEK_FRIDAY,
    )  # fmt: skip


# ----------------------------------------------------------------------------- terminal
def test_long_pays_and_short_earns_at_the_rollover_not_before() -> None:
    mt5 = terminal()
    long_, short = open_(mt5, mt5.ORDER_TYPE_BUY), open_(mt5, mt5.ORDER_TYPE_SELL, 2.0)
    mt5.market.advance(14 * 3600)  # 23:00, still Monday
    assert (swap_of(mt5, long_), swap_of(mt5, short)) == (0.0, 0.0)
    mt5.market.advance(3600)  # Tuesday 00:00: Monday's rollover
    assert (swap_of(mt5, long_), swap_of(mt5, short)) == (-7.0, 5.0)


def test_wednesdays_rollover_charges_three_days() -> None:
    mt5 = terminal()
    ticket = open_(mt5, mt5.ORDER_TYPE_BUY)
    mt5.market.advance(2 * DAY)  # Wednesday 09:00: Monday's and Tuesday's rollovers
    assert swap_of(mt5, ticket) == -14.0
    mt5.market.advance(DAY)  # Thursday 09:00: Wednesday's, tripled
    assert swap_of(mt5, ticket) == -35.0


def test_a_jump_over_several_days_charges_what_daily_steps_charge() -> None:
    jumped, stepped = terminal(), terminal()
    tickets = [open_(mt5, mt5.ORDER_TYPE_BUY, 0.37) for mt5 in (jumped, stepped)]
    jumped.market.advance(9 * DAY)
    for _ in range(9 * 24):
        stepped.market.advance(3600)
    # nine midnights: Mon, Tue, Wed (x3), Thu, Fri, two free, Mon, Tue: 9 days of -2.59
    assert swap_of(jumped, tickets[0]) == swap_of(stepped, tickets[1]) == -23.31


def test_the_same_clock_never_charges_twice() -> None:
    mt5 = terminal()
    ticket = open_(mt5, mt5.ORDER_TYPE_BUY)
    mt5.market.advance(DAY)
    charged = swap_of(mt5, ticket)
    mt5.market.advance(0)
    set_eurusd(mt5, 1.08600, 1.08610)
    mt5.market.step(50)
    assert charged == swap_of(mt5, ticket) == -7.0


def test_weekend_rollovers_are_free() -> None:
    mt5 = terminal(start_msc=FRIDAY_12)
    ticket = open_(mt5, mt5.ORDER_TYPE_BUY)
    mt5.market.advance(3 * DAY)  # to Monday noon: only Friday's rollover charges
    assert swap_of(mt5, ticket) == -7.0


def test_disabled_mode_charges_nothing_whatever_the_rates() -> None:
    mt5 = terminal(swap_mode=C.SYMBOL_SWAP_MODE_DISABLED, swap_long=-50.0, swap_short=-50.0)
    long_, short = open_(mt5, mt5.ORDER_TYPE_BUY), open_(mt5, mt5.ORDER_TYPE_SELL)
    mt5.market.advance(7 * DAY)
    assert (swap_of(mt5, long_), swap_of(mt5, short)) == (0.0, 0.0)
    assert close(mt5, long_).swap == 0.0


def test_equity_moves_with_the_swap_and_the_balance_waits_for_the_close() -> None:
    mt5 = terminal()
    ticket = open_(mt5, mt5.ORDER_TYPE_BUY)
    before = mt5.account_info()
    mt5.market.advance(DAY)
    set_eurusd(mt5, 1.08500, 1.08510)
    (pos,) = mt5.positions_get()
    info = mt5.account_info()
    assert pos.swap == -7.0
    assert info.balance == before.balance
    assert info.profit == pytest.approx(pos.profit + pos.swap, abs=0.01)
    assert info.equity == pytest.approx(info.balance + info.profit, abs=0.01)
    assert info.margin_free == pytest.approx(info.equity - info.margin, abs=0.01)
    deal = close(mt5, ticket)
    after = mt5.account_info()
    assert deal.entry == mt5.DEAL_ENTRY_OUT and deal.swap == -7.0
    assert after.balance == pytest.approx(before.balance + deal.profit + deal.swap, abs=1e-9)
    assert after.equity == after.balance and after.profit == 0.0


def test_the_first_partial_close_carries_the_whole_swap() -> None:
    mt5 = terminal()
    ticket = open_(mt5, mt5.ORDER_TYPE_BUY)
    mt5.market.advance(DAY)
    first = close(mt5, ticket, 0.4)
    assert first.swap == -7.0 and swap_of(mt5, ticket) == 0.0
    mt5.market.advance(DAY)  # Tuesday's rollover on the 0.6 lots left
    assert swap_of(mt5, ticket) == -4.2
    assert close(mt5, ticket).swap == -4.2


def test_hedged_positions_accrue_apart_and_a_close_by_books_both() -> None:
    mt5 = terminal()
    long_, short = open_(mt5, mt5.ORDER_TYPE_BUY), open_(mt5, mt5.ORDER_TYPE_SELL)
    mt5.market.advance(DAY)
    assert (swap_of(mt5, long_), swap_of(mt5, short)) == (-7.0, 2.5)
    balance = mt5.account_info().balance
    result = mt5.order_send(
        {"action": mt5.TRADE_ACTION_CLOSE_BY, "position": long_, "position_by": short}
    )
    assert result.retcode == mt5.TRADE_RETCODE_DONE
    deals = mt5.history_deals_get(ticket=result.order)
    assert {d.position_id: d.swap for d in deals} == {long_: -7.0, short: 2.5}
    profit = sum(d.profit for d in deals)
    assert mt5.account_info().balance == pytest.approx(balance + profit - 4.5, abs=1e-9)


def test_a_netting_reversal_books_the_swap_and_the_new_side_starts_clean() -> None:
    mt5 = terminal("netting")
    open_(mt5, mt5.ORDER_TYPE_BUY)
    mt5.market.advance(DAY)
    result = mt5.order_send(market(mt5, mt5.ORDER_TYPE_SELL, 1.5))
    (deal,) = mt5.history_deals_get(ticket=result.order)
    (pos,) = mt5.positions_get()
    assert deal.entry == mt5.DEAL_ENTRY_INOUT and deal.swap == -7.0
    assert pos.type == mt5.POSITION_TYPE_SELL and pos.swap == 0.0
    mt5.market.advance(DAY)
    assert mt5.positions_get()[0].swap == 1.25  # 0.5 lots short earn 2.5 points a lot


def test_a_swap_mode_the_simulator_does_not_charge_is_refused() -> None:
    for mode, name in ((7, "SYMBOL_SWAP_MODE_REOPEN_CURRENT"), (8, "SYMBOL_SWAP_MODE_REOPEN_BID")):
        with pytest.raises(OmsError, match=f"EURUSD: swap_mode {mode} \\({name}\\)"):
            SimulatedTerminal(symbols=[spec("EURUSD", swap_mode=mode)])
    with pytest.raises(OmsError, match="swap_mode 42 is not a SYMBOL_SWAP_MODE"):
        SimulatedTerminal(symbols=[spec("EURUSD", swap_mode=42)])
    reopen = spec("EURUSD", swap_mode=C.SYMBOL_SWAP_MODE_REOPEN_BID)
    with pytest.raises(OmsError, match="REOPEN_BID"):
        swap_charge(reopen, True, 1.0, 1.1, 1.1, 1, "USD")
