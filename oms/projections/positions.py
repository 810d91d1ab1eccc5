"""Positions derived from fills alone: netting (one per account and symbol) or hedging (one
per opening order, closed by position id, close-by included), per account.

Keys: netting ``<account>|<symbol>``; hedging ``<account>#<position id>``, the deal's
`position_id` (MT5 gives every deal one: the opening order's ticket), or the client order id
for a deal that has none yet. A close-by makes two deals, one on each position, each
closing its own position; together they realise the spread between the two entries. Deals
count once by ticket; closing more than a hedging position holds is a discrepancy
(``close_exceeds_position``), never a reversal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from oms.domain.enums import AccountMode
from oms.domain.positions import DEFAULT_SPEC, POSITION_FIELDS, Position, SymbolSpec
from oms.domain.transitions import FILLED_T, PARTIALLY_FILLED_T
from oms.projections.base import Projection, ProjectionError, canonical_json


class Positions(Projection):
    """Open and closed positions with realised P&L and costs."""

    name = "positions"

    def __init__(
        self,
        modes: Mapping[str, AccountMode] | None = None,
        default_mode: AccountMode = AccountMode.NETTING,
        specs: Mapping[str, SymbolSpec] | None = None,
    ) -> None:
        super().__init__()
        self.modes = dict(modes or {})
        self.default_mode = default_mode
        self.specs = dict(specs or {})
        self.positions: dict[str, Position] = {}
        # account → (symbol for netting | position id for hedging) → the same Position
        self._by_account: dict[str, dict[Any, Position]] = {}
        self._books: dict[str, tuple[bool, dict[Any, Position]]] = {}
        self.deals: set[int] = set()
        self.duplicates = 0
        self.discrepancies: list[dict[str, Any]] = []
        self._handlers = {PARTIALLY_FILLED_T: self._on_fill, FILLED_T: self._on_fill}

    def config(self) -> dict[str, Any]:
        modes = {a: m.value for a, m in sorted(self.modes.items())}
        specs = {s: spec.to_dict() for s, spec in sorted(self.specs.items())}
        digest = hashlib.sha256(
            canonical_json({"modes": modes, "default": self.default_mode.value, "specs": specs})
        ).hexdigest()
        return {"sha256": digest}

    def mode(self, account: str) -> AccountMode:
        """How this account keeps positions."""
        return self.modes.get(account, self.default_mode)

    def _book(self, account: str) -> tuple[bool, dict[Any, Position]]:
        """(is hedging, positions by symbol or position id) of one account."""
        book = self._by_account.get(account)
        if book is None:
            book = self._by_account[account] = {}
        entry = self._books[account] = (self.mode(account) is AccountMode.HEDGING, book)
        return entry

    def _on_fill(self, p: dict[str, Any], _position: int, at: int) -> None:
        deal = p["deal_ticket"]
        deals = self.deals
        if deal in deals:
            self.duplicates += 1
            return
        deals.add(deal)
        account = p["account"]
        symbol = p["symbol"]
        entry = self._books.get(account)
        hedging, book = self._book(account) if entry is None else entry
        specs = self.specs
        spec = specs.get(symbol, DEFAULT_SPEC) if specs else DEFAULT_SPEC
        if hedging:
            deal_pid = p.get("position_id")
            pid = p["client_order_id"] if deal_pid is None else deal_pid
            pos = book.get(pid)
            if pos is None:
                key = f"{account}#{pid}"
                pos = book[pid] = self.positions[key] = Position(key, account, symbol)
                pos.position_id = deal_pid
            _, excess = pos.trade(p["side"], p["volume"], p["price"], spec,
                                  at, False)
            if excess:
                self._excess(pos, deal, excess)
        else:
            pos = book.get(symbol)
            if pos is None:
                key = f"{account}|{symbol}"
                pos = book[symbol] = self.positions[key] = Position(key, account, symbol)
            pos.trade(p["side"], p["volume"], p["price"], spec, at, True)
            deal_pid = p.get("position_id")
            if deal_pid is not None:
                pos.position_id = deal_pid
        # Method calls, not a saved `p.get`: that would allocate a bound method per deal.
        commission = p.get("commission")
        if commission:
            pos.commission += commission
        fee = p.get("fee")
        if fee:
            pos.fee += fee
        swap = p.get("swap")
        if swap:
            pos.swap += swap

    def _excess(self, pos: Position, deal: int, excess: float) -> None:
        """A hedging close for more than the position held."""
        self.discrepancies.append(
            {"kind": "close_exceeds_position", "key": pos.key, "deal_ticket": deal,
             "excess": excess}
        )

    # -- queries -----------------------------------------------------------------------
    def select(
        self, *, account: str | None = None, symbol: str | None = None, open_only: bool = True
    ) -> Iterator[Position]:
        """Positions matching the filters, by key."""
        for key in sorted(self.positions):
            pos = self.positions[key]
            if open_only and not pos.volume:
                continue
            if account is not None and pos.account != account:
                continue
            if symbol is not None and pos.symbol != symbol:
                continue
            yield pos

    def find(
        self, account: str, *, symbol: str | None = None, position_id: int | None = None
    ) -> Position | None:
        """The netting position of a symbol, or the hedging position with this id."""
        book = self._by_account.get(account)
        if book is None:
            return None
        if self.mode(account) is AccountMode.HEDGING:
            return None if position_id is None else book.get(position_id)
        return None if symbol is None else book.get(symbol)

    def net_volume(self, account: str, symbol: str) -> float:
        """Signed lots on a symbol across the account's positions (for the position rule)."""
        if self.mode(account) is AccountMode.NETTING:
            pos = self.positions.get(f"{account}|{symbol}")
            return 0.0 if pos is None else pos.signed_volume
        return sum(p.signed_volume for p in self.select(account=account, symbol=symbol))

    def realised_pnl(self, account: str | None = None) -> float:
        """Sum of realised P&L (before costs) over the account's positions, open and closed."""
        return sum(p.realised_pnl for p in self.select(account=account, open_only=False))

    # -- state -------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "fields": list(POSITION_FIELDS),
            "positions": [pos.to_row() for pos in self.positions.values()],
            "deals": sorted(self.deals),
            "duplicates": self.duplicates,
            "discrepancies": list(self.discrepancies),
        }

    def _load(self, state: dict[str, Any]) -> None:
        if state["fields"] != list(POSITION_FIELDS):
            raise ProjectionError("positions snapshot has other fields than this code: rebuild")
        self.positions = {}
        for row in state["positions"]:
            pos = Position.from_row(row)
            self.positions[pos.key] = pos
        self._by_account = {}
        self._books = {}
        for key, pos in self.positions.items():
            account, hedged, ident = _split_key(key)
            local: Any = ident
            if hedged:  # a hedging key holds a broker position id, or a client order id
                local = pos.position_id if pos.position_id is not None else ident
            self._by_account.setdefault(account, {})[local] = pos
        self.deals = set(state["deals"])
        self.duplicates = state["duplicates"]
        self.discrepancies = list(state["discrepancies"])


def _split_key(key: str) -> tuple[str, bool, str]:
    """(account, is hedging, symbol or position id) from a position key."""
    netting = key.find("|")
    hedging = key.find("#")
    if hedging != -1 and (netting == -1 or hedging < netting):
        return key[:hedging], True, key[hedging + 1 :]
    return key[:netting], False, key[netting + 1 :]
