"""MT5 adapter speed: market orders per second through the adapter, in process and over RPyC.

Each figure sends market orders (0.01 lot, alternately opening a position and closing it, on a
hedging account) against the simulator's synthetic 10-level book with zero latency, and
counts only outcomes that came back FILLED. Median of `--repeat` runs.

- `adapter_inline_order_send_per_s`: `Mt5Broker.place` with the inline worker (backtests).
- `adapter_thread_order_send_per_s`: the same through the worker thread (paper trading).
- `bridge_order_send_per_s`: the adapter through the mt5linux client to `oms sim serve` in
  another process (what a Linux user's Wine terminal sees), over a loopback socket.
- `bridge_raw_order_send_per_s`: the mt5linux client's bare `order_send` + `retcode`, for
  the bridge's own cost without the adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.port import OutcomeStatus, PlaceOrder
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, Mt5LinuxClient, SameObject, ThreadWorker, Worker
from oms.domain.enums import OrderType, Side

ROOT = Path(__file__).resolve().parents[2]
LOT = 0.01


async def _adapter_rate(worker: Worker, orders: int, step: Any = None) -> float:
    broker = Mt5Broker(worker, policy=AdapterPolicy(call_timeout_s=60))
    await broker.connect()
    await broker.symbol("EURUSD")
    started = time.perf_counter()
    for i in range(orders // 2):
        opened = await broker.place(
            PlaceOrder(f"B-{i}", 1, "EURUSD", Side.BUY, OrderType.MARKET, LOT)
        )
        closed = await broker.place(
            PlaceOrder(
                f"S-{i}", 1, "EURUSD", Side.SELL, OrderType.MARKET, LOT,
                position=opened.order_ticket,
            )
        )  # fmt: skip
        if not (opened.status is closed.status is OutcomeStatus.FILLED):
            raise RuntimeError(f"order {i} did not fill: {opened.reason} / {closed.reason}")
        if step is not None and i % 100 == 99:
            step()
    elapsed = time.perf_counter() - started
    await broker.close()
    return orders / elapsed


def _sim() -> SimulatedTerminal:
    return SimulatedTerminal(seed=1, margin_mode="hedging")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve() -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "oms", "sim", "serve", "--port", str(port), "--step-ms", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            try:
                proc.wait(timeout=0.05)
                raise RuntimeError(f"oms sim serve exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                pass
    proc.kill()
    raise RuntimeError("oms sim serve never listened")


def _raw_bridge_rate(port: int, orders: int) -> float:
    from mt5linux import MetaTrader5

    mt5 = MetaTrader5(host="127.0.0.1", port=port)
    mt5.initialize()
    buy = {"action": 1, "symbol": "EURUSD", "volume": 0.01, "type": 0, "type_filling": 1,
           "magic": 1, "comment": "raw", "deviation": 10}  # fmt: skip
    started = time.perf_counter()
    for _ in range(orders // 2):
        opened = mt5.order_send(buy)
        if opened.retcode != 10009:
            raise RuntimeError(f"raw send failed: {opened.retcode}")
        closed = mt5.order_send({**buy, "type": 1, "position": opened.order})
        if closed.retcode != 10009:
            raise RuntimeError(f"raw close failed: {closed.retcode}")
    return orders / (time.perf_counter() - started)


def adapter_figures(orders: int, bridge_orders: int, repeat: int) -> dict[str, Any]:
    """Orders per second through the adapter in process, on its thread, and over the bridge."""

    def inline() -> float:
        sim = _sim()
        return asyncio.run(_adapter_rate(InlineWorker(SameObject(sim)), orders, sim.market.step))

    def thread() -> float:
        sim = _sim()
        return asyncio.run(_adapter_rate(ThreadWorker(SameObject(sim)), orders, sim.market.step))

    def bridged(port: int) -> float:
        worker = ThreadWorker(Mt5LinuxClient("127.0.0.1", port, 60))
        return asyncio.run(_adapter_rate(worker, bridge_orders))

    figures: dict[str, Any] = {
        "adapter_inline_order_send_per_s": round(
            statistics.median(inline() for _ in range(repeat))
        ),
        "adapter_thread_order_send_per_s": round(
            statistics.median(thread() for _ in range(repeat))
        ),
    }
    proc, port = _serve()
    try:
        over_bridge = [bridged(port) for _ in range(repeat)]
        raw = [_raw_bridge_rate(port, bridge_orders) for _ in range(repeat)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    figures.update(
        bridge_order_send_per_s=round(statistics.median(over_bridge)),
        bridge_raw_order_send_per_s=round(statistics.median(raw)),
        adapter_orders=orders,
        bridge_orders=bridge_orders,
    )
    return figures


def main(argv: list[str]) -> dict[str, Any]:
    """Run the adapter and bridge benchmarks and return their figures."""
    parser = argparse.ArgumentParser(prog="bench.py bridge")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--orders", type=int, default=4_000)
    parser.add_argument("--bridge-orders", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    figures = adapter_figures(args.orders, args.bridge_orders, args.repeat)
    figures.update(repeat=args.repeat, book_levels=10)
    return figures
