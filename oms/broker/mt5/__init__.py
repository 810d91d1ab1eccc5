"""The MT5 adapter: requests, result mapping, lookups and polling over any MT5-like terminal."""
