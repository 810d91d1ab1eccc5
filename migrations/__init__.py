"""Alembic migrations of the journal's schema (packaged so `journal.migrate` finds them)."""
