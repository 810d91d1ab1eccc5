"""Every answer maps to one definite outcome, or UNKNOWN when the answer was lost."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from oms.broker.mt5 import constants as c
from oms.broker.mt5.outcomes import RawReply, resolve_cancel, resolve_place, send_outcome
from oms.broker.port import BrokerDeal, BrokerOrder, BrokerPosition, OrderQuery, OutcomeStatus
from oms.domain.enums import OrderType, Side

MARKET = {"action": c.ACTION_DEAL, "type_filling": c.ORDER_FILLING_IOC, "price": 1.1}
PENDING = {"action": c.ACTION_PENDING, "type_filling": c.ORDER_FILLING_RETURN, "price": 1.0}


def result(retcode: int, **kw: Any) -> dict[str, Any]:
    base = {
        "retcode": retcode,
        "deal": 0,
        "order": 0,
        "volume": 0.0,
        "price": 0.0,
        "bid": 1.1,
        "ask": 1.1001,
        "comment": "",
        "request_id": 1,
        "retcode_external": 0,
    }
    base.update(kw)
    return base


def reply(request: dict[str, Any], **kw: Any) -> RawReply:
    return RawReply(request=request, sent_ns=1, answered_ns=2, **kw)


def outcome(*replies: RawReply, volume: str = "1") -> Any:
    return send_outcome("O-1", float(volume), replies)


def test_market_fill() -> None:
    out = outcome(reply(MARKET, result=result(10009, order=5, deal=9, volume=1.0, price=1.1)))
    assert out.status is OutcomeStatus.FILLED
    assert (out.order_ticket, out.deal_ticket, out.filled_volume) == (5, 9, 1.0)
    assert out.fill_price == 1.1 and out.retcode == 10009
    assert len(out.attempts) == 1 and out.attempts[0].retcode == 10009


def test_ioc_partial_cancels_the_rest_return_keeps_it_working() -> None:
    partial = result(10010, order=5, deal=9, volume=0.4, price=1.1)
    ioc = outcome(reply(MARKET, result=partial))
    assert ioc.status is OutcomeStatus.PARTIALLY_FILLED
    assert ioc.filled_volume == 0.4 and ioc.open_volume == 0
    keep = outcome(reply({**MARKET, "type_filling": c.ORDER_FILLING_RETURN}, result=partial))
    assert keep.open_volume == 0.6
    smaller_done = outcome(reply(MARKET, result=result(10009, order=5, deal=9, volume=0.4)))
    assert smaller_done.status is OutcomeStatus.PARTIALLY_FILLED


def test_pending_placed_modify_and_remove() -> None:
    placed = outcome(reply(PENDING, result=result(10008, order=11)))
    assert placed.status is OutcomeStatus.PLACED and placed.order_ticket == 11
    assert placed.open_volume == 1.0
    modified = outcome(reply({"action": c.ACTION_MODIFY, "order": 11}, result=result(10009)))
    assert modified.status is OutcomeStatus.MODIFIED
    removed = outcome(reply({"action": c.ACTION_REMOVE, "order": 11}, result=result(10009)))
    assert removed.status is OutcomeStatus.CANCELED


@pytest.mark.parametrize("retcode", [10004, 10006, 10014, 10016, 10019, 10025, 10030, 10031])
def test_refusals_are_rejected_with_the_retcode(retcode: int) -> None:
    out = outcome(reply(MARKET, result=result(retcode, comment="no")))
    assert out.status is OutcomeStatus.REJECTED
    assert out.retcode == retcode and str(retcode) in out.reason and "no" in out.reason


@pytest.mark.parametrize(
    "lost",
    [
        {"error": (c.RES_E_INTERNAL_FAIL_TIMEOUT, "Terminal: Timeout")},
        {"error": (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")},
        {"error": (c.RES_E_FAIL, "Generic fail")},
        {"problem": "EOFError: stream has been closed"},
        {"result": result(10012, order=5)},
        {"result": result(10099, order=5, deal=1, volume=1.0)},
        {"result": result(10009, order=0, deal=0, volume=1.0)},
        {"result": result(10009, order=5, deal=0, volume=1.0)},
    ],
)
def test_lost_answers_are_unknown(lost: dict[str, Any]) -> None:
    assert outcome(reply(MARKET, **lost)).status is OutcomeStatus.UNKNOWN


def test_local_validation_failure_is_a_definite_rejection() -> None:
    out = outcome(reply(MARKET, error=(c.RES_E_INVALID_PARAMS, 'Invalid "volume" argument')))
    assert out.status is OutcomeStatus.REJECTED and "volume" in out.reason


def test_requote_attempts_are_all_returned() -> None:
    out = outcome(
        reply(MARKET, result=result(10004, bid=1.2, ask=1.2001)),
        reply({**MARKET, "price": 1.2001}, result=result(10021)),
        reply({**MARKET, "price": 1.2002}, result=result(10009, order=3, deal=4, volume=1.0)),
    )
    assert out.status is OutcomeStatus.FILLED
    assert [a.retcode for a in out.attempts] == [10004, 10021, 10009]
    assert [a.number for a in out.attempts] == [1, 2, 3]
    assert out.attempts[1].price == 1.2001 and out.attempts[0].ask == 1.2001


def _order(ticket: int, *, state: int, live: bool, comment: str = "O-1", **kw: Any) -> BrokerOrder:
    fields: dict[str, Any] = {
        "ticket": ticket,
        "symbol": "EURUSD",
        "kind": c.ORDER_TYPE_BUY,
        "state": state,
        "magic": 7,
        "comment": comment,
        "volume_initial": 1.0,
        "volume_current": 0.0 if not live else 1.0,
        "price_open": 1.1,
        "price_stoplimit": 0.0,
        "sl": 0.0,
        "tp": 0.0,
        "position_id": ticket,
        "time_setup_msc": 1,
        "time_done_msc": 2,
        "filling": 0,
        "type_time": 0,
        "expiration_s": 0,
        "reason": 3,
        "live": live,
    }
    fields.update(kw)
    return BrokerOrder(**fields)


def _deal(ticket: int, order: int, volume: str, px: str) -> BrokerDeal:
    z = 0.0
    return BrokerDeal(ticket, order, "EURUSD", 0, 0, 7, order, float(volume), float(px),
                      z, z, z, z, 5, 3, "O-1")  # fmt: skip


QUERY = OrderQuery(
    client_id="O-1",
    magic=7,
    symbol="EURUSD",
    side=Side.BUY,
    kind=OrderType.MARKET,
    volume=1.0,
)


def test_lookup_finds_a_filled_order_by_comment_with_its_deals() -> None:
    orders = [_order(5, state=c.ORDER_STATE_FILLED, live=False), _order(6, state=4, live=False,
              comment="other")]  # fmt: skip
    deals = [_deal(20, 5, "0.4", "1.1"), _deal(21, 5, "0.6", "1.2"), _deal(22, 6, "1", "1")]
    out = resolve_place(QUERY, orders, deals, [])
    assert out.status is OutcomeStatus.FILLED and out.matched_by == "comment"
    assert out.order_ticket == 5 and out.filled_volume == 1.0
    assert out.fill_price == 1.16 and {d.ticket for d in out.deals} == {20, 21}


def test_lookup_falls_back_to_a_fingerprint_when_the_comment_was_rewritten() -> None:
    orders = [_order(5, state=c.ORDER_STATE_FILLED, live=False, comment="[rewritten]")]
    out = resolve_place(QUERY, orders, [_deal(20, 5, "1", "1.1")], [])
    assert out.status is OutcomeStatus.FILLED and out.matched_by == "fingerprint"
    known = replace(QUERY, known_tickets=frozenset({5}))
    assert resolve_place(known, orders, [], []).status is OutcomeStatus.NOT_FOUND


def test_lookup_ambiguity_stays_unknown() -> None:
    orders = [
        _order(5, state=c.ORDER_STATE_FILLED, live=False, comment="x"),
        _order(6, state=c.ORDER_STATE_FILLED, live=False, comment="y"),
    ]
    out = resolve_place(QUERY, orders, [], [])
    assert out.status is OutcomeStatus.UNKNOWN and "5, 6" in out.reason


def test_lookup_states() -> None:
    working = resolve_place(QUERY, [_order(5, state=c.ORDER_STATE_PLACED, live=True)], [], [])
    assert working.status is OutcomeStatus.PLACED and working.open_volume == 1
    partial = resolve_place(
        QUERY,
        [_order(5, state=c.ORDER_STATE_CANCELED, live=False)],
        [_deal(20, 5, "0.3", "1.1")],
        [],
    )
    assert partial.status is OutcomeStatus.PARTIALLY_FILLED
    assert partial.filled_volume == 0.3
    canceled = resolve_place(QUERY, [_order(5, state=c.ORDER_STATE_CANCELED, live=False)], [], [])
    assert canceled.status is OutcomeStatus.CANCELED
    in_flight = resolve_place(QUERY, [_order(5, state=c.ORDER_STATE_STARTED, live=True)], [], [])
    assert in_flight.status is OutcomeStatus.UNKNOWN


def test_lookup_by_position_then_not_found() -> None:
    z = 0.0
    pos = BrokerPosition(5, 5, "EURUSD", Side.BUY, 7, 1.0, 1.1, z, z, 1, 1,
                         "O-1")  # fmt: skip
    assert resolve_place(QUERY, [], [], [pos]).matched_by == "position"
    assert resolve_place(QUERY, [], [], []).status is OutcomeStatus.NOT_FOUND


def test_cancel_resolution() -> None:
    live = _order(5, state=c.ORDER_STATE_PLACED, live=True)
    gone = _order(5, state=c.ORDER_STATE_CANCELED, live=False)
    filled = _order(5, state=c.ORDER_STATE_FILLED, live=False)
    assert resolve_cancel("O-1", 5, [live]).status is OutcomeStatus.NOT_FOUND
    assert resolve_cancel("O-1", 5, [gone]).status is OutcomeStatus.CANCELED
    assert resolve_cancel("O-1", 5, [filled]).status is OutcomeStatus.REJECTED
    assert resolve_cancel("O-1", 5, []).status is OutcomeStatus.NOT_FOUND
