"""Incremental polling from a watermark, and what happens behind the adapter's back."""

from __future__ import annotations

from oms.broker.mt5 import constants as c
from oms.broker.mt5.adapter import Mt5Broker
from oms.broker.port import CancelOrder, OrderQuery, OutcomeStatus
from oms.broker.sim import SimulatedTerminal
from tests.broker.adapter.conftest import Instrumented, limit, market


async def test_polling_reads_only_what_is_new(
    broker: Mt5Broker, sim: SimulatedTerminal, terminal: Instrumented
) -> None:
    for n in range(30):
        assert (await broker.place(market(f"M-{n}"))).status is OutcomeStatus.FILLED
    first = await broker.poll()
    assert len(first.deals) == 30 and len(first.history_orders) == 30
    assert len(first.positions) == 30

    def history_read() -> int:
        return terminal.returned["history_deals_get"] + terminal.returned["history_orders_get"]

    sim.market.advance(60)
    await broker.place(market("M-30"))
    before = history_read()
    second = await broker.poll()
    assert [d.order for d in second.deals] == [second.history_orders[0].ticket]
    # the overlap window re-reads the previous second's 30 deals and orders once
    assert history_read() - before == 2 * 31

    sim.market.advance(60)
    await broker.place(market("M-31"))
    before = history_read()
    third = await broker.poll()
    assert len(third.deals) == 1 and len(third.history_orders) == 1
    assert history_read() - before == 2 * 2  # the new deal and order, plus M-30's in the overlap
    assert len(sim.history_deals_get(0, 2**31 - 1)) == 32

    idle = await broker.poll()
    assert idle.deals == () and idle.history_orders == ()


async def test_fill_while_not_looking_shows_up_in_the_next_poll(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    placed = await broker.place(limit("F-1", 1.08000))
    ticket = placed.order_ticket
    assert ticket is not None
    before = await broker.poll()
    assert [o.ticket for o in before.open_orders] == [ticket]

    deal_ticket = sim.faults.fill_order(ticket)
    after = await broker.poll()
    assert [d.ticket for d in after.deals] == [deal_ticket]
    assert after.deals[0].order == ticket and after.deals[0].magic == 7
    assert [(o.ticket, o.state) for o in after.history_orders] == [(ticket, c.ORDER_STATE_FILLED)]
    assert after.open_orders == ()
    assert [p.identifier for p in after.positions] == [ticket]


async def test_cancel_while_not_looking_shows_up_in_the_next_poll(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    placed = await broker.place(limit("C-1", 1.08000))
    ticket = placed.order_ticket
    assert ticket is not None
    await broker.poll()
    sim.faults.cancel_order(ticket)
    after = await broker.poll()
    assert [(o.ticket, o.state) for o in after.history_orders] == [(ticket, c.ORDER_STATE_CANCELED)]
    assert after.deals == () and after.open_orders == ()


async def test_manual_trade_in_the_terminal_is_reported_with_magic_zero(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    await broker.poll()
    tick = sim.symbol_info_tick("EURUSD")
    sim.faults.manual_trade(
        {
            "action": c.ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": 0.3,
            "type": c.ORDER_TYPE_SELL,
            "price": tick.bid,
            "type_filling": c.ORDER_FILLING_FOK,
            "comment": "by hand",
        }
    )
    after = await broker.poll()
    (deal,) = after.deals
    assert (deal.magic, deal.volume, deal.comment) == (0, 0.3, "by hand")
    (position,) = after.positions
    assert position.magic == 0


async def test_vanished_order_is_gone_everywhere_and_not_found(
    broker: Mt5Broker, sim: SimulatedTerminal
) -> None:
    order = limit("V-1", 1.08000)
    placed = await broker.place(order)
    ticket = placed.order_ticket
    assert ticket is not None
    await broker.poll()
    sim.faults.vanish_order(ticket)
    after = await broker.poll()
    assert after.open_orders == () and after.history_orders == () and after.deals == ()
    found = await broker.lookup(OrderQuery.for_order(order, ticket=ticket))
    assert found.status is OutcomeStatus.NOT_FOUND
    gone = await broker.confirm_cancel(CancelOrder("V-1", ticket))
    assert (
        gone.status is OutcomeStatus.NOT_FOUND and "neither working nor in history" in gone.reason
    )


async def test_resume_from_a_saved_cursor(broker: Mt5Broker, sim: SimulatedTerminal) -> None:
    await broker.place(market("K-1"))
    first = await broker.poll()
    saved = first.cursor
    sim.market.advance(30)
    await broker.place(market("K-2"))
    broker.resume_from(saved, frozenset())
    again = await broker.poll()
    assert [d.comment for d in again.deals] == ["K-2"]
