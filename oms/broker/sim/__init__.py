"""A simulated MetaTrader 5 terminal with the MetaTrader5 module's surface, for paper trading,
backtests and every test: `SimulatedTerminal(seed=1, margin_mode="hedging")`."""

from oms.broker.sim.symbols import SymbolSpec, default_symbols
from oms.broker.sim.terminal import SimulatedTerminal

__all__ = ["SimulatedTerminal", "SymbolSpec", "default_symbols"]
