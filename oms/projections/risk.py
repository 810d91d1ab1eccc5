"""Kill switches, folded from `risk.kill_switch_engaged` / `risk.kill_switch_cleared`.

A switch engaged without an account blocks every account; one with an account blocks that
account only. The engine asks `engaged(account)` before each order (`RiskContext.kill_switch`)
so a restart keeps blocking until someone clears the switch in the journal.
"""

from __future__ import annotations

from typing import Any

from oms.domain.events import KillSwitchCleared, KillSwitchEngaged
from oms.domain.risk import RateWindow, RiskContext
from oms.projections.base import Projection
from oms.projections.orders import OrderBook
from oms.projections.positions import Positions

GLOBAL = "*"


class KillSwitches(Projection):
    """Which switches are engaged, with who engaged them, why and when."""

    name = "kill_switches"

    def __init__(self) -> None:
        super().__init__()
        self.engaged_by: dict[str, dict[str, Any]] = {}
        self._handlers = {
            KillSwitchEngaged.TYPE: self._on_engaged,
            KillSwitchCleared.TYPE: self._on_cleared,
        }

    def _on_engaged(self, p: dict[str, Any], position: int, at: int) -> None:
        self.engaged_by[p.get("account") or GLOBAL] = {
            "reason": p["reason"],
            "by": p["by"],
            "position": position,
            "recorded_at_ns": at,
        }

    def _on_cleared(self, p: dict[str, Any], _position: int, _at: int) -> None:
        self.engaged_by.pop(p.get("account") or GLOBAL, None)

    def engaged(self, account: str) -> bool:
        """True when new orders of this account must be denied."""
        return GLOBAL in self.engaged_by or account in self.engaged_by

    def _state(self) -> dict[str, Any]:
        return {"engaged_by": self.engaged_by}

    def _load(self, state: dict[str, Any]) -> None:
        self.engaged_by = {k: dict(v) for k, v in state["engaged_by"].items()}


def risk_context(
    account: str,
    symbol: str,
    *,
    book: OrderBook,
    positions: Positions,
    switches: KillSwitches,
    window: RateWindow,
    now_ns: int,
) -> RiskContext:
    """What the pre-trade checks need for one order, read from the live projections."""
    buy, sell = book.working_volume(account, symbol)
    return RiskContext(
        kill_switch=switches.engaged(account),
        open_orders=book.open_count(account),
        net_position=positions.net_volume(account, symbol),
        open_buy_volume=buy,
        open_sell_volume=sell,
        orders_in_window=window.count(now_ns),
    )
