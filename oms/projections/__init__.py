"""Projections: folds over the journal that can be thrown away and rebuilt to any point.

Start-up: restore each projection from its latest snapshot (`restore`), then
`ProjectionSet(...).replay(records after the lowest restored position)`; every projection
skips what it already holds, so an overlapping tail is harmless. Live: `apply(record)` or
`apply_many(records)` as the journal grows. Checkpoint: store `snapshot()` (JSON types; the
state's canonical JSON is what `state_hash()` hashes). Compliance replay:
`OrderBook.build(records, as_of_position=N)` or `as_of_ns=T`.
"""

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
from oms.projections.risk import KillSwitches, risk_context

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
    "risk_context",
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
