"""The metadata every journaled event carries: causation, correlation and stage timestamps.

Shape (plain JSON, stored in the journal's `metadata` column)::

    {
      "correlation_id": "A1.mm.1z",        # groups one order's events (the client order id)
      "causation_id": "<event_id>",         # the event or command that caused this one
      "stages": {                           # every stage the event passed, both clocks
        "signal":      {"wall_ns": 1700000000000000000, "mono_ns": 123456789},
        "submit":      {...}, "journal": {...}, "broker_send": {...},
        "broker_ack":  {...}, "fill": {...}
      }
    }

`wall_ns` is `time.time_ns()` (comparable across processes and with broker times);
`mono_ns` is `time.monotonic_ns()` (only differences within one process mean anything, and
that is what latency figures use). Stages are optional; unknown keys are preserved. The
domain never reads a clock: the engine stamps and passes the numbers in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from oms.domain.errors import EventDecodeError


class Stage(StrEnum):
    """Points on the path signal → submit → journal → broker send → broker ack → fill."""

    SIGNAL = "signal"
    SUBMIT = "submit"
    JOURNAL = "journal"
    BROKER_SEND = "broker_send"
    BROKER_ACK = "broker_ack"
    FILL = "fill"


@dataclass(frozen=True, slots=True)
class StageStamp:
    """One stage seen on both clocks."""

    wall_ns: int
    mono_ns: int

    def to_dict(self) -> dict[str, int]:
        """JSON form."""
        return {"wall_ns": self.wall_ns, "mono_ns": self.mono_ns}


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Typed view of an event's metadata; `to_dict`/`from_dict` give the stored shape."""

    correlation_id: str | None = None
    causation_id: str | None = None
    stages: Mapping[str, StageStamp] = field(default_factory=dict)

    def with_stage(self, stage: Stage, wall_ns: int, mono_ns: int) -> EventMetadata:
        """A copy that also records `stage` at the given instants."""
        stages = dict(self.stages)
        stages[stage.value] = StageStamp(wall_ns, mono_ns)
        return EventMetadata(self.correlation_id, self.causation_id, stages)

    def stage(self, stage: Stage) -> StageStamp | None:
        """The stamp of one stage, if the event passed it."""
        return self.stages.get(stage.value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored in the journal (keys with no value are left out)."""
        out: dict[str, Any] = {}
        if self.correlation_id is not None:
            out["correlation_id"] = self.correlation_id
        if self.causation_id is not None:
            out["causation_id"] = self.causation_id
        if self.stages:
            out["stages"] = {name: stamp.to_dict() for name, stamp in self.stages.items()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventMetadata:
        """Read the stored shape back, raising `EventDecodeError` on a malformed stage."""
        stages: dict[str, StageStamp] = {}
        raw = data.get("stages") or {}
        if not isinstance(raw, Mapping):
            raise EventDecodeError("metadata.stages must be an object")
        for name, stamp in raw.items():
            try:
                stages[str(name)] = StageStamp(int(stamp["wall_ns"]), int(stamp["mono_ns"]))
            except (KeyError, TypeError, ValueError):
                raise EventDecodeError(
                    f"metadata.stages.{name} needs integer wall_ns and mono_ns"
                ) from None
        return cls(data.get("correlation_id"), data.get("causation_id"), stages)


def stage_latency_ns(metadata: Mapping[str, Any], start: Stage, end: Stage) -> int | None:
    """Monotonic nanoseconds between two stages of one event's metadata, if both are there."""
    stages = metadata.get("stages")
    if not stages:
        return None
    a = stages.get(start.value)
    b = stages.get(end.value)
    if a is None or b is None:
        return None
    return int(b["mono_ns"]) - int(a["mono_ns"])
