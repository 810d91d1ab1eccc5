"""The simulator's L2 book: price levels in integer ticks, sizes in integer volume steps.

Kept to the few operations the trade server needs (replace the levels, read the touch, walk
the book for a fill) so it can later be replaced by the shared `oms/market` book.
"""

from __future__ import annotations


class L2Book:
    """Bids best (highest) first, asks best (lowest) first, as parallel price/size lists."""

    __slots__ = ("ask_px", "ask_qty", "bid_px", "bid_qty")

    def __init__(self) -> None:
        self.bid_px: list[int] = []
        self.bid_qty: list[int] = []
        self.ask_px: list[int] = []
        self.ask_qty: list[int] = []

    def replace(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        """Install a full snapshot; levels must already be sorted best first."""
        self.bid_px = [p for p, _ in bids]
        self.bid_qty = [q for _, q in bids]
        self.ask_px = [p for p, _ in asks]
        self.ask_qty = [q for _, q in asks]

    @property
    def best_bid(self) -> int:
        """Best bid in ticks, 0 when the side is empty."""
        return self.bid_px[0] if self.bid_px else 0

    @property
    def best_ask(self) -> int:
        """Best ask in ticks, 0 when the side is empty."""
        return self.ask_px[0] if self.ask_px else 0

    def available(self, buy: bool, limit: int = 0) -> int:
        """Size a buy (taking asks) or sell (taking bids) could fill, up to `limit` ticks if set."""
        px, qty = (self.ask_px, self.ask_qty) if buy else (self.bid_px, self.bid_qty)
        if not limit:
            return sum(qty)
        total = 0
        for p, q in zip(px, qty, strict=True):
            if (p > limit) if buy else (p < limit):
                break
            total += q
        return total

    def take(self, buy: bool, wanted: int, limit: int = 0) -> tuple[int, int]:
        """Consume liquidity best first; return (size filled, sum of size x price in ticks)."""
        px, qty = (self.ask_px, self.ask_qty) if buy else (self.bid_px, self.bid_qty)
        filled = cost = 0
        while wanted and px:
            p = px[0]
            if limit and ((p > limit) if buy else (p < limit)):
                break
            q = qty[0]
            if q > wanted:
                qty[0] = q - wanted
                filled += wanted
                cost += wanted * p
                break
            filled += q
            cost += q * p
            wanted -= q
            del px[0], qty[0]
        return filled, cost

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids, asks) as (price ticks, size steps) pairs, best first."""
        return (
            list(zip(self.bid_px, self.bid_qty, strict=True)),
            list(zip(self.ask_px, self.ask_qty, strict=True)),
        )
