"""Errors the OMS raises for bad input: the CLI prints them as one line, never a traceback."""


class OmsError(Exception):
    """Base of every error caused by the caller's input or configuration, not by a bug."""
