"""Position math: netting reduces and reverses, hedging closes by id and by opposite position."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oms.domain.positions import BUY, SELL, Position, SymbolSpec, close_by

SPEC = SymbolSpec(contract_size=100_000.0)

fills = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.integers(min_value=1, max_value=500).map(lambda n: n / 100),
        st.integers(min_value=9_000, max_value=11_000).map(lambda n: n / 10_000),
    ),
    min_size=1,
    max_size=40,
)


def test_netting_reduce_then_reverse() -> None:
    pos = Position("A1:EURUSD", "A1", "EURUSD")
    assert pos.trade(BUY, 1.0, 1.1000, SPEC, 1, reverse=True) == (0.0, 0.0)
    pos.trade(BUY, 1.0, 1.1010, SPEC, 2, reverse=True)
    assert pos.avg_price == pytest.approx(1.1005)
    realised, excess = pos.trade(SELL, 0.5, 1.1025, SPEC, 3, reverse=True)
    assert realised == pytest.approx(0.0020 * 0.5 * 100_000)
    assert excess == 0.0
    assert (pos.side, pos.volume, pos.avg_price) == (BUY, 1.5, pytest.approx(1.1005))
    realised, _ = pos.trade(SELL, 2.0, 1.1000, SPEC, 4, reverse=True)
    assert realised == pytest.approx(-0.0005 * 1.5 * 100_000)
    assert (pos.side, pos.volume, pos.avg_price) == (SELL, pytest.approx(0.5), 1.1)
    assert pos.signed_volume == pytest.approx(-0.5)
    assert pos.opened_ns == 4


def test_flat_after_exact_close() -> None:
    pos = Position("k", "A1", "X")
    pos.trade(SELL, 0.3, 10.0, SymbolSpec(), 1, reverse=True)
    realised, _ = pos.trade(BUY, 0.3, 9.0, SymbolSpec(), 2, reverse=True)
    assert realised == pytest.approx(0.3)
    assert (pos.side, pos.volume, pos.avg_price, pos.is_open) == ("", 0.0, 0.0, False)


def test_hedging_never_reverses_and_reports_excess() -> None:
    pos = Position("123", "A1", "EURUSD")
    pos.trade(BUY, 1.0, 1.1, SPEC, 1, reverse=False)
    realised, excess = pos.trade(SELL, 1.5, 1.2, SPEC, 2, reverse=False)
    assert realised == pytest.approx(0.1 * 100_000)
    assert excess == pytest.approx(0.5)
    assert pos.volume == 0.0 and pos.side == ""


def test_close_by_realises_the_spread_between_entries() -> None:
    long = Position("1", "A1", "EURUSD")
    short = Position("2", "A1", "EURUSD")
    long.trade(BUY, 1.0, 1.1000, SPEC, 1, reverse=False)
    short.trade(SELL, 0.4, 1.1050, SPEC, 2, reverse=False)
    realised = close_by(long, short, 1.0, SPEC, 3)
    assert realised == pytest.approx(0.0050 * 0.4 * 100_000)
    assert long.volume == pytest.approx(0.6) and long.side == BUY
    assert short.volume == 0.0
    assert close_by(long, short, 1.0, SPEC, 4) == 0.0, "nothing left to close against"


def test_tick_value_spec_and_unrealised() -> None:
    spec = SymbolSpec(contract_size=1.0, tick_size=0.25, tick_value=12.5)
    assert spec.pnl(1.0, 2.0) == pytest.approx(100.0)
    pos = Position("k", "A1", "ES")
    pos.trade(SELL, 2.0, 5000.0, spec, 1, reverse=True)
    assert pos.unrealised_pnl(4999.0, spec) == pytest.approx(100.0)
    assert Position.from_dict(pos.to_dict()).to_dict() == pos.to_dict()


@settings(max_examples=300, deadline=None)
@given(fills, st.integers(min_value=9_000, max_value=11_000).map(lambda n: n / 10_000))
def test_netting_volume_is_signed_sum_and_pnl_matches_cash(
    trades: list[tuple[str, float, float]], mark: float
) -> None:
    pos = Position("k", "A1", "EURUSD")
    realised = 0.0
    for side, volume, price in trades:
        gain, excess = pos.trade(side, volume, price, SPEC, 0, reverse=True)
        realised += gain
        assert excess == 0.0
        assert pos.volume >= 0.0
    signed = sum(v if s == BUY else -v for s, v, _ in trades)
    assert pos.signed_volume == pytest.approx(signed, abs=1e-6)
    assert pos.realised_pnl == pytest.approx(realised)
    cash = sum((-p * v if s == BUY else p * v) for s, v, p in trades)
    total = realised + pos.unrealised_pnl(mark, SPEC)
    assert total == pytest.approx(SPEC.pnl(cash + signed * mark, 1.0), abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(fills, st.integers(min_value=9_000, max_value=11_000).map(lambda n: n / 10_000))
def test_hedging_pnl_matches_cash_for_what_was_traded(
    trades: list[tuple[str, float, float]], mark: float
) -> None:
    pos = Position("k", "A1", "EURUSD")
    traded_cash = 0.0
    traded_net = 0.0
    for side, volume, price in trades:
        _, excess = pos.trade(side, volume, price, SPEC, 0, reverse=False)
        used = volume - excess
        sign = 1.0 if side == BUY else -1.0
        traded_cash -= sign * price * used
        traded_net += sign * used
    assert pos.signed_volume == pytest.approx(traded_net, abs=1e-6)
    total = pos.realised_pnl + pos.unrealised_pnl(mark, SPEC)
    assert total == pytest.approx(SPEC.pnl(traded_cash + traded_net * mark, 1.0), abs=1e-3)
