"""Each policy acts when it should and not when it should not (vectorised over agents)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim.policies import POLICIES, Decisions, PolicyContext, ai_npv_usd_per_mw

N = 3
IDX = np.arange(N)


def context(**changes) -> PolicyContext:
    base = PolicyContext(
        hashprice_usd_per_th_day=0.05,
        expected_hashprice_usd_per_th_day=0.045,
        frontier_jth=13.5,
        new_usd_per_th=15.0,
        lease_usd_per_mw_year=1.8e6,
        ai_enabled=True,
        ai_capex_usd_per_mw=10e6,
        ai_lead_time_days=365,
        ai_term_years=10,
        ai_noi_margin=0.85,
        credit_open=True,
        hurdle_payback_days=900,
        discount_rate=0.10,
        max_leverage=0.5,
        max_ai_fraction=0.8,
        ai_step_fraction=0.1,
        sell_fraction=1.0,
        mining_horizon_years=4.0,
        power_usd_mwh=np.array([30.0, 45.0, 200.0]),
        capacity_mw=np.full(N, 500.0),
        fleet_mw=np.full(N, 300.0),
        ai_mw=np.zeros(N),
        btc_mined=np.full(N, 10.0),
        cash_usd=np.full(N, 5e8),
        cash_buffer_usd=np.full(N, 1e7),
        assets_usd=np.full(N, 2e9),
        debt_usd=np.full(N, 2e8),
        fringe_growth_cap=0.03,
        fringe_entry_payback_days=1000,
        hashrate_ths=np.full(N, 1e7),
    )
    return dataclasses.replace(base, **changes)


def decide(policy: str, ctx: PolicyContext) -> Decisions:
    out = Decisions.zeros(N)
    POLICIES[policy].decide(ctx, IDX, out)
    return out


def test_mining_only_buys_only_where_payback_beats_hurdle():
    # payback = 15 / (0.045 - 13.5 * 24e-6 * price): ~433 d at $30, ~484 d at $45, never at $200.
    out = decide("mining_only", context())
    assert out.buy_ths[0] > 0 and out.buy_ths[1] > 0
    assert out.buy_ths[2] == 0
    # Free capacity (200 MW) bounds the purchase: 200e6 W / 13.5 J/TH.
    assert out.buy_ths[0] == pytest.approx(200e6 / 13.5)
    assert np.all(out.convert_mw == 0)
    np.testing.assert_array_equal(out.sell_btc, 10.0)


def test_hodl_sells_nothing_and_never_borrows():
    # Spare cash (2e8 - 1e7 USD) buys 1.9e8 / 15 = 1.27e7 TH/s, less than the free capacity
    # (200 MW / 13.5 J/TH = 1.48e7 TH/s), so the cash bound binds; no borrowing tops it up.
    ctx = context(cash_usd=np.full(N, 2e8))
    out = decide("hodl", ctx)
    assert np.all(out.sell_btc == 0)
    assert not out.may_borrow.any()
    np.testing.assert_allclose(out.buy_ths, [1.9e8 / 15.0, 1.9e8 / 15.0, 0.0])
    # mining_only in the same position borrows and fills the free capacity instead
    np.testing.assert_allclose(decide("mining_only", ctx).buy_ths[:2], 200e6 / 13.5)


def test_rational_converts_when_ai_beats_mining_and_not_when_ai_is_off():
    low_hashprice = context(expected_hashprice_usd_per_th_day=0.02)
    assert ai_npv_usd_per_mw(low_hashprice) > 0
    out = decide("rational", low_hashprice)
    np.testing.assert_allclose(out.convert_mw, 0.1 * 500.0)  # one step of 10% of capacity
    assert np.all(out.buy_ths == 0)  # converting agents do not buy ASICs in the same epoch
    no_ai = decide("rational", dataclasses.replace(low_hashprice, ai_enabled=False))
    assert np.all(no_ai.convert_mw == 0)


def test_rational_keeps_mining_when_mining_is_worth_more():
    rich = context(expected_hashprice_usd_per_th_day=0.5, lease_usd_per_mw_year=1.3e6)
    out = decide("rational", rich)
    assert np.all(out.convert_mw == 0)


def test_ai_first_respects_the_ai_share_ceiling():
    ctx = context(ai_mw=np.array([0.0, 395.0, 400.0]))
    out = decide("ai_first", ctx)
    np.testing.assert_allclose(out.convert_mw, [50.0, 5.0, 0.0])  # ceiling 0.8 x 500 = 400 MW


def test_fringe_grows_faster_the_quicker_the_payback():
    out = decide("fringe", context())
    assert out.buy_ths[0] > out.buy_ths[1] > 0
    assert out.buy_ths[2] == 0
    assert np.all(out.buy_ths <= 0.03 * 1e7)
    none = decide("fringe", context(hashprice_usd_per_th_day=0.005))
    assert np.all(none.buy_ths == 0)
