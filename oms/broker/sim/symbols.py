"""Symbol specifications the simulated trade server enforces, and a default set of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from oms.broker.sim.constants import (
    EXPIRATION_DAY_BIT,
    EXPIRATION_GTC_BIT,
    EXPIRATION_SPECIFIED_BIT,
    EXPIRATION_SPECIFIED_DAY_BIT,
    FILLING_FOK_BIT,
    FILLING_IOC_BIT,
    ORDER_MODE_ALL,
    C,
)

ALL_EXPIRATIONS = (
    EXPIRATION_GTC_BIT
    | EXPIRATION_DAY_BIT
    | EXPIRATION_SPECIFIED_BIT
    | EXPIRATION_SPECIFIED_DAY_BIT
)


@dataclass(frozen=True)
class SymbolSpec:
    """What the trade server knows about one symbol; prices are multiples of `tick_size`."""

    name: str
    digits: int
    contract_size: float
    currency_base: str
    currency_profit: str
    start_price: float
    spread_ticks: int = 10
    volume_min: float = 0.01
    volume_max: float = 100.0
    volume_step: float = 0.01
    volume_limit: float = 0.0
    stops_level: int = 0
    freeze_level: int = 0
    trade_exemode: int = C.SYMBOL_TRADE_EXECUTION_MARKET
    filling_mode: int = FILLING_FOK_BIT | FILLING_IOC_BIT
    expiration_mode: int = ALL_EXPIRATIONS
    order_mode: int = ORDER_MODE_ALL
    calc_mode: int = C.SYMBOL_CALC_MODE_FOREX
    trade_mode: int = C.SYMBOL_TRADE_MODE_FULL
    path: str = ""
    description: str = ""
    book_depth: int = 10
    level_volume: tuple[float, float] = (1.0, 10.0)
    volatility_ticks: float = 3.0
    off_quotes_points: int = 500
    swap_mode: int = C.SYMBOL_SWAP_MODE_POINTS
    swap_long: float = 0.0  # per lot per day, in the unit `swap_mode` names
    swap_short: float = 0.0
    swap_rollover3days: int = C.DAY_OF_WEEK_WEDNESDAY

    point: float = field(init=False)  # smallest price change: 10**-digits
    tick_size: float = field(init=False)  # price grid step; the point for these symbols

    def __post_init__(self) -> None:
        point = round(10.0**-self.digits, self.digits)
        object.__setattr__(self, "point", point)
        object.__setattr__(self, "tick_size", point)

    @property
    def currency_margin(self) -> str:
        """Margin currency: the base currency for forex."""
        return self.currency_base

    def tick_value(self) -> float:
        """Profit of one tick on one lot, in the profit currency."""
        return self.tick_size * self.contract_size


def default_symbols() -> tuple[SymbolSpec, ...]:
    """A few liquid symbols with realistic specifications (account currency USD).

    AUDUSD uses instant execution (FOK only, requotes beyond `deviation`); the others use
    market execution with FOK and IOC.
    """
    return (
        SymbolSpec(
            "EURUSD",
            5,
            100_000.0,
            "EUR",
            "USD",
            1.08500,
            spread_ticks=10,
            path="Forex\\Majors\\EURUSD",
            description="Euro vs US Dollar",
        ),
        SymbolSpec(
            "GBPUSD",
            5,
            100_000.0,
            "GBP",
            "USD",
            1.26500,
            spread_ticks=14,
            path="Forex\\Majors\\GBPUSD",
            description="Great Britain Pound vs US Dollar",
        ),
        SymbolSpec(
            "USDJPY",
            3,
            100_000.0,
            "USD",
            "JPY",
            151.500,
            spread_ticks=12,
            path="Forex\\Majors\\USDJPY",
            description="US Dollar vs Japanese Yen",
        ),
        SymbolSpec(
            "AUDUSD",
            5,
            100_000.0,
            "AUD",
            "USD",
            0.65500,
            spread_ticks=12,
            trade_exemode=C.SYMBOL_TRADE_EXECUTION_INSTANT,
            filling_mode=FILLING_FOK_BIT,
            path="Forex\\Majors\\AUDUSD",
            description="Australian Dollar vs US Dollar (instant execution)",
        ),
        SymbolSpec(
            "XAUUSD",
            2,
            100.0,
            "XAU",
            "USD",
            2350.00,
            spread_ticks=25,
            stops_level=50,
            calc_mode=C.SYMBOL_CALC_MODE_CFD,
            level_volume=(0.5, 5.0),
            volatility_ticks=20.0,
            path="Metals\\XAUUSD",
            description="Gold vs US Dollar",
        ),
    )
