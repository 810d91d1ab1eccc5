"""The positional builder makes the same frozen instances as the dataclass constructor."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from oms.broker.port import BrokerRequestError, OutcomeStatus, PlaceOrder, SendOutcome
from oms.domain.enums import OrderType, Side, TimeInForce
from oms.frozen import builder


def test_builds_equal_frozen_instances() -> None:
    build = builder(SendOutcome)
    fields = [f.name for f in dataclasses.fields(SendOutcome)]
    values = [OutcomeStatus.FILLED, "A1.s.1", 10009, "done", 7, 8, 0.1, 1.1, 0.0, (),
              None, None, (), 99]
    built = build(*values)
    expected = SendOutcome(**dict(zip(fields, values, strict=True)))
    assert type(built) is SendOutcome
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.status = OutcomeStatus.REJECTED  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(built)) == expected  # the process worker pickles them


def test_runs_post_init_checks() -> None:
    build = builder(PlaceOrder)
    args = ["A1.s.1", 1, "EURUSD", Side.BUY, OrderType.LIMIT, 0.1, None, None, None, None,
            None]
    with pytest.raises(BrokerRequestError, match="needs a price"):
        build(*args, TimeInForce.GTC, None, None, None)


def test_refuses_classes_it_cannot_build() -> None:
    @dataclasses.dataclass(slots=True)
    class Mutable:
        a: int

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Base:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(Base):
        b: int

    for cls in (Mutable, NoSlots, Derived):
        with pytest.raises(TypeError):
            builder(cls)
