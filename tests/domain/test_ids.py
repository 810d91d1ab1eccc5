"""Client order ids fit the MT5 comment and read back; magic numbers are ours and stable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.domain.errors import IdentifierError
from oms.domain.ids import (
    MAX_COMMENT_LENGTH,
    MAX_SEQUENCE,
    client_order_id,
    deal_event_id,
    is_our_magic,
    magic_for,
    order_stream_id,
    parse_client_order_id,
)

codes = st.text(alphabet="abcXYZ019_-", min_size=1)


@given(
    account=codes.filter(lambda s: len(s) <= 10),
    strategy=codes.filter(lambda s: len(s) <= 8),
    sequence=st.integers(min_value=0, max_value=MAX_SEQUENCE),
)
def test_ids_fit_the_comment_and_round_trip(account: str, strategy: str, sequence: int) -> None:
    coid = client_order_id(account, strategy, sequence)
    assert len(coid) <= MAX_COMMENT_LENGTH
    assert parse_client_order_id(coid) == (account, strategy, sequence)


def test_longest_id_is_exactly_29_characters() -> None:
    coid = client_order_id("A" * 10, "s" * 8, MAX_SEQUENCE)
    assert len(coid) == 29
    assert order_stream_id(coid) == f"order-{coid}"


@pytest.mark.parametrize(
    ("account", "strategy", "sequence"),
    [("", "s", 0), ("A" * 11, "s", 0), ("A", "s" * 9, 0), ("A.B", "s", 0), ("A", "s", -1),
     ("A", "s", MAX_SEQUENCE + 1)],
)
def test_bad_parts_are_refused(account: str, strategy: str, sequence: int) -> None:
    with pytest.raises(IdentifierError):
        client_order_id(account, strategy, sequence)


@pytest.mark.parametrize("value", ["x", "a.b", "a.b.c.d", "a.b.0z0", "a.b.!", "a.b.01"])
def test_foreign_comments_are_not_parsed(value: str) -> None:
    with pytest.raises(IdentifierError):
        parse_client_order_id(value)


def test_magic_is_deterministic_namespaced_and_uint64() -> None:
    magic = magic_for("A1", "mm")
    assert magic == magic_for("A1", "mm")
    assert magic != magic_for("A1", "mm2")
    assert magic != magic_for("A2", "mm")
    assert 0 < magic < 2**64
    assert is_our_magic(magic)
    assert not is_our_magic(0)
    assert not is_our_magic(123456)


def test_deal_event_id_is_stable_per_account_and_deal() -> None:
    assert deal_event_id("A1", 123) == deal_event_id("A1", 123) == "deal-A1-123"
    assert deal_event_id("A2", 123) != deal_event_id("A1", 123)
