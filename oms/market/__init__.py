"""Market order book (L2 and L3), microstructure signals and queue position.

Prices are integer ticks and sizes integers; conversion from broker units happens in
`oms.market.feeds`. Time always comes in as nanosecond arguments; nothing here reads a clock.
"""

from oms.market.batch import NO_ASK, NO_BID, best_prices
from oms.market.book import FillEstimate, IntegrityIssue, L2Book, LastTrade
from oms.market.errors import MarketDataError
from oms.market.l3 import Execution, L3Book, QueueSpot, apply_message
from oms.market.queue import L2QueueTracker, L3QueueTracker, QueueFill, QueuePosition
from oms.market.rolling import LevelChange, OrderLife, Print, RollingBook
from oms.market.sides import ASK, BID
from oms.market.signals import Signal, SignalConfig, SignalEngine

__all__ = [
    "ASK",
    "BID",
    "NO_ASK",
    "NO_BID",
    "Execution",
    "FillEstimate",
    "IntegrityIssue",
    "L2Book",
    "L2QueueTracker",
    "L3Book",
    "L3QueueTracker",
    "LastTrade",
    "LevelChange",
    "MarketDataError",
    "OrderLife",
    "Print",
    "QueueFill",
    "QueuePosition",
    "QueueSpot",
    "RollingBook",
    "Signal",
    "SignalConfig",
    "SignalEngine",
    "apply_message",
    "best_prices",
]
