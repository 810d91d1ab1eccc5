"""The live ladder's terminal feed: the configured MT5 terminal's depth, polled and diffed.

Calls run on the adapter's worker (the terminal is not thread-safe and the native module
lives in its own process), so only plain tuples cross back. On the simulated terminal nothing
moves unless stepped: every poll after the first takes one feed step first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.mt5.calls import Session
from oms.broker.mt5.factory import build_broker
from oms.config import Settings
from oms.errors import OmsError
from oms.market.events import LevelSet
from oms.market.feeds.mt5 import Mt5BookDiffer

R = TypeVar("R")

BookRow = tuple[int, float, int, float]
"""(type, price, volume, volume_dbl) of one BookInfo record."""


class TerminalBookError(OmsError):
    """The terminal refused the symbol or its depth of market."""


def _describe(error: tuple[int, str]) -> str:
    return f"{error[0]} {error[1]}"


def subscribe(session: Session, symbol: str) -> tuple[float, float] | str:
    """On the worker: (tick size, volume step) after `market_book_add`, or why it failed."""
    mt5 = session.terminal()
    info = mt5.symbol_info(symbol)
    if info is None:
        return f"unknown symbol {symbol!r}: symbol_info failed: {_describe(mt5.last_error())}"
    if not getattr(info, "visible", True) and not mt5.symbol_select(symbol, True):
        return f"symbol_select({symbol!r}) failed: {_describe(mt5.last_error())}"
    if not mt5.market_book_add(symbol):
        return f"market_book_add({symbol!r}) failed: {_describe(mt5.last_error())}"
    return float(info.trade_tick_size), float(info.volume_step)


def unsubscribe(session: Session, symbol: str) -> bool:
    """On the worker: `market_book_release`; False when the terminal refused."""
    return bool(session.terminal().market_book_release(symbol))


def snapshot(
    session: Session, symbol: str, step_market: bool
) -> tuple[tuple[BookRow, ...], int | None] | str:
    """On the worker: the depth rows and the quote's time (ms), or why the read failed."""
    mt5 = session.terminal()
    if step_market:
        mt5.market.step(1)
    records = mt5.market_book_get(symbol)
    if records is None:
        return f"market_book_get({symbol!r}) failed: {_describe(mt5.last_error())}"
    tick = mt5.symbol_info_tick(symbol)
    rows = tuple((int(r.type), float(r.price), int(r.volume), float(r.volume_dbl)) for r in records)
    return rows, None if tick is None else int(tick.time_msc)


class TerminalBook:
    """One symbol's depth from the configured terminal, as L2 level updates per poll."""

    def __init__(self, settings: Settings, symbol: str, broker: Mt5Broker | None = None) -> None:
        self.symbol = symbol
        self.polls = 0
        self._settings = settings
        self._broker = broker or build_broker(settings)
        self._step_market = settings.mt5_backend == "sim"
        self._subscribed = False
        self._differ: Mt5BookDiffer | None = None

    @property
    def differ(self) -> Mt5BookDiffer:
        """The snapshot differ (tick size and lot units from `symbol_info`)."""
        if self._differ is None:
            raise TerminalBookError("the terminal book is not open")
        return self._differ

    async def _call(self, fn: Callable[..., R], *args: Any) -> R:
        worker = self._broker.worker
        if worker.inline:
            return await worker.run(fn, *args)
        timeout = self._settings.mt5_call_timeout_s
        try:
            return await asyncio.wait_for(worker.run(fn, *args), timeout=timeout)
        except TimeoutError as exc:
            raise TerminalBookError(
                f"{fn.__name__}({self.symbol!r}) got no answer within {timeout} s"
            ) from exc

    async def open(self) -> TerminalBook:
        """Connect, check the symbol and subscribe to its depth of market."""
        await self._broker.connect()
        found = await self._call(subscribe, self.symbol)
        if isinstance(found, str):
            raise TerminalBookError(found)
        self._subscribed = True
        tick_size, volume_step = found
        if volume_step <= 0:
            raise TerminalBookError(f"{self.symbol}: volume step {volume_step} is not positive")
        self._differ = Mt5BookDiffer(tick_size, round(1 / volume_step))
        return self

    async def poll(self) -> list[LevelSet]:
        """Read the depth once and return the level updates since the last read."""
        got = await self._call(snapshot, self.symbol, self._step_market and self.polls > 0)
        if isinstance(got, str):
            raise TerminalBookError(got)
        rows, time_msc = got
        self.polls += 1
        ts_ns = time.time_ns() if time_msc is None else time_msc * 1_000_000
        return self.differ.diff(rows, ts_ns)

    async def close(self) -> None:
        """Release the depth subscription and the terminal connection."""
        try:
            if self._subscribed:
                self._subscribed = False
                await self._call(unsubscribe, self.symbol)
        finally:
            await self._broker.close()

    async def __aenter__(self) -> TerminalBook:
        try:
            return await self.open()
        except BaseException:
            await self.close()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
