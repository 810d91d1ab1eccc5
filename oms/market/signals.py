"""Microstructure signals read from what each feed event changed in the rolling book.

Every signal is an immutable record with the time, side and price it concerns and the
evidence that fired it; every threshold lives in `SignalConfig`. Detectors keep only windows
of recent observations, so memory stays bounded on an endless feed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from oms.market.book import L2Book
from oms.market.rolling import LevelChange, Observation, OrderLife, Print
from oms.market.sides import ASK, BID

MS = 1_000_000


class SweepConfig(BaseModel):
    """A burst of same-direction prints across several price levels."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    window_ns: int = Field(50 * MS, gt=0)
    min_levels: int = Field(2, ge=2)
    min_volume: int = Field(1, ge=1)


class FadeConfig(BaseModel):
    """Resting size withdrawn near the touch on the side the price moves toward."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    window_ns: int = Field(500 * MS, gt=0)
    near_ticks: int = Field(2, ge=0)
    min_move_ticks: float = Field(0.5, gt=0)
    min_volume: int = Field(10, ge=1)
    min_share: float = Field(0.5, gt=0, le=1)


class SpoofConfig(BaseModel):
    """Large orders away from the touch, cancelled untouched and quickly, again and again.

    Large means at least `min_size_ratio` times the bigger of the level's size before the
    order and the average size of the side's other top five levels. On an L2 feed a jump in
    a level's size stands for the order and a cancel of that much for its removal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    min_size_ratio: float = Field(3.0, gt=0)
    min_size: int = Field(1, ge=1)
    min_distance_ticks: int = Field(2, ge=1)
    max_lifetime_ns: int = Field(1_000 * MS, gt=0)
    window_ns: int = Field(10_000 * MS, gt=0)
    min_repeats: int = Field(3, ge=1)
    min_opposite_volume: int = Field(1, ge=1)


class IcebergConfig(BaseModel):
    """Size shown again at a price right after it traded."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    refill_window_ns: int = Field(10 * MS, gt=0)
    min_refills: int = Field(2, ge=1)
    l3_same_size: bool = True
    """On L3, a refill must be a new order of the size the order that traded out showed."""


class OfiConfig(BaseModel):
    """Order-flow imbalance (Cont, Kukanov, Stoikov) summed over a window."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    window_ns: int = Field(1_000 * MS, gt=0)
    threshold: int = Field(500, ge=1)


class SignalConfig(BaseModel):
    """Every signal threshold; built once at the entry point and passed down."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    sweep: SweepConfig = SweepConfig()
    fade: FadeConfig = FadeConfig()
    spoof: SpoofConfig = SpoofConfig()
    iceberg: IcebergConfig = IcebergConfig()
    ofi: OfiConfig = OfiConfig()


@dataclass(frozen=True, slots=True)
class Sweep:
    """Aggressor `side` traded through `levels` prices within the window, ending at `price`."""

    kind: ClassVar[str] = "sweep"
    ts_ns: int
    side: int
    price: int
    first_price: int
    levels: int
    volume: int
    prints: int


@dataclass(frozen=True, slots=True)
class Fade:
    """Size on `side` near the touch was withdrawn while the price moved toward it."""

    kind: ClassVar[str] = "fade"
    ts_ns: int
    side: int
    price: int
    withdrawn: int
    levels: int
    remaining_near: int
    mid_move_ticks: float


@dataclass(frozen=True, slots=True)
class Spoof:
    """Large orders on `side` flashed and vanished while the opposite side's interest traded."""

    kind: ClassVar[str] = "spoof"
    ts_ns: int
    side: int
    price: int
    flashes: int
    cancelled_volume: int
    opposite_traded: int
    cancel_to_fill: float
    max_lifetime_ns: int


@dataclass(frozen=True, slots=True)
class HiddenLiquidity:
    """A print at `price` larger than the size displayed on the resting `side`."""

    kind: ClassVar[str] = "hidden"
    ts_ns: int
    side: int
    price: int
    traded: int
    displayed: int


@dataclass(frozen=True, slots=True)
class Iceberg:
    """Size at `price` on `side` was shown again after trading, `refills` times."""

    kind: ClassVar[str] = "iceberg"
    ts_ns: int
    side: int
    price: int
    refills: int
    traded: int


@dataclass(frozen=True, slots=True)
class FlowImbalance:
    """Order-flow imbalance over the window crossed the threshold; `side` is the pressure."""

    kind: ClassVar[str] = "ofi"
    ts_ns: int
    side: int
    price: int
    ofi: int
    window_ns: int
    events: int


Signal = Sweep | Fade | Spoof | HiddenLiquidity | Iceberg | FlowImbalance


class SweepDetector:
    """Groups consecutive same-direction prints inside the window and counts the prices hit."""

    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self._burst: deque[Print] = deque()

    def on_print(self, p: Print) -> Sweep | None:
        """Add a print to the burst; fire when it spans enough levels."""
        if p.aggressor is None:
            return None
        burst = self._burst
        if burst and burst[-1].aggressor != p.aggressor:
            burst.clear()
        burst.append(p)
        horizon = p.ts_ns - self.config.window_ns
        while burst[0].ts_ns < horizon:
            burst.popleft()
        prices = {x.price for x in burst}
        volume = sum(x.size for x in burst)
        if len(prices) < self.config.min_levels or volume < self.config.min_volume:
            return None
        first = burst[0].price
        count = len(burst)
        burst.clear()
        return Sweep(p.ts_ns, p.aggressor, p.price, first, len(prices), volume, count)


class FadeDetector:
    """Counts withdrawn (not traded) size near each touch and the mid's recent move."""

    def __init__(self, config: FadeConfig) -> None:
        self.config = config
        self._mids: deque[tuple[int, int]] = deque()  # (ts, bid + ask)
        self._event_net: dict[tuple[int, int], int] = {}  # this event: cancelled - added
        self._pulled: tuple[deque[tuple[int, int, int]], deque[tuple[int, int, int]]] = (
            deque(),
            deque(),
        )

    def on_change(self, c: LevelChange) -> None:
        """Net this event's cancels against what came back at the same price (a re-queue)."""
        if c.cancelled <= 0 and c.added <= 0:
            return
        key = (c.side, c.price)
        net = self._event_net
        net[key] = net.get(key, 0) + c.cancelled - c.added

    def after_event(self, ts_ns: int, book: L2Book) -> Fade | None:
        """Update the mid history and fire when the approached side was pulled."""
        if self._event_net:
            for (side, price), withdrawn in self._event_net.items():
                if withdrawn <= 0:
                    continue
                touch = book.best_bid if side == BID else book.best_ask
                if touch is not None:
                    distance = touch - price if side == BID else price - touch
                    if distance > self.config.near_ticks:
                        continue
                self._pulled[side].append((ts_ns, price, withdrawn))
            self._event_net.clear()
        bb, ba = book.best_bid, book.best_ask
        if bb is None or ba is None:
            return None
        horizon = ts_ns - self.config.window_ns
        mids = self._mids
        mid2 = bb + ba
        if not mids or mids[-1][1] != mid2:
            mids.append((ts_ns, mid2))
        while len(mids) > 1 and mids[1][0] <= horizon:
            mids.popleft()
        for pulled in self._pulled:
            while pulled and pulled[0][0] < horizon:
                pulled.popleft()
        move = (mid2 - mids[0][1]) / 2
        if abs(move) < self.config.min_move_ticks:
            return None
        side = ASK if move > 0 else BID
        pulled = self._pulled[side]
        withdrawn = sum(v for _, _, v in pulled)
        if withdrawn < self.config.min_volume:
            return None
        touch = ba if side == ASK else bb
        near = book.depth(side, self.config.near_ticks + 1)
        remaining = sum(s for p, s in near if abs(p - touch) <= self.config.near_ticks)
        if withdrawn / (withdrawn + remaining) < self.config.min_share:
            return None
        levels = len({p for _, p, _ in pulled})
        price = pulled[-1][1]
        pulled.clear()
        return Fade(ts_ns, side, price, withdrawn, levels, remaining, move)


class SpoofDetector:
    """Tracks large away-from-touch orders until they trade, age out, or vanish untouched."""

    def __init__(self, config: SpoofConfig) -> None:
        self.config = config
        self._candidates: dict[int, tuple[int, int, int, int]] = {}  # id -> ts, side, price, size
        self._flashes: tuple[deque[tuple[int, int, int, int]], ...] = (deque(), deque())
        self._traded: tuple[deque[tuple[int, int]], ...] = (deque(), deque())  # by resting side

    def on_print(self, p: Print) -> None:
        """Remember traded volume per resting side."""
        if p.resting_side is not None:
            self._traded[p.resting_side].append((p.ts_ns, p.size))

    def on_level(self, c: LevelChange, book: L2Book) -> Spoof | None:
        """L2 feeds: a jump in a level's size stands for one order, its removal for a cancel."""
        pseudo_id = -(c.price * 2 + c.side) - 1
        cand = self._candidates.get(pseudo_id)
        touch = book.best_bid if c.side == BID else book.best_ask
        if cand is None:
            if c.added <= 0:
                return None
            life = OrderLife(
                c.ts_ns, "add", pseudo_id, c.side, c.price, c.added, c.added, c.before, touch
            )
        elif c.traded > 0:
            life = OrderLife(c.ts_ns, "execute", pseudo_id, c.side, c.price, c.traded, 0, 0, touch)
        elif c.cancelled > 0:
            left = max(0, cand[3] - c.cancelled)
            life = OrderLife(
                c.ts_ns, "cancel", pseudo_id, c.side, c.price, c.cancelled, left, c.before, touch
            )
        else:
            return None
        return self.on_order(life, book)

    def on_order(self, o: OrderLife, book: L2Book) -> Spoof | None:
        """Follow candidate orders through add, execute and cancel."""
        cfg = self.config
        if o.action == "add":
            self._expire(o.ts_ns)
            if o.touch is None:
                return None
            distance = o.touch - o.price if o.side == BID else o.price - o.touch
            if distance < cfg.min_distance_ticks or o.size < cfg.min_size:
                return None
            if o.size < cfg.min_size_ratio * max(o.level_before, 1):
                return None
            others = [s for p, s in book.depth(o.side, 6) if p != o.price][:5]
            typical = sum(others) / len(others) if others else 0.0
            if o.size >= cfg.min_size_ratio * typical:
                self._candidates[o.order_id] = (o.ts_ns, o.side, o.price, o.size)
            return None
        if o.action == "execute":
            self._candidates.pop(o.order_id, None)
            return None
        cand = self._candidates.get(o.order_id)
        if cand is None or o.remaining > 0:
            return None
        del self._candidates[o.order_id]
        added_ns, side, price, size = cand
        lifetime = o.ts_ns - added_ns
        if lifetime > cfg.max_lifetime_ns:
            return None
        flashes = self._flashes[side]
        flashes.append((o.ts_ns, price, size, lifetime))
        horizon = o.ts_ns - cfg.window_ns
        while flashes[0][0] < horizon:
            flashes.popleft()
        traded = self._traded[1 - side]
        while traded and traded[0][0] < horizon:
            traded.popleft()
        opposite = sum(v for _, v in traded)
        if len(flashes) < cfg.min_repeats or opposite < cfg.min_opposite_volume:
            return None
        cancelled = sum(f[2] for f in flashes)
        longest = max(f[3] for f in flashes)
        count = len(flashes)
        flashes.clear()
        ratio = cancelled / opposite
        return Spoof(o.ts_ns, side, price, count, cancelled, opposite, ratio, longest)

    def _expire(self, now_ns: int) -> None:
        """Drop candidates too old to count (ids arrive in time order)."""
        limit = now_ns - self.config.max_lifetime_ns
        candidates = self._candidates
        while candidates:
            oid = next(iter(candidates))
            if candidates[oid][0] >= limit:
                break
            del candidates[oid]


class IcebergDetector:
    """Hidden prints, and size shown again at a price soon after it traded."""

    def __init__(self, config: IcebergConfig) -> None:
        self.config = config
        self._last_trade: dict[tuple[int, int], int] = {}
        self._chains: dict[tuple[int, int], list[int]] = {}  # key -> [refills, traded]
        self._l3 = False
        self._sizes: dict[int, int] = {}  # L3: size each live order was added with
        self._peaks: dict[tuple[int, int], int] = {}  # L3: size of the last order traded out
        self._add_matches = False

    def on_order(self, o: OrderLife) -> None:
        """L3: remember order sizes, so a refill can be told from any other new order."""
        self._l3 = True
        if o.action == "add":
            self._sizes[o.order_id] = o.size
            peak = self._peaks.get((o.side, o.price))
            self._add_matches = not self.config.l3_same_size or peak == o.size
        elif o.remaining == 0:
            size = self._sizes.pop(o.order_id, None)
            if o.action == "execute" and size is not None:
                self._peaks[(o.side, o.price)] = size

    def on_print(self, p: Print) -> HiddenLiquidity | None:
        """A print larger than what was displayed reveals hidden size."""
        if p.hidden and p.resting_side is not None:
            return HiddenLiquidity(p.ts_ns, p.resting_side, p.price, p.size, p.displayed)
        return None

    def on_change(self, c: LevelChange) -> Iceberg | None:
        """Count refills: hidden size shown again, or size added right after a trade."""
        key = (c.side, c.price)
        refill = c.refilled > 0
        if not refill and c.added > 0 and (not self._l3 or self._add_matches):
            last = self._last_trade.get(key)
            refill = last is not None and c.ts_ns - last <= self.config.refill_window_ns
        chain = self._chains.get(key)
        if c.traded > 0 or c.refilled > 0:
            self._last_trade[key] = c.ts_ns
            if chain is None:
                chain = self._chains[key] = [0, 0]
            chain[1] += c.traded + c.refilled
        if c.after == 0 and c.traded == 0:
            self._chains.pop(key, None)  # withdrawn, not traded away: the chain is broken
            return None
        if not refill or chain is None:
            return None
        chain[0] += 1
        if chain[0] < self.config.min_refills:
            return None
        del self._chains[key]
        return Iceberg(c.ts_ns, c.side, c.price, chain[0], chain[1])


class OfiDetector:
    """Cont-Kukanov-Stoikov order-flow imbalance of the touch, summed over a time window."""

    def __init__(self, config: OfiConfig) -> None:
        self.config = config
        self._prev: tuple[int, int, int, int] | None = None
        self._terms: deque[tuple[int, int]] = deque()
        self._sum = 0
        self._active = 0

    def after_event(self, ts_ns: int, book: L2Book) -> FlowImbalance | None:
        """Add this event's contribution; fire when the window sum crosses the threshold."""
        bb, ba = book.best_bid, book.best_ask
        if bb is None or ba is None:
            self._prev = None
            return None
        qb, qa = book.bids[bb], book.asks[ba]
        prev = self._prev
        self._prev = (bb, qb, ba, qa)
        terms = self._terms
        horizon = ts_ns - self.config.window_ns
        while terms and terms[0][0] < horizon:
            self._sum -= terms.popleft()[1]
        if prev is not None:
            pb, pqb, pa, pqa = prev
            e = 0
            if bb >= pb:
                e += qb
            if bb <= pb:
                e -= pqb
            if ba <= pa:
                e -= qa
            if ba >= pa:
                e += pqa
            if e:
                terms.append((ts_ns, e))
                self._sum += e
        total = self._sum
        threshold = self.config.threshold
        direction = 1 if total >= threshold else -1 if total <= -threshold else 0
        if direction == 0:
            if abs(total) < threshold / 2:
                self._active = 0
            return None
        if direction == self._active:
            return None
        self._active = direction
        side = BID if direction > 0 else ASK
        price = bb if side == BID else ba
        return FlowImbalance(ts_ns, side, price, total, self.config.window_ns, len(terms))


class SignalEngine:
    """Runs every detector over the observations of each event, in feed order."""

    def __init__(self, config: SignalConfig | None = None) -> None:
        cfg = config if config is not None else SignalConfig()
        self.config = cfg
        self.sweep = SweepDetector(cfg.sweep)
        self.fade = FadeDetector(cfg.fade)
        self.spoof = SpoofDetector(cfg.spoof)
        self.iceberg = IcebergDetector(cfg.iceberg)
        self.ofi = OfiDetector(cfg.ofi)
        self._orders_seen = False  # an L3 feed: spoofing is followed by order, not by level

    def on_event(self, ts_ns: int, observations: list[Observation], book: L2Book) -> list[Signal]:
        """Signals fired by one feed event, given what it changed and the book after it."""
        out: list[Signal] = []
        for obs in observations:
            if isinstance(obs, Print):
                sweep = self.sweep.on_print(obs)
                if sweep is not None:
                    out.append(sweep)
                hidden = self.iceberg.on_print(obs)
                if hidden is not None:
                    out.append(hidden)
                self.spoof.on_print(obs)
            elif isinstance(obs, LevelChange):
                self.fade.on_change(obs)
                ice = self.iceberg.on_change(obs)
                if ice is not None:
                    out.append(ice)
                if not self._orders_seen:
                    level_spoof = self.spoof.on_level(obs, book)
                    if level_spoof is not None:
                        out.append(level_spoof)
            elif isinstance(obs, OrderLife):
                self._orders_seen = True
                self.iceberg.on_order(obs)
                spoof = self.spoof.on_order(obs, book)
                if spoof is not None:
                    out.append(spoof)
        fade = self.fade.after_event(ts_ns, book)
        if fade is not None:
            out.append(fade)
        ofi = self.ofi.after_event(ts_ns, book)
        if ofi is not None:
            out.append(ofi)
        return out
