"""Simulated terminal speed: market orders per second through `order_send`, in process.

`order_send_per_s` sends market orders (alternately opening a 0.01-lot position and closing
it, hedging account, IOC) against the synthetic 10-level book, with zero latency; the book is
refreshed by one feed step every 200 orders. Median of `--repeat` runs; `_per_cpu_s` divides
by the process's CPU time instead of wall time, which is steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from benches.bridge import adapter_figures
from oms.broker.sim import SimulatedTerminal


def _run(orders: int, margin_mode: str) -> tuple[float, float]:
    mt5 = SimulatedTerminal(seed=1, margin_mode=margin_mode)
    mt5.initialize()
    send = mt5.order_send
    buy = {
        "action": 1,
        "symbol": "EURUSD",
        "volume": 0.01,
        "type": 0,
        "type_filling": 1,
        "magic": 1,
        "comment": "bench",
        "deviation": 10,
    }
    sell = {**buy, "type": 1}
    step = mt5.market.step
    started = time.perf_counter()
    cpu_started = time.process_time()
    for i in range(orders // 2):
        opened = send(buy)
        if margin_mode == "hedging":
            sell["position"] = opened.order
        send(sell)
        if i % 100 == 99:
            step()
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if mt5.positions_total() != 0 or mt5.history_orders_total(0, 2**40) != orders // 2 * 2:
        raise RuntimeError("benchmark orders did not all fill and close")
    return orders / elapsed, orders / cpu


def in_process(orders: int, repeat: int) -> dict[str, Any]:
    """Figures for the terminal's own order_send."""
    hedging = [_run(orders, "hedging") for _ in range(repeat)]
    netting = [_run(orders, "netting") for _ in range(repeat)]
    return {
        "order_send_per_s": round(statistics.median(w for w, _ in hedging)),
        "order_send_per_cpu_s": round(statistics.median(c for _, c in hedging)),
        "order_send_netting_per_s": round(statistics.median(w for w, _ in netting)),
        "orders": orders,
        "repeat": repeat,
        "book_levels": 10,
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the simulated-terminal benchmarks and return their figures."""
    parser = argparse.ArgumentParser(prog="bench.py sim")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bridge-orders", type=int, default=1_000)
    args = parser.parse_args(argv)
    figures = in_process(args.orders, args.repeat)
    figures.update(adapter_figures(args.orders // 5, args.bridge_orders, args.repeat))
    return figures
