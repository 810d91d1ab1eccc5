"""LOBSTER message files replayed as L3 events, checked against the matching orderbook file.

Message rows: time (seconds after midnight, up to nanosecond decimals), type 1-7, order id,
size, price (dollars x 10000), direction (1 buy limit order, -1 sell limit order; for an
execution, the side of the resting order). Orderbook rows: ask price, ask size, bid price,
bid size for level 1, then level 2, ...; an empty level shows price 9999999999 (ask) or
-9999999999 (bid) and size 0.

Orders that rested before the file starts are unknown to the messages. The book before the
first message (orderbook row 1 with message 1 undone) is seeded as one anonymous order per
level at the front of its queue; cancels and executions of unknown ids at a seeded price draw
on it. Unknown ids deeper than the orderbook file's levels cannot be placed and are counted.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from oms.market.errors import MarketDataError
from oms.market.events import (
    HiddenExecuted,
    MarketEvent,
    OrderAdded,
    OrderCancelled,
    OrderExecuted,
    TradePrint,
)
from oms.market.rolling import RollingBook
from oms.market.sides import ASK, BID

EMPTY_ASK = 9_999_999_999
EMPTY_BID = -9_999_999_999


@dataclass(frozen=True, slots=True)
class LobsterMessage:
    """One message row, prices still in LOBSTER units (dollars x 10000)."""

    ts_ns: int
    kind: int
    order_id: int
    size: int
    price: int
    direction: int


def read_messages(path: Path, day_start_ns: int = 0) -> Iterator[LobsterMessage]:
    """Parse a message file, naming the line of any malformed row."""
    with path.open(newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row:
                continue
            if len(row) < 6:
                raise MarketDataError(f"{path}:{line_no}: expected 6 columns, got {len(row)}")
            try:
                msg = LobsterMessage(
                    day_start_ns + _seconds_to_ns(row[0]),
                    int(row[1]),
                    int(row[2]),
                    int(row[3]),
                    int(row[4]),
                    int(row[5]),
                )
            except ValueError as exc:
                raise MarketDataError(f"{path}:{line_no}: {exc}") from exc
            if msg.kind not in range(1, 8):
                raise MarketDataError(f"{path}:{line_no}: unknown event type {msg.kind}")
            if msg.direction not in (1, -1):
                raise MarketDataError(f"{path}:{line_no}: direction must be 1 or -1")
            yield msg


def read_orderbook(path: Path) -> Iterator[list[int]]:
    """Rows of the orderbook file as integers (ask p, ask s, bid p, bid s, ...)."""
    with path.open(newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row:
                continue
            if len(row) % 4:
                raise MarketDataError(
                    f"{path}:{line_no}: column count {len(row)} is not 4 x levels"
                )
            try:
                yield [int(float(x)) for x in row]
            except ValueError as exc:
                raise MarketDataError(f"{path}:{line_no}: {exc}") from exc


def _seconds_to_ns(text: str) -> int:
    """Seconds with up to 9 decimals to integer nanoseconds, without float rounding."""
    whole, _, frac = text.strip().partition(".")
    if len(frac) > 9:
        frac = frac[:9]
    return int(whole) * 1_000_000_000 + int((frac or "0").ljust(9, "0"))


@dataclass
class LobsterTranslator:
    """Turns LOBSTER messages into our events, placing orders that predate the file."""

    tick: int = 100
    """Price units per tick (100 = one cent in dollars x 10000)."""
    anonymous: dict[tuple[int, int], int] = field(default_factory=dict)
    known: set[int] = field(default_factory=set)
    unplaced: int = 0
    halts: int = 0

    def ticks(self, price: int) -> int:
        """Convert a LOBSTER price to ticks, refusing prices off the grid."""
        if price % self.tick:
            raise MarketDataError(f"price {price} is not a multiple of tick {self.tick}")
        return price // self.tick

    def seed(self, ts_ns: int, levels: list[tuple[int, int, int]]) -> list[MarketEvent]:
        """Anonymous orders for the levels (side, price, size) resting before the file starts."""
        out: list[MarketEvent] = []
        for side, price, size in levels:
            if size <= 0:
                continue
            key = (side, self.ticks(price))
            self.anonymous[key] = size
            out.append(OrderAdded(ts_ns, _anon_id(*key), side, key[1], size))
        return out

    def translate(self, msg: LobsterMessage) -> list[MarketEvent]:
        """The events one message stands for (empty for halts and unplaceable orders)."""
        side = BID if msg.direction == 1 else ASK
        ts = msg.ts_ns
        if msg.kind == 1:
            self.known.add(msg.order_id)
            return [OrderAdded(ts, msg.order_id, side, self.ticks(msg.price), msg.size)]
        if msg.kind in (2, 3, 4):
            oid = msg.order_id
            if oid not in self.known:
                key = (side, self.ticks(msg.price))
                left = self.anonymous.get(key)
                if left is None or left < msg.size:
                    self.unplaced += 1
                    return []
                self.anonymous[key] = left - msg.size
                oid = _anon_id(*key)
                if msg.kind == 3:  # the deleted order was only part of the anonymous block
                    return [OrderCancelled(ts, oid, msg.size)]
            elif msg.kind == 3:
                self.known.discard(oid)
                return [OrderCancelled(ts, oid, None)]
            if msg.kind == 2:
                return [OrderCancelled(ts, oid, msg.size)]
            return [OrderExecuted(ts, oid, msg.size)]
        if msg.kind == 5:
            return [HiddenExecuted(ts, side, self.ticks(msg.price), msg.size)]
        if msg.kind == 6:
            return [TradePrint(ts, self.ticks(msg.price), msg.size, None)]
        self.halts += 1
        return []


def _anon_id(side: int, price: int) -> int:
    """A negative id per (side, price) that no LOBSTER order uses."""
    return -(price * 2 + side) - 1


@dataclass(frozen=True, slots=True)
class LobsterCheck:
    """How a replay compared with the orderbook file."""

    messages: int
    mismatches: int
    first_mismatch: int | None
    unplaced: int
    halts: int


def initial_levels(first_row: list[int], first: LobsterMessage) -> list[tuple[int, int, int]]:
    """The book before message 1: orderbook row 1 with that message's effect undone."""
    levels: dict[tuple[int, int], int] = {}
    for i in range(0, len(first_row), 4):
        ask_p, ask_s, bid_p, bid_s = first_row[i : i + 4]
        if ask_s > 0 and ask_p != EMPTY_ASK:
            levels[(ASK, ask_p)] = ask_s
        if bid_s > 0 and bid_p != EMPTY_BID:
            levels[(BID, bid_p)] = bid_s
    side = BID if first.direction == 1 else ASK
    key = (side, first.price)
    if first.kind == 1:
        levels[key] = levels.get(key, 0) - first.size
    elif first.kind in (2, 3, 4):
        levels[key] = levels.get(key, 0) + first.size
    return [(s, p, q) for (s, p), q in levels.items() if q > 0]


def lobster_events(
    message_path: Path,
    orderbook_path: Path | None = None,
    tick: int = 100,
    day_start_ns: int = 0,
) -> Iterator[MarketEvent]:
    """The message file as L3 events; with the orderbook file, resting orders are seeded."""
    translator = LobsterTranslator(tick=tick)
    rows = read_orderbook(orderbook_path) if orderbook_path is not None else None
    first = True
    for msg in read_messages(message_path, day_start_ns):
        if first and rows is not None:
            row = next(rows, None)
            if row is not None:
                yield from translator.seed(msg.ts_ns, initial_levels(row, msg))
        first = False
        yield from translator.translate(msg)


def check_replay(
    message_path: Path, orderbook_path: Path, tick: int = 100, day_start_ns: int = 0
) -> LobsterCheck:
    """Replay the messages into an L3 book and compare its top levels with every row."""
    rolling = RollingBook(l3=True)
    translator_stats = LobsterTranslator(tick=tick)
    messages = mismatches = 0
    first_bad: int | None = None
    rows = read_orderbook(orderbook_path)
    first = True
    for msg in read_messages(message_path, day_start_ns):
        row = next(rows, None)
        if row is None:
            raise MarketDataError(f"{orderbook_path} has fewer rows than {message_path}")
        if first:
            for event in translator_stats.seed(msg.ts_ns, initial_levels(row, msg)):
                rolling.apply(event)
            first = False
        for event in translator_stats.translate(msg):
            rolling.apply(event)
        messages += 1
        if book_row(rolling, len(row) // 4, tick) != row:
            mismatches += 1
            if first_bad is None:
                first_bad = messages
    return LobsterCheck(
        messages, mismatches, first_bad, translator_stats.unplaced, translator_stats.halts
    )


def book_row(rolling: RollingBook, levels: int, tick: int = 100) -> list[int]:
    """The book's top levels in the orderbook file's layout and units."""
    asks = rolling.book.depth(ASK, levels)
    bids = rolling.book.depth(BID, levels)
    row: list[int] = []
    for i in range(levels):
        if i < len(asks):
            row += [asks[i][0] * tick, asks[i][1]]
        else:
            row += [EMPTY_ASK, 0]
        if i < len(bids):
            row += [bids[i][0] * tick, bids[i][1]]
        else:
            row += [EMPTY_BID, 0]
    return row
