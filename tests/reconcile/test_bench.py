"""The reconcile benchmark runs end to end at a small size and reports what it disturbed."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from benches import reconcile as bench


def test_small_benchmark_is_clean_then_finds_every_disturbance() -> None:
    figures = bench.main(["--open-orders", "300", "--positions", "60", "--deals", "600",
                          "--repeat", "1"])  # fmt: skip
    assert figures["open_orders"] == 300 and figures["positions"] == 60
    assert figures["deals"] == 600
    assert figures["clean_discrepancies"] == 0
    disturbed = figures["disturbed"]
    expected = disturbed["orders"] + disturbed["deals"] + disturbed["positions"]
    assert figures["disturbed_discrepancies"] == expected
    # Fills nobody journaled and orders the broker canceled are healed: two thirds of orders.
    assert figures["disturbed_healed"] == 2 * (disturbed["orders"] // 3)
    assert figures["reconcile_s"] > 0 and figures["broker_records"] >= 300 + 60 + 600
