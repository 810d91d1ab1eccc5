"""Identifiers we own: the client order id (MT5 `comment`) and the `magic` number.

Client order id: ``<account>.<strategy>.<sequence in base 36>``, for example ``A1.mm.1z``.
The account code is 1–10 and the strategy code 1–8 characters of ``[A-Za-z0-9_-]``; the
sequence is 0…36**9-1 (9 base-36 digits). The longest id is 10+1+8+1+9 = 29 characters, the
most MT5 accepts in a request's `comment`. The sequence is per (account, strategy) and is
never reused: the engine takes the next one from the order-book projection
(`OrderBook.next_sequence`), which replays it from the journal, so a restart continues
where the journal ends.

Magic: a uint64 that MT5 stores on the order, its deals and the position, so it survives
when a broker rewrites the comment. The top 16 bits are the namespace ``0x4F4D`` ("OM"),
which tells our orders from manual trades (magic 0) and other robots; the low 48 bits are
the first 6 bytes of blake2b(account + NUL + strategy). It identifies the strategy and
account, not the order: the comment (the client order id) and the broker ticket do that.

Fill events are appended under `deal_event_id(account, deal_ticket)`, so a deal reported
twice (listener and reconciler, or a replayed poll) is stored once.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import TypeVar

from oms.domain.errors import IdentifierError

MAX_COMMENT_LENGTH = 29
MAX_ACCOUNT_CODE = 10
MAX_STRATEGY_CODE = 8
MAX_SEQUENCE = 36**9 - 1
MAGIC_NAMESPACE = 0x4F4D
_CODE = re.compile(r"^[A-Za-z0-9_-]+$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


_CHECKED: set[tuple[str, int]] = set()


def check_code(kind: str, code: str, max_length: int) -> str:
    """Return `code` if it can be part of a client order id, else raise naming the problem."""
    if (code, max_length) in _CHECKED:
        return code  # a handful of account and strategy codes recur on every order
    if not code or len(code) > max_length or not _CODE.match(code):
        raise IdentifierError(
            f"{kind} code {code!r} must be 1-{max_length} characters of letters, digits, _ or -"
        )
    if len(_CHECKED) < 4096:
        _CHECKED.add((code, max_length))
    return code


def to_base36(number: int) -> str:
    """Render a non-negative integer in lower-case base 36."""
    if number < 0:
        raise IdentifierError(f"sequence {number} must not be negative")
    if number == 0:
        return "0"
    out = []
    while number:
        number, digit = divmod(number, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def client_order_id(account: str, strategy: str, sequence: int) -> str:
    """Build the deterministic client order id that travels as the MT5 comment."""
    check_code("account", account, MAX_ACCOUNT_CODE)
    check_code("strategy", strategy, MAX_STRATEGY_CODE)
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise IdentifierError(f"sequence {sequence} is outside 0..{MAX_SEQUENCE}")
    return f"{account}.{strategy}.{to_base36(sequence)}"


def parse_client_order_id(value: str) -> tuple[str, str, int]:
    """Split a client order id into (account, strategy, sequence), or raise if it is not ours."""
    parts = value.split(".")
    if len(parts) != 3 or len(value) > MAX_COMMENT_LENGTH:
        raise IdentifierError(f"{value!r} is not a client order id (account.strategy.sequence)")
    account, strategy, seq = parts
    check_code("account", account, MAX_ACCOUNT_CODE)
    check_code("strategy", strategy, MAX_STRATEGY_CODE)
    try:
        sequence = int(seq, 36)
    except ValueError:
        raise IdentifierError(f"{value!r} has a sequence that is not base 36") from None
    if seq != to_base36(sequence):
        raise IdentifierError(f"{value!r} has a sequence that is not canonical base 36")
    return account, strategy, sequence


def order_stream_id(client_order_id: str) -> str:
    """The journal stream that holds every event of one order."""
    return f"order-{client_order_id}"


def deal_event_id(account: str, deal_ticket: int) -> str:
    """The journal event id of the fill for one broker deal.

    Whoever sees the deal first (the status listener, recovery, the reconciler) appends the
    fill under this id, so the journal's unique event id turns a second report of the same
    deal into a no-op instead of a duplicate.
    """
    return f"deal-{account}-{deal_ticket}"


_V = TypeVar("_V")


def account_tickets(index: dict[str, dict[int, _V]], account: str) -> dict[int, _V]:
    """One account's part of an index by broker ticket, made on first use: brokers number
    orders and deals independently, so a ticket is unique only within its account."""
    tickets = index.get(account)
    if tickets is None:
        tickets = index[account] = {}
    return tickets


@functools.lru_cache(maxsize=1024)  # a handful of pairs recur on every order
def magic_for(account: str, strategy: str) -> int:
    """The uint64 magic MT5 stores for every order of this account and strategy."""
    digest = hashlib.blake2b(f"{account}\x00{strategy}".encode(), digest_size=6).digest()
    return (MAGIC_NAMESPACE << 48) | int.from_bytes(digest, "big")


def is_our_magic(magic: int) -> bool:
    """True when a broker order or deal carries a magic from our namespace."""
    return 0 <= magic < 2**64 and magic >> 48 == MAGIC_NAMESPACE
