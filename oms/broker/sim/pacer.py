"""Moves a simulated market in real time, for a served terminal or a live paper-trading demo.

Tests never use it: they step the market explicitly. A served terminal needs prices that move
on their own, so the pacer keeps the simulated clock level with the wall clock, one feed step
per `step_msc` of real time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from oms.broker.sim.market import Market

MAX_CATCH_UP_STEPS = 50


class Pacer:
    """A daemon thread that steps `market` until `stop()`; `wait_steps` lets callers sync on it."""

    def __init__(self, market: Market, wall_ms: Callable[[], int] | None = None) -> None:
        self._market = market
        self._wall_ms = wall_ms or (lambda: time.time_ns() // 1_000_000)
        self._stop = threading.Event()
        self._steps = 0
        self._progress = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sim-pacer", daemon=True)

    @property
    def steps(self) -> int:
        """How many times the pacer has stepped the market (each time one or more feed steps)."""
        return self._steps

    def start(self) -> Pacer:
        """Start stepping; the simulated clock first jumps to the wall clock if it is behind."""
        lag = self._wall_ms() - self._market.time_msc
        if lag > 0:
            self._market.advance(lag / 1000)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop stepping and wait for the thread to end."""
        self._stop.set()
        self._thread.join(timeout)

    def wait_steps(self, count: int, timeout: float) -> bool:
        """Block until the pacer has stepped the market `count` times in total; False on timeout."""
        with self._progress:
            return self._progress.wait_for(lambda: self._steps >= count, timeout)

    def _run(self) -> None:
        market = self._market
        interval = market.step_msc / 1000
        while not self._stop.wait(interval):
            behind = (self._wall_ms() - market.time_msc) // market.step_msc
            market.step(int(min(max(behind, 1), MAX_CATCH_UP_STEPS)))
            with self._progress:
                self._steps += 1
                self._progress.notify_all()
