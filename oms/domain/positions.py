"""Position math from fills, as MT5 keeps it: netting (one per symbol) and hedging (one per
opening order, closed by position id or by an opposite position).

Volumes are unsigned lots with a `side`; `signed_volume` is +buy/-sell. Average price is the
volume-weighted entry of what is still open (a reduction keeps it, a reversal restarts it at
the reversing price). Realised P&L is in account currency via `SymbolSpec.pnl`, without
commission, fee and swap, which are summed separately. Floats throughout; two volumes
closer than `VOLUME_EPS` are equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oms.domain.order import VOLUME_EPS

BUY = "buy"
SELL = "sell"


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """What a price move is worth: MT5's trade_contract_size, trade_tick_size, trade_tick_value.

    With tick size and value both set, P&L = Δprice / tick_size × tick_value × lots (already
    in account currency); otherwise Δprice × contract_size × lots (in the profit currency).
    """

    contract_size: float = 1.0
    tick_size: float = 0.0
    tick_value: float = 0.0

    def pnl(self, price_move: float, volume: float) -> float:
        """Money made by `volume` lots over a favourable move of `price_move`."""
        if self.tick_size > 0 and self.tick_value > 0:
            return price_move / self.tick_size * self.tick_value * volume
        return price_move * self.contract_size * volume

    def to_dict(self) -> dict[str, float]:
        """JSON form."""
        return {
            "contract_size": self.contract_size,
            "tick_size": self.tick_size,
            "tick_value": self.tick_value,
        }


DEFAULT_SPEC = SymbolSpec()

_FIELDS = (
    "key",
    "account",
    "symbol",
    "side",
    "volume",
    "avg_price",
    "realised_pnl",
    "commission",
    "fee",
    "swap",
    "position_id",
    "deals",
    "opened_ns",
    "updated_ns",
)


POSITION_FIELDS = _FIELDS


class Position:
    """One position: open volume, side, average entry, realised P&L and costs."""

    __slots__ = _FIELDS

    key: str
    account: str
    symbol: str
    side: str
    volume: float
    avg_price: float
    realised_pnl: float
    commission: float
    fee: float
    swap: float
    position_id: int | None
    deals: int
    opened_ns: int
    updated_ns: int

    def __init__(self, key: str, account: str, symbol: str) -> None:
        self.key = key
        self.account = account
        self.symbol = symbol
        self.side = ""
        self.volume = self.avg_price = self.realised_pnl = 0.0
        self.commission = self.fee = self.swap = 0.0
        self.position_id = None
        self.deals = self.opened_ns = self.updated_ns = 0

    @property
    def signed_volume(self) -> float:
        """+volume when long, -volume when short, 0 when flat."""
        return self.volume if self.side == BUY else -self.volume if self.side == SELL else 0.0

    @property
    def is_open(self) -> bool:
        """True while volume remains."""
        return self.volume > 0.0

    def unrealised_pnl(self, mark: float, spec: SymbolSpec = DEFAULT_SPEC) -> float:
        """What closing everything at `mark` would realise."""
        if not self.volume:
            return 0.0
        move = mark - self.avg_price if self.side == BUY else self.avg_price - mark
        return spec.pnl(move, self.volume)

    def trade(
        self,
        side: str,
        volume: float,
        price: float,
        spec: SymbolSpec,
        at_ns: int,
        reverse: bool,
    ) -> tuple[float, float]:
        """Apply a deal; return (realised P&L, volume left over when reversal is not allowed).

        Same side or flat: add at a weighted average. Opposite side: close up to the open
        volume at `price`; the rest reverses the position (netting) or is returned as excess
        (hedging never reverses).
        """
        self.deals += 1
        self.updated_ns = at_ns
        held = self.volume
        if held == 0.0 or side == self.side:
            total = held + volume
            self.avg_price = (self.avg_price * held + price * volume) / total
            self.volume = total
            if held == 0.0:
                self.side = side
                self.opened_ns = at_ns
            return 0.0, 0.0
        closing = volume if volume < held else held
        move = price - self.avg_price if self.side == BUY else self.avg_price - price
        realised = spec.pnl(move, closing)
        self.realised_pnl += realised
        rest = volume - closing
        left = held - closing
        if left > VOLUME_EPS:
            self.volume = left
            return realised, 0.0
        self.volume = 0.0
        self.avg_price = 0.0
        self.side = ""
        if rest > VOLUME_EPS:
            if not reverse:
                return realised, rest
            self.volume = rest
            self.avg_price = price
            self.side = side
            self.opened_ns = at_ns
        return realised, 0.0

    def add_costs(self, commission: float, fee: float, swap: float) -> None:
        """Book a deal's charges against this position."""
        self.commission += commission
        self.fee += fee
        self.swap += swap

    def to_row(self) -> list[Any]:
        """Compact JSON form, values in `POSITION_FIELDS` order."""
        return [getattr(self, name) for name in _FIELDS]

    @classmethod
    def from_row(cls, row: list[Any]) -> Position:
        """Inverse of `to_row`."""
        pos = cls.__new__(cls)
        for name, value in zip(_FIELDS, row, strict=True):
            setattr(pos, name, value)
        return pos

    def to_dict(self) -> dict[str, Any]:
        """JSON form keyed by field name."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Position:
        """Inverse of `to_dict`."""
        pos = cls.__new__(cls)
        for name in _FIELDS:
            setattr(pos, name, data[name])
        return pos


def close_by(
    first: Position, second: Position, volume: float, spec: SymbolSpec, at_ns: int
) -> float:
    """MT5 close-by: two opposite hedging positions close each other; returns realised P&L.

    Both close at `second`'s entry price, so the whole result (the spread between the two
    entries) lands on `first`. The volume is capped at the smaller of the two.
    """
    if first.side == second.side or not first.volume or not second.volume:
        return 0.0
    volume = min(volume, first.volume, second.volume)
    price = second.avg_price
    first_side, second_side = first.side, second.side
    realised, _ = first.trade(second_side, volume, price, spec, at_ns, reverse=False)
    more, _ = second.trade(first_side, volume, price, spec, at_ns, reverse=False)
    return realised + more
