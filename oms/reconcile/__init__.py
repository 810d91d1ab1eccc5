"""Reconciliation: compare the journal with the broker, record what differs, heal what is safe."""
