"""The fills blotter: every deal once, in journal order; duplicates (same account and deal
ticket: brokers number deals independently) are dropped and counted. Whether a deal was
late or an overfill is the order's business: see `OrderBook.flagged_deals()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from oms.domain.ids import account_tickets
from oms.domain.transitions import FILLED_T, PARTIALLY_FILLED_T
from oms.projections.base import Projection


class Fill(NamedTuple):
    """One row of the blotter."""

    position: int
    deal_ticket: int
    client_order_id: str
    account: str
    symbol: str
    side: str
    volume: float
    price: float
    commission: float
    fee: float
    swap: float
    fill_ns: int
    position_id: int | None
    recorded_at_ns: int


class FillsBlotter(Projection):
    """Deals by ticket, in the order they were journaled."""

    name = "fills"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[Any, ...]] = []  # Fill fields as plain tuples (cheaper)
        self.by_deal: dict[str, dict[int, int]] = {}  # account → deal ticket → row
        self.duplicates = 0
        self._handlers = {PARTIALLY_FILLED_T: self._on_fill, FILLED_T: self._on_fill}

    def _on_fill(self, p: dict[str, Any], position: int, at: int) -> None:
        deal = p["deal_ticket"]
        by_deal = account_tickets(self.by_deal, p["account"])
        if deal in by_deal:
            self.duplicates += 1
            return
        rows = self.rows
        by_deal[deal] = len(rows)
        rows.append(  # `p.get` called, not saved: saving it allocates a bound method per deal
            (
                position, deal, p["client_order_id"], p["account"], p["symbol"],
                p["side"], p["volume"], p["price"], p.get("commission", 0.0),
                p.get("fee", 0.0), p.get("swap", 0.0), p["fill_ns"], p.get("position_id"), at,
            )
        )

    # -- queries -----------------------------------------------------------------------
    def get(self, account: str, deal_ticket: int) -> Fill | None:
        """The fill of one deal of an account."""
        index = self.by_deal.get(account, {}).get(deal_ticket)
        return None if index is None else Fill(*self.rows[index])

    def select(
        self,
        *,
        account: str | None = None,
        symbol: str | None = None,
        client_order_id: str | None = None,
        since_ns: int | None = None,
    ) -> Iterator[Fill]:
        """Fills matching every given filter, in journal order (`since_ns` on fill time)."""
        for raw in self.rows:
            row = Fill(*raw)
            if account is not None and row.account != account:
                continue
            if symbol is not None and row.symbol != symbol:
                continue
            if client_order_id is not None and row.client_order_id != client_order_id:
                continue
            if since_ns is not None and row.fill_ns < since_ns:
                continue
            yield row

    # -- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "rows": [list(row) for row in self.rows],
            "duplicates": self.duplicates,
        }

    def _load(self, state: dict[str, Any]) -> None:
        self.rows = [tuple(row) for row in state["rows"]]
        self.by_deal = {}
        for i, row in enumerate(self.rows):
            account_tickets(self.by_deal, row[3])[row[1]] = i
        self.duplicates = state["duplicates"]
