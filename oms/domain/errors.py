"""Errors of the pure domain: bad commands, ids and event rows, each naming what is wrong."""

from __future__ import annotations

from oms.errors import OmsError


class DomainError(OmsError):
    """Base of every error raised by `oms.domain`."""


class CommandError(DomainError):
    """A command failed validation; `problems` lists (field, reason) pairs."""

    def __init__(self, command: str, problems: list[tuple[str, str]]) -> None:
        self.command = command
        self.problems = problems
        detail = "; ".join(f"{field}: {reason}" for field, reason in problems)
        super().__init__(f"invalid {command} command: {detail}")


class IdentifierError(DomainError):
    """A client order id, account code or strategy code does not fit the id scheme."""


class EventDecodeError(DomainError):
    """A stored event cannot be decoded: unknown type, unknown version or a malformed payload."""
