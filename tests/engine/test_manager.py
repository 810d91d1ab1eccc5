"""OrderManager end to end: journal first, send in the background, every update to the strategy."""

from __future__ import annotations

from typing import Any

from oms.domain.enums import OrderStatus
from tests.engine.conftest import Rig


def market(volume: float = 0.1, side: str = "buy", **extra: Any) -> dict[str, Any]:
    return {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": side,
            "order_type": "market", "volume": volume, **extra}


async def test_market_order_is_journaled_sent_and_filled(rig: Rig) -> None:
    updates = rig.manager.subscribe(strategy="mm")
    coid = await rig.manager.place(market())
    assert coid == "A1.mm.0"
    kinds = [(await updates.next(timeout=5)).kind for _ in range(3)]
    assert kinds == ["order.submitted", "order.accepted", "order.filled"]
    await rig.manager.drain()
    events = await rig.journal.read_stream("order-A1.mm.0")
    assert [e.type for e in events] == kinds
    fill = events[2]
    deals = [d for d in rig.terminal.history_deals_get(0, 2**40)
             if d.ticket == fill.payload["deal_ticket"]]
    assert len(deals) == 1 and deals[0].comment == coid
    assert fill.payload["volume"] == deals[0].volume and fill.payload["price"] == deals[0].price
    stages = fill.metadata["stages"]
    assert {"submit", "journal", "broker_send", "broker_ack", "fill"} <= set(stages)
    assert stages["submit"]["mono_ns"] <= stages["journal"]["mono_ns"] \
        <= stages["broker_send"]["mono_ns"] <= stages["broker_ack"]["mono_ns"]
    assert rig.manager.states.get(coid).status is OrderStatus.FILLED


def limit(price: float, volume: float = 0.1, side: str = "buy", **extra: Any) -> dict[str, Any]:
    return {"account": "A1", "strategy": "mm", "symbol": "EURUSD", "side": side,
            "order_type": "limit", "volume": volume, "price": price,
            "filling": "return", **extra}


async def next_kind(sub: Any, kind: str) -> Any:
    """Read updates until one of `kind` arrives (failing after a timeout)."""
    while True:
        update = await sub.next(timeout=5)
        if update.kind == kind:
            return update


async def test_limit_order_rests_then_is_modified_and_canceled(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    coid = await rig.manager.place(limit(1.0))
    accepted = await next_kind(updates, "order.accepted")
    ticket = accepted.detail["broker_order_id"]
    assert [o.ticket for o in rig.terminal.orders_get()] == [ticket]
    await rig.manager.modify({"client_order_id": coid, "price": 1.01})
    await next_kind(updates, "order.modified")
    assert rig.terminal.orders_get(ticket=ticket)[0].price_open == 1.01
    await rig.manager.cancel({"client_order_id": coid})
    canceled = await next_kind(updates, "order.canceled")
    assert canceled.status is OrderStatus.CANCELED
    assert rig.terminal.orders_get() == ()
    await rig.manager.drain()
    types = [e.type for e in await rig.journal.read_stream(f"order-{coid}")]
    assert types == ["order.submitted", "order.accepted", "order.modify_requested",
                     "order.modified", "order.cancel_requested", "order.canceled"]


async def test_broker_reject_is_journaled_and_reported_as_failure(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    rig.terminal.faults.reject_next(10019)  # no money
    coid = await rig.manager.place(market())
    rejected = await next_kind(updates, "order.rejected")
    assert rejected.failure and rejected.client_order_id == coid
    assert rejected.detail["retcode"] == 10019
    assert rejected.status is OrderStatus.REJECTED


async def test_risk_denial_is_journaled_with_rule_and_numbers_never_sent(
    journal_url: str,
) -> None:
    from journal import AsyncJournal
    from oms.domain.risk import RiskLimits
    from oms.engine.manager import OrderManager
    from oms.engine.router import OrderRouter
    from tests.engine.conftest import sim_broker, sim_terminal

    terminal = sim_terminal()
    async with await AsyncJournal.open(journal_url) as journal:
        manager = OrderManager(journal, OrderRouter.single(sim_broker(terminal)),
                               limits=RiskLimits(max_order_volume=1.0))
        manager.mark_ready()
        updates = manager.subscribe()
        coid = await manager.place(market(volume=2.0))
        denied = await updates.next(timeout=5)
        assert denied.kind == "order.denied" and denied.failure
        assert (denied.detail["rule"], denied.detail["limit"], denied.detail["value"]) == (
            "max_order_volume", 1.0, 2.0)
        await manager.drain()
        assert terminal.initialize()
        assert terminal.orders_get() == () and terminal.history_orders_get(0, 2**40) == ()
        assert [e.type for e in await journal.read_stream(f"order-{coid}")] == ["order.denied"]


async def test_the_order_rate_rule_counts_only_orders_that_went_out(journal_url: str) -> None:
    from journal import AsyncJournal
    from oms.domain.risk import RiskLimits
    from oms.engine.manager import OrderManager
    from oms.engine.router import OrderRouter
    from tests.engine.conftest import sim_broker, sim_terminal

    async with await AsyncJournal.open(journal_url) as journal:
        manager = OrderManager(journal, OrderRouter.single(sim_broker(sim_terminal())),
                               limits=RiskLimits(max_orders_per_window=2,
                                                 rate_window_ns=3600 * 10**9))
        manager.mark_ready()
        updates = manager.subscribe()
        for _ in range(3):
            await manager.place(market())
        await manager.drain()
        kinds = [(await updates.next(timeout=5)).kind for _ in range(updates.pending())]
        assert kinds.count("order.submitted") == 2 and kinds.count("order.filled") == 2
        assert kinds.count("order.denied") == 1


async def test_without_a_rate_limit_no_submit_time_is_kept(rig: Rig) -> None:
    await rig.manager.place(market())
    await rig.manager.drain()
    assert rig.manager._rate.count(0) == 0


async def test_kill_switch_blocks_until_cleared(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    await rig.manager.engage_kill_switch("desk halt", by="ops")
    await rig.manager.place(market())
    assert (await updates.next(timeout=5)).detail["rule"] == "kill_switch"
    await rig.manager.clear_kill_switch("resumed", by="ops")
    await rig.manager.place(market())
    assert (await updates.next(timeout=5)).kind == "order.submitted"


async def test_no_route_and_not_ready_are_clear_errors(journal_url: str) -> None:
    import pytest

    from journal import AsyncJournal
    from oms.engine.errors import NoRouteError, NotReadyError
    from oms.engine.manager import OrderManager
    from oms.engine.router import OrderRouter, Route
    from tests.engine.conftest import sim_broker, sim_terminal

    broker = sim_broker(sim_terminal())
    async with await AsyncJournal.open(journal_url) as journal:
        router = OrderRouter({"fx": broker}, [Route("fx", symbol="EUR*")])
        manager = OrderManager(journal, router)
        with pytest.raises(NotReadyError):
            await manager.place(market())
        manager.mark_ready()
        with pytest.raises(NoRouteError, match="symbol 'XAUUSD'"):
            await manager.place(market(symbol="XAUUSD"))
        assert await journal.read_stream("order-A1.mm.0") == []
        with pytest.raises(NoRouteError, match="not configured"):
            OrderRouter({"fx": broker}, [Route("gold", symbol="XAU*")])


async def test_routes_pick_ports_by_account_symbol_and_strategy() -> None:
    from oms.engine.router import OrderRouter, Route
    from tests.engine.conftest import sim_broker, sim_terminal

    a, b = sim_broker(sim_terminal()), sim_broker(sim_terminal())
    router = OrderRouter({"a": a, "b": b}, [
        Route("b", account="A2"), Route("b", strategy="arb*", symbol="XAU*"), Route("a"),
    ])
    assert router.route("A2", "EURUSD", "mm") is b
    assert router.route("A1", "XAUUSD", "arb1") is b
    assert router.route("A1", "XAUUSD", "mm") is a


async def test_lost_answer_is_journaled_unknown_then_resolved_without_resend(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    rig.terminal.faults.drop_next_ack()
    coid = await rig.manager.place(market())
    unknown = await next_kind(updates, "order.outcome_unknown")
    assert unknown.failure
    resolved = await next_kind(updates, "order.outcome_resolved")
    assert resolved.detail["resolution"] == "filled"
    filled = await next_kind(updates, "order.filled")
    await rig.manager.drain()
    orders = [o for o in rig.terminal.history_orders_get(0, 2**40) if o.comment == coid]
    assert len(orders) == 1  # sent once
    deals = [d for d in rig.terminal.history_deals_get(0, 2**40) if d.comment == coid]
    assert [d.ticket for d in deals] == [filled.detail["deal_ticket"]]


async def test_a_signal_stamp_travels_with_every_event_of_the_order(rig: Rig) -> None:
    from oms.engine.clock import stamp

    signal = stamp()
    updates = rig.manager.subscribe()
    await rig.manager.place(market(), signal=signal)
    filled = await next_kind(updates, "order.filled")
    stages = filled.metadata["stages"]
    assert stages["signal"] == signal
    assert signal["mono_ns"] <= stages["submit"]["mono_ns"] <= stages["fill"]["mono_ns"]
    assert filled.metadata["correlation_id"] == filled.client_order_id


def test_runtime_runs_on_uvloop_when_installed() -> None:
    import asyncio

    from oms.engine.runtime import loop_kind, run

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    module = run(which())
    assert loop_kind() == "uvloop"  # installed in this environment
    assert module.startswith("uvloop")


async def test_a_port_that_raises_is_an_unknown_outcome_then_looked_up(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    real_place = rig.broker.place

    async def broken(order: Any) -> Any:
        raise ConnectionResetError("socket closed before the request went out")

    rig.broker.place = broken  # type: ignore[method-assign]
    try:
        coid = await rig.manager.place(market())
        unknown = await next_kind(updates, "order.outcome_unknown")
        assert unknown.failure and "ConnectionResetError" in unknown.detail["reason"]
        resolved = await next_kind(updates, "order.outcome_resolved")
        assert resolved.detail["resolution"] == "not_found"
        assert resolved.status is OrderStatus.REJECTED
        assert not [o for o in rig.terminal.history_orders_get(0, 2**40) if o.comment == coid]
    finally:
        rig.broker.place = real_place  # type: ignore[method-assign]


async def test_a_journal_failure_after_the_send_reaches_the_strategy(journal_url: str) -> None:
    from journal import AsyncJournal
    from oms.engine.manager import OrderManager
    from oms.engine.router import OrderRouter
    from oms.engine.updates import ENGINE_ERROR
    from tests.engine.conftest import sim_broker, sim_terminal

    broker = sim_broker(sim_terminal())
    journal = await AsyncJournal.open(journal_url)
    manager = OrderManager(journal, OrderRouter.single(broker))
    manager.mark_ready()
    updates = manager.subscribe()
    real_place = broker.place

    async def place_then_lose_the_journal(order: Any) -> Any:
        outcome = await real_place(order)
        await journal.close()  # the database goes away between the send and its answer
        return outcome

    broker.place = place_then_lose_the_journal  # type: ignore[method-assign]
    coid = await manager.place(market())
    error = await next_kind(updates, ENGINE_ERROR)
    assert error.failure and error.client_order_id == coid
    assert "sending the order failed" in error.detail["message"]
    await manager.drain()


async def test_requote_retries_are_kept_in_the_answers_metadata(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    rig.terminal.faults.reject_next(10004)  # requote: the adapter resends at the fresh price
    await rig.manager.place(market())
    accepted = await next_kind(updates, "order.accepted")
    attempts = accepted.metadata["broker_attempts"]
    assert [a["retcode"] for a in attempts] == [10004, 10009]
    filled = await next_kind(updates, "order.filled")
    assert len(filled.metadata["broker_attempts"]) == 2


async def test_a_close_by_order_goes_out_as_a_close_by(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    long_id = await rig.manager.place(market(side="buy"))
    await next_kind(updates, "order.filled")
    short_id = await rig.manager.place(market(side="sell"))
    await next_kind(updates, "order.filled")
    by_comment = {p.comment: p.ticket for p in rig.terminal.positions_get()}
    long_pos, short_pos = by_comment[long_id], by_comment[short_id]
    coid = await rig.manager.place(market(side="sell", position_id=long_pos,
                                          position_by_id=short_pos))
    filled = await next_kind(updates, "order.filled")
    assert filled.client_order_id == coid
    assert rig.terminal.positions_get() == ()
    await rig.listener.poll_once()  # the second deal of the close-by, on the other position
    await rig.manager.drain()
    ticket = rig.manager.states.orders[coid].broker_order_id
    deals = {d.ticket for d in rig.terminal.history_deals_get(0, 2**40) if d.order == ticket}
    assert len(deals) == 2
    journaled = {e.payload["deal_ticket"] for e in await rig.journal.read_stream(f"order-{coid}")
                 if e.type in ("order.filled", "order.partially_filled")}
    assert journaled == deals
    assert rig.manager.states.orders[coid].status is OrderStatus.FILLED


async def test_a_finished_order_leaves_no_working_memory_behind(rig: Rig) -> None:
    updates = rig.manager.subscribe()
    coid = await rig.manager.place(market())
    while (await updates.next(timeout=5)).kind != "order.filled":
        pass
    await rig.manager.drain()
    assert coid not in rig.manager._stages and coid not in rig.manager._ports
