"""Errors of the event store, each naming what is wrong so the caller can act on it."""


class JournalError(Exception):
    """Base of every journal error caused by input, configuration or the database's state."""
