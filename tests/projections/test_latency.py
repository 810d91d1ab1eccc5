"""Latency intervals from stage stamps: path order, percentiles, and clocks from two hosts."""

from __future__ import annotations

from oms.domain.records import Record
from oms.projections.latency import interval_samples, latency_table, percentile


def _record(position: int, stream: str, stages: dict[str, tuple[int, int]]) -> Record:
    meta = {"stages": {k: {"mono_ns": m, "wall_ns": w} for k, (m, w) in stages.items()}}
    return Record(position, stream, position, f"e{position}", "order.accepted", 1, {}, meta)


def test_stamps_of_one_order_combine_across_its_events() -> None:
    records = [
        _record(1, "order-a", {"submit": (100, 10_000), "journal": (300, 10_200)}),
        _record(2, "order-a", {"broker_send": (700, 10_600), "broker_ack": (1_700, 11_600)}),
        _record(3, "order-b", {"submit": (0, 0), "broker_send": (5_000, 5_000)}),
    ]
    samples = interval_samples(records)
    assert samples["submit→journal"] == [200]
    assert samples["journal→broker_send"] == [400]
    assert samples["broker_send→broker_ack"] == [1_000]
    assert sorted(samples["submit→broker_send"]) == [600, 5_000]
    assert samples["submit→broker_ack"] == [1_600]
    names = [line.interval for line in latency_table(records)]
    assert names.index("submit→journal") < names.index("broker_send→broker_ack")


def test_monotonic_stamps_from_another_host_fall_back_to_wall_clock() -> None:
    records = [
        _record(1, "order-a", {"submit": (5_000_000_000_000, 1_000_000)}),
        _record(2, "order-a", {"broker_ack": (42, 3_000_000)}),  # restarted elsewhere
    ]
    assert interval_samples(records)["submit→broker_ack"] == [2_000_000]


def test_nearest_rank_percentile() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile([7], 50) == 7
