"""SymbolInfo records: a fixed template per symbol with the live fields filled in per call."""

from __future__ import annotations

from typing import Any

from oms.broker.sim.records import SymbolInfo, field_names
from oms.broker.sim.symbols import SymbolSpec

_NAMES = field_names(SymbolInfo)
_INDEX = {name: i for i, name in enumerate(_NAMES)}
_ZERO = {"bool": False, "int": 0, "float": 0.0, "str": ""}
_DEFAULTS = [_ZERO[str(SymbolInfo.__annotations__[name])] for name in _NAMES]
_LIVE_BID = [_INDEX[n] for n in ("bid", "bidhigh", "bidlow", "session_open", "session_close")]
_LIVE_ASK = [_INDEX[n] for n in ("ask", "askhigh", "asklow")]
_TICK_VALUE = [
    _INDEX[n] for n in ("trade_tick_value", "trade_tick_value_profit", "trade_tick_value_loss")
]


class SymbolInfoBuilder:
    """Caches each symbol's static fields; session statistics and greeks stay zero."""

    def __init__(self) -> None:
        self._templates: dict[str, list[Any]] = {}

    def build(
        self,
        spec: SymbolSpec,
        bid: float,
        ask: float,
        updated_msc: int,
        selected: bool,
        tick_value: float,
    ) -> SymbolInfo:
        """The record for `spec` at the given quote; tick value in the account currency."""
        template = self._templates.get(spec.name)
        if template is None:
            template = self._templates[spec.name] = _template(spec)
        values = list(template)
        values[_INDEX["select"]] = values[_INDEX["visible"]] = selected
        values[_INDEX["time"]] = updated_msc // 1000
        values[_INDEX["spread"]] = round((ask - bid) / spec.point) if bid and ask else 0
        for i in _LIVE_BID:
            values[i] = bid
        for i in _LIVE_ASK:
            values[i] = ask
        for i in _TICK_VALUE:
            values[i] = tick_value
        return SymbolInfo(values)


def _template(spec: SymbolSpec) -> list[Any]:
    known: dict[str, Any] = {
        "custom": False,
        "select": True,
        "visible": True,
        "digits": spec.digits,
        "spread_float": True,
        "ticks_bookdepth": spec.book_depth,
        "trade_calc_mode": spec.calc_mode,
        "trade_mode": spec.trade_mode,
        "trade_stops_level": spec.stops_level,
        "trade_freeze_level": spec.freeze_level,
        "trade_exemode": spec.trade_exemode,
        "swap_mode": spec.swap_mode,
        "swap_rollover3days": spec.swap_rollover3days,
        "swap_long": spec.swap_long,
        "swap_short": spec.swap_short,
        "expiration_mode": spec.expiration_mode,
        "filling_mode": spec.filling_mode,
        "order_mode": spec.order_mode,
        "point": spec.point,
        "trade_tick_size": spec.tick_size,
        "trade_contract_size": spec.contract_size,
        "volume_min": spec.volume_min,
        "volume_max": spec.volume_max,
        "volume_step": spec.volume_step,
        "volume_limit": spec.volume_limit,
        "margin_hedged": spec.contract_size,
        "currency_base": spec.currency_base,
        "currency_profit": spec.currency_profit,
        "currency_margin": spec.currency_margin,
        "description": spec.description,
        "name": spec.name,
        "path": spec.path,
    }
    return [known.get(name, default) for name, default in zip(_NAMES, _DEFAULTS, strict=True)]
