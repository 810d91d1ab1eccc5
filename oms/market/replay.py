"""Run a sequence of feed events through a rolling book and the signal detectors."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from oms.market.events import MarketEvent
from oms.market.rolling import RollingBook
from oms.market.signals import Signal, SignalConfig, SignalEngine


def detect_signals(
    events: Iterable[MarketEvent],
    config: SignalConfig | None = None,
    l3: bool = False,
    book: RollingBook | None = None,
) -> Iterator[Signal]:
    """Yield every signal the events fire, in order; `book` is left in the final state."""
    rolling = book if book is not None else RollingBook(l3=l3)
    engine = SignalEngine(config)
    for event in events:
        observations = rolling.apply(event)
        yield from engine.on_event(event.ts_ns, observations, rolling.book)
