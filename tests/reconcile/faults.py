"""Faults the simulator's `faults` switchboard does not offer, made on its trade server:
a deal the broker loses, a deal re-priced after the fact, a position changed without a deal."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.records import TradeDeal


def _server(terminal: SimulatedTerminal):  # type: ignore[no-untyped-def]
    return terminal._server


def drop_deal(terminal: SimulatedTerminal, ticket: int) -> None:
    """The broker forgets a deal: gone from every history query."""
    server = _server(terminal)
    index = next(i for i, d in enumerate(server.deals) if d.ticket == ticket)
    deal = server.deals.pop(index)
    server._deal_times.pop(index)
    server._deals_by_order[deal.order].remove(deal)
    server._deals_by_position[deal.position_id].remove(deal)


def reprice_deal(terminal: SimulatedTerminal, ticket: int, price: float) -> None:
    """The broker corrects a deal's price after the fact."""
    server = _server(terminal)
    index = next(i for i, d in enumerate(server.deals) if d.ticket == ticket)
    old = server.deals[index]
    fields = list(tuple(old))
    fields[10] = price
    new = TradeDeal(tuple(fields))
    server.deals[index] = new
    for bucket in (server._deals_by_order[old.order], server._deals_by_position[old.position_id]):
        bucket[bucket.index(old)] = new


def shrink_position(terminal: SimulatedTerminal, ticket: int, steps: int) -> None:
    """The broker changes a position's volume with no deal to show for it."""
    server = _server(terminal)
    server.positions[ticket].volume -= steps
