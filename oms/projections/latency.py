"""Stage latencies: monotonic nanoseconds between the stages an event's metadata records.

For each order event that carries ``metadata["stages"]`` (see `oms.domain.metadata`), the
gap between every two consecutive stages it passed (signal → submit → journal →
broker_send → broker_ack → fill) is kept, and so is the whole span from its first stage to
its last. Not part of the standard replay set: add it where latency reports are wanted.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from oms.domain.metadata import Stage
from oms.domain.order import ORDER_EVENT_TYPES
from oms.domain.records import JournalRecord
from oms.projections.base import Projection

ORDER = tuple(stage.value for stage in Stage)
TOTAL = "total"


class Latency(Projection):
    """Samples per stage gap (``"submit->journal"`` and so on, plus ``"total"``)."""

    name = "latency"

    def __init__(self) -> None:
        super().__init__()
        self.samples: dict[str, list[int]] = {}
        handle = self._on_event
        self._handlers = {t: handle for t in ORDER_EVENT_TYPES}

    def _on_event(self, record: JournalRecord, payload: dict[str, Any]) -> None:
        stages = record.metadata.get("stages") if record.metadata else None
        if not stages:
            return
        seen = [(name, stages[name]["mono_ns"]) for name in ORDER if name in stages]
        samples = self.samples
        for (a, start), (b, end) in itertools.pairwise(seen):
            samples.setdefault(f"{a}->{b}", []).append(end - start)
        if len(seen) > 1:
            samples.setdefault(TOTAL, []).append(seen[-1][1] - seen[0][1])

    def percentiles(
        self, gap: str, points: tuple[float, ...] = (50, 90, 99)
    ) -> dict[str, float]:
        """Nearest-rank percentiles of one gap in microseconds, with count and max."""
        values = sorted(self.samples.get(gap, ()))
        if not values:
            return {"count": 0}
        out: dict[str, float] = {"count": len(values), "max_us": values[-1] / 1e3}
        for point in points:
            rank = max(1, math.ceil(point / 100 * len(values)))
            out[f"p{point:g}_us"] = values[rank - 1] / 1e3
        return out

    def gaps(self) -> list[str]:
        """The gaps seen, in stage order, then the total."""
        names = [f"{a}->{b}" for i, a in enumerate(ORDER) for b in ORDER[i + 1 :]]
        return [g for g in (*names, TOTAL) if g in self.samples]

    def _state(self) -> dict[str, Any]:
        return {"samples": self.samples}

    def _load(self, state: dict[str, Any]) -> None:
        self.samples = {k: list(v) for k, v in state["samples"].items()}
