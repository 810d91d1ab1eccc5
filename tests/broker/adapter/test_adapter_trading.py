"""The adapter against the simulated terminal: place, fill, modify, cancel, partial, requotes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from oms.broker.mt5 import constants as c
from oms.broker.mt5.adapter import AdapterPolicy, Mt5Broker
from oms.broker.port import (
    CancelOrder,
    CloseBy,
    ModifyOrder,
    ModifyPosition,
    OrderQuery,
    OutcomeStatus,
)
from oms.broker.sim import SimulatedTerminal
from oms.broker.worker import InlineWorker, SameObject
from oms.domain.enums import Filling, Side, TimeInForce
from tests.broker.adapter.conftest import Instrumented, limit, market

R = TypeVar("R")


async def test_market_order_fills_and_carries_our_keys(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    out = await broker.place(market("O-1"))
    assert out.status is OutcomeStatus.FILLED, out.reason
    assert out.retcode == 10009 and out.filled_volume == 0.1
    assert out.order_ticket and out.deal_ticket and out.fill_price
    assert out.sent_ns > 0 and out.attempts[0].answered_ns >= out.attempts[0].sent_ns
    (position,) = sim.positions_get()
    assert (position.magic, position.comment, position.identifier) == (7, "O-1", out.order_ticket)
    (deal,) = sim.history_deals_get(ticket=out.order_ticket)
    assert deal.ticket == out.deal_ticket and deal.magic == 7


async def test_closing_a_position(broker: Mt5Broker, sim: SimulatedTerminal) -> None:
    opened = await broker.place(market("O-1"))
    assert opened.order_ticket is not None
    closed = await broker.place(market("O-2", side=Side.SELL, position=opened.order_ticket))
    assert closed.status is OutcomeStatus.FILLED, closed.reason
    assert sim.positions_get() == ()


async def test_pending_order_is_placed_modified_and_canceled(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    placed = await broker.place(limit("L-1", 1.08000))
    assert placed.status is OutcomeStatus.PLACED, placed.reason
    assert placed.order_ticket is not None and placed.open_volume == 0.10
    ticket = placed.order_ticket
    (working,) = sim.orders_get(ticket=ticket)
    assert working.state == c.ORDER_STATE_PLACED and working.comment == "L-1"

    moved = await broker.modify(ModifyOrder("L-1", ticket, price=1.07900))
    assert moved.status is OutcomeStatus.MODIFIED, moved.reason
    assert sim.orders_get(ticket=ticket)[0].price_open == pytest.approx(1.079)
    same = await broker.modify(ModifyOrder("L-1", ticket, price=1.07900))
    assert same.status is OutcomeStatus.REJECTED and same.retcode == 10025

    canceled = await broker.cancel(CancelOrder("L-1", ticket))
    assert canceled.status is OutcomeStatus.CANCELED, canceled.reason
    (gone,) = sim.history_orders_get(ticket=ticket)
    assert gone.state == c.ORDER_STATE_CANCELED
    again = await broker.cancel(CancelOrder("L-1", ticket))
    assert again.status is OutcomeStatus.REJECTED and again.retcode is not None


async def test_limit_order_fills_when_the_market_reaches_it(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    tick = sim.symbol_info_tick("EURUSD")
    just_above = round(tick.ask + 0.00002, 5)
    placed = await broker.place(limit("L-2", just_above, Side.SELL))
    assert placed.status is OutcomeStatus.PLACED, placed.reason
    ticket = placed.order_ticket
    assert ticket is not None
    for _ in range(5000):
        if not sim.orders_get(ticket=ticket):
            break
        sim.market.step()
    (done,) = sim.history_orders_get(ticket=ticket)
    assert done.state == c.ORDER_STATE_FILLED


async def test_ioc_partial_fill_and_fok_reject() -> None:
    sim = SimulatedTerminal(seed=1, margin_mode="hedging", balance=1e8)
    broker = Mt5Broker(InlineWorker(SameObject(sim)))
    await broker.connect()
    fok = await broker.place(market("P-1", volume="90", filling=Filling.FOK))
    assert fok.status is OutcomeStatus.REJECTED and fok.retcode == 10006
    partial = await broker.place(market("P-2", volume="90", filling=Filling.IOC))
    assert partial.status is OutcomeStatus.PARTIALLY_FILLED, partial.reason
    assert 0.0 < partial.filled_volume < 90.0 and partial.open_volume == 0
    (position,) = sim.positions_get()
    assert position.volume == partial.filled_volume
    await broker.close()


async def test_filling_the_symbol_forbids_is_refused_without_sending(
    broker: Mt5Broker, terminal: Instrumented
) -> None:
    sent_before = terminal.calls["order_send"]
    out = await broker.place(market("B-1", filling=Filling.BOC))
    assert out.status is OutcomeStatus.REJECTED and "refused before sending" in out.reason
    assert out.attempts == () and terminal.calls["order_send"] == sent_before


@pytest.mark.parametrize("retcode", [c.RETCODE_REQUOTE, c.RETCODE_PRICE_OFF])
async def test_requote_is_retried_at_a_fresh_price(
    broker: Mt5Broker, sim: SimulatedTerminal, retcode: int
) -> None:
    sim.faults.reject_next(retcode)
    out = await broker.place(market("R-1"))
    assert out.status is OutcomeStatus.FILLED, out.reason
    assert [a.retcode for a in out.attempts] == [retcode, 10009]
    assert len(sim.positions_get()) == 1


async def test_requotes_stop_at_the_policy_bound(
    broker: Mt5Broker, sim: SimulatedTerminal, terminal: Instrumented
) -> None:
    sim.faults.reject_next(c.RETCODE_REQUOTE, count=10)
    out = await broker.place(market("R-2"))
    assert out.status is OutcomeStatus.REJECTED and out.retcode == c.RETCODE_REQUOTE
    assert len(out.attempts) == broker.policy.requote_attempts == 3
    assert terminal.calls["order_send"] == 3 and sim.positions_get() == ()


async def test_server_refusals_are_definite(broker: Mt5Broker, sim: SimulatedTerminal) -> None:
    sim.faults.reject_next(c.RETCODE_REJECT)
    rejected = await broker.place(market("X-1"))
    assert rejected.status is OutcomeStatus.REJECTED and rejected.retcode == 10006
    sim.faults.set_algo_trading(False)
    off = await broker.place(market("X-2"))
    assert off.status is OutcomeStatus.REJECTED and off.retcode == 10027
    sim.faults.set_algo_trading(True)
    poor = await broker.place(market("X-3", volume="100"))
    assert poor.status is OutcomeStatus.REJECTED and poor.retcode == 10019
    assert sim.positions_get() == ()


async def test_instant_execution_symbol_gets_fok(sim: SimulatedTerminal) -> None:
    from dataclasses import replace

    from oms.broker.sim import default_symbols

    specs = [replace(s, trade_exemode=c.SYMBOL_TRADE_EXECUTION_INSTANT) for s in default_symbols()]
    instant = SimulatedTerminal(seed=2, margin_mode="netting", symbols=specs)
    broker = Mt5Broker(InlineWorker(SameObject(instant)), policy=AdapterPolicy())
    await broker.connect()
    out = await broker.place(market("I-1"))
    assert out.status is OutcomeStatus.FILLED, out.reason
    (order,) = instant.history_orders_get(ticket=out.order_ticket)
    assert order.type_filling == c.ORDER_FILLING_FOK
    await broker.close()


async def test_position_stops_and_close_by(broker: Mt5Broker, sim: SimulatedTerminal) -> None:
    long = await broker.place(market("H-1", volume="0.30"))
    short = await broker.place(market("H-2", side=Side.SELL, volume="0.10"))
    assert long.order_ticket and short.order_ticket
    tick = sim.symbol_info_tick("EURUSD")
    stop = round(tick.bid - 0.01, 5)
    change = ModifyPosition("H-1", "EURUSD", long.order_ticket, sl=stop)
    moved = await broker.modify_position(change)
    assert moved.status is OutcomeStatus.MODIFIED, moved.reason
    assert sim.positions_get(ticket=long.order_ticket)[0].sl == pytest.approx(float(stop))
    again = await broker.modify_position(change)
    assert again.status is OutcomeStatus.REJECTED and again.retcode == c.RETCODE_NO_CHANGES

    closed = await broker.close_by(
        CloseBy("H-3", 7, "EURUSD", long.order_ticket, short.order_ticket)
    )
    assert closed.status is OutcomeStatus.FILLED, closed.reason
    assert closed.filled_volume == 0.1 and closed.order_ticket
    (left,) = sim.positions_get()
    assert left.ticket == long.order_ticket and left.volume == pytest.approx(0.2)
    entries = {d.entry for d in sim.history_deals_get(ticket=closed.order_ticket)}
    assert entries == {3}  # DEAL_ENTRY_OUT_BY


async def test_netting_reversal_is_seen_in_deals_and_positions() -> None:
    sim = SimulatedTerminal(seed=4, margin_mode="netting")
    broker = Mt5Broker(InlineWorker(SameObject(sim)))
    await broker.connect()
    first = await broker.place(market("N-1", volume="0.10"))
    flip = await broker.place(market("N-2", side=Side.SELL, volume="0.30"))
    assert first.status is flip.status is OutcomeStatus.FILLED
    changes = await broker.poll()
    assert [(d.order, d.entry) for d in changes.deals] == [
        (first.order_ticket, 0),  # DEAL_ENTRY_IN
        (flip.order_ticket, 2),  # DEAL_ENTRY_INOUT
    ]
    (position,) = changes.positions
    assert position.side is Side.SELL and position.volume == 0.2
    assert position.identifier == first.order_ticket
    await broker.close()


async def test_specified_expiry_expires_and_is_polled(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    now_s = sim.symbol_info_tick("EURUSD").time
    order = limit("E-1", 1.07000, expiry=TimeInForce.SPECIFIED, expiration_s=now_s + 60)
    placed = await broker.place(order)
    assert placed.status is OutcomeStatus.PLACED, placed.reason
    await broker.poll()
    sim.market.advance(120)
    after = await broker.poll()
    assert [(o.ticket, o.state) for o in after.history_orders] == [
        (placed.order_ticket, c.ORDER_STATE_EXPIRED)
    ]
    found = await broker.lookup(OrderQuery.for_order(order, ticket=placed.order_ticket))
    assert found.status is OutcomeStatus.CANCELED and "state 6" in found.reason


async def test_concurrent_sends_are_serialised_on_the_worker(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    outcomes = await asyncio.gather(*(broker.place(market(f"G-{n}")) for n in range(20)))
    assert all(o.status is OutcomeStatus.FILLED for o in outcomes)
    assert len({o.order_ticket for o in outcomes}) == 20 == len(sim.positions_get())


async def test_sends_call_an_inline_worker_directly_and_any_other_through_run() -> None:
    runs: list[str] = []
    calls: list[str] = []

    class Counting(InlineWorker):
        async def run(self, fn: Callable[..., R], *args: Any) -> R:
            runs.append(fn.__name__)
            return await super().run(fn, *args)

    sim = SimulatedTerminal(seed=4, margin_mode="netting")
    for worker in (Counting(SameObject(sim)), InlineWorker(SameObject(sim))):
        broker = Mt5Broker(worker)
        await broker.connect()
        assert (await broker.place(market("D-1"))).status is OutcomeStatus.FILLED
    assert runs == ["connect", "symbol_spec", "place"]  # a subclass's own `run` is kept
    inline = InlineWorker(SameObject(sim))
    plain_call = inline.call

    def recorded(fn: Callable[..., R], *args: Any) -> R:
        calls.append(fn.__name__)
        return plain_call(fn, *args)

    setattr(inline, "call", recorded)  # noqa: B010 - an instance attribute, read at construction
    direct = Mt5Broker(inline)
    await direct.connect()
    await direct.place(market("D-2"))
    assert calls == ["place"]
