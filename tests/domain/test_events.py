"""Events round-trip through JSON payloads; old versions are lifted by registered upcasters."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from oms.domain.codec import REGISTRY, UpcasterRegistry, decode
from oms.domain.enums import DealEntry, OrderType, Side, TimeInForce
from oms.domain.errors import EventDecodeError
from oms.domain.events import (
    EVENT_CLASSES,
    Event,
    KillSwitchCleared,
    KillSwitchEngaged,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRejected,
    OrderCancelRequested,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderModifyRequested,
    OrderOutcomeResolved,
    OrderOutcomeUnknown,
    OrderPartiallyFilled,
    OrderRejected,
    OrderSubmitted,
    Resolution,
)
from oms.domain.metadata import EventMetadata, Stage, stage_latency_ns

COID = "A1.mm.1"
TERMS: dict[str, Any] = {
    "client_order_id": COID, "account": "A1", "strategy": "mm", "symbol": "EURUSD",
    "side": Side.BUY, "order_type": OrderType.STOP_LIMIT, "volume": 0.5, "price": 1.2,
    "stop_limit_price": 1.19, "sl": 1.1, "tp": 1.3, "time_in_force": TimeInForce.SPECIFIED,
    "expiry_ns": 10**18, "magic": 42, "position_id": 9,
}
FILL: dict[str, Any] = {
    "client_order_id": COID, "deal_ticket": 77, "account": "A1", "symbol": "EURUSD",
    "side": Side.BUY,
    "volume": 0.25, "price": 1.19, "fill_ns": 5, "commission": -0.5, "fee": -0.1, "swap": 0.0,
    "position_id": 9, "entry": DealEntry.IN,
}
SAMPLES: list[Event] = [
    OrderSubmitted(**TERMS),
    OrderDenied(**TERMS, rule="max_order_volume", limit=0.1, value=0.5, reason="too big"),
    OrderAccepted(client_order_id=COID, broker_order_id=123),
    OrderRejected(client_order_id=COID, retcode=10019, reason="no money"),
    OrderModifyRequested(client_order_id=COID, request_id="m1", price=1.21, sl=0.0),
    OrderModified(client_order_id=COID, request_id="m1", price=1.21, sl=0.0),
    OrderModifyRejected(client_order_id=COID, request_id="m1", retcode=10025, reason="same"),
    OrderCancelRequested(client_order_id=COID, request_id="c1"),
    OrderCanceled(client_order_id=COID, reason="ioc_remainder"),
    OrderCancelRejected(client_order_id=COID, request_id="c1", retcode=10029, reason="frozen"),
    OrderPartiallyFilled(**FILL),
    OrderFilled(**FILL),
    OrderExpired(client_order_id=COID),
    OrderOutcomeUnknown(client_order_id=COID, reason="timeout", error_code=-10005),
    OrderOutcomeResolved(client_order_id=COID, resolution=Resolution.NOT_FOUND),
    KillSwitchEngaged(account="A1", reason="drawdown", by="ops"),
    KillSwitchCleared(reason="ok", by="ops"),
]


def test_every_event_class_has_a_sample_and_a_unique_type() -> None:
    assert {type(e) for e in SAMPLES} == set(EVENT_CLASSES)
    types = [cls.TYPE for cls in EVENT_CLASSES]
    assert len(set(types)) == len(types)
    assert all(cls.SCHEMA_VERSION >= 1 for cls in EVENT_CLASSES)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.TYPE)
def test_payload_is_json_and_round_trips(event: Event) -> None:
    payload = event.to_payload()
    text = json.dumps(payload, sort_keys=True)
    back = decode(event.TYPE, event.SCHEMA_VERSION, json.loads(text))
    assert back == event
    assert type(back) is type(event)


def test_events_are_immutable() -> None:
    event = SAMPLES[0]
    with pytest.raises(FrozenInstanceError):
        event.volume = 2.0  # type: ignore[attr-defined,misc]


def test_malformed_payloads_name_the_problem() -> None:
    with pytest.raises(EventDecodeError, match="lacks 'broker_order_id'"):
        decode("order.accepted", 1, {"client_order_id": COID})
    with pytest.raises(EventDecodeError, match="'side'"):
        decode("order.filled", 1, {**SAMPLES[11].to_payload(), "side": "long"})
    with pytest.raises(EventDecodeError, match="unknown event type"):
        decode("order.teleported", 1, {})
    with pytest.raises(EventDecodeError, match="newer than this code"):
        decode("order.accepted", 99, {})


def test_upcasters_lift_old_rows_step_by_step() -> None:
    registry = UpcasterRegistry((OrderAccepted,))
    registry.current["order.accepted"] = 3  # as if the shape had changed twice

    @registry.register("order.accepted", 1)
    def ticket_renamed(payload: dict[str, Any]) -> dict[str, Any]:
        payload["broker_order_id"] = payload.pop("ticket")
        return payload

    @registry.register("order.accepted", 2)
    def retcode_added(payload: dict[str, Any]) -> dict[str, Any]:
        payload.setdefault("retcode", 10009)
        return payload

    stored = {"client_order_id": COID, "ticket": 5}
    event = registry.decode("order.accepted", 1, stored)
    assert event == OrderAccepted(client_order_id=COID, broker_order_id=5, retcode=10009)
    assert stored == {"client_order_id": COID, "ticket": 5}, "the stored row is not touched"
    with pytest.raises(EventDecodeError, match="exists"):
        registry.register("order.accepted", 1)(ticket_renamed)
    registry.current["order.accepted"] = 4
    with pytest.raises(EventDecodeError, match=r"no upcaster from order\.accepted v3"):
        registry.decode("order.accepted", 1, stored)


def test_shared_registry_knows_every_type() -> None:
    assert set(REGISTRY.current) == {cls.TYPE for cls in EVENT_CLASSES}


def test_metadata_round_trips_and_measures_stage_latency() -> None:
    meta = (
        EventMetadata(correlation_id=COID)
        .with_stage(Stage.SUBMIT, 1_000, 50)
        .with_stage(Stage.BROKER_SEND, 1_900, 950)
    )
    stored = json.loads(json.dumps(meta.to_dict()))
    assert EventMetadata.from_dict(stored) == meta
    assert stored["stages"]["submit"] == {"wall_ns": 1_000, "mono_ns": 50}
    assert stage_latency_ns(stored, Stage.SUBMIT, Stage.BROKER_SEND) == 900
    assert stage_latency_ns(stored, Stage.SUBMIT, Stage.FILL) is None
    assert stage_latency_ns({}, Stage.SUBMIT, Stage.FILL) is None
    assert meta.stage(Stage.SIGNAL) is None
    with pytest.raises(EventDecodeError, match=r"stages\.fill"):
        EventMetadata.from_dict({"stages": {"fill": {"wall_ns": 1}}})
