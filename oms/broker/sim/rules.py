"""Trade-server rules as pure functions of a symbol, its book and request values.

Each answers one question the server asks before accepting a request (is the volume on the
step grid, is the filling mode allowed, are the stops far enough, when does the order expire)
so the request handlers read as a list of checks with their retcodes.
"""

from __future__ import annotations

from oms.broker.sim.book import SimBook
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
from oms.broker.sim.market import DAY_MSC
from oms.broker.sim.symbols import SymbolSpec

BUY, SELL = C.ORDER_TYPE_BUY, C.ORDER_TYPE_SELL
BUY_LIMIT, SELL_LIMIT = C.ORDER_TYPE_BUY_LIMIT, C.ORDER_TYPE_SELL_LIMIT
BUY_STOP, SELL_STOP = C.ORDER_TYPE_BUY_STOP, C.ORDER_TYPE_SELL_STOP
BUY_STOP_LIMIT, SELL_STOP_LIMIT = C.ORDER_TYPE_BUY_STOP_LIMIT, C.ORDER_TYPE_SELL_STOP_LIMIT
STOP_LIMITS = (BUY_STOP_LIMIT, SELL_STOP_LIMIT)
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
INSTANT_LIKE = (C.SYMBOL_TRADE_EXECUTION_INSTANT, C.SYMBOL_TRADE_EXECUTION_REQUEST)
EXPIRATION_BITS = {
    GTC: EXPIRATION_GTC_BIT,
    DAY: EXPIRATION_DAY_BIT,
    SPECIFIED: EXPIRATION_SPECIFIED_BIT,
    SPECIFIED_DAY: EXPIRATION_SPECIFIED_DAY_BIT,
}
ORDER_MODE_BITS = {
    BUY: 1,
    SELL: 1,
    BUY_LIMIT: 2,
    SELL_LIMIT: 2,
    BUY_STOP: 4,
    SELL_STOP: 4,
    BUY_STOP_LIMIT: 8,
    SELL_STOP_LIMIT: 8,
}
ORDER_MODE_CLOSEBY = 64


def on_grid(price: float, tick: float) -> bool:
    """Whether a price is a whole number of ticks."""
    x = price / tick
    return abs(x - round(x)) < 1e-6


def volume_steps(spec: SymbolSpec, volume: float) -> int:
    """Volume in steps, or 0 when it is off the step grid or outside min/max (10014)."""
    if volume < spec.volume_min - 1e-12 or volume > spec.volume_max + 1e-12:
        return 0
    x = volume / spec.volume_step
    steps = round(x)
    return steps if abs(x - steps) < 1e-6 else 0


def filling_ok(spec: SymbolSpec, filling: int, type_: int) -> bool:
    """Filling mode allowed by the symbol's bits and execution mode (else 10030).

    Instant and request execution take FOK only; RETURN is always allowed under market and
    exchange execution; BOC only for limit and stop-limit orders with the BOC bit.
    """
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


def stops_ok(spec: SymbolSpec, buy: bool, ref: float, sl: float, tp: float) -> bool:
    """SL/TP on the right side of `ref`, at least the stops level (and one tick) away."""
    tick = spec.tick_size
    gap = max(spec.stops_level, 1)
    r = round(ref / tick)
    for value, below in ((sl, buy), (tp, not buy)):
        if not value:
            continue
        if value < 0 or not on_grid(value, tick):
            return False
        v = round(value / tick)
        if (r - v if below else v - r) < gap:
            return False
    return True


def pending_price_ok(spec: SymbolSpec, book: SimBook, type_: int, price: float) -> bool:
    """A pending price on the grid, on the correct side of the market, stops level away."""
    if price <= 0 or not on_grid(price, spec.tick_size):
        return False
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


def expiry_ok(spec: SymbolSpec, type_time: int, expiration: int, now_msc: int) -> bool:
    """Expiration type allowed by the symbol and an expiration still in the future (10022)."""
    bit = EXPIRATION_BITS.get(type_time)
    if bit is None or not spec.expiration_mode & bit:
        return False
    now_s = now_msc // 1000
    if type_time == SPECIFIED:
        return expiration > now_s
    if type_time == SPECIFIED_DAY:
        return expiration // 86400 >= now_s // 86400
    return True


def expires_msc(type_time: int, expiration: int, now_msc: int) -> int:
    """When an order stops working (0: never): DAY at the next midnight of server time."""
    if type_time == DAY:
        return (now_msc // DAY_MSC + 1) * DAY_MSC
    if type_time == SPECIFIED:
        return expiration * 1000
    if type_time == SPECIFIED_DAY:
        return (expiration * 1000 // DAY_MSC + 1) * DAY_MSC
    return 0


def frozen(spec: SymbolSpec, book: SimBook, price: float, buy: bool) -> bool:
    """Whether `price` lies within the freeze level of the price that would trigger it (10029)."""
    if not spec.freeze_level or not price:
        return False
    ref = book.best_ask if buy else book.best_bid
    return bool(ref) and abs(round(price / spec.tick_size) - ref) < spec.freeze_level
