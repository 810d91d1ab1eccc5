"""Errors raised for malformed market data: the feed, not the code, is at fault."""

from __future__ import annotations

from oms.errors import OmsError


class MarketDataError(OmsError):
    """A market data message or file cannot be applied as given."""
