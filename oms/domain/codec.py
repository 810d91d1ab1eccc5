"""From stored rows to events: the type registry and upcasters keyed by (type, version).

A stored payload is never rewritten. When an event's shape changes, its class gets a new
SCHEMA_VERSION and an upcaster that turns a version-n payload into version n+1 is
registered here; reading applies the chain up to the current version. Projections fold over
`upcast()` payloads (plain dicts); `decode()` also builds the typed event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from oms.domain.errors import EventDecodeError
from oms.domain.events import EVENT_CLASSES, Event

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UpcasterRegistry:
    """Upcasters keyed by (type, from_version); each lifts a payload by exactly one version."""

    def __init__(self, classes: tuple[type[Event], ...] = EVENT_CLASSES) -> None:
        self.classes: dict[str, type[Event]] = {cls.TYPE: cls for cls in classes}
        self.current: dict[str, int] = {cls.TYPE: cls.SCHEMA_VERSION for cls in classes}
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: `fn(payload_v_n) -> payload_v_n+1` for one event type."""

        def add(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._steps:
                raise EventDecodeError(f"an upcaster for {event_type} v{from_version} exists")
            self._steps[key] = fn
            return fn

        return add

    def upcast(self, event_type: str, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        """The payload lifted to the current version of its type (a new dict when lifted)."""
        current = self.current.get(event_type)
        if current is None:
            raise EventDecodeError(f"unknown event type {event_type!r}")
        if version == current:
            return payload if isinstance(payload, dict) else dict(payload)
        if version > current:
            raise EventDecodeError(
                f"{event_type} v{version} is newer than this code (v{current}): upgrade first"
            )
        data = dict(payload)
        while version < current:
            step = self._steps.get((event_type, version))
            if step is None:
                raise EventDecodeError(f"no upcaster from {event_type} v{version}")
            data = step(data)
            version += 1
        return data

    def decode(self, event_type: str, version: int, payload: Mapping[str, Any]) -> Event:
        """The typed event for a stored row."""
        data = self.upcast(event_type, version, payload)
        return self.classes[event_type].from_payload(data)


REGISTRY = UpcasterRegistry()
"""The registry the OMS reads its journal with; register upcasters on it at import time."""


def decode(event_type: str, version: int, payload: Mapping[str, Any]) -> Event:
    """Decode one stored row with the OMS registry."""
    return REGISTRY.decode(event_type, version, payload)
