"""Which broker port an order goes to, by configurable rules on account, symbol and strategy."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from oms.broker.port import BrokerPort
from oms.engine.errors import NoRouteError


@dataclass(frozen=True, slots=True)
class Route:
    """One rule: every given field must match (shell-style patterns); None matches anything."""

    port: str
    account: str | None = None
    symbol: str | None = None
    strategy: str | None = None

    def matches(self, account: str, symbol: str, strategy: str) -> bool:
        """True when this rule applies to the order."""
        return all(
            pattern is None or fnmatch.fnmatchcase(value, pattern)
            for pattern, value in (
                (self.account, account), (self.symbol, symbol), (self.strategy, strategy)
            )
        )


class OrderRouter:
    """The first matching rule wins; ports are named so rules can be written in configuration."""

    def __init__(self, ports: Mapping[str, BrokerPort], routes: Sequence[Route]) -> None:
        unknown = sorted({r.port for r in routes} - set(ports))
        if unknown:
            raise NoRouteError(
                f"routing rules name ports {unknown} that are not configured "
                f"(configured: {sorted(ports)})"
            )
        self.ports = dict(ports)
        self.routes = tuple(routes)
        self._cache: dict[tuple[str, str, str], str] = {}

    @classmethod
    def single(cls, port: BrokerPort, name: str = "default") -> OrderRouter:
        """Everything to one port."""
        return cls({name: port}, [Route(name)])

    def port_name(self, account: str, symbol: str, strategy: str) -> str:
        """The name of the port that takes this order, or NoRouteError."""
        key = (account, symbol, strategy)
        name = self._cache.get(key)
        if name is None:
            for route in self.routes:
                if route.matches(account, symbol, strategy):
                    name = self._cache[key] = route.port
                    break
            else:
                raise NoRouteError(
                    f"no route for account {account!r}, symbol {symbol!r}, strategy "
                    f"{strategy!r}: add a rule to the router"
                )
        return name

    def route(self, account: str, symbol: str, strategy: str) -> BrokerPort:
        """The port that takes this order."""
        return self.ports[self.port_name(account, symbol, strategy)]
