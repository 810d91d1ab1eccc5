"""Broker side of the OMS: the MetaTrader 5 adapter and the simulated terminal it can drive."""
