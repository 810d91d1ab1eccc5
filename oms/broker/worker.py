"""Run blocking terminal calls off the event loop, one at a time, in order.

The native MetaTrader5 module holds the GIL for the whole call, so it gets its own process;
the simulator and the mt5linux client (a socket) can use a thread. The inline worker runs on
the loop itself, for backtests and benchmarks where the simulator never waits.
Calls are serialised: the terminal has one `last_error()` and is not thread-safe.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from oms.broker.mt5.calls import Session, TerminalFactory

R = TypeVar("R")


class Worker(Protocol):
    """Runs `fn(session, *args)` where the terminal lives and returns its result."""

    inline: bool
    """True when calls run on the loop itself (no timeout can interrupt them)."""

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call on the worker."""
        ...

    async def close(self) -> None:
        """Stop the worker; calls in flight finish first."""
        ...


class InlineWorker:
    """Runs calls directly on the loop: only for a simulator with zero latency."""

    inline = True

    def __init__(self, factory: TerminalFactory) -> None:
        self._session = Session(factory)

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call now."""
        return fn(self._session, *args)

    async def close(self) -> None:
        """Nothing to stop."""


class _ExecutorWorker:
    """Shared part of the thread and process workers: one executor slot, calls in order."""

    inline = False

    _executor: Executor

    async def close(self) -> None:
        """Wait for calls in flight, then stop the executor."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)


class ThreadWorker(_ExecutorWorker):
    """Runs calls on one dedicated thread: for the simulator and the mt5linux bridge."""

    def __init__(self, factory: TerminalFactory) -> None:
        self._session = Session(factory)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5-worker")

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call on the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _bound, fn, self._session, args)


def _bound(fn: Callable[..., R], session: Session, args: tuple[Any, ...]) -> R:
    return fn(session, *args)


_PROCESS_SESSION: Session | None = None


def _init_process(factory: TerminalFactory) -> None:
    global _PROCESS_SESSION
    _PROCESS_SESSION = Session(factory)


def _in_process(fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    if _PROCESS_SESSION is None:
        raise RuntimeError("the worker process was not initialised")
    return fn(_PROCESS_SESSION, *args)


class ProcessWorker(_ExecutorWorker):
    """Runs calls in one child process that owns the terminal: for the native module.

    `factory`, the functions and their arguments must be picklable (module-level names);
    results come back pickled, which is why every call returns plain records.
    """

    def __init__(self, factory: TerminalFactory) -> None:
        self._executor = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(factory,),
        )

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call in the worker process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _in_process, fn, args)


class ImportModule:
    """A picklable terminal factory that imports a module (the native `MetaTrader5`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self) -> Any:
        import importlib

        return importlib.import_module(self.name)


class Mt5LinuxClient:
    """A terminal factory that opens an mt5linux client to an RPyC server."""

    def __init__(self, host: str, port: int, timeout_s: float) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s

    def __call__(self) -> Any:
        from mt5linux import MetaTrader5

        return MetaTrader5(host=self.host, port=self.port, timeout=self.timeout_s)


class SameObject:
    """A terminal factory that hands back one existing object (the in-process simulator)."""

    def __init__(self, terminal: Any) -> None:
        self.terminal = terminal

    def __call__(self) -> Any:
        return self.terminal
