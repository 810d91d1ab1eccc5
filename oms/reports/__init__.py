"""Folds behind the report commands that the projections do not keep: latency, audit rows."""
