"""Seeded synthetic market data: reproducible streams for benchmarks, tests and the simulator.

The L2 stream follows a random-walk mid; levels are set and deleted mostly near the touch
(geometric distance), and when the mid moves the levels it passes are deleted first, so the
stream never crosses the book by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from oms.market import l3
from oms.market.events import (
    HiddenExecuted,
    MarketEvent,
    OrderAdded,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
)

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


@dataclass(frozen=True, slots=True)
class L3Stream:
    """Column arrays of L3 messages (kinds as in `oms.market.l3`) with nanosecond times."""

    ts_ns: I64
    kinds: I64
    order_ids: I64
    sides: I64
    prices: I64
    sizes: I64

    def __len__(self) -> int:
        return len(self.kinds)

    def rows(self) -> list[tuple[int, int, int, int, int]]:
        """(kind, order id, side, price, size) tuples for the per-message path."""
        cols = (
            self.kinds.tolist(),
            self.order_ids.tolist(),
            self.sides.tolist(),
            self.prices.tolist(),
            self.sizes.tolist(),
        )
        return list(zip(*cols, strict=True))


class SyntheticL3:
    """A seeded, endless L3 order flow around a touch; each call continues where it stopped."""

    def __init__(
        self,
        seed: int = 11,
        start_mid: int = 100_000,
        start_ns: int = 1_700_000_000_000_000_000,
        mean_gap_ns: int = 2_000_000,
        target_orders: int = 400,
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.start_mid = start_mid
        self.mean_gap_ns = mean_gap_ns
        self.target_orders = target_orders
        self.book = l3.L3Book()
        self.now_ns = start_ns
        self.seq = 0
        self._live: list[int] = []
        self._next_id = 1

    def take(self, n: int) -> L3Stream:
        """The next n messages; they are valid against everything generated before them."""
        rng = self.rng
        m = 2 * n + 1024
        u_kind = rng.random(m).tolist()
        u_side = rng.integers(0, 2, m).tolist()
        u_off = np.minimum(rng.geometric(0.2, m) - 1, 40).tolist()
        u_size = rng.integers(1, 20, m).tolist()
        u_pick = rng.random(m).tolist()
        gaps = rng.exponential(self.mean_gap_ns, n).astype(np.int64) + 1
        ADD, CANCEL, DELETE, EXECUTE = l3.ADD, l3.CANCEL, l3.DELETE, l3.EXECUTE
        book, live, start_mid = self.book, self._live, self.start_mid
        out: list[tuple[int, int, int, int, int]] = []
        i = 0
        while len(out) < n:
            i += 1
            if i >= m:
                raise RuntimeError("synthetic L3 generator ran out of draws")  # pragma: no cover
            r = u_kind[i]
            side = u_side[i]
            bb, ba = book.l2.best_bid, book.l2.best_ask
            msg: tuple[int, int, int, int, int] | None = None
            add_below = 0.5 if len(book.orders) < self.target_orders else 0.3
            if r < add_below or len(live) < 50:
                if side == 0:
                    top = (ba - 1) if ba is not None else (bb if bb is not None else start_mid)
                    price = top - u_off[i]
                else:
                    low = (bb + 1) if bb is not None else (ba if ba is not None else start_mid + 1)
                    price = low + u_off[i]
                msg = (ADD, self._next_id, side, price, u_size[i] * 5)
                live.append(self._next_id)
                self._next_id += 1
            elif r < 0.85:
                k = int(u_pick[i] * len(live))
                oid = live[k]
                live[k] = live[-1]
                live.pop()
                if oid not in book.orders:
                    continue
                o_side, o_price, o_size = book.orders[oid]
                if r < add_below + 0.1 and o_size > 1:
                    msg = (CANCEL, oid, o_side, o_price, max(1, o_size // 2))
                    live.append(oid)
                elif r < add_below + 0.15:
                    msg = (l3.MODIFY, oid, o_side, o_price + (-1 if o_side == 0 else 1), o_size)
                    live.append(oid)
                else:
                    msg = (DELETE, oid, o_side, o_price, o_size)
            else:
                best = bb if side == 0 else ba
                if best is None:
                    continue
                if r > 0.98:
                    msg = (l3.EXECUTE_HIDDEN, 0, side, best, u_size[i])
                else:
                    queue = book.queues[side][best]
                    oid = next(iter(queue))
                    o_size = book.orders[oid][2]
                    msg = (EXECUTE, oid, side, best, min(o_size, u_size[i] * 3))
            l3.apply_message(book, *msg)
            out.append(msg)
        arr = np.asarray(out, dtype=np.int64).reshape(-1, 5)
        ts = self.now_ns + np.cumsum(gaps)
        self.now_ns = int(ts[-1]) if n else self.now_ns
        return L3Stream(ts, arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4])

    def events(self, n: int | None = None, chunk: int = 10_000) -> Iterator[MarketEvent]:
        """The flow as sequenced market events: n of them, or endless when n is None."""
        left = n
        while left is None or left > 0:
            size = chunk if left is None else min(chunk, left)
            stream = self.take(size)
            yield from l3_events(stream, first_seq=self.seq + 1)
            self.seq += size
            if left is not None:
                left -= size


def l3_stream(n: int, seed: int = 11, **options: int) -> L3Stream:
    """n valid L3 messages (adds, cancels, modifies, executions) from a fresh seeded flow."""
    return SyntheticL3(seed, **options).take(n)


def l3_events(stream: L3Stream, first_seq: int = 1) -> Iterator[MarketEvent]:
    """The L3 stream as market events, numbered from `first_seq` for sequence checking."""
    pairs = zip(stream.ts_ns.tolist(), stream.rows(), strict=True)
    for seq, (ts, (kind, order_id, side, price, size)) in enumerate(pairs, start=first_seq):
        if kind == l3.ADD:
            yield OrderAdded(ts, order_id, side, price, size, seq)
        elif kind == l3.CANCEL:
            yield OrderCancelled(ts, order_id, size, seq)
        elif kind == l3.DELETE:
            yield OrderCancelled(ts, order_id, None, seq)
        elif kind == l3.EXECUTE:
            yield OrderExecuted(ts, order_id, size, seq)
        elif kind == l3.EXECUTE_HIDDEN:
            yield HiddenExecuted(ts, side, price, size, seq)
        else:
            yield OrderModified(ts, order_id, price, size, seq)


def synthetic_events(n: int | None, seed: int = 11) -> Iterator[MarketEvent]:
    """A seeded L3 feed (endless when n is None), as the simulated terminal and `oms book` use."""
    return SyntheticL3(seed).events(n)
