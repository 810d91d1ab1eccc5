"""Local checks order_send and order_check make before anything reaches the trade server.

The real module rejects a request with `None` and `(-2, 'Invalid "<field>" argument')` when a
field has the wrong Python type: an int where a float is expected, a datetime expiration, a
numpy integer, a comment longer than 29 characters. Unknown keys are ignored and missing keys
default to zero, so a valid request is always turned into a complete TradeRequest.
"""

from __future__ import annotations

from typing import Any

from oms.broker.sim.records import TradeRequest, trusted

MAX_TEXT = 29
UINT64_MAX = 2**64 - 1
INT32_MAX = 2**31 - 1


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
    get = request.get
    values = (
        get("action", 0),
        get("magic", 0),
        get("order", 0),
        get("symbol", ""),
        get("volume", 0.0),
        get("price", 0.0),
        get("stoplimit", 0.0),
        get("sl", 0.0),
        get("tp", 0.0),
        get("deviation", 0),
        get("type", 0),
        get("type_filling", 0),
        get("type_time", 0),
        get("expiration", 0),
        get("comment", ""),
        get("position", 0),
        get("position_by", 0),
    )
    action, magic, order, symbol, volume, price, stoplimit, sl, tp = values[:9]
    deviation, type_, filling, type_time, expiration, comment, position, position_by = values[9:]
    if (  # the common case in one expression; anything unusual takes the field-by-field path
        type(action) is int
        and 0 <= action <= INT32_MAX
        and type(magic) is int
        and 0 <= magic <= UINT64_MAX
        and type(order) is int
        and 0 <= order <= UINT64_MAX
        and type(symbol) is str
        and len(symbol) <= MAX_TEXT
        and type(volume) is float
        and type(price) is float
        and type(stoplimit) is float
        and type(sl) is float
        and type(tp) is float
        and type(deviation) is int
        and 0 <= deviation <= UINT64_MAX
        and type(type_) is int
        and 0 <= type_ <= INT32_MAX
        and type(filling) is int
        and 0 <= filling <= INT32_MAX
        and type(type_time) is int
        and 0 <= type_time <= INT32_MAX
        and type(expiration) is int
        and 0 <= expiration <= UINT64_MAX
        and type(comment) is str
        and len(comment) <= MAX_TEXT
        and type(position) is int
        and 0 <= position <= UINT64_MAX
        and type(position_by) is int
        and 0 <= position_by <= UINT64_MAX
    ):
        return trusted(TradeRequest, values)
    return _validate_each(request)


def _validate_each(request: dict[Any, Any]) -> TradeRequest:
    """Field by field in record order, so the first bad field is the one reported."""
    return TradeRequest(
        (
            _uint(request, "action", INT32_MAX),
            _uint(request, "magic", UINT64_MAX),
            _uint(request, "order", UINT64_MAX),
            _text(request, "symbol"),
            _float(request, "volume"),
            _float(request, "price"),
            _float(request, "stoplimit"),
            _float(request, "sl"),
            _float(request, "tp"),
            _uint(request, "deviation", UINT64_MAX),
            _uint(request, "type", INT32_MAX),
            _uint(request, "type_filling", INT32_MAX),
            _uint(request, "type_time", INT32_MAX),
            _uint(request, "expiration", UINT64_MAX),
            _text(request, "comment"),
            _uint(request, "position", UINT64_MAX),
            _uint(request, "position_by", UINT64_MAX),
        )
    )
