"""Queue position of our own resting orders, and when they fill.

On an L3 feed the position is exact (`L3Book.queue_spot` for the market's orders,
`L3QueueTracker` for simulated ones). On an L2 feed only level sizes are seen, so
`L2QueueTracker` estimates the volume ahead of an order from each level change:

- traded volume at the order's price always comes from the front: it advances the order, and
  what is left after the volume ahead is used up fills it;
- a print through the order's price (a sell below our bid, a buy above our ask) fills it;
- added volume joins behind it;
- when not `in_book`, opposite size that comes to rest at or through our price fills us;
- a cancel (a non-trade decrease) advances it only in the probabilistic model, by the share
  f(ahead) / (f(ahead) + f(behind)) with f(x) = x ** power; the conservative model assumes
  every cancel was behind, until the level is too small to hold the volume ahead.

`in_book` says whether our orders are part of the level sizes the feed shows (a live
account) or not (the simulated terminal, whose orders the market never sees).

The simulated terminal drives it like this, one feed event at a time:

    rolling = RollingBook()                      # RollingBook(l3=True) + L3QueueTracker on L3
    queue = L2QueueTracker(rolling.book, model="conservative")
    queue.place(ticket, BID, price_ticks, volume_units)   # a resting limit order
    for event in feed:
        for fill in queue.on_observations(rolling.apply(event)):
            ...                                  # a deal of fill.size at fill.price
    queue.cancel(ticket)                         # when the order is cancelled or modified
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from oms.market.book import L2Book
from oms.market.errors import MarketDataError
from oms.market.l3 import L3Book
from oms.market.rolling import LevelChange, Observation, OrderLife, Print
from oms.market.sides import BID

QueueModel = Literal["conservative", "probabilistic"]


@dataclass(frozen=True, slots=True)
class QueueFill:
    """Part or all of a resting order filled by the market's flow."""

    ts_ns: int
    order_id: int
    side: int
    price: int
    size: int
    remaining: int


@dataclass(frozen=True, slots=True)
class QueuePosition:
    """The current estimate for one resting order."""

    order_id: int
    side: int
    price: int
    remaining: int
    ahead: float
    behind: float


class _Resting:
    __slots__ = ("ahead", "order_id", "price", "remaining", "seq", "side")

    def __init__(self, order_id: int, side: int, price: int, remaining: int, ahead: float):
        self.order_id = order_id
        self.side = side
        self.price = price
        self.remaining = remaining
        self.ahead = ahead
        self.seq = 0  # arrival order among all our orders, set when tracked


class _QueueTracker:
    """What both trackers share: our orders by level, fills, prints through us, fill odds."""

    def __init__(self, book: L2Book, in_book: bool, rate_halflife_ns: int) -> None:
        self.book = book
        self.in_book = in_book
        self._orders: dict[int, _Resting] = {}
        # each level's orders in arrival order (dicts keep it) and their summed remaining size,
        # so joining, leaving and "how much of ours rests here" cost O(1)
        self._by_level: dict[tuple[int, int], dict[int, _Resting]] = {}
        self._level_size: dict[tuple[int, int], int] = {}
        self._rates = (_FlowRate(rate_halflife_ns), _FlowRate(rate_halflife_ns))
        self._arrivals = 0

    def _check_new(self, order_id: int, side: int, price: int, size: int) -> None:
        if order_id in self._orders:
            raise MarketDataError(f"order {order_id} is already tracked")
        if size <= 0:
            raise MarketDataError(f"order {order_id} size {size}; must be > 0")
        if side != 0 and side != 1:
            raise MarketDataError(f"order {order_id}: unknown side {side!r}")
        if not self.in_book:
            book = self.book
            crosses = (
                book.best_ask is not None and price >= book.best_ask
                if side == BID
                else book.best_bid is not None and price <= book.best_bid
            )
            if crosses:
                raise MarketDataError(
                    f"order {order_id} at {price} would trade on arrival; fill it as a taker, "
                    "it does not rest"
                )

    def _link(self, order: _Resting) -> None:
        key = (order.side, order.price)
        self._arrivals += 1
        order.seq = self._arrivals
        self._orders[order.order_id] = order
        self._by_level.setdefault(key, {})[order.order_id] = order
        self._level_size[key] = self._level_size.get(key, 0) + order.remaining

    def resting_size(self, side: int, price: int) -> int:
        """Our own remaining size resting at a level (kept as a running total)."""
        return self._level_size.get((side, price), 0)

    def cancel(self, order_id: int) -> None:
        """Stop tracking an order we withdrew."""
        order = self._orders.pop(order_id, None)
        if order is None:
            raise MarketDataError(f"order {order_id} is not tracked")
        self._forget(order)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._orders

    def _get(self, order_id: int) -> _Resting:
        order = self._orders.get(order_id)
        if order is None:
            raise MarketDataError(f"order {order_id} is not tracked")
        return order

    def _ahead(self, order: _Resting) -> float:
        raise NotImplementedError

    def _on_print(self, p: Print, fills: list[QueueFill]) -> None:
        """Count the print for arrival rates; a print through our price fills all of it."""
        resting = p.resting_side
        if resting is None:
            return
        self._rates[resting].add(p.ts_ns, p.size)
        hit = [
            order
            for (side, price), queue in self._by_level.items()
            if side == resting and (p.price < price if side == BID else p.price > price)
            for order in queue.values()
        ]
        hit.sort(key=lambda order: order.seq)  # in the order we placed them, across levels
        for order in hit:
            self._fill(order, order.remaining, p.ts_ns, fills)

    def _cross_new_liquidity(self, ts_ns: int, fills: list[QueueFill]) -> None:
        """Opposite size now resting at or through our price trades with our order."""
        if self.in_book:
            return
        book = self.book
        for order in list(self._orders.values()):
            if order.side == BID:
                if book.best_ask is None or book.best_ask > order.price:
                    continue
                avail = sum(s for p, s in book.asks.items() if p <= order.price)
            else:
                if book.best_bid is None or book.best_bid < order.price:
                    continue
                avail = sum(s for p, s in book.bids.items() if p >= order.price)
            take = min(order.remaining, avail)
            if take > 0:
                self._fill(order, take, ts_ns, fills)

    def _fill(self, order: _Resting, size: int, ts_ns: int, fills: list[QueueFill]) -> None:
        order.remaining -= size
        self._level_size[(order.side, order.price)] -= size
        fills.append(
            QueueFill(ts_ns, order.order_id, order.side, order.price, size, order.remaining)
        )
        if order.remaining <= 0:
            del self._orders[order.order_id]
            self._forget(order)

    def _forget(self, order: _Resting) -> None:
        key = (order.side, order.price)
        queue = self._by_level[key]
        del queue[order.order_id]
        if queue:
            self._level_size[key] -= order.remaining
        else:
            del self._by_level[key]
            del self._level_size[key]

    def _ours_ahead(self, order: _Resting) -> int:
        """Our own earlier orders at the same price that the feed does not show."""
        if self.in_book:
            return 0
        total = 0
        for other in self._by_level.get((order.side, order.price), {}).values():
            if other is order:
                break
            total += other.remaining
        return total

    def fill_probability(self, order_id: int, horizon_ns: int, now_ns: int) -> float:
        """Chance that the order starts filling within the horizon, from the recent trade rate.

        Volume that must trade first = the volume ahead at its price plus every better level
        on its side. Prints on that side arrive as a Poisson process at the observed rate with
        the observed mean size, so k = ceil((volume + 1) / mean size) prints are needed.
        """
        order = self._get(order_id)
        if horizon_ns <= 0:
            raise MarketDataError(f"horizon must be positive, got {horizon_ns}")
        levels = self.book.bids if order.side == BID else self.book.asks
        price = order.price
        better = sum(
            s for p, s in levels.items() if (p > price if order.side == BID else p < price)
        )
        rate = self._rates[order.side]
        per_ns, mean_size = rate.prints_per_ns(now_ns), rate.mean_size
        return poisson_fill_probability(self._ahead(order) + better, mean_size, per_ns * horizon_ns)


class L2QueueTracker(_QueueTracker):
    """Estimated FIFO position of our resting orders on an L2 feed; reports their fills."""

    def __init__(
        self,
        book: L2Book,
        model: QueueModel = "conservative",
        power: float = 2.0,
        in_book: bool = False,
        rate_halflife_ns: int = 60_000_000_000,
    ) -> None:
        if model not in ("conservative", "probabilistic"):
            raise MarketDataError(f"unknown queue model {model!r}")
        if power <= 0:
            raise MarketDataError(f"queue power must be positive, got {power}")
        super().__init__(book, in_book, rate_halflife_ns)
        self.model = model
        self.power = power

    def place(self, order_id: int, side: int, price: int, size: int) -> QueuePosition:
        """A new resting order joins the back of its level as the book shows it now."""
        self._check_new(order_id, side, price, size)
        level = self.book.size_at(side, price)
        ahead = level - size if self.in_book else level
        ours = self.resting_size(side, price)
        ahead += ours
        order = _Resting(order_id, side, price, size, float(max(0, ahead)))
        self._link(order)
        return self._position(order, 0 if self.in_book else ours)

    def position(self, order_id: int) -> QueuePosition:
        """Where the order stands now."""
        order = self._get(order_id)
        return self._position(order, self._ours_ahead(order))

    def _position(self, order: _Resting, ours_ahead: int) -> QueuePosition:
        level = self.book.size_at(order.side, order.price)
        mine = order.remaining if self.in_book else 0
        behind = max(0.0, level + ours_ahead - mine - order.ahead)
        return QueuePosition(
            order.order_id, order.side, order.price, order.remaining, order.ahead, behind
        )

    def _ahead(self, order: _Resting) -> float:
        return order.ahead

    def min_ahead(self, side: int, price: int) -> float:
        """Least volume ahead of any of our orders at a level (0.0 when none rests there)."""
        return min((o.ahead for o in self._by_level.get((side, price), {}).values()), default=0.0)

    def on_observations(self, observations: Iterable[Observation]) -> list[QueueFill]:
        """Advance the estimates with one event's observations; return the fills it caused."""
        fills: list[QueueFill] = []
        last_ts: int | None = None
        for obs in observations:
            if isinstance(obs, LevelChange):
                self._on_change(obs, fills)
                last_ts = obs.ts_ns
            elif isinstance(obs, Print):
                self._on_print(obs, fills)
        if last_ts is not None and self._orders:
            self._cross_new_liquidity(last_ts, fills)
        return fills

    def _on_change(self, c: LevelChange, fills: list[QueueFill]) -> None:
        queue = self._by_level.get((c.side, c.price))
        if not queue:
            return
        traded = c.traded + c.refilled
        ours_ahead = 0  # our own earlier orders at this price the feed does not show
        for order in list(queue.values()):
            mine = order.remaining if self.in_book else 0
            if traded > 0:
                # every order's `ahead` counts from the front, so each sees the whole print
                left = traded - order.ahead
                order.ahead = max(0.0, order.ahead - traded)
                take = min(order.remaining, int(left)) if left > 0 else 0
                if take > 0:
                    self._fill(order, take, c.ts_ns, fills)
            if order.order_id not in self._orders:
                continue
            if c.cancelled > 0 and self.model == "probabilistic":
                behind = max(0.0, c.before + ours_ahead - mine - order.ahead)
                share = _share_ahead(order.ahead, behind, self.power)
                order.ahead = max(0.0, order.ahead - c.cancelled * share)
            cap = max(0, c.after + ours_ahead - mine)
            order.ahead = min(order.ahead, float(cap))
            if not self.in_book:
                ours_ahead += order.remaining


class L3QueueTracker(_QueueTracker):
    """Exact FIFO position of simulated orders inside an L3 book the market does not know of.

    At placement the order stands behind every order then resting at its price (and our own
    earlier orders there). Those orders leaving, by cancel or execution, move it up exactly;
    orders arriving later, or losing priority, are behind it. An execution of an order behind
    ours, with nothing left ahead, is a fill for ours: in price-time priority it would have
    traded first. A print through our price, or opposite size coming to rest at it, fills it.
    """

    def __init__(self, book: L3Book, rate_halflife_ns: int = 60_000_000_000) -> None:
        super().__init__(book.l2, False, rate_halflife_ns)
        self.l3 = book
        self._ahead_ids: dict[int, set[int]] = {}

    def place(self, order_id: int, side: int, price: int, size: int) -> QueuePosition:
        """A simulated order joins the back of its level's queue as the book holds it now."""
        self._check_new(order_id, side, price, size)
        self._ahead_ids[order_id] = set(self.l3.queues[side].get(price, ()))
        ours = self.resting_size(side, price)
        order = _Resting(order_id, side, price, size, 0.0)
        self._link(order)
        return self._position(order, ours)

    def position(self, order_id: int) -> QueuePosition:
        """Exact volume ahead of and behind the order."""
        order = self._get(order_id)
        return self._position(order, self._ours_ahead(order))

    def _position(self, order: _Resting, ours_ahead: int) -> QueuePosition:
        ahead = self._market_ahead(order) + ours_ahead
        level = self.l3.l2.size_at(order.side, order.price)
        behind = level - (ahead - ours_ahead)
        return QueuePosition(
            order.order_id,
            order.side,
            order.price,
            order.remaining,
            float(ahead),
            float(behind),
        )

    def on_observations(self, observations: Iterable[Observation]) -> list[QueueFill]:
        """Follow the market's order flow; return the fills it gives our orders."""
        fills: list[QueueFill] = []
        last_ts: int | None = None
        for obs in observations:
            if isinstance(obs, OrderLife):
                if obs.action == "execute":
                    self._on_execute(obs, fills)
                if obs.remaining == 0:
                    for ids in self._ahead_ids.values():
                        ids.discard(obs.order_id)
                last_ts = obs.ts_ns
            elif isinstance(obs, Print):
                self._on_print(obs, fills)
        if last_ts is not None and self._orders:
            self._cross_new_liquidity(last_ts, fills)
        return fills

    def _on_execute(self, obs: OrderLife, fills: list[QueueFill]) -> None:
        queue = self._by_level.get((obs.side, obs.price))
        if not queue:
            return
        left = obs.size
        ours_ahead = 0  # what our earlier orders at this price still hold, as filled so far
        for order in list(queue.values()):
            if left <= 0:
                break
            if obs.order_id not in self._ahead_ids[order.order_id] and (
                ours_ahead == 0 and self._market_ahead(order) == 0
            ):
                take = min(order.remaining, left)
                left -= take
                self._fill(order, take, obs.ts_ns, fills)
            ours_ahead += order.remaining

    def _market_ahead(self, order: _Resting) -> int:
        orders = self.l3.orders
        return sum(orders[oid][2] for oid in self._ahead_ids[order.order_id] if oid in orders)

    def _ahead(self, order: _Resting) -> float:
        return float(self._market_ahead(order) + self._ours_ahead(order))

    def _forget(self, order: _Resting) -> None:
        super()._forget(order)
        self._ahead_ids.pop(order.order_id, None)


def poisson_fill_probability(
    volume_ahead: float, mean_print: float, expected_prints: float
) -> float:
    """P(at least ceil((volume_ahead + 1) / mean_print) prints) for Poisson(expected_prints)."""
    if expected_prints <= 0 or mean_print <= 0:
        return 0.0
    needed = max(1, math.ceil((volume_ahead + 1) / mean_print))
    term = math.exp(-expected_prints)
    cdf = term
    for k in range(1, needed):
        term *= expected_prints / k
        cdf += term
    return max(0.0, min(1.0, 1.0 - cdf))


def _share_ahead(ahead: float, behind: float, power: float) -> float:
    """Part of a cancel assumed to have been ahead of us: f(a) / (f(a) + f(b)), f = x**power."""
    fa = ahead**power
    fb = behind**power
    total = fa + fb
    return 0.0 if total == 0 else fa / total


class _FlowRate:
    """Exponentially decayed count and volume of prints, for arrival rates."""

    __slots__ = ("_count", "_halflife", "_last_ns", "_start_ns", "_volume")

    def __init__(self, halflife_ns: int) -> None:
        self._halflife = halflife_ns
        self._count = 0.0
        self._volume = 0.0
        self._last_ns: int | None = None
        self._start_ns: int | None = None

    def add(self, ts_ns: int, size: int) -> None:
        if self._last_ns is not None:
            decay = 0.5 ** ((ts_ns - self._last_ns) / self._halflife)
            self._count *= decay
            self._volume *= decay
        else:
            self._start_ns = ts_ns
        self._count += 1.0
        self._volume += size
        self._last_ns = ts_ns

    @property
    def mean_size(self) -> float:
        return self._volume / self._count if self._count else 0.0

    def prints_per_ns(self, now_ns: int) -> float:
        """Decayed count over the decayed span it covers (the whole span early on)."""
        if self._last_ns is None or self._start_ns is None:
            return 0.0
        decay = 0.5 ** (max(0, now_ns - self._last_ns) / self._halflife)
        span = min(now_ns - self._start_ns, self._halflife / math.log(2))
        return 0.0 if span <= 0 else self._count * decay / span
