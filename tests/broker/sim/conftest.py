"""Fixtures for the simulated terminal: initialised hedging and netting terminals."""

from __future__ import annotations

from typing import Any

import pytest

from oms.broker.sim import SimulatedTerminal


@pytest.fixture
def mt5() -> SimulatedTerminal:
    """An initialised terminal on a hedging account."""
    term = SimulatedTerminal(seed=1, margin_mode="hedging")
    assert term.initialize()
    return term


@pytest.fixture
def netting() -> SimulatedTerminal:
    """An initialised terminal on a netting account."""
    term = SimulatedTerminal(seed=1, margin_mode="netting")
    assert term.initialize()
    return term


def market(mt5: Any, type_: int, volume: float = 0.1, **extra: Any) -> dict[str, Any]:
    """A market-order request for EURUSD (IOC filling, allowed by the default symbols)."""
    req: dict[str, Any] = {
        "action": mt5.TRADE_ACTION_DEAL,
        "symbol": "EURUSD",
        "volume": volume,
        "type": type_,
        "type_filling": mt5.ORDER_FILLING_IOC,
        "magic": 7,
        "comment": "t",
    }
    req.update(extra)
    return req


def pending(
    mt5: Any, type_: int, price: float, volume: float = 0.1, **extra: Any
) -> dict[str, Any]:
    """A pending-order request for EURUSD (RETURN filling, GTC)."""
    req: dict[str, Any] = {
        "action": mt5.TRADE_ACTION_PENDING,
        "symbol": "EURUSD",
        "volume": volume,
        "type": type_,
        "price": price,
        "type_filling": mt5.ORDER_FILLING_RETURN,
        "type_time": mt5.ORDER_TIME_GTC,
        "magic": 9,
        "comment": "p",
    }
    req.update(extra)
    return req


def set_eurusd(mt5: SimulatedTerminal, bid: float, ask: float, lots: float = 5.0) -> None:
    """A ten-level EURUSD book with `lots` on every level, one point apart."""
    mt5.market.set_book(
        "EURUSD",
        [(round(bid - i * 0.00001, 5), lots) for i in range(10)],
        [(round(ask + i * 0.00001, 5), lots) for i in range(10)],
    )
