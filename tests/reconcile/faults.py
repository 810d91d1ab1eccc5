"""Faults the simulator's `faults` switchboard does not offer, made on its trade server:
a deal the broker loses, a deal re-priced after the fact, a position changed without a deal."""

from __future__ import annotations

from oms.broker.sim import SimulatedTerminal
from oms.broker.sim.records import TradeDeal


def _ledger(terminal: SimulatedTerminal):  # type: ignore[no-untyped-def]
    return terminal._ledger


def drop_deal(terminal: SimulatedTerminal, ticket: int) -> None:
    """The broker forgets a deal: gone from every history query."""
    ledger = _ledger(terminal)
    index = next(i for i, d in enumerate(ledger.deals) if d.ticket == ticket)
    deal = ledger.deals.pop(index)
    ledger._deal_times.pop(index)
    ledger._deals_by_order[deal.order].remove(deal)
    ledger._deals_by_position[deal.position_id].remove(deal)


def reprice_deal(terminal: SimulatedTerminal, ticket: int, price: float) -> None:
    """The broker corrects a deal's price after the fact."""
    ledger = _ledger(terminal)
    index = next(i for i, d in enumerate(ledger.deals) if d.ticket == ticket)
    old = ledger.deals[index]
    fields = list(tuple(old))
    fields[10] = price
    new = TradeDeal(tuple(fields))
    ledger.deals[index] = new
    for bucket in (ledger._deals_by_order[old.order], ledger._deals_by_position[old.position_id]):
        bucket[bucket.index(old)] = new


def shrink_position(terminal: SimulatedTerminal, ticket: int, steps: int) -> None:
    """The broker changes a position's volume with no deal to show for it."""
    ledger = _ledger(terminal)
    ledger.positions[ticket].volume -= steps
