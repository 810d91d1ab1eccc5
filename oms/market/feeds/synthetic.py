"""Seeded synthetic market data: reproducible streams for benchmarks, tests and the simulator.

The L2 stream follows a random-walk mid; levels are set and deleted mostly near the touch
(geometric distance), and when the mid moves the levels it passes are deleted first, so the
stream never crosses the book by itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class L2Stream:
    """Column arrays of level updates: side (0 bid, 1 ask), price in ticks, size (0 deletes)."""

    sides: I64
    prices: I64
    sizes: I64

    def __len__(self) -> int:
        return len(self.sides)

    def rows(self) -> list[tuple[int, int, int]]:
        """The stream as plain Python tuples, for the per-event path."""
        cols = (self.sides.tolist(), self.prices.tolist(), self.sizes.tolist())
        return list(zip(*cols, strict=True))


def l2_stream(
    n: int,
    seed: int = 7,
    start_mid: int = 100_000,
    move_prob: float = 0.02,
    delete_prob: float = 0.3,
    depth_decay: float = 0.25,
    max_depth: int = 60,
) -> L2Stream:
    """Generate exactly n level updates that never cross the book."""
    rng = np.random.default_rng(seed)
    chunk = n + 1024
    u_move = rng.random(chunk).tolist()
    u_dir = rng.integers(0, 2, chunk).tolist()
    u_side = rng.integers(0, 2, chunk).tolist()
    u_off = np.minimum(rng.geometric(depth_decay, chunk) - 1, max_depth).tolist()
    u_del = rng.random(chunk).tolist()
    u_size = (rng.integers(1, 50, chunk) * rng.integers(1, 5, chunk)).tolist()
    sides: list[int] = []
    prices: list[int] = []
    sizes: list[int] = []
    bids: set[int] = set()
    asks: set[int] = set()
    bid_top = start_mid - 1  # highest price a bid may take; asks start at bid_top + 1
    i = 0
    while len(sides) < n:
        if u_move[i] < move_prob:
            bid_top += 1 if u_dir[i] else -1
            if u_dir[i]:
                doomed = [p for p in asks if p <= bid_top]
            else:
                doomed = [p for p in bids if p > bid_top]
            # levels beyond the displayed depth fall off the far end of each side
            doomed += [p for p in bids if p < bid_top - max_depth]
            doomed += [p for p in asks if p > bid_top + 1 + max_depth]
            for p in sorted(doomed):
                side_code = 0 if p in bids else 1
                pool = bids if side_code == 0 else asks
                pool.discard(p)
                sides.append(side_code)
                prices.append(p)
                sizes.append(0)
        side = u_side[i]
        off = u_off[i]
        price = bid_top - off if side == 0 else bid_top + 1 + off
        pool = bids if side == 0 else asks
        if u_del[i] < delete_prob:
            pool.discard(price)
            size = 0
        else:
            pool.add(price)
            size = u_size[i]
        sides.append(side)
        prices.append(price)
        sizes.append(size)
        i += 1
        if i >= chunk:  # extremely unlikely: deletions outran the buffer
            u_move += rng.random(chunk).tolist()
            u_dir += rng.integers(0, 2, chunk).tolist()
            u_side += rng.integers(0, 2, chunk).tolist()
            u_off += np.minimum(rng.geometric(depth_decay, chunk) - 1, max_depth).tolist()
            u_del += rng.random(chunk).tolist()
            u_size += (rng.integers(1, 50, chunk) * rng.integers(1, 5, chunk)).tolist()
            chunk *= 2
    return L2Stream(
        np.asarray(sides[:n], dtype=np.int64),
        np.asarray(prices[:n], dtype=np.int64),
        np.asarray(sizes[:n], dtype=np.int64),
    )
