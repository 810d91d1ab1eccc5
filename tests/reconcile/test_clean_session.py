"""A clean 10,000-order session reconciles to zero discrepancies."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal
from oms.domain.events import OrderCanceled
from oms.domain.ids import order_stream_id
from oms.reconcile.events import RECONCILER_STREAM
from tests.reconcile.support import PaperSession, make_reconciler, new_event, open_journal

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY")


async def test_ten_thousand_orders_give_no_discrepancy(sqlite_url: str) -> None:
    journal = open_journal(sqlite_url)
    try:
        terminal = SimulatedTerminal(seed=11, margin_mode="hedging", limit_orders=20_000)
        assert terminal.initialize()
        session = PaperSession(journal, terminal)
        open_positions: list[tuple[str, int, str]] = []
        resting: list[tuple[str, int]] = []
        for i in range(10_000):
            symbol = SYMBOLS[i % 3]
            step = i % 10
            if step < 3:
                side = "buy" if i % 2 else "sell"
                _, result = session.place(symbol, side, 0.01 * (1 + i % 5))
                open_positions.append((symbol, result.order, side))
            elif step == 3 and open_positions:
                symbol, ticket, side = open_positions.pop(0)
                volume = terminal.positions_get(ticket=ticket)[0].volume
                close_side = "sell" if side == "buy" else "buy"
                session.place(symbol, close_side, volume, position=ticket)
            elif step == 4 and resting:
                coid, ticket = resting.pop()
                result = terminal.order_send(
                    {"action": terminal.TRADE_ACTION_REMOVE, "order": ticket}
                )
                assert result.retcode == 10009
                session.pending.append(
                    (order_stream_id(coid), [new_event(OrderCanceled(client_order_id=coid))])
                )
            else:
                side = "buy" if i % 2 else "sell"
                coid, result = session.place(symbol, side, 0.02, kind="limit", offset_points=500)
                resting.append((coid, result.order))
            if i % 2000 == 1999:
                session.flush()
                terminal.market.step()
        session.flush()
        reconciler = await make_reconciler(journal, terminal, sqlite_url, hedging=True)
        report = await reconciler.run()
        assert report is not None
        assert report.detected == [], [d.detail for d in report.detected[:5]]
        assert report.clean
        assert len(terminal.orders_get()) == len(resting) > 4000
        assert len(terminal.positions_get()) == len(open_positions) > 1000
        completed = journal.read_stream(RECONCILER_STREAM)[-1].payload
        assert completed["detected"] == 0 and completed["open_discrepancies"] == 0
        assert completed["broker_records"] > 10_000
    finally:
        journal.close()
