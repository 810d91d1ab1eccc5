"""Run blocking terminal calls off the event loop, one at a time, in order.

The native MetaTrader5 module holds the GIL for the whole call, so it gets its own process;
the simulator and the mt5linux client (a socket) can use a thread. The inline worker runs on
the loop itself, for backtests and benchmarks where the simulator never waits.
Calls are serialised: the terminal has one `last_error()` and is not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
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
        """Stop the worker and release the terminal."""
        ...


class InlineWorker:
    """Runs calls directly on the loop: only for a simulator with zero latency."""

    inline = True

    def __init__(self, factory: TerminalFactory) -> None:
        self._session = Session(factory)

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call now."""
        return fn(self._session, *args)

    def call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call now, without a coroutine: for callers on the order path."""
        return fn(self._session, *args)

    async def close(self) -> None:
        """Nothing to stop."""


class ThreadWorker:
    """Runs calls on one dedicated thread: for the simulator and the mt5linux bridge."""

    inline = False

    def __init__(self, factory: TerminalFactory) -> None:
        self._session = Session(factory)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5-worker")

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call on the worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, _bound, fn, self._session, args)

    async def close(self) -> None:
        """Wait for calls in flight, then stop the thread."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown, True)


def _bound(fn: Callable[..., R], session: Session, args: tuple[Any, ...]) -> R:
    return fn(session, *args)


class WorkerProcessDiedError(Exception):
    """The worker process ended (or was stopped after a call hung) before answering."""


def _serve_calls(conn: Connection, factory: TerminalFactory) -> None:
    """Body of the worker process: run each (fn, args) received and send back the outcome."""
    session = Session(factory)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, args = message
        try:
            reply: tuple[bool, Any] = (True, fn(session, *args))
        except BaseException as exc:
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an unpicklable result or exception
            conn.send((False, RuntimeError(f"{fn.__name__} answered something unpicklable: {exc}")))


class ProcessWorker:
    """Runs calls in one child process that owns the terminal: for the native module.

    `factory`, the functions and their arguments must be picklable (module-level names);
    results come back pickled, which is why every call returns plain records. When a call is
    abandoned (the adapter's timeout cancels it) the process is killed, since a hung native
    call can never be interrupted otherwise; the next call starts a fresh one, which the
    adapter then initializes again.
    """

    inline = False

    def __init__(self, factory: TerminalFactory) -> None:
        self._factory = factory
        self._context = multiprocessing.get_context("spawn")
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mt5-process")
        self._starts = 0

    @property
    def restarts(self) -> int:
        """How many times a worker process was started again after the first."""
        return max(0, self._starts - 1)

    @property
    def pid(self) -> int | None:
        """The worker process id, while one runs."""
        return None if self._process is None else self._process.pid

    def _start(self) -> Connection:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve_calls, args=(child, self._factory), name="mt5-worker", daemon=True
        )
        process.start()
        child.close()
        self._starts += 1
        self._process, self._conn = process, parent
        return parent

    def _round_trip(self, fn: Callable[..., R], args: tuple[Any, ...]) -> R:
        conn = self._conn
        if conn is None or self._process is None or not self._process.is_alive():
            conn = self._start()
        try:
            conn.send((fn, args))
            ok, value = conn.recv()
        except (EOFError, OSError) as exc:
            conn.close()
            raise WorkerProcessDiedError(f"the worker process ended during {fn.__name__}") from exc
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def _kill(self) -> None:
        """Kill the process; the waiting thread then reads EOF and closes its end of the pipe."""
        process = self._process
        self._process = self._conn = None
        if process is not None:
            process.kill()
            process.join(5)

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """Run one call in the worker process; an abandoned call takes the process with it."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._waiter, self._round_trip, fn, args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_discard_outcome)
            self._kill()
            raise

    async def close(self) -> None:
        """Ask the process to exit, kill it if it does not, and stop the waiting thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._waiter, self._stop)
        await loop.run_in_executor(None, self._waiter.shutdown, True)

    def _stop(self) -> None:
        process, conn = self._process, self._conn
        if process is not None and conn is not None and process.is_alive():
            with contextlib.suppress(OSError):
                conn.send(None)
            process.join(5)
        self._kill()
        if conn is not None:
            conn.close()


def _discard_outcome(future: asyncio.Future[Any]) -> None:
    """Read an abandoned call's outcome so it is not reported as never retrieved."""
    if not future.cancelled():
        future.exception()


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
