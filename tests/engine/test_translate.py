"""Payloads the engine builds directly are the ones the domain's events would give."""

from __future__ import annotations

import pytest

from oms.domain.events import OrderAccepted, OrderCanceled
from oms.domain.order import Order
from oms.engine import translate


@pytest.mark.parametrize("retcode", [None, 10008, 10009])
def test_accepted_payload_is_the_events_payload(retcode: int | None) -> None:
    order = Order("A1.mm.1")
    event_type, payload, event_id = translate.accepted(order, 77, retcode)
    expected = OrderAccepted(
        client_order_id="A1.mm.1", broker_order_id=77, retcode=retcode or 10008
    ).to_payload()
    assert (event_type, payload, event_id) == (OrderAccepted.TYPE, expected, "A1.mm.1:accepted")
    assert list(payload) == list(expected)


@pytest.mark.parametrize("reason", ["client", "ioc_remainder", "broker"])
def test_canceled_payload_is_the_events_payload(reason: str) -> None:
    order = Order("A1.mm.1")
    event_type, payload, event_id = translate.canceled(order, reason)
    expected = OrderCanceled(client_order_id="A1.mm.1", reason=reason).to_payload()
    assert (event_type, payload, event_id) == (OrderCanceled.TYPE, expected, "A1.mm.1:canceled")
    assert list(payload) == list(expected)
