"""Where the simulator's books come from: a seeded random walk, or a recorded file replayed.

A feed turns "advance to time t" into L2 snapshots per symbol, in integer ticks and volume
steps, each with the trades printed since the previous one (they happen before the levels
change). The recording format is JSON lines, one snapshot per line:
`{"time_msc": 1767603600000, "symbol": "EURUSD", "bids": [[1.085, 2.5], ...], "asks": [...],
"trades": [[1.0851, 0.5, 0], ...]}` with prices and volumes (lots) as floats, best level
first; a trade is (price, lots, aggressor: 0 buyer, 1 seller), and "trades" may be left out.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from oms.broker.sim.symbols import SymbolSpec
from oms.errors import OmsError

Levels = list[tuple[int, int]]
Trades = tuple[tuple[int, int, int], ...]
"""Prints as (price ticks, size steps, aggressor: 0 buyer, 1 seller), oldest first."""
BUYER, SELLER = 0, 1


@dataclass(frozen=True)
class Snapshot:
    """One symbol's book at one instant, in ticks and volume steps, best first."""

    time_msc: int
    symbol: str
    bids: Levels
    asks: Levels
    trades: Trades = ()


class Feed(Protocol):
    """Source of book snapshots for the simulated market."""

    drives_clock: bool  # True: snapshot times set the clock (replay); False: the clock steps

    def start(self, specs: Sequence[SymbolSpec], time_msc: int) -> list[Snapshot]:
        """Snapshots that describe the market at the start time."""
        ...

    def step(self, time_msc: int) -> list[Snapshot]:
        """Snapshots for the next update; empty when a replay is exhausted."""
        ...


def randints(rng: random.Random, lo: int, hi: int, count: int) -> list[int]:
    """`[rng.randint(lo, hi) for _ in range(count)]`: the very same draws, without the three
    calls `randint` makes per number (the feed draws every level of every book each step)."""
    if hi < lo:
        raise ValueError(f"empty range {lo}..{hi}")
    n = hi - lo + 1
    bits = n.bit_length()
    getrandbits = rng.getrandbits
    out = []
    for _ in range(count):
        r = getrandbits(bits)
        while r >= n:  # rejection sampling, as Random._randbelow does
            r = getrandbits(bits)
        out.append(lo + r)
    return out


def to_ticks(price: float, spec: SymbolSpec) -> int:
    """Price as an integer number of ticks."""
    return round(price / spec.tick_size)


def to_steps(volume: float, spec: SymbolSpec) -> int:
    """Volume as an integer number of volume steps."""
    return round(volume / spec.volume_step)


class SyntheticFeed:
    """Random-walk mid with a fixed spread and random sizes on `book_depth` levels a side.

    Trades: a move of the touch is a sweep, printed at every level it removed with that
    level's size (sellers through the bids on the way down, buyers through the asks on the
    way up); and with chance `touch_trade_chance` per step a random-sized print hits the
    surviving touch of a random side. Trades are drawn from their own seeded generator, so
    the prices and depth of a seed are the same with or without them.
    """

    drives_clock = False

    def __init__(self, seed: int, touch_trade_chance: float = 0.5) -> None:
        if not 0.0 <= touch_trade_chance <= 1.0:
            raise OmsError(f"touch_trade_chance must be within [0, 1], not {touch_trade_chance}")
        self._rng = random.Random(seed)
        self._trade_rng = random.Random(f"trades-{seed}")
        self._touch_chance = touch_trade_chance
        self._specs: list[SymbolSpec] = []
        self._bid: dict[str, int] = {}
        self._last: dict[str, Snapshot] = {}

    def start(self, specs: Sequence[SymbolSpec], time_msc: int) -> list[Snapshot]:
        """Open every symbol at its configured start price."""
        self._specs = list(specs)
        for spec in self._specs:
            self._bid[spec.name] = to_ticks(spec.start_price, spec)
        return [self._snapshot(spec, time_msc, ()) for spec in self._specs]

    def step(self, time_msc: int) -> list[Snapshot]:
        """Move every mid by a rounded Gaussian number of ticks and redraw the levels."""
        out = []
        gauss = self._rng.gauss
        for spec in self._specs:
            move = round(gauss(0.0, spec.volatility_ticks))
            bid = max(spec.spread_ticks + spec.book_depth, self._bid[spec.name] + move)
            self._bid[spec.name] = bid
            out.append(self._snapshot(spec, time_msc, self._trades(spec, bid)))
        return out

    def _trades(self, spec: SymbolSpec, bid: int) -> Trades:
        """Prints that take the previous book of `spec` to a touch at `bid`."""
        last = self._last[spec.name]
        ask = bid + spec.spread_ticks
        trades = [(p, q, SELLER) for p, q in last.bids if p > bid]
        trades += [(p, q, BUYER) for p, q in last.asks if p < ask]
        rng = self._trade_rng
        if rng.random() < self._touch_chance:
            if rng.random() < 0.5:
                touch = next(((p, q) for p, q in last.bids if p <= bid), None)
                aggressor = SELLER
            else:
                touch = next(((p, q) for p, q in last.asks if p >= ask), None)
                aggressor = BUYER
            if touch is not None:
                trades.append((touch[0], rng.randint(1, touch[1]), aggressor))
        return tuple(trades)

    def _snapshot(self, spec: SymbolSpec, time_msc: int, trades: Trades) -> Snapshot:
        bid = self._bid[spec.name]
        ask = bid + spec.spread_ticks
        lo = max(1, to_steps(spec.level_volume[0], spec))
        hi = max(lo, to_steps(spec.level_volume[1], spec))
        depth = spec.book_depth
        sizes = randints(self._rng, lo, hi, 2 * depth)
        bids = [(bid - i, sizes[i]) for i in range(depth)]
        asks = [(ask + i, sizes[depth + i]) for i in range(depth)]
        snap = Snapshot(time_msc, spec.name, bids, asks, trades)
        self._last[spec.name] = snap
        return snap


class ReplayFeed:
    """Replays a recorded JSON-lines file; each step installs the next recorded snapshot."""

    drives_clock = True

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._specs: dict[str, SymbolSpec] = {}
        self._lines: Iterator[str] = iter(())
        self._line_no = 0

    def start(self, specs: Sequence[SymbolSpec], time_msc: int) -> list[Snapshot]:
        """Read up to the first snapshot of every symbol so each starts with a book."""
        self._specs = {s.name: s for s in specs}
        try:
            self._lines = iter(self._path.read_text().splitlines())
        except OSError as exc:
            raise OmsError(f"cannot read the market recording {self._path}: {exc}") from exc
        seen: dict[str, Snapshot] = {}
        while len(seen) < len(self._specs):
            snap = self._next()
            if snap is None:
                break
            seen[snap.symbol] = snap
        return list(seen.values())

    def step(self, time_msc: int) -> list[Snapshot]:
        """The next recorded snapshot (its own time wins over the clock), or nothing at the end."""
        snap = self._next()
        return [] if snap is None else [snap]

    def _next(self) -> Snapshot | None:
        for line in self._lines:
            self._line_no += 1
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                spec = self._specs[row["symbol"]]
                bids = [(to_ticks(p, spec), to_steps(v, spec)) for p, v in row["bids"]]
                asks = [(to_ticks(p, spec), to_steps(v, spec)) for p, v in row["asks"]]
                trades = tuple(
                    (to_ticks(p, spec), to_steps(v, spec), _aggressor(a))
                    for p, v, a in row.get("trades", ())
                )
                return Snapshot(int(row["time_msc"]), spec.name, bids, asks, trades)
            except (ValueError, KeyError, TypeError) as exc:
                raise OmsError(
                    f"{self._path}:{self._line_no}: not a book snapshot "
                    f"(time_msc, known symbol, bids, asks, optional trades): {exc!r}"
                ) from exc
        return None


def _aggressor(value: object) -> int:
    """A recorded trade's aggressor: 0 buyer or 1 seller."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (BUYER, SELLER):
        return value
    raise ValueError(f"trade aggressor must be 0 (buyer) or 1 (seller), not {value!r}")


def snapshot_line(snap: Snapshot, spec: SymbolSpec) -> str:
    """One recording line for a snapshot."""
    tick, step, digits = spec.tick_size, spec.volume_step, spec.digits
    row: dict[str, object] = {
        "time_msc": snap.time_msc,
        "symbol": snap.symbol,
        "bids": [[round(p * tick, digits), round(q * step, 8)] for p, q in snap.bids],
        "asks": [[round(p * tick, digits), round(q * step, 8)] for p, q in snap.asks],
    }
    if snap.trades:
        row["trades"] = [
            [round(p * tick, digits), round(q * step, 8), a] for p, q, a in snap.trades
        ]
    return json.dumps(row)
