"""The book benchmark runs end to end on a small file and reports identical touch sequences."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from benches import book as bench  # noqa: E402


def test_bench_on_a_deltas_file(tmp_path: Path) -> None:
    path = tmp_path / "deltas.csv"
    path.write_text("side,price,size\n0,100,5\n1,103,4\n0,101,2\n1,102,1\n1,102,0\n0,101,0\n")
    out = bench.main(
        [
            "--deltas",
            str(path),
            "--l3-messages",
            "500",
            "--pipeline-events",
            "300",
            "--queue-places",
            "200",
            "--repeat",
            "1",
        ]
    )
    assert out["identical_best_sequences"] is True
    assert (out["final_best_bid"], out["final_best_ask"]) == (100, 103)
    assert out["updates"] == 6
    assert out["updates_per_s"] > 0 and out["batch_updates_per_s"] > 0
    assert out["l3_messages_per_s"] > 0
    assert out["pipeline_events"] == 300 and out["pipeline_events_per_s"] > 0
    assert out["queue_places"] == 200 and out["queue_places_per_s"] > 0
