"""Serve one terminal over RPyC the way the mt5linux client expects a Wine-side server to.

The mt5linux client opens an RPyC *classic* connection, runs three fixed `execute` strings
(`import sys; sys.path.append(...)`, `import MetaTrader5 as mt5`, `import datetime`) and then
calls `eval("mt5.<function>(<literal arguments>)")` for every module function. A classic server
would run any code it is sent; this one parses each string and accepts only those shapes:
a call of a known terminal function whose arguments are literals (or the `datetime` values
the client writes with `repr`). Anything else is refused. It listens on 127.0.0.1 by default.
"""

from __future__ import annotations

import ast
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, Final

import rpyc
from rpyc.core.protocol import DEFAULT_CONFIG
from rpyc.utils.server import ThreadedServer

from oms.errors import OmsError

TERMINAL_FUNCTIONS: Final = frozenset(
    {
        "initialize", "login", "shutdown", "version", "last_error", "account_info",
        "terminal_info", "symbols_total", "symbols_get", "symbol_info", "symbol_info_tick",
        "symbol_select", "market_book_add", "market_book_get", "market_book_release",
        "copy_rates_from", "copy_rates_from_pos", "copy_rates_range", "copy_ticks_from",
        "copy_ticks_range", "orders_total", "orders_get", "positions_total", "positions_get",
        "history_orders_total", "history_orders_get", "history_deals_total",
        "history_deals_get", "order_check", "order_send", "order_calc_margin",
        "order_calc_profit",
    }
)  # fmt: skip
"""The MetaTrader5 module functions the bridge forwards; nothing else is reachable."""

_SETUP_IMPORTS: Final = {("sys", None), ("MetaTrader5", "mt5"), ("datetime", None)}
_DATETIME_CALLS: Final[dict[str, Callable[..., Any]]] = {
    "datetime.datetime": dt.datetime,
    "datetime.timezone": dt.timezone,
    "datetime.timedelta": dt.timedelta,
}

PROTOCOL_CONFIG: Final = {
    **DEFAULT_CONFIG,
    "allow_public_attrs": True,
    "allow_all_attrs": False,
    "allow_setattr": False,
    "allow_delattr": False,
    "allow_pickle": False,
    "safe_attrs": DEFAULT_CONFIG["safe_attrs"] | {"_asdict"},
}
"""Clients may read public attributes (record fields) and `_asdict`, and nothing private."""


class BridgeError(OmsError):
    """A client sent code the bridge does not run, or the bridge cannot listen."""


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


_MAX_NESTING: Final = 8
"""How deep tuples, lists, dicts and datetime calls may nest inside one argument."""


def _value(node: ast.expr, depth: int = 0) -> Any:
    """A literal, or a datetime/timezone/timedelta written out by `repr`, also inside tuples,
    lists and dicts (the client sends `*args` and `**kwargs` as one literal each)."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if depth >= _MAX_NESTING:
        raise BridgeError(f"argument nested more than {_MAX_NESTING} deep: {ast.unparse(node)}")
    inner = depth + 1
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, inner) for e in node.elts)
    if isinstance(node, ast.List):
        return [_value(e, inner) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise BridgeError(f"dict unpacking is not a literal: {ast.unparse(node)}")
        pairs = zip(node.keys, node.values, strict=True)
        return {_value(k, inner): _value(v, inner) for k, v in pairs if k is not None}
    if isinstance(node, ast.Attribute) and _dotted(node) == "datetime.timezone.utc":
        return dt.UTC
    if isinstance(node, ast.Call):
        make = _DATETIME_CALLS.get(_dotted(node.func) or "")
        if make is not None:
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise BridgeError(f"no unpacking inside datetime values: {ast.unparse(node)}")
            args = [_value(a, inner) for a in node.args]
            kwargs = {k.arg: _value(k.value, inner) for k in node.keywords if k.arg is not None}
            if len(kwargs) != len(node.keywords):
                raise BridgeError("datetime arguments must be named or positional")
            try:
                return make(*args, **kwargs)
            except (TypeError, ValueError, OverflowError) as exc:
                raise BridgeError(
                    f"not a valid datetime value: {ast.unparse(node)}: {exc}"
                ) from exc
    raise BridgeError(f"not a literal argument: {ast.unparse(node)}")


def parse_call(text: str) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """Read `mt5.<function>(<literals>)` into the function name, args and kwargs."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise BridgeError(f"unparseable expression: {text[:120]!r}") from exc
    call = tree.body
    if not isinstance(call, ast.Call) or _dotted(call.func) is None:
        raise BridgeError(f"only mt5.<function>(...) calls are served: {text[:120]!r}")
    name = _dotted(call.func) or ""
    module, _, function = name.partition(".")
    if module != "mt5" or function not in TERMINAL_FUNCTIONS:
        raise BridgeError(f"{name} is not a terminal function the bridge serves")
    args: list[Any] = []
    for arg in call.args:
        if isinstance(arg, ast.Starred):
            spread = _value(arg.value)
            if not isinstance(spread, tuple | list):
                raise BridgeError("*arguments must be a tuple or list literal")
            args.extend(spread)
        else:
            args.append(_value(arg))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            spread = _value(keyword.value)
            if not isinstance(spread, dict) or not all(isinstance(k, str) for k in spread):
                raise BridgeError("**arguments must be a dict literal with str keys")
            kwargs.update(spread)
        else:
            kwargs[keyword.arg] = _value(keyword.value)
    return function, tuple(args), kwargs


def check_setup(text: str) -> None:
    """Accept only the client's fixed setup statements (imports and sys.path.append)."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise BridgeError(f"unparseable statement: {text[:120]!r}") from exc
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and all(
            (alias.name, alias.asname) in _SETUP_IMPORTS for alias in stmt.names
        ):
            continue
        if (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and _dotted(stmt.value.func) == "sys.path.append"
            and all(isinstance(a, ast.Constant) for a in stmt.value.args)
        ):
            continue
        raise BridgeError(f"the bridge runs no code: {ast.unparse(stmt)[:120]!r}")


class _Unavailable:
    """Stands in for the modules a classic client looks up on connect; exposes nothing."""

    def __init__(self, name: str) -> None:
        self._name = name


class TerminalService(rpyc.Service):  # type: ignore[misc]
    """The RPyC root the mt5linux client talks to: eval/execute over one terminal."""

    def __init__(self, terminal: Any) -> None:
        super().__init__()
        self._terminal = terminal
        self._lock = threading.Lock()
        self.calls = 0

    def exposed_getmodule(self, name: Any) -> _Unavailable:
        """Answer the classic client's module lookups with an empty stand-in."""
        return _Unavailable(str(name))

    @property
    def exposed_namespace(self) -> dict[str, Any]:
        """An empty namespace: the client may look, there is nothing to find."""
        return {}

    def exposed_execute(self, text: str) -> None:
        """Accept the client's setup imports; refuse anything else."""
        check_setup(str(text))

    def exposed_eval(self, text: str) -> Any:
        """Call one terminal function with literal arguments and return its answer."""
        function, args, kwargs = parse_call(str(text))
        with self._lock:
            self.calls += 1
            return getattr(self._terminal, function)(*args, **kwargs)


def make_server(terminal: Any, host: str = "127.0.0.1", port: int = 18812) -> ThreadedServer:
    """A threaded RPyC server for one terminal (call `.start()` to serve, `.close()` to stop)."""
    try:
        return ThreadedServer(
            TerminalService(terminal),
            hostname=host,
            port=port,
            protocol_config=PROTOCOL_CONFIG,
            listener_timeout=None,
        )
    except OSError as exc:
        raise BridgeError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
