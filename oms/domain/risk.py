"""Pre-trade risk checks: pure functions of (command, context, limits, now_ns, last tick).

Each check returns None or a `Denial` that names the rule and the numbers (the limit and
the value the order would reach); `denied_event` turns a denial into the journaled
`order.denied`. `check_place` runs every rule in a fixed order and stops at the first
denial. The engine builds the `RiskContext` from the projections (open orders, position,
working volume) and a `RateWindow` it feeds with submit times; the domain reads no clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from oms.domain.commands import PlaceOrder
from oms.domain.enums import OrderType, Side
from oms.domain.events import OrderDenied, OrderSubmitted


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Configured limits; None switches a rule off."""

    max_order_volume: float | None = None
    max_position_per_symbol: float | None = None
    price_band: float | None = None  # largest |price/reference - 1|, e.g. 0.05 for 5 %
    max_open_orders: int | None = None
    max_orders_per_window: int | None = None
    rate_window_ns: int = 1_000_000_000

    @property
    def any_rule(self) -> bool:
        """True when a rule besides the kill switch is on: otherwise only the switch can deny."""
        return (
            self.max_order_volume is not None
            or self.max_position_per_symbol is not None
            or self.price_band is not None
            or self.max_open_orders is not None
            or self.max_orders_per_window is not None
        )


@dataclass(frozen=True, slots=True)
class Tick:
    """The last quote seen for the command's symbol."""

    bid: float
    ask: float
    time_ns: int


@dataclass(frozen=True, slots=True)
class RiskContext:
    """What the engine knows right now about the command's account and symbol."""

    kill_switch: bool = False
    open_orders: int = 0  # working orders of the account
    net_position: float = 0.0  # signed lots on the symbol (+long, -short)
    open_buy_volume: float = 0.0  # remaining lots of working buy orders on the symbol
    open_sell_volume: float = 0.0
    orders_in_window: int = 0  # orders submitted within the rate window before now


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an order may not go out: the rule, its limit and the value the order hit."""

    rule: str
    limit: float
    value: float
    reason: str


Check = Callable[[PlaceOrder, RiskContext, RiskLimits, int, Tick | None], Denial | None]


def check_kill_switch(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """While the kill switch is engaged no new order goes out."""
    if ctx.kill_switch:
        return Denial("kill_switch", 0.0, 1.0, "kill switch engaged: new orders are blocked")
    return None


def check_order_rate(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """At most N orders within a sliding window."""
    cap = limits.max_orders_per_window
    if cap is None or ctx.orders_in_window + 1 <= cap:
        return None
    window_ms = limits.rate_window_ns / 1e6
    return Denial(
        "order_rate",
        float(cap),
        float(ctx.orders_in_window + 1),
        f"order {ctx.orders_in_window + 1} within {window_ms:g} ms exceeds {cap}",
    )


def check_order_volume(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """No single order above the maximum volume."""
    cap = limits.max_order_volume
    if cap is None or cmd.volume <= cap:
        return None
    return Denial("max_order_volume", cap, cmd.volume,
                  f"volume {cmd.volume:g} exceeds the maximum {cap:g} per order")


def check_open_orders(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """No more than N working orders per account."""
    cap = limits.max_open_orders
    if cap is None or ctx.open_orders + 1 <= cap:
        return None
    return Denial("max_open_orders", float(cap), float(ctx.open_orders + 1),
                  f"{ctx.open_orders} orders already open; the maximum is {cap}")


def check_position(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """Worst case: the position if this and every working order on its side fill.

    An order that leaves the worst case smaller than the current position (a reduction)
    is let through even when the position is already above the limit.
    """
    cap = limits.max_position_per_symbol
    if cap is None:
        return None
    if cmd.side is Side.BUY:
        projected = ctx.net_position + ctx.open_buy_volume + cmd.volume
    else:
        projected = ctx.net_position - ctx.open_sell_volume - cmd.volume
    exposure = abs(projected)
    if exposure <= cap or exposure <= abs(ctx.net_position):
        return None
    return Denial("max_position_per_symbol", cap, exposure,
                  f"{cmd.symbol} position could reach {exposure:g} lots; the maximum is {cap:g}")


def check_price_band(
    cmd: PlaceOrder, ctx: RiskContext, limits: RiskLimits, now_ns: int, tick: Tick | None
) -> Denial | None:
    """Priced orders must lie within a band around the last tick (ask for buys, bid for sells)."""
    band = limits.price_band
    prices = [p for p in (cmd.price, cmd.stop_limit_price) if p is not None]
    if band is None or not prices:
        return None
    if tick is None:
        return Denial("price_band", band, 0.0, f"no last tick for {cmd.symbol} to check against")
    reference = tick.ask if cmd.side is Side.BUY else tick.bid
    if reference <= 0:
        return Denial("price_band", band, 0.0, f"last tick for {cmd.symbol} has no price")
    deviation = max(abs(p / reference - 1.0) for p in prices)
    if deviation <= band:
        return None
    kind = "stop" if cmd.order_type in (OrderType.STOP, OrderType.STOP_LIMIT) else "price"
    return Denial("price_band", band, deviation,
                  f"{kind} is {deviation:.4%} from the last {cmd.side.value} reference "
                  f"{reference:g}; the band is {band:.4%}")


CHECKS: tuple[Check, ...] = (
    check_kill_switch,
    check_order_rate,
    check_order_volume,
    check_open_orders,
    check_position,
    check_price_band,
)


def check_place(
    cmd: PlaceOrder,
    ctx: RiskContext,
    limits: RiskLimits,
    now_ns: int,
    tick: Tick | None,
) -> Denial | None:
    """The first rule the order breaks, or None when it may go out."""
    for check in CHECKS:
        denial = check(cmd, ctx, limits, now_ns, tick)
        if denial is not None:
            return denial
    return None


def denied_event(intent: OrderSubmitted, denial: Denial) -> OrderDenied:
    """The `order.denied` to journal instead of the submitted intent."""
    terms = intent.to_payload()
    terms.update(rule=denial.rule, limit=denial.limit, value=denial.value, reason=denial.reason)
    return OrderDenied.from_payload(terms)


class RateWindow:
    """Submit times within a sliding window; times come in as arguments, never from a clock."""

    __slots__ = ("_times", "window_ns")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._times: deque[int] = deque()

    def count(self, now_ns: int) -> int:
        """Orders recorded in (now - window, now]."""
        times = self._times
        floor = now_ns - self.window_ns
        while times and times[0] <= floor:
            times.popleft()
        return len(times)

    def record(self, now_ns: int) -> None:
        """Remember that an order went out at `now_ns`."""
        self._times.append(now_ns)
