"""Brokers: the port the engine depends on, the MT5 adapter and the simulated terminal."""
