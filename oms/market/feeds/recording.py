"""Our own recording format for market events: one CSV line per event, replayed by backtests.

First line `#oms-market-recording v1`, then rows `code,ts_ns,seq,fields...` where seq may be
empty and the fields depend on the code:

    L side,price,size            level set (L2)         T price,size,aggressor  trade
    S bids,asks                  snapshot, levels as `price:size` joined by `;`
    C                            book cleared           A id,side,price,size    order added
    O orders                     L3 snapshot, orders as `id:side:price:size` joined by `;`
    X id,size                    cancel (empty size = all)
    M id,price,size              order modified         E id,size               executed
    H side,price,size            hidden execution
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from oms.market.errors import MarketDataError
from oms.market.events import (
    BookCleared,
    BookSnapshot,
    HiddenExecuted,
    LevelSet,
    MarketEvent,
    OrderAdded,
    OrderBookSnapshot,
    OrderCancelled,
    OrderExecuted,
    OrderModified,
    TradePrint,
)

HEADER = "#oms-market-recording v1"


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _levels(levels: tuple[tuple[int, int], ...]) -> str:
    return ";".join(f"{p}:{s}" for p, s in levels)


def encode(event: MarketEvent) -> list[str]:
    """One event as a CSV row."""
    head = [str(event.ts_ns), _opt(event.seq)]
    if isinstance(event, LevelSet):
        return ["L", *head, str(event.side), str(event.price), str(event.size)]
    if isinstance(event, TradePrint):
        return ["T", *head, str(event.price), str(event.size), _opt(event.aggressor)]
    if isinstance(event, BookSnapshot):
        return ["S", *head, _levels(event.bids), _levels(event.asks)]
    if isinstance(event, BookCleared):
        return ["C", *head]
    if isinstance(event, OrderBookSnapshot):
        return ["O", *head, ";".join(":".join(map(str, o)) for o in event.orders)]
    if isinstance(event, OrderAdded):
        fields = [event.order_id, event.side, event.price, event.size]
        return ["A", *head, *map(str, fields)]
    if isinstance(event, OrderCancelled):
        return ["X", *head, str(event.order_id), _opt(event.size)]
    if isinstance(event, OrderModified):
        return ["M", *head, str(event.order_id), str(event.price), str(event.size)]
    if isinstance(event, OrderExecuted):
        return ["E", *head, str(event.order_id), str(event.size)]
    return ["H", *head, str(event.side), str(event.price), str(event.size)]


class RecordingWriter:
    """Appends events to a new recording as they happen (a live feed being recorded)."""

    def __init__(self, path: Path) -> None:
        self._fh = path.open("w", newline="")
        self._fh.write(HEADER + "\n")
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self.count = 0

    def write(self, event: MarketEvent) -> None:
        """Record one event."""
        self._writer.writerow(encode(event))
        self.count += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_recording(path: Path, events: Iterable[MarketEvent]) -> int:
    """Write events to a new recording; returns how many were written."""
    with RecordingWriter(path) as writer:
        for event in events:
            writer.write(event)
        return writer.count


def read_recording(path: Path) -> Iterator[MarketEvent]:
    """Events of a recording in order; a malformed line is an error naming it."""
    with path.open(newline="") as fh:
        first = fh.readline().strip()
        if first != HEADER:
            raise MarketDataError(f"{path}: not an oms market recording (first line {first!r})")
        for line_no, row in enumerate(csv.reader(fh), start=2):
            if not row:
                continue
            try:
                yield decode(row)
            except (ValueError, IndexError) as exc:
                raise MarketDataError(f"{path}:{line_no}: bad row {row!r}: {exc}") from exc


def decode(row: list[str]) -> MarketEvent:
    """One CSV row back to its event."""
    code, ts, seq_text = row[0], int(row[1]), row[2]
    seq = int(seq_text) if seq_text else None
    f = row[3:]
    if code == "L":
        return LevelSet(ts, int(f[0]), int(f[1]), int(f[2]), seq)
    if code == "T":
        return TradePrint(ts, int(f[0]), int(f[1]), int(f[2]) if f[2] else None, seq)
    if code == "S":
        return BookSnapshot(ts, _parse_levels(f[0]), _parse_levels(f[1]), seq)
    if code == "C":
        return BookCleared(ts, seq)
    if code == "O":
        orders = tuple(_four(part) for part in f[0].split(";")) if f[0] else ()
        return OrderBookSnapshot(ts, orders, seq)
    if code == "A":
        return OrderAdded(ts, int(f[0]), int(f[1]), int(f[2]), int(f[3]), seq)
    if code == "X":
        return OrderCancelled(ts, int(f[0]), int(f[1]) if f[1] else None, seq)
    if code == "M":
        return OrderModified(ts, int(f[0]), int(f[1]), int(f[2]), seq)
    if code == "E":
        return OrderExecuted(ts, int(f[0]), int(f[1]), seq)
    if code == "H":
        return HiddenExecuted(ts, int(f[0]), int(f[1]), int(f[2]), seq)
    raise ValueError(f"unknown event code {code!r}")


def _four(text: str) -> tuple[int, int, int, int]:
    a, b, c, d = (int(x) for x in text.split(":"))
    return a, b, c, d


def _parse_levels(text: str) -> tuple[tuple[int, int], ...]:
    if not text:
        return ()
    out = []
    for part in text.split(";"):
        price, _, size = part.partition(":")
        out.append((int(price), int(size)))
    return tuple(out)
