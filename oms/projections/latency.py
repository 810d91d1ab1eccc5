"""Latency from the stage timestamps events carry: per order, each stage's first stamp across
its events, then the time between consecutive stages, as percentiles over all orders."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from oms.domain.metadata import Stage
from oms.domain.records import JournalRecord

STAGES: tuple[str, ...] = tuple(s.value for s in Stage)
"""signal → submit → journal → broker send → broker ack → fill, in path order."""
EXTRA_INTERVALS: tuple[tuple[str, str], ...] = (
    (Stage.SUBMIT.value, Stage.BROKER_SEND.value),
    (Stage.SUBMIT.value, Stage.BROKER_ACK.value),
)
"""Spans across several stages worth their own line: internal latency and the round trip."""
PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)
CLOCK_AGREEMENT_NS = 1_000_000_000
"""Monotonic and wall differences of stamps from one host agree far closer than this."""


@dataclass(frozen=True, slots=True)
class StageLatency:
    """Percentiles of one interval, in microseconds."""

    interval: str
    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    p999_us: float
    max_us: float


def _first_stamps(records: Iterable[JournalRecord]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per stream (one order), the earliest (mono_ns, wall_ns) seen for each stage."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for record in records:
        stages = record.metadata.get("stages") if record.metadata else None
        if not stages:
            continue
        seen = out.setdefault(record.stream_id, {})
        for name, stamp in stages.items():
            if name not in seen:
                seen[name] = (int(stamp["mono_ns"]), int(stamp["wall_ns"]))
    return out


def _span(a: tuple[int, int], b: tuple[int, int]) -> int:
    """The monotonic difference, unless the wall clocks disagree with it by more than
    `CLOCK_AGREEMENT_NS` (the stamps came from different hosts): then the wall one."""
    mono = b[0] - a[0]
    wall = b[1] - a[1]
    return mono if abs(mono - wall) <= CLOCK_AGREEMENT_NS else wall


def interval_samples(records: Iterable[JournalRecord]) -> dict[str, list[int]]:
    """Nanosecond samples per interval name ("submit→journal", …)."""
    samples: dict[str, list[int]] = {}
    for stamps in _first_stamps(records).values():
        present = [s for s in STAGES if s in stamps]
        steps = list(pairwise(present))
        for a, b in steps:
            samples.setdefault(f"{a}→{b}", []).append(_span(stamps[a], stamps[b]))
        for a, b in EXTRA_INTERVALS:
            if a in stamps and b in stamps and (a, b) not in steps:
                samples.setdefault(f"{a}→{b}", []).append(_span(stamps[a], stamps[b]))
    return samples


def percentile(sorted_values: Sequence[int], pct: float) -> int:
    """Nearest-rank percentile of an ascending sequence (not empty)."""
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[min(int(rank), len(sorted_values)) - 1]


def latency_table(records: Iterable[JournalRecord]) -> list[StageLatency]:
    """One line per interval, in path order."""
    samples = interval_samples(records)
    order = {s: i for i, s in enumerate(STAGES)}
    out = []
    for name in sorted(samples, key=lambda n: tuple(order.get(p, 99) for p in n.split("→"))):
        values = sorted(samples[name])
        p50, p90, p99, p999 = (percentile(values, p) / 1000 for p in PERCENTILES)
        out.append(StageLatency(name, len(values), p50, p90, p99, p999, values[-1] / 1000))
    return out
