"""Local checks order_send and order_check make before anything reaches the trade server.

The real module rejects a request with `None` and `(-2, 'Invalid "<field>" argument')` when a
field has the wrong Python type: an int where a float is expected, a datetime expiration, a
numpy integer, a comment longer than 29 characters. Unknown keys are ignored and missing keys
default to zero, so a valid request is always turned into a complete TradeRequest.
"""

from __future__ import annotations

from typing import Any

from oms.broker.sim.records import TradeRequest

MAX_TEXT = 29
UINT64_MAX = 2**64 - 1


class InvalidRequest(Exception):
    """A request field failed the local check; `message` is the exact text of last_error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bad(field: str) -> InvalidRequest:
    return InvalidRequest(f'Invalid "{field}" argument')


def _uint(request: dict[Any, Any], field: str, limit: int) -> int:
    value = request.get(field, 0)
    if type(value) is int and 0 <= value <= limit:
        return value
    if isinstance(value, int) and 0 <= value <= limit:  # bool and other int subclasses pass
        return int(value)
    raise _bad(field)


def _float(request: dict[Any, Any], field: str) -> float:
    value = request.get(field, 0.0)
    if isinstance(value, float):  # float and numpy.float64; a plain int is refused
        return float(value)
    raise _bad(field)


def _text(request: dict[Any, Any], field: str) -> str:
    value = request.get(field, "")
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    raise _bad(field)


def validate_request(request: object) -> TradeRequest:
    """Check field types like the real module and return the complete request record."""
    if not isinstance(request, dict):
        raise InvalidRequest("Invalid arguments")
    intmax = 2**31 - 1
    return TradeRequest(
        (
            _uint(request, "action", intmax),
            _uint(request, "magic", UINT64_MAX),
            _uint(request, "order", UINT64_MAX),
            _text(request, "symbol"),
            _float(request, "volume"),
            _float(request, "price"),
            _float(request, "stoplimit"),
            _float(request, "sl"),
            _float(request, "tp"),
            _uint(request, "deviation", UINT64_MAX),
            _uint(request, "type", intmax),
            _uint(request, "type_filling", intmax),
            _uint(request, "type_time", intmax),
            _uint(request, "expiration", UINT64_MAX),
            _text(request, "comment"),
            _uint(request, "position", UINT64_MAX),
            _uint(request, "position_by", UINT64_MAX),
        )
    )
