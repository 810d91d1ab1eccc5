"""Mutable server-side state of orders and positions; records are built from it on demand.

Volumes are integer volume steps and book prices integer ticks, so fills and partial fills
add up exactly; requested prices, stops and averages stay floats as the terminal shows them.
"""

from __future__ import annotations

from oms.broker.sim.records import TradeOrder, TradePosition
from oms.broker.sim.symbols import SymbolSpec


class OrderState:
    """An order as the trade server holds it, working or finished."""

    __slots__ = (
        "closes",
        "comment",
        "expires_msc",
        "external_id",
        "magic",
        "position_by_id",
        "position_id",
        "price_open",
        "price_stoplimit",
        "reason",
        "sl",
        "spec",
        "state",
        "ticket",
        "time_done_msc",
        "time_expiration",
        "time_setup_msc",
        "tp",
        "triggered",
        "type",
        "type_filling",
        "type_time",
        "volume_current",
        "volume_initial",
    )

    def __init__(
        self,
        ticket: int,
        spec: SymbolSpec,
        type_: int,
        volume: int,
        time_msc: int,
        magic: int,
        comment: str,
        reason: int,
        type_filling: int,
        type_time: int = 0,
        time_expiration: int = 0,
        price_open: float = 0.0,
        price_stoplimit: float = 0.0,
        sl: float = 0.0,
        tp: float = 0.0,
    ) -> None:
        self.ticket = ticket
        self.spec = spec
        self.type = type_
        self.state = 0
        self.volume_initial = volume
        self.volume_current = volume
        self.time_setup_msc = time_msc
        self.time_done_msc = 0
        self.time_expiration = time_expiration
        self.expires_msc = 0
        self.type_time = type_time
        self.type_filling = type_filling
        self.magic = magic
        self.comment = comment
        self.reason = reason
        self.position_id = 0
        self.position_by_id = 0
        self.closes = 0  # hedging: ticket of the position this order closes
        self.price_open = price_open
        self.price_stoplimit = price_stoplimit
        self.sl = sl
        self.tp = tp
        self.external_id = ""
        self.triggered = False  # a stop order that became a market order

    @property
    def buy(self) -> bool:
        """Whether the order buys (even types buy, odd types sell, up to stop-limit)."""
        return self.type % 2 == 0

    def record(self, price_current: float) -> TradeOrder:
        """The order as orders_get / history_orders_get return it."""
        step = self.spec.volume_step
        return TradeOrder(
            (
                self.ticket,
                self.time_setup_msc // 1000,
                self.time_setup_msc,
                self.time_done_msc // 1000,
                self.time_done_msc,
                self.time_expiration,
                self.type,
                self.type_time,
                self.type_filling,
                self.state,
                self.magic,
                self.position_id,
                self.position_by_id,
                self.reason,
                round(self.volume_initial * step, 8),
                round(self.volume_current * step, 8),
                self.price_open,
                self.sl,
                self.tp,
                price_current,
                self.price_stoplimit,
                self.spec.name,
                self.comment,
                self.external_id,
            )
        )


class PositionState:
    """An open position; `ticket` changes on a netting reversal, `identifier` never does."""

    __slots__ = (
        "comment",
        "external_id",
        "identifier",
        "magic",
        "price_open",
        "reason",
        "sl",
        "spec",
        "swap",
        "ticket",
        "time_msc",
        "time_update_msc",
        "tp",
        "type",
        "volume",
    )

    def __init__(
        self,
        ticket: int,
        spec: SymbolSpec,
        type_: int,
        volume: int,
        price_open: float,
        time_msc: int,
        magic: int,
        comment: str,
        reason: int,
    ) -> None:
        self.ticket = ticket
        self.identifier = ticket
        self.spec = spec
        self.type = type_
        self.volume = volume
        self.price_open = price_open
        self.time_msc = time_msc
        self.time_update_msc = time_msc
        self.magic = magic
        self.comment = comment
        self.reason = reason
        self.sl = 0.0
        self.tp = 0.0
        self.swap = 0.0  # accrued at rollovers since the last deal that reduced the position
        self.external_id = ""

    @property
    def lots(self) -> float:
        """Volume in lots."""
        return round(self.volume * self.spec.volume_step, 8)

    def record(self, price_current: float, profit: float) -> TradePosition:
        """The position as positions_get returns it."""
        return TradePosition(
            (
                self.ticket,
                self.time_msc // 1000,
                self.time_msc,
                self.time_update_msc // 1000,
                self.time_update_msc,
                self.type,
                self.magic,
                self.identifier,
                self.reason,
                self.lots,
                self.price_open,
                self.sl,
                self.tp,
                price_current,
                self.swap,
                profit,
                self.spec.name,
                self.comment,
                self.external_id,
            )
        )
