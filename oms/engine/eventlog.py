"""The operators' log: every journaled event and every error as JSON lines, and on a rich console.

Credentials never reach it: a `SecretStr` renders as asterisks, and every configured secret
value is masked in the final text of each line (file and console) whatever carried it there.

Journaled events are gathered for one turn of the event loop and go out as one log record
that the formatter writes as one line per event: a record and a write per event cost more
than the engine's whole fold of that event. An error or milestone sends the gathered events
first, so the file keeps the engine's order. A process killed mid-turn loses at most that
turn's lines; the events themselves are in the journal, which is the record.
"""

from __future__ import annotations

import asyncio
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
        head: dict[str, Any] = {
            "ts_ns": int(record.created * 1e9),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        events = getattr(record, "events", None)
        if events is not None:  # EventLog's batch: a line per event, in journal order
            text = "\n".join(
                _dumps({**head, "msg": f"{fields['type']} {fields['stream_id']}", **fields})
                for fields in events
            )
        else:
            line = {**head, "msg": record.getMessage()}
            fields = getattr(record, "fields", None)
            if fields:
                line.update(fields)
            if record.exc_info:
                line["exc"] = self.formatException(record.exc_info)
            text = _dumps(line)
        return self.redactor.mask(text) if self.redactor.secrets else text


def _dumps(line: dict[str, Any]) -> str:
    """One JSON line; the standard encoder takes what orjson refuses (ints beyond 64 bits)."""
    try:
        return orjson.dumps(line, default=_default).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(line, default=_default, separators=(",", ":"))


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
        self._pending: list[RecordedEvent] = []

    def event(self, record: RecordedEvent) -> None:
        """One journaled event: out with the rest of this turn of the loop's events."""
        if not self._events.isEnabledFor(logging.INFO):
            return
        pending = self._pending
        pending.append(record)
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop runs here: nothing would send them later
                self.flush()

    def flush(self) -> None:
        """Send the gathered events as one record (the console shows a line per event)."""
        records = self._pending
        if not records:
            return
        self._pending = []
        self._events.info(
            "\n".join(f"{r.type} {r.stream_id}" for r in records),
            extra={"events": [
                {
                    "position": r.position, "stream_id": r.stream_id, "version": r.version,
                    "event_id": r.event_id, "type": r.type, "payload": r.payload,
                    "metadata": r.metadata,
                }
                for r in records
            ]},
        )

    def error(self, message: str, **fields: Any) -> None:
        """An error, with whatever identifies it (order id, port, exception text)."""
        self.flush()
        self._errors.error(message, extra={"fields": fields})

    def info(self, message: str, **fields: Any) -> None:
        """A milestone the operator may want to see (recovery finished, a port connected)."""
        self.flush()
        self._errors.info(message, extra={"fields": fields})

    def warning(self, message: str, **fields: Any) -> None:
        """Something odd the operator should see."""
        self.flush()
        self._errors.warning(message, extra={"fields": fields})
