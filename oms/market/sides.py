"""Book sides as small integers, so the hot paths compare ints rather than enums."""

from __future__ import annotations

from typing import Final

BID: Final = 0
ASK: Final = 1
SIDE_NAMES: Final = ("bid", "ask")


def side_name(side: int) -> str:
    """Name a side for people and error messages."""
    return SIDE_NAMES[side] if side in (0, 1) else f"side {side!r}"
