"""The runner tunes the collector once, never downwards, and can be told to leave it alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from oms.engine.runtime import YOUNG_GC_THRESHOLD, run, tune_gc


@pytest.fixture(autouse=True)
def saved_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield saved
    gc.set_threshold(*saved)


async def _thresholds() -> tuple[int, int, int]:
    return gc.get_threshold()


def test_run_raises_the_young_threshold_and_keeps_the_others() -> None:
    assert run(_thresholds()) == (YOUNG_GC_THRESHOLD, 10, 10)


def test_run_can_leave_the_collector_alone() -> None:
    assert run(_thresholds(), young_gc_threshold=None) == (700, 10, 10)


def test_a_higher_threshold_set_elsewhere_is_kept() -> None:
    gc.set_threshold(100_000, 10, 10)
    tune_gc(20_000)
    assert gc.get_threshold() == (100_000, 10, 10)


def test_a_disabled_collector_stays_disabled() -> None:
    gc.set_threshold(0, 10, 10)
    tune_gc()
    assert gc.get_threshold() == (0, 10, 10)
