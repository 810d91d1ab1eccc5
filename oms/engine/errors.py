"""Errors the engine raises to its callers, each naming what is wrong."""

from __future__ import annotations

from oms.errors import OmsError


class EngineError(OmsError):
    """Base of every error raised by `oms.engine`."""


class NoRouteError(EngineError):
    """No routing rule matches an order's account, symbol and strategy."""


class NotReadyError(EngineError):
    """The engine does not take orders yet: recovery has not finished."""


class UnknownOrderError(EngineError):
    """A modify or cancel names an order the journal does not know."""
