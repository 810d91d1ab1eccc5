"""What the engine and the reports ask of the projections, and invariants across them."""

from __future__ import annotations

from typing import Any

import pytest

from oms.domain.enums import AccountMode, OrderStatus
from oms.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderPartiallyFilled,
    OrderSubmitted,
)
from oms.domain.ids import order_stream_id
from oms.domain.positions import SymbolSpec
from oms.domain.records import Record
from oms.projections import FillsBlotter, OrderBook, Positions, standard_set
from oms.projections.synthetic import HEDGING_ACCOUNT, NETTING_ACCOUNT, session

MODES = {HEDGING_ACCOUNT: AccountMode.HEDGING}


def journal(events: list[OrderEvent]) -> list[Record]:
    return [
        Record(i, order_stream_id(e.client_order_id), i, f"e{i}", e.TYPE, e.SCHEMA_VERSION,
               e.to_payload(), {}, 1_000 * i)
        for i, e in enumerate(events, start=1)
    ]


def order(coid: str, side: str = "buy", volume: float = 1.0, account: str = "N1",
          **kw: Any) -> OrderSubmitted:
    data: dict[str, Any] = {"client_order_id": coid, "account": account, "strategy": "mm",
                            "symbol": "EURUSD", "side": side, "order_type": "limit",
                            "volume": volume, "price": 1.1}
    data.update(kw)
    return OrderSubmitted.from_payload(data)


def deal(coid: str, ticket: int, volume: float, price: float, side: str = "buy",
         account: str = "N1", final: bool = True, pid: int | None = None) -> OrderEvent:
    cls = OrderFilled if final else OrderPartiallyFilled
    return cls.from_payload({"client_order_id": coid, "deal_ticket": ticket, "account": account,
                             "symbol": "EURUSD", "side": side, "volume": volume, "price": price,
                             "fill_ns": ticket, "commission": -1.0, "position_id": pid})


def test_order_book_queries() -> None:
    records = journal([
        order("N1.mm.0"), order("N1.mm.1", side="sell", volume=2.0), order("N1.mm.5"),
        order("N2.mm.0", account="N2"),
        OrderAccepted(client_order_id="N1.mm.0", broker_order_id=900),
        OrderAccepted(client_order_id="N1.mm.1", broker_order_id=901),
        deal("N1.mm.1", 1, 0.5, 1.1, side="sell", final=False),
        OrderCanceled(client_order_id="N1.mm.5"),
        deal("N1.mm.5", 2, 0.3, 1.1),  # raced the cancel
        deal("N1.mm.5", 2, 0.3, 1.1),  # and was reported twice
        deal("N1.mm.0", 3, 0.7, 1.1, final=False),
        deal("N1.mm.0", 4, 0.7, 1.1),  # 1.4 lots on a 1-lot order
    ])
    book = OrderBook.build(records)
    assert book.next_sequence("N1", "mm") == 6
    assert book.next_sequence("N2", "mm") == 1
    assert book.next_sequence("N3", "x") == 0
    assert book.by_broker_ticket("N1", 901) is book.get("N1.mm.1")
    assert book.by_broker_ticket("N2", 901) is None
    assert book.by_broker_ticket("N1", 5) is None
    assert [o.client_order_id for o in book.select(open_only=True)] == ["N1.mm.1", "N2.mm.0"]
    assert book.open_count("N1") == 1 and book.open_count() == 2
    assert book.working_volume("N1", "EURUSD") == (0.0, pytest.approx(1.5))
    assert [o.client_order_id for o in book.select(status=OrderStatus.CANCELED)] == ["N1.mm.5"]
    assert [o.client_order_id for o in book.select(account="N2")] == ["N2.mm.0"]
    assert book.counts() == {"filled": 1, "partially_filled": 1, "canceled": 1, "submitted": 1}
    assert book.flagged_deals() == {2: "late_fill", 4: "overfill"}
    fills = FillsBlotter.build(records)
    assert [f.deal_ticket for f in fills.select()] == [1, 2, 3, 4]
    assert fills.duplicates == 1
    got = fills.get("N1", 3)
    assert got is not None and got.client_order_id == "N1.mm.0" and got.account == "N1"
    assert [f.deal_ticket for f in fills.select(client_order_id="N1.mm.5")] == [2]
    assert [f.deal_ticket for f in fills.select(since_ns=3)] == [3, 4]
    assert fills.get("N1", 99) is None and fills.get("N2", 3) is None


def test_netting_positions_reduce_and_reverse_with_contract_size() -> None:
    records = journal([
        order("N1.mm.0"), deal("N1.mm.0", 1, 1.0, 1.1000, pid=77),
        order("N1.mm.1", side="sell", volume=3.0),
        deal("N1.mm.1", 2, 3.0, 1.1010, side="sell", pid=77),
    ])
    positions = Positions.build(records, specs={"EURUSD": SymbolSpec(contract_size=100_000)})
    (pos,) = positions.select()
    assert pos.key == "N1|EURUSD"
    assert (pos.side, pos.volume, pos.avg_price, pos.position_id) == ("sell", 2.0, 1.101, 77)
    assert pos.realised_pnl == pytest.approx(100.0)
    assert pos.commission == -2.0
    assert positions.net_volume("N1", "EURUSD") == -2.0
    assert positions.find("N1", symbol="EURUSD") is pos
    assert positions.find("N1", symbol="GBPUSD") is None
    assert positions.find("N9", symbol="EURUSD") is None
    assert positions.realised_pnl("N1") == pytest.approx(100.0)


def test_hedging_positions_close_by_id_and_close_by() -> None:
    h = "H1"
    records = journal([
        order("H1.mm.0", account=h), deal("H1.mm.0", 1, 1.0, 1.10, account=h, pid=500),
        order("H1.mm.1", side="sell", volume=0.5, account=h),
        deal("H1.mm.1", 2, 0.5, 1.12, side="sell", account=h, pid=501),
        # close 0.3 of the long by id
        order("H1.mm.2", side="sell", volume=0.3, account=h, position_id=500,
              order_type="market", price=None),
        deal("H1.mm.2", 3, 0.3, 1.11, side="sell", account=h, pid=500),
        # close-by: the short (0.5) against the rest of the long (0.7): two deals
        order("H1.mm.3", side="buy", volume=0.5, account=h, position_id=501,
              position_by_id=500, order_type="market", price=None),
        deal("H1.mm.3", 4, 0.5, 1.10, side="buy", account=h, pid=501, final=False),
        deal("H1.mm.3", 5, 0.5, 1.10, side="sell", account=h, pid=500),
        # closing more than is left is a discrepancy, not a reversal
        order("H1.mm.4", side="sell", volume=0.5, account=h, position_id=500,
              order_type="market", price=None),
        deal("H1.mm.4", 6, 0.5, 1.10, side="sell", account=h, pid=500),
    ])
    projections = standard_set({h: AccountMode.HEDGING})
    projections.apply_many(records)
    book, positions, _, _ = projections.projections
    assert isinstance(positions, Positions) and isinstance(book, OrderBook)
    assert [p.key for p in positions.select(open_only=False)] == ["H1#500", "H1#501"]
    assert list(positions.select()) == []
    long, short = positions.select(open_only=False)
    assert positions.find(h, position_id=500) is long
    assert positions.find(h, symbol="EURUSD") is None
    assert long.realised_pnl == pytest.approx(0.3 * 0.01 + 0)
    assert short.realised_pnl == pytest.approx(0.5 * 0.02)
    assert positions.realised_pnl(h) == pytest.approx(0.003 + 0.01)
    assert positions.discrepancies == [
        {"kind": "close_exceeds_position", "key": "H1#500", "deal_ticket": 6,
         "excess": pytest.approx(0.3)}
    ]
    closer = book.get("H1.mm.3")
    assert closer is not None and closer.status is OrderStatus.FILLED
    assert closer.filled_volume == pytest.approx(0.5) and closer.anomalies == ()


def test_cross_projection_invariants_on_a_long_session() -> None:
    projections = standard_set(MODES)
    projections.apply_many(session(seed=11, events=40_000))
    book, positions, fills, _ = projections.projections
    assert isinstance(book, OrderBook) and isinstance(positions, Positions)
    assert isinstance(fills, FillsBlotter)
    assert set(book.open) == {c for c, o in book.orders.items() if o.is_open}
    rows = list(fills.select())
    assert len(rows) == len({r.deal_ticket for r in rows}) == len(positions.deals)
    assert fills.duplicates == positions.duplicates > 0
    for symbol in {r.symbol for r in rows}:
        signed = sum(r.volume if r.side == "buy" else -r.volume
                     for r in rows if r.symbol == symbol and r.account == NETTING_ACCOUNT)
        assert positions.net_volume(NETTING_ACCOUNT, symbol) == pytest.approx(signed, abs=1e-6)
    dealt: dict[str, float] = {}
    for r in rows:
        dealt[r.client_order_id] = dealt.get(r.client_order_id, 0.0) + r.volume
    for coid, o in book.orders.items():
        assert o.filled_volume == pytest.approx(dealt.get(coid, 0.0), abs=1e-9)
    kinds = {a["kind"] for _, a in book.anomalies()}
    assert {"duplicate_fill", "late_fill", "overfill"} <= kinds


def test_indexes_kept_by_the_fold_equal_indexes_built_afresh() -> None:
    records = list(session(seed=5, events=20_000))
    live = OrderBook()
    live.apply_many(records[:7_000])
    assert live.next_sequence("N1", "mm") > 0  # the first query builds the indexes
    for record in records[7_000:12_000]:
        live.apply(record)
    live.apply_many(records[12_000:])
    fresh = OrderBook.build(records)
    assert live.state_hash() == fresh.state_hash()
    assert live.open.keys() == fresh.open.keys()
    assert live.by_ticket == fresh.by_ticket
    assert live.sequences == fresh.sequences
    assert all(o.is_open for o in live.open.values())
    restored = OrderBook()
    restored.restore(live.snapshot())
    assert restored.open.keys() == live.open.keys()
    assert restored.sequences == live.sequences


def test_kill_switches_block_until_cleared() -> None:
    from oms.domain.events import KillSwitchCleared, KillSwitchEngaged
    from oms.projections import KillSwitches

    def rec(i: int, event: KillSwitchEngaged | KillSwitchCleared) -> Record:
        return Record(i, "risk", i, f"k{i}", event.TYPE, 1, event.to_payload(), {}, i)

    records = [
        rec(1, KillSwitchEngaged(account="N1", reason="drawdown", by="ops")),
        rec(2, KillSwitchEngaged(reason="exchange halt", by="ops")),
        rec(3, KillSwitchCleared(reason="resumed", by="ops")),
    ]
    switches = KillSwitches.build(records, as_of_position=2)
    assert switches.engaged("N1") and switches.engaged("N2")
    switches.apply(records[2])
    assert switches.engaged("N1") and not switches.engaged("N2")
    assert switches.engaged_by["N1"]["reason"] == "drawdown"
    back = KillSwitches()
    back.restore(switches.snapshot())
    assert back.state_hash() == switches.state_hash()


def test_risk_context_reads_the_projections() -> None:
    from oms.domain.commands import PlaceOrder
    from oms.domain.events import KillSwitchEngaged
    from oms.domain.risk import RateWindow, RiskLimits, check_place
    from oms.projections import KillSwitches, risk_context

    records = journal([
        order("N1.mm.0", volume=2.0), deal("N1.mm.0", 1, 2.0, 1.1),
        order("N1.mm.1", volume=1.0), order("N1.mm.2", side="sell", volume=0.5),
    ])
    projections = standard_set()
    projections.apply_many(records)
    book, positions, _, switches = projections.projections
    assert isinstance(book, OrderBook) and isinstance(positions, Positions)
    assert isinstance(switches, KillSwitches)
    window = RateWindow(1_000)
    window.record(10)
    ctx = risk_context("N1", "EURUSD", book=book, positions=positions, switches=switches,
                       window=window, now_ns=20)
    assert (ctx.net_position, ctx.open_buy_volume, ctx.open_sell_volume) == (2.0, 1.0, 0.5)
    assert (ctx.open_orders, ctx.orders_in_window, ctx.kill_switch) == (2, 1, False)
    cmd = PlaceOrder.parse({"account": "N1", "strategy": "mm", "symbol": "EURUSD",
                            "side": "buy", "order_type": "market", "volume": 1.5})
    denial = check_place(cmd, ctx, RiskLimits(max_position_per_symbol=4.0), 20, None)
    assert denial is not None and denial.value == pytest.approx(4.5)
    engage = KillSwitchEngaged(account="N1", reason="r", by="ops")
    projections.apply(Record(5, "risk", 1, "k", engage.TYPE, 1, engage.to_payload(), {}, 5))
    ctx = risk_context("N1", "EURUSD", book=book, positions=positions, switches=switches,
                       window=window, now_ns=2_000)
    assert ctx.kill_switch and ctx.orders_in_window == 0


def test_two_accounts_deals_and_tickets_with_the_same_numbers_are_both_kept() -> None:
    records = journal([
        order("N1.mm.0"), order("N2.mm.0", account="N2"),
        OrderAccepted(client_order_id="N1.mm.0", broker_order_id=700),
        OrderAccepted(client_order_id="N2.mm.0", broker_order_id=700),
        deal("N1.mm.0", 9, 1.0, 1.1), deal("N2.mm.0", 9, 1.0, 1.1, account="N2"),
    ])
    fills = FillsBlotter.build(records)
    assert fills.duplicates == 0
    assert [(f.account, f.deal_ticket) for f in fills.select()] == [("N1", 9), ("N2", 9)]
    book = OrderBook.build(records)
    assert book.by_broker_ticket("N1", 700) is book.get("N1.mm.0")
    assert book.by_broker_ticket("N2", 700) is book.get("N2.mm.0")
