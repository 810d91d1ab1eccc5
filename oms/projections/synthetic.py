"""Seeded synthetic journals: realistic interleaved order sessions for rebuild tests and the
replay benchmark, with the odd events real sessions have (duplicate deals, late fills after
a cancel, overfills, lost outcomes resolved by recovery, denials, rejects).

Payloads are built as plain dicts in the exact shape of `oms.domain.events` (a test decodes
every one of them), because building a million dataclasses would dominate the benchmark.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any

from oms.domain.records import Record
from oms.domain.transitions import (
    ACCEPTED_T,
    CANCEL_REJECTED_T,
    CANCEL_REQUESTED_T,
    CANCELED_T,
    DENIED_T,
    EXPIRED_T,
    FILLED_T,
    MODIFIED_T,
    MODIFY_REJECTED_T,
    MODIFY_REQUESTED_T,
    OUTCOME_RESOLVED_T,
    OUTCOME_UNKNOWN_T,
    PARTIALLY_FILLED_T,
    REJECTED_T,
    SUBMITTED_T,
)

SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500", "BTCUSD")
BASE_PRICE = {"EURUSD": 1.1, "GBPUSD": 1.27, "USDJPY": 150.0, "XAUUSD": 2000.0, "US500": 5000.0,
              "BTCUSD": 60000.0}
NETTING_ACCOUNT = "N1"
HEDGING_ACCOUNT = "H1"
Script = list[tuple[str, dict[str, Any]]]


class _Session:
    """State of the generator: tickets, open hedging positions, the clock."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sequence = 0
        self.ticket = 1_000_000
        self.deal = 5_000_000
        self.hedges: list[tuple[int, str, str, float]] = []  # (position id, symbol, side, vol)
        self.clock = 1_700_000_000_000_000_000

    def next_ticket(self) -> int:
        self.ticket += 1
        return self.ticket

    def next_deal(self) -> int:
        self.deal += 1
        return self.deal

    def script(self) -> Script:
        """One order's events, in the order they will be journaled."""
        rng = self.rng
        self.sequence += 1
        account = HEDGING_ACCOUNT if rng.random() < 0.3 else NETTING_ACCOUNT
        strategy = rng.choice(("mm", "trend", "arb"))
        coid = f"{account}.{strategy}.{_b36(self.sequence)}"
        symbol = rng.choice(SYMBOLS)
        side = rng.choice(("buy", "sell"))
        volume = rng.randint(1, 100) / 100
        base = BASE_PRICE[symbol]
        price = round(base * (1 + rng.uniform(-0.01, 0.01)), 5)
        kind = rng.choices(("market", "limit", "stop"), (0.5, 0.4, 0.1))[0]
        close_id: int | None = None
        if account == HEDGING_ACCOUNT and self.hedges and rng.random() < 0.4:
            pid, symbol, held_side, held = self.hedges.pop(rng.randrange(len(self.hedges)))
            side = "sell" if held_side == "buy" else "buy"
            volume = held
            kind = "market"
            close_id = pid
        terms = {
            "client_order_id": coid, "account": account, "strategy": strategy,
            "symbol": symbol, "side": side, "order_type": kind, "volume": volume,
            "price": None if kind == "market" else price, "stop_limit_price": None,
            "sl": None, "tp": None, "time_in_force": "gtc", "expiry_ns": None,
            "filling": "fok" if kind == "market" else "return", "deviation": 10,
            "magic": 0x4F4D000000000001, "position_id": close_id, "position_by_id": None,
        }
        roll = rng.random()
        if roll < 0.03 and close_id is None:
            return [(DENIED_T, {**terms, "rule": "max_order_volume", "limit": 0.5,
                                "value": volume, "reason": "volume above the maximum"})]
        events: Script = [(SUBMITTED_T, terms)]
        if roll < 0.06 and close_id is None:
            events.append((REJECTED_T, {"client_order_id": coid, "retcode": 10019,
                                        "reason": "No money", "broker_order_id": None}))
            return events
        ticket = self.next_ticket()
        if roll < 0.08:
            events.append((OUTCOME_UNKNOWN_T, {"client_order_id": coid, "reason": "timeout",
                                               "error_code": -10005}))
            events.append((OUTCOME_RESOLVED_T, {"client_order_id": coid,
                                                "resolution": "accepted",
                                                "broker_order_id": ticket, "reason": ""}))
        else:
            events.append((ACCEPTED_T, {"client_order_id": coid, "broker_order_id": ticket,
                                        "retcode": 10009 if kind == "market" else 10008}))
        position_id = close_id if close_id is not None else ticket
        if account == NETTING_ACCOUNT:
            position_id = 7_000 + SYMBOLS.index(symbol)

        def fill(vol: float, final: bool) -> tuple[str, dict[str, Any]]:
            self.clock += 1_000_000
            return (FILLED_T if final else PARTIALLY_FILLED_T, {
                "client_order_id": coid, "deal_ticket": self.next_deal(), "account": account,
                "symbol": symbol,
                "side": side, "volume": vol,
                "price": round(price * (1 + rng.uniform(-1e-4, 1e-4)), 5),
                "fill_ns": self.clock, "commission": -round(vol * 3.5, 2), "fee": 0.0,
                "swap": 0.0, "position_id": position_id,
                "entry": "out" if close_id is not None else "in",
            })

        if kind != "market" and rng.random() < 0.2:
            request = f"m{self.sequence}"
            new_price = round(price * (1 + rng.uniform(-0.001, 0.001)), 5)
            events.append((MODIFY_REQUESTED_T, {"client_order_id": coid, "request_id": request,
                                                "price": new_price, "stop_limit_price": None,
                                                "sl": None, "tp": None, "expiry_ns": None}))
            if rng.random() < 0.8:
                events.append((MODIFIED_T, {"client_order_id": coid, "request_id": request,
                                            "price": new_price, "stop_limit_price": None,
                                            "sl": None, "tp": None, "expiry_ns": None}))
                price = new_price
            else:
                events.append((MODIFY_REJECTED_T, {"client_order_id": coid,
                                                   "request_id": request, "retcode": 10025,
                                                   "reason": "No changes"}))
        ending = rng.random()
        filled = 0.0
        if kind == "market" or ending < 0.55:
            parts = 1 if kind == "market" or rng.random() < 0.6 else rng.randint(2, 4)
            lots = _split(volume, parts, rng)
            for i, lot in enumerate(lots):
                events.append(fill(lot, i == len(lots) - 1))
                filled += lot
            if rng.random() < 0.02:
                events.append(events[-1])  # the same deal reported twice
            if rng.random() < 0.01:
                events.append(fill(0.01, True))  # a deal the order had no room for
                filled += 0.01
            if rng.random() < 0.05:
                events.append((CANCEL_REJECTED_T, {"client_order_id": coid,
                                                   "request_id": f"c{self.sequence}",
                                                   "retcode": 10036,
                                                   "reason": "already filled"}))
        elif ending < 0.9:
            if rng.random() < 0.4 and volume >= 0.02:
                lot = round(volume / 2, 2)
                events.append(fill(lot, False))
                filled += lot
            request = f"c{self.sequence}"
            events.append((CANCEL_REQUESTED_T, {"client_order_id": coid,
                                                "request_id": request}))
            events.append((CANCELED_T, {"client_order_id": coid, "reason": "client"}))
            if rng.random() < 0.03:
                events.append(fill(0.01, False))  # a deal that raced the cancel
                filled += 0.01
        else:
            events.append((EXPIRED_T, {"client_order_id": coid}))
        if account == HEDGING_ACCOUNT and close_id is None and filled > 0:
            self.hedges.append((ticket, symbol, side, round(filled, 2)))
        return events


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, d = divmod(number, 36)
        out = digits[d] + out
        if not number:
            return out


def _split(volume: float, parts: int, rng: random.Random) -> list[float]:
    """Split a volume into `parts` positive lots of 0.01 that add up to it."""
    cents = round(volume * 100)
    parts = max(1, min(parts, cents))
    cuts = sorted(rng.sample(range(1, cents), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, cents]
    return [(b - a) / 100 for a, b in itertools.pairwise(bounds)]


def session(seed: int, events: int, in_flight: int = 64) -> Iterator[Record]:
    """`events` records of interleaved orders, positions 1..events, deterministic per seed."""
    state = _Session(seed)
    rng = state.rng
    active: list[tuple[str, Script]] = []
    position = 0
    metadata: dict[str, Any] = {}
    while position < events:
        while len(active) < in_flight:
            script = state.script()
            active.append((script[0][1]["client_order_id"], script))
        slot = rng.randrange(len(active))
        coid, script = active[slot]
        event_type, payload = script.pop(0)
        if not script:
            active[slot] = active[-1]
            active.pop()
        position += 1
        state.clock += 1_000
        yield Record(position, f"order-{coid}", 0, f"e{position}", event_type, 1, payload,
                     metadata, state.clock)
