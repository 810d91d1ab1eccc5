"""The event loop: uvloop when it is installed, the standard asyncio loop otherwise."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

YOUNG_GC_THRESHOLD = 20_000
"""Net allocations between young-generation collections while the engine runs (CPython: 700).

Almost every object the order path makes dies by reference counting; at the default the
collector ran about once per 16 orders and cost 35-45 µs of CPU per order in the pipeline
bench, at this value about 1.5 µs (see BENCHMARKS.md, order pipeline).
"""


def loop_kind() -> str:
    """"uvloop" or "asyncio": which loop `run` will use."""
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def tune_gc(young_threshold: int = YOUNG_GC_THRESHOLD) -> None:
    """Collect the young generation less often; never lowers a threshold already raised."""
    young, middle, old = gc.get_threshold()
    if young and young < young_threshold:
        gc.set_threshold(young_threshold, middle, old)


def run(main: Coroutine[Any, Any, T], young_gc_threshold: int | None = YOUNG_GC_THRESHOLD) -> T:
    """Run a coroutine to completion on the fastest loop available.

    `young_gc_threshold` tunes the process's collector first (see `tune_gc`); None leaves
    it alone.
    """
    if young_gc_threshold is not None:
        tune_gc(young_gc_threshold)
    if loop_kind() == "uvloop":
        import uvloop

        return uvloop.run(main)
    return asyncio.run(main)
