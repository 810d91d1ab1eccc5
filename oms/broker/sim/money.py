"""Prices, margin and profit in the account currency, read off the books."""

from __future__ import annotations

from collections.abc import Mapping

from oms.broker.sim.account import AccountSettings
from oms.broker.sim.market import Market
from oms.broker.sim.symbols import SymbolSpec

# per symbol: buy steps, sum(steps x open price), sell steps, sum(steps x open price)
Exposure = Mapping[str, list[float]]


def profit_to_account(spec: SymbolSpec, amount: float, price: float, currency: str) -> float:
    """Profit-currency money in the account `currency` at `price`; crosses are not modelled."""
    if spec.currency_profit == currency or not price:
        return amount
    if spec.currency_base == currency:
        return amount / price
    return amount


def base_to_account(spec: SymbolSpec, amount: float, price: float, currency: str) -> float:
    """Base-currency money in the account `currency`, through the profit currency at `price`."""
    if spec.currency_base == currency:
        return amount
    return profit_to_account(spec, amount * price, price, currency)


class Money:
    """Quotes and the account-currency arithmetic of margin and profit."""

    def __init__(self, market: Market, account: AccountSettings) -> None:
        self.market = market
        self.account = account
        self._last_quote: dict[str, tuple[float, float]] = {}

    def quote(self, spec: SymbolSpec) -> tuple[float, float]:
        """Best bid and ask as prices; the last known ones when a side is empty."""
        book = self.market.books[spec.name]
        last = self._last_quote.get(spec.name, (0.0, 0.0))
        tick = spec.tick_size
        best_bid, best_ask = book.best_bid, book.best_ask
        bid = round(best_bid * tick, spec.digits) if best_bid else last[0]
        ask = round(best_ask * tick, spec.digits) if best_ask else last[1]
        if (bid, ask) != last:
            self._last_quote[spec.name] = (bid, ask)
        return bid, ask

    def mid(self, spec: SymbolSpec) -> float:
        """Middle of the quote (one side when the other is missing)."""
        bid, ask = self.quote(spec)
        return (bid + ask) / 2 if bid and ask else bid or ask

    def to_account(self, spec: SymbolSpec, amount: float, price: float) -> float:
        """Convert an amount in the symbol's profit currency to the account currency."""
        return profit_to_account(spec, amount, price, self.account.currency)

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

    def symbol_margin(self, spec: SymbolSpec, buy_steps: float, sell_steps: float) -> float:
        """Margin of one symbol's legs: the larger leg counts, hedged volume is free."""
        lots = max(buy_steps, sell_steps) * spec.volume_step
        return self.margin_for(spec, lots, self.mid(spec)) if lots else 0.0

    def floating(self, exposure: Exposure) -> float:
        """Unrealised profit of all positions, in account currency."""
        total = 0.0
        specs = self.market.specs
        for name, (bs, bn, ss, sn) in exposure.items():
            if not bs and not ss:
                continue
            spec = specs[name]
            bid, ask = self.quote(spec)
            diff = (bid * bs - bn) + (sn - ask * ss)
            amount = diff * spec.volume_step * spec.contract_size
            total += self.to_account(spec, amount, self.mid(spec))
        return total

    def margin(self, exposure: Exposure) -> float:
        """Margin held by all positions."""
        total = 0.0
        specs = self.market.specs
        for name, (bs, _, ss, _) in exposure.items():
            if bs or ss:
                total += self.symbol_margin(specs[name], bs, ss)
        return total
