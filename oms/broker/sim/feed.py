"""Where the simulator's books come from: a seeded random walk, or a recorded file replayed.

A feed turns "advance to time t" into L2 snapshots per symbol, in integer ticks and volume
steps. The recording format is JSON lines, one snapshot per line:
`{"time_msc": 1767603600000, "symbol": "EURUSD", "bids": [[1.085, 2.5], ...], "asks": [...]}`
with prices and volumes (lots) as floats, best level first.
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


@dataclass(frozen=True)
class Snapshot:
    """One symbol's book at one instant, in ticks and volume steps, best first."""

    time_msc: int
    symbol: str
    bids: Levels
    asks: Levels


class Feed(Protocol):
    """Source of book snapshots for the simulated market."""

    drives_clock: bool  # True: snapshot times set the clock (replay); False: the clock steps

    def start(self, specs: Sequence[SymbolSpec], time_msc: int) -> list[Snapshot]:
        """Snapshots that describe the market at the start time."""
        ...

    def step(self, time_msc: int) -> list[Snapshot]:
        """Snapshots for the next update; empty when a replay is exhausted."""
        ...


def to_ticks(price: float, spec: SymbolSpec) -> int:
    """Price as an integer number of ticks."""
    return round(price / spec.tick_size)


def to_steps(volume: float, spec: SymbolSpec) -> int:
    """Volume as an integer number of volume steps."""
    return round(volume / spec.volume_step)


class SyntheticFeed:
    """Random-walk mid with a fixed spread and random sizes on `book_depth` levels a side."""

    drives_clock = False

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._specs: list[SymbolSpec] = []
        self._bid: dict[str, int] = {}

    def start(self, specs: Sequence[SymbolSpec], time_msc: int) -> list[Snapshot]:
        """Open every symbol at its configured start price."""
        self._specs = list(specs)
        for spec in self._specs:
            self._bid[spec.name] = to_ticks(spec.start_price, spec)
        return [self._snapshot(spec, time_msc) for spec in self._specs]

    def step(self, time_msc: int) -> list[Snapshot]:
        """Move every mid by a rounded Gaussian number of ticks and redraw the levels."""
        out = []
        gauss = self._rng.gauss
        for spec in self._specs:
            move = round(gauss(0.0, spec.volatility_ticks))
            self._bid[spec.name] = max(
                spec.spread_ticks + spec.book_depth, self._bid[spec.name] + move
            )
            out.append(self._snapshot(spec, time_msc))
        return out

    def _snapshot(self, spec: SymbolSpec, time_msc: int) -> Snapshot:
        bid = self._bid[spec.name]
        ask = bid + spec.spread_ticks
        lo = max(1, to_steps(spec.level_volume[0], spec))
        hi = max(lo, to_steps(spec.level_volume[1], spec))
        randint = self._rng.randint
        bids = [(bid - i, randint(lo, hi)) for i in range(spec.book_depth)]
        asks = [(ask + i, randint(lo, hi)) for i in range(spec.book_depth)]
        return Snapshot(time_msc, spec.name, bids, asks)


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
                return Snapshot(int(row["time_msc"]), spec.name, bids, asks)
            except (ValueError, KeyError, TypeError) as exc:
                raise OmsError(
                    f"{self._path}:{self._line_no}: not a book snapshot "
                    f"(time_msc, known symbol, bids, asks): {exc!r}"
                ) from exc
        return None


def snapshot_line(snap: Snapshot, spec: SymbolSpec) -> str:
    """One recording line for a snapshot."""
    tick, step = spec.tick_size, spec.volume_step
    return json.dumps(
        {
            "time_msc": snap.time_msc,
            "symbol": snap.symbol,
            "bids": [[round(p * tick, spec.digits), round(q * step, 8)] for p, q in snap.bids],
            "asks": [[round(p * tick, spec.digits), round(q * step, 8)] for p, q in snap.asks],
        }
    )
