"""Array path for L2 level updates: the touch after every update, computed without a loop.

Each (side, price) level is alive from an update with size > 0 until the next update at the
same price. The best bid after update t is the highest price whose alive interval covers t
(the lowest for asks). Intervals are written into a sparse table (two overlapping
power-of-two blocks per interval, max-combined) and pushed down to single positions, so a
batch of n updates costs a sort and O(n log n) vector operations. Work goes in chunks small
enough for the table to stay in cache; the levels alive at a chunk's start are carried in as
intervals that begin at position 0.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from oms.market.book import IntegrityIssue, IssueKind, L2Book
from oms.market.errors import MarketDataError

I64 = npt.NDArray[np.int64]
NO_BID = int(np.iinfo(np.int64).min)
"""Best bid in the output when the bid side is empty (the per-event path says None)."""
NO_ASK = int(np.iinfo(np.int64).max)
"""Best ask in the output when the ask side is empty (the per-event path says None)."""

_CHUNK = 1 << 16


def best_prices(
    sides: npt.ArrayLike,
    prices: npt.ArrayLike,
    sizes: npt.ArrayLike,
    book: L2Book | None = None,
    chunk: int = _CHUNK,
) -> tuple[I64, I64]:
    """Best bid and ask after each update, applying the batch to `book` (a new one if None)."""
    s = np.ascontiguousarray(sides, dtype=np.int64)
    p = np.ascontiguousarray(prices, dtype=np.int64)
    q = np.ascontiguousarray(sizes, dtype=np.int64)
    if not (s.shape == p.shape == q.shape) or s.ndim != 1:
        raise MarketDataError(f"batch columns differ in shape: {s.shape}, {p.shape}, {q.shape}")
    if s.size and ((s < 0).any() or (s > 1).any()):
        bad = int(s[(s < 0) | (s > 1)][0])
        raise MarketDataError(f"unknown book side {bad} in batch (0 bid, 1 ask)")
    if q.size and (q < 0).any():
        raise MarketDataError(f"negative size {int(q[q < 0][0])} in batch")
    target = book if book is not None else L2Book()
    n = s.size
    out_bid = np.empty(n, dtype=np.int64)
    out_ask = np.empty(n, dtype=np.int64)
    if chunk < 1:
        raise MarketDataError(f"chunk must be positive, got {chunk}")
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        cs, cp, cq = s[lo:hi], p[lo:hi], q[lo:hi]
        is_bid = cs == 0
        out_bid[lo:hi], bids = _side_best(cp, cq, is_bid, target.bids, True)
        out_ask[lo:hi], asks = _side_best(cp, cq, ~is_bid, target.asks, False)
        target.bids, target.asks = bids, asks
    target.replace_levels(target.bids, target.asks)
    _report_crossings(target, out_bid, out_ask)
    return out_bid, out_ask


def _side_best(
    prices: I64, sizes: I64, mask: npt.NDArray[np.bool_], levels: dict[int, int], is_bid: bool
) -> tuple[I64, dict[int, int]]:
    """Touch of one side after each position of the chunk, and the side's levels after it."""
    n = prices.size
    pos = np.flatnonzero(mask)
    init = np.fromiter(levels.keys(), dtype=np.int64, count=len(levels))
    init_sizes = np.fromiter(levels.values(), dtype=np.int64, count=len(levels))
    m = init.size
    # prefix: one pseudo-update per carried level, all at chunk position 0
    all_pos = np.concatenate((np.zeros(m, dtype=np.int64), pos))
    all_price = np.concatenate((init, prices[pos]))
    all_size = np.concatenate((init_sizes, sizes[pos]))
    alive = all_size > 0
    if all_pos.size == 0:
        return np.full(n, NO_BID if is_bid else NO_ASK, dtype=np.int64), {}
    base = int(all_price.min())
    span = int(all_price.max()) - base + 1
    # rank prices so that a larger value is a better price, 1-based so 0 means empty
    rank = (all_price - base + 1) if is_bid else (span - (all_price - base))
    # group updates by price, keeping time order inside a group (stable sort)
    # (a 16-bit key lets numpy use its radix sort)
    key = rank.astype(np.uint16) if span < 65_535 else rank
    order = np.argsort(key, kind="stable")
    g_rank = rank[order]
    g_pos = all_pos[order]
    nxt = np.empty_like(g_pos)
    nxt[:-1] = g_pos[1:]
    nxt[-1] = n
    same = np.empty(g_rank.size, dtype=bool)
    same[:-1] = g_rank[1:] == g_rank[:-1]
    same[-1] = False
    last = ~same
    nxt[last] = n
    final_sizes = all_size[order[last]]
    live = final_sizes > 0
    final = dict(
        zip(all_price[order[last]][live].tolist(), final_sizes[live].tolist(), strict=True)
    )
    keep = alive[order]
    start = g_pos[keep]
    end = nxt[keep]
    val = g_rank[keep]
    nonempty = end > start
    start, end, val = start[nonempty], end[nonempty], val[nonempty]
    best_rank = _range_max(start, end, val, n)
    res = best_rank + (base - 1) if is_bid else (span + base) - best_rank
    res[best_rank == 0] = NO_BID if is_bid else NO_ASK
    return res, final


def _range_max(start: I64, end: I64, val: I64, n: int) -> I64:
    """For every position in [0, n): the max val over intervals [start, end) covering it, or 0."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    levels = max(1, int(n).bit_length())
    width = n
    table = np.zeros((levels, width), dtype=np.int64)
    length = end - start
    k = np.frexp(length.astype(np.float64))[1].astype(np.int64) - 1
    block = np.left_shift(1, k)
    flat = table.reshape(-1)
    np.maximum.at(flat, k * width + start, val)
    np.maximum.at(flat, k * width + (end - block), val)
    for lvl in range(levels - 1, 0, -1):
        half = 1 << (lvl - 1)
        upper = table[lvl]
        lower = table[lvl - 1]
        np.maximum(lower, upper, out=lower)
        if half < width:
            np.maximum(lower[half:], upper[: width - half], out=lower[half:])
    result: I64 = table[0]
    return result


def _report_crossings(book: L2Book, bids: I64, asks: I64) -> None:
    """Record where the touch crossed, locked or uncrossed inside the batch, as `update` would."""
    if bids.size == 0:
        return
    both = (bids != NO_BID) & (asks != NO_ASK)
    bad = both & (bids >= asks)
    prev = np.empty_like(bad)
    prev[0] = book.crossed
    prev[1:] = bad[:-1]
    for i in np.flatnonzero(bad != prev).tolist():
        bb, ba = int(bids[i]), int(asks[i])
        bid_v = None if bb == NO_BID else bb
        ask_v = None if ba == NO_ASK else ba
        if bad[i]:
            kind: IssueKind = "locked" if bb == ba else "crossed"
            book.issues.append(IntegrityIssue(kind, None, bb, ba, f"batch update {i}"))
        else:
            book.issues.append(IntegrityIssue("uncrossed", None, bid_v, ask_v, f"batch update {i}"))
    book.crossed = bool(bad[-1])
