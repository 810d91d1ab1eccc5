"""What the strategy hears about its orders: every journaled event, and every engine error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oms.domain.enums import OrderStatus
from oms.domain.events import (
    OrderCancelRejected,
    OrderDenied,
    OrderModifyRejected,
    OrderOutcomeUnknown,
    OrderRejected,
)

ENGINE_ERROR = "engine.error"
FAILURE_TYPES = frozenset(
    {
        OrderDenied.TYPE,
        OrderRejected.TYPE,
        OrderOutcomeUnknown.TYPE,
        OrderModifyRejected.TYPE,
        OrderCancelRejected.TYPE,
        ENGINE_ERROR,
    }
)
"""Updates that tell the strategy something went wrong (the design notes' failure branch)."""


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One fact about one order: an event type (or `engine.error`), its data and the status."""

    client_order_id: str
    account: str
    strategy: str
    kind: str
    status: OrderStatus
    detail: dict[str, Any]
    position: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def failure(self) -> bool:
        """True for denials, rejects, lost answers and engine errors."""
        return self.kind in FAILURE_TYPES


Callback = Callable[[OrderUpdate], None]


class Subscription:
    """An async iterator over the updates of the orders it selects (by strategy and account)."""

    def __init__(self, strategy: str | None, account: str | None, close: Callable[[], None]):
        self.strategy = strategy
        self.account = account
        self._queue: asyncio.Queue[OrderUpdate | None] = asyncio.Queue()
        self._close = close

    def wants(self, update: OrderUpdate) -> bool:
        """True when the update is about an order this subscription selects."""
        return (self.strategy is None or update.strategy == self.strategy) and (
            self.account is None or update.account == self.account
        )

    def put(self, update: OrderUpdate) -> None:
        """Queue one update (called by the manager)."""
        self._queue.put_nowait(update)

    def close(self) -> None:
        """Stop iterating once the queued updates are read."""
        self._close()
        self._queue.put_nowait(None)

    async def next(self, timeout: float | None = None) -> OrderUpdate:
        """The next update; TimeoutError after `timeout` seconds, StopAsyncIteration if closed."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is None:
            self._queue.put_nowait(None)
            raise StopAsyncIteration
        return item

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> OrderUpdate:
        return await self.next()

    def pending(self) -> int:
        """Updates queued and not yet read."""
        return self._queue.qsize()
