"""The operators' log: every journaled event and every error as JSON lines, and on a rich console.

Credentials never reach it: a `SecretStr` renders as asterisks, and every configured secret
value is masked in the final text of each line (file and console) whatever carried it there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from journal import RecordedEvent

EVENTS = "oms.events"
ERRORS = "oms.engine"
MASK = "**********"


def _default(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    return str(value)


class Redactor(logging.Filter):
    """Masks secret values in a record's final message (also when they hide in arguments)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def mask(self, text: str) -> str:
        """The text with every secret replaced."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.mask(record.getMessage())
            record.args = None
        return True


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `fields`.

    The finished line passes through the redactor, so a secret hidden anywhere in the
    fields is masked too.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts_ns": int(record.created * 1e9),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        try:
            text = orjson.dumps(line, default=_default).decode()
        except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits
            text = json.dumps(line, default=_default, separators=(",", ":"))
        return self.redactor.mask(text) if self.redactor.secrets else text


def configure(
    path: Path | None,
    *,
    console: bool = True,
    secrets: Iterable[SecretStr | str | None] = (),
    level: int = logging.INFO,
) -> list[logging.Handler]:
    """Attach the JSON-lines file and the rich console to the `oms` loggers; returns handlers."""
    plain = [s.get_secret_value() if isinstance(s, SecretStr) else s for s in secrets]
    redactor = Redactor(s for s in plain if s)
    handlers: list[logging.Handler] = []
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, encoding="utf-8")
        file_handler.setFormatter(JsonLinesFormatter(redactor))
        handlers.append(file_handler)
    if console:
        from rich.logging import RichHandler

        handlers.append(RichHandler(show_path=False, rich_tracebacks=False, markup=False))
    root = logging.getLogger("oms")
    for handler in handlers:
        handler.addFilter(redactor)
        handler.setLevel(level)
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return handlers


def remove(handlers: Iterable[logging.Handler]) -> None:
    """Detach and close handlers returned by `configure`."""
    root = logging.getLogger("oms")
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()


class EventLog:
    """What the engine writes to the operators' log."""

    def __init__(self) -> None:
        self._events = logging.getLogger(EVENTS)
        self._errors = logging.getLogger(ERRORS)

    def event(self, record: RecordedEvent) -> None:
        """One journaled event."""
        events = self._events
        if not events.isEnabledFor(logging.INFO):
            return
        events.info(
            "%s %s", record.type, record.stream_id,
            extra={"fields": {
                "position": record.position, "stream_id": record.stream_id,
                "version": record.version, "event_id": record.event_id, "type": record.type,
                "payload": record.payload, "metadata": record.metadata,
            }},
        )

    def error(self, message: str, **fields: Any) -> None:
        """An error, with whatever identifies it (order id, port, exception text)."""
        self._errors.error(message, extra={"fields": fields})

    def info(self, message: str, **fields: Any) -> None:
        """A milestone the operator may want to see (recovery finished, a port connected)."""
        self._errors.info(message, extra={"fields": fields})

    def warning(self, message: str, **fields: Any) -> None:
        """Something odd the operator should see."""
        self._errors.warning(message, extra={"fields": fields})
