"""Projections are deterministic: live folding, full rebuilds, snapshot + tail and
point-in-time builds all agree, on long seeded sessions with the odd events real ones have."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journal import EventColumns
from oms.domain.codec import decode
from oms.domain.enums import AccountMode, OrderStatus
from oms.domain.order import Order
from oms.domain.records import Record
from oms.projections import (
    FillsBlotter,
    KillSwitches,
    OrderBook,
    Positions,
    Projection,
    ProjectionError,
    ProjectionSet,
    standard_set,
)
from oms.projections.synthetic import HEDGING_ACCOUNT, session

MODES = {HEDGING_ACCOUNT: AccountMode.HEDGING}
FACTORIES: dict[str, Callable[[], Projection]] = {
    "orders": OrderBook,
    "positions": lambda: Positions(MODES),
    "fills": FillsBlotter,
}
LONG = 30_000


@pytest.fixture(scope="module")
def records() -> list[Record]:
    return list(session(seed=7, events=LONG))


def test_synthetic_payloads_have_the_event_shapes(records: list[Record]) -> None:
    seen = set()
    for record in records[:5_000]:
        event = decode(record.type, record.schema_version, record.payload)
        assert record.type == event.TYPE
        seen.add(record.type)
    assert len(seen) == 15, "every order event type occurs"


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_live_one_by_one_equals_rebuild(name: str, records: list[Record]) -> None:
    live = FACTORIES[name]()
    rng = random.Random(1)
    i = 0
    while i < len(records):  # the live side sees records one at a time and in odd batches
        if rng.random() < 0.5:
            live.apply(records[i])
            i += 1
        else:
            n = rng.randint(1, 500)
            live.apply_many(records[i : i + n])
            i += n
    rebuilt = FACTORIES[name]()
    rebuilt.apply_many(iter(records))
    assert live.position == rebuilt.position == LONG
    assert live.state_hash() == rebuilt.state_hash()
    assert live.snapshot() == rebuilt.snapshot()
    assert live.errors == []


def test_projection_set_equals_separate_folds(records: list[Record]) -> None:
    together = standard_set(MODES)
    together.apply_many(records)
    for projection in together.projections:
        if projection.name in FACTORIES:
            alone = FACTORIES[projection.name]()
            alone.apply_many(records)
            assert projection.state_hash() == alone.state_hash(), projection.name
        assert projection.position == LONG


def test_replaying_what_was_applied_changes_nothing(records: list[Record]) -> None:
    projections = standard_set(MODES)
    projections.apply_many(records[:10_000])
    before = projections.state_hashes()
    projections.apply_many(records[:10_000])
    for record in records[5_000:6_000]:
        projections.apply(record)
    assert projections.state_hashes() == before


@settings(max_examples=6, deadline=None)
@given(cut=st.integers(min_value=0, max_value=LONG), seed=st.integers(0, 3))
def test_snapshot_plus_tail_equals_full_rebuild(cut: int, seed: int) -> None:
    records = list(session(seed=seed, events=LONG // 3))
    cut = min(cut, len(records))
    full = standard_set(MODES)
    full.apply_many(records)
    first = standard_set(MODES)
    first.apply_many(records[:cut])
    resumed: list[Projection] = []
    for projection in first.projections:
        stored = json.loads(json.dumps(projection.snapshot()))  # as a table would keep it
        fresh = FACTORIES.get(projection.name, KillSwitches)()
        fresh.restore(stored)
        assert fresh.position == cut
        resumed.append(fresh)
    tail = ProjectionSet(resumed)
    tail.apply_many(records[max(0, cut - 50) :])  # an overlapping tail is harmless
    assert tail.state_hashes() == full.state_hashes()


def _staggered(records: list[Record]) -> ProjectionSet:
    """A standard set whose members stand at different positions of the records."""
    staggered = standard_set(MODES)
    for projection, cut in zip(staggered.projections, (9_000, 0, 4_000, 12_000), strict=True):
        projection.apply_many(records[:cut])
    return staggered


def test_members_at_different_positions_catch_up_from_one_pass(records: list[Record]) -> None:
    full = standard_set(MODES)
    full.apply_many(records)
    staggered = _staggered(records)
    staggered.apply_many(iter(records))  # a one-shot iterator: read once, as from the journal
    assert staggered.state_hashes() == full.state_hashes()
    assert [p.position for p in staggered.projections] == [LONG] * 4


def test_point_in_time_by_position_and_by_time(records: list[Record]) -> None:
    cuts = sorted(random.Random(3).sample(range(1, LONG), 5))
    live = {name: make() for name, make in FACTORIES.items()}
    hashes: dict[int, dict[str, str]] = {}
    start = 0
    for cut in cuts:
        for projection in live.values():
            projection.apply_many(records[start:cut])
        hashes[cut] = {name: p.state_hash() for name, p in live.items()}
        start = cut
    for cut in cuts:
        at_ns = records[cut - 1].recorded_at_ns
        for name, make in FACTORIES.items():
            config = {"modes": MODES} if name == "positions" else {}
            by_position = type(make()).build(records, as_of_position=cut, **config)
            by_time = type(make()).build(records, as_of_ns=at_ns, **config)
            assert by_position.state_hash() == hashes[cut][name]
            assert by_time.state_hash() == hashes[cut][name]
            assert by_position.position == cut


def test_as_of_time_skips_late_commits() -> None:
    base = list(session(seed=2, events=200))
    # a record that committed after a later one (possible across backends) is left out
    late = base[100]
    shuffled = [*base[:100], Record(late.position, late.stream_id, late.version, late.event_id,
                                    late.type, 1, late.payload, {}, base[150].recorded_at_ns),
                *base[101:]]
    cut_ns = base[120].recorded_at_ns
    built = OrderBook.build(shuffled, as_of_ns=cut_ns)
    expected = OrderBook.build([r for r in base[:121] if r.position != late.position])
    assert built.state_hash() == expected.state_hash()


def test_restore_refuses_foreign_snapshots(records: list[Record]) -> None:
    book = OrderBook.build(records[:100])
    snapshot = book.snapshot()
    with pytest.raises(ProjectionError, match="not 'fills'"):
        FillsBlotter().restore(snapshot)
    with pytest.raises(ProjectionError, match="format"):
        OrderBook().restore({**snapshot, "format": 99})
    hedged = Positions(MODES).snapshot()
    with pytest.raises(ProjectionError, match="configuration"):
        Positions().restore(hedged)
    renamed = {**snapshot, "state": {**snapshot["state"], "fields": ["other"]}}
    with pytest.raises(ProjectionError, match="other fields"):
        OrderBook().restore(renamed)


def test_bad_rows_are_kept_aside_and_the_fold_goes_on(records: list[Record]) -> None:
    good = records[:300]
    broken = Record(301, "order-x", 1, "bad", "order.filled", 1, {"client_order_id": "x"})
    future = Record(302, "order-y", 1, "new", "order.accepted", 9, {"client_order_id": "y"})
    tail = [Record(r.position + 2, r.stream_id, r.version, r.event_id, r.type,
                   r.schema_version, r.payload, r.metadata, r.recorded_at_ns)
            for r in records[300:400]]
    projections = standard_set(MODES)
    projections.apply_many([*good, broken, future, *tail])
    orders, positions, fills, _ = projections.projections
    assert [e["position"] for e in orders.errors] == [301, 302]
    assert "newer than this code" in orders.errors[1]["error"]
    assert [e["position"] for e in positions.errors] == [301]
    assert [e["position"] for e in fills.errors] == [301]
    clean = standard_set(MODES)
    clean.apply_many([*good, *tail])
    assert orders.position == clean.projections[0].position == 402
    state = orders.snapshot()["state"]
    stubs = [row for row in state["orders"] if row[0] == "x"]
    state["orders"] = [row for row in state["orders"] if row[0] != "x"]
    (stub,) = stubs  # a bad row may leave a stub for its stream, no more
    stub_order = Order.from_row(stub)
    assert stub_order.status is OrderStatus.NEW and stub_order.filled_volume == 0.0
    assert state == clean.projections[0].snapshot()["state"]
    assert positions.snapshot()["state"] == clean.projections[1].snapshot()["state"]
    assert fills.snapshot()["state"] == clean.projections[2].snapshot()["state"]
    one = OrderBook()
    for record in [*good, broken]:
        one.apply(record)
    assert [e["position"] for e in one.errors] == [301]


def test_startup_replay_equals_apply_many_and_freezes_the_state(records: list[Record]) -> None:
    import gc

    folded = standard_set(MODES)
    folded.apply_many(records[:5_000])
    replayed = standard_set(MODES)
    try:
        replayed.replay(iter(records[:5_000]))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert gc.isenabled()
    assert replayed.state_hashes() == folded.state_hashes()
    replayed.apply_many(records[5_000:6_000])  # the tail after a replay
    folded.apply_many(records[5_000:6_000])
    assert replayed.state_hashes() == folded.state_hashes()


def _columns(records: list[Record]) -> EventColumns:
    return EventColumns(
        [r.position for r in records], [r.stream_id for r in records],
        [r.version for r in records], [r.type for r in records],
        [r.schema_version for r in records], [r.payload for r in records],
        [r.recorded_at_ns for r in records],
    )


def test_folding_columns_equals_folding_records(records: list[Record]) -> None:
    """The journal's lighter read (columns) and records give the same state, errors included."""
    broken = Record(10_001, "order-x", 1, "bad", "order.filled", 1, {"client_order_id": "x"})
    future = Record(10_002, "order-y", 1, "new", "order.accepted", 9, {"client_order_id": "y"})
    source = [*records[:10_000], broken, future]
    by_records = standard_set(MODES)
    by_records.apply_many(source)
    by_columns = standard_set(MODES)
    for start in range(0, len(source), 777):
        by_columns.apply_columns(_columns(source[start : start + 777]))
    assert by_columns.state_hashes() == by_records.state_hashes()
    orders, positions, fills, _ = by_columns.projections
    assert [(e["position"], e["stream_id"]) for e in orders.errors] == [
        (10_001, "order-x"), (10_002, "order-y")]
    assert [e["stream_id"] for e in positions.errors + fills.errors] == ["order-x"] * 2
    alone = OrderBook()
    alone.apply_columns(_columns(source))
    assert alone.state_hash() == orders.state_hash()


def test_members_at_different_positions_catch_up_from_columns(records: list[Record]) -> None:
    full = standard_set(MODES)
    full.apply_many(records)
    staggered = _staggered(records)
    for start in range(0, LONG, 5_000):
        staggered.apply_columns(_columns(records[start : start + 5_000]))
    staggered.apply_columns(_columns(records[:100]))  # seen already: changes nothing
    assert staggered.state_hashes() == full.state_hashes()
    assert [p.position for p in staggered.projections] == [LONG] * 4


def test_a_member_added_later_is_folded_with_the_others(records: list[Record]) -> None:
    full = standard_set(MODES)
    full.apply_many(records[:6_000])
    growing = ProjectionSet([OrderBook(), Positions(MODES)])
    growing.apply_columns(_columns(records[:3_000]))
    growing.projections.append(FillsBlotter())
    growing.apply_columns(_columns(records[:6_000]))  # the newcomer starts from position 0
    assert growing.state_hashes() == {
        name: digest for name, digest in full.state_hashes().items() if name != "kill_switches"}
