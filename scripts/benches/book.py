"""Order book throughput: per-event L2 updates, the array path, and L3 messages.

`bench.py book --json [--deltas FILE.csv] [--updates N] [--l3-messages N] [--repeat R]`
The deltas file holds rows `side,price,size` (side 0 bid / 1 ask, price in ticks, size 0
deletes); without it a seeded synthetic stream is used. Each figure is the median of R runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from oms.market.batch import NO_ASK, NO_BID, best_prices
from oms.market.book import L2Book
from oms.market.feeds.synthetic import L2Stream, l2_stream, l3_stream
from oms.market.l3 import L3Book, apply_message


def load_deltas(path: Path) -> L2Stream:
    """Read `side,price,size` rows (an optional header line is skipped)."""
    with path.open() as fh:
        first = fh.readline()
    skip = 0 if first.strip()[:1].lstrip("-").isdigit() else 1
    data = np.loadtxt(path, delimiter=",", dtype=np.int64, skiprows=skip, ndmin=2)
    if data.shape[1] != 3:
        raise SystemExit(f"{path}: expected 3 columns side,price,size, found {data.shape[1]}")
    return L2Stream(data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy())


def per_event_rate(rows: list[tuple[int, int, int]]) -> tuple[float, L2Book]:
    """Updates per second through `L2Book.update`, reading the touch after every update."""
    book = L2Book()
    update = book.update
    start = time.perf_counter()
    for side, price, size in rows:
        update(side, price, size)
        _bid = book.best_bid
        _ask = book.best_ask
    elapsed = time.perf_counter() - start
    return len(rows) / elapsed, book


def batch_rate(stream: L2Stream) -> tuple[float, np.ndarray, np.ndarray]:
    """Updates per second through the array path (touch for every update as arrays)."""
    start = time.perf_counter()
    bids, asks = best_prices(stream.sides, stream.prices, stream.sizes, L2Book())
    elapsed = time.perf_counter() - start
    return len(stream) / elapsed, bids, asks


def touch_sequence(rows: list[tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The per-event path's touch after each update, for the identity check (not timed)."""
    book = L2Book()
    bids: list[int] = []
    asks: list[int] = []
    for side, price, size in rows:
        book.update(side, price, size)
        bids.append(NO_BID if book.best_bid is None else book.best_bid)
        asks.append(NO_ASK if book.best_ask is None else book.best_ask)
    return np.asarray(bids, dtype=np.int64), np.asarray(asks, dtype=np.int64)


def l3_rate(rows: list[tuple[int, int, int, int, int]]) -> float:
    """L3 messages per second through `apply_message` (book and its L2 projection)."""
    book = L3Book()
    start = time.perf_counter()
    for kind, order_id, side, price, size in rows:
        apply_message(book, kind, order_id, side, price, size)
    return len(rows) / (time.perf_counter() - start)


def main(argv: list[str]) -> dict[str, Any]:
    """Run the three measurements and return the figures."""
    parser = argparse.ArgumentParser(prog="bench.py book")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--deltas", type=Path)
    parser.add_argument("--updates", type=int, default=1_000_000)
    parser.add_argument("--l3-messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    stream = load_deltas(args.deltas) if args.deltas else l2_stream(args.updates, seed=args.seed)
    rows = stream.rows()
    per_event: list[float] = []
    batch: list[float] = []
    book = L2Book()
    for _ in range(args.repeat):
        rate, book = per_event_rate(rows)
        per_event.append(rate)
        rate, bids, asks = batch_rate(stream)
        batch.append(rate)
    want_bids, want_asks = touch_sequence(rows)
    identical = bool(np.array_equal(bids, want_bids) and np.array_equal(asks, want_asks))

    l3_rows = l3_stream(args.l3_messages, seed=args.seed).rows()
    l3 = [l3_rate(l3_rows) for _ in range(args.repeat)]
    return {
        "updates": len(rows),
        "updates_per_s": round(statistics.median(per_event)),
        "batch_updates_per_s": round(statistics.median(batch)),
        "identical_best_sequences": identical,
        "l3_messages": len(l3_rows),
        "l3_messages_per_s": round(statistics.median(l3)),
        "final_best_bid": book.best_bid,
        "final_best_ask": book.best_ask,
        "source": str(args.deltas) if args.deltas else f"synthetic seed {args.seed}",
    }
