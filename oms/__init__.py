"""Event-sourced order management system for MetaTrader 5."""

__version__ = "0.1.0"
