"""Fixed properties of the simulated trading account."""

from __future__ import annotations

from typing import NamedTuple


class AccountSettings(NamedTuple):
    """What account_info reports besides money, and what the server needs to know."""

    login: int
    hedging: bool
    leverage: int
    currency: str
    commission_per_lot: float
    name: str
    server: str
    company: str
    limit_orders: int = 200
    margin_call: float = 50.0  # margin level, percent
    stop_out: float = 30.0  # margin level, percent: below it positions are closed (reason SO)
