"""Projections: folds over the journal that can be thrown away and rebuilt to any point."""

from __future__ import annotations

from collections.abc import Mapping

from oms.domain.enums import AccountMode
from oms.domain.positions import SymbolSpec
from oms.projections.base import (
    Projection,
    ProjectionError,
    ProjectionSet,
    as_of,
    canonical_json,
    gc_paused,
)
from oms.projections.fills import Fill, FillsBlotter
from oms.projections.orders import OrderBook
from oms.projections.positions import Positions
from oms.projections.risk import KillSwitches

__all__ = [
    "Fill",
    "FillsBlotter",
    "KillSwitches",
    "OrderBook",
    "Positions",
    "Projection",
    "ProjectionError",
    "ProjectionSet",
    "as_of",
    "canonical_json",
    "gc_paused",
    "standard_set",
]


def standard_set(
    modes: Mapping[str, AccountMode] | None = None,
    default_mode: AccountMode = AccountMode.NETTING,
    specs: Mapping[str, SymbolSpec] | None = None,
) -> ProjectionSet:
    """The order book, positions, fills blotter and kill switches, folded together."""
    return ProjectionSet(
        [OrderBook(), Positions(modes, default_mode, specs), FillsBlotter(), KillSwitches()]
    )
