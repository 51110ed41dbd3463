"""Each policy acts when it should and not when it should not (vectorised over agents)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sim import policy_registry
from sim.engine.params import Params, build_params
from sim.input.scenario import load_scenario
from sim.policies import AI, ASIC, Decisions, PolicyContext, ai_npv_usd_per_mw
from sim.policy_registry import BUILT_IN

N = 3
IDX = np.arange(N)
#: The run constants the tests set (the rest are the demo scenario's).
PARAMS = dataclasses.replace(
    build_params(load_scenario("demo").config, N, N),
    ai_enabled=True,
    ai_capex_usd_per_mw=10e6,
    ai_lead_time_days=365,
    ai_term_years=10,
    ai_noi_margin=0.85,
    hurdle_payback_days=900,
    discount_rate=0.10,
    max_leverage=0.5,
    max_ai_fraction=0.8,
    ai_step_fraction=0.1,
    sell_fraction=1.0,
    useful_life_years=4.0,
    covenant_secured_to_assets=0.6,
)
PARAM_NAMES = {f.name for f in dataclasses.fields(Params)}


def context(**changes) -> PolicyContext:
    """The test position; ``changes`` to its fields or to its run constants (Params names)."""
    constants = {k: v for k, v in changes.items() if k in PARAM_NAMES}
    base = PolicyContext(
        params=dataclasses.replace(PARAMS, **constants),
        hashprice_usd_per_th_day=0.05,
        expected_hashprice_usd_per_th_day=0.045,
        frontier_jth=13.5,
        new_usd_per_th=15.0,
        lease_usd_per_mw_year=1.8e6,
        credit_open=True,
        power_usd_mwh=np.array([30.0, 45.0, 200.0]),
        capacity_mw=np.full(N, 500.0),
        fleet_mw=np.full(N, 300.0),
        ai_mw=np.zeros(N),
        btc_mined=np.full(N, 10.0),
        cash_usd=np.full(N, 5e8),
        cash_buffer_usd=np.full(N, 1e7),
        assets_usd=np.full(N, 2e9),
        debt_usd=np.full(N, 2e8),
    )
    return dataclasses.replace(base, **{k: v for k, v in changes.items() if k not in constants})


def decide(name: str, ctx: PolicyContext, explain: bool = True) -> Decisions:
    out = Decisions.zeros(N, explain=explain)
    policy_registry.policy(name).decide(ctx, IDX, out)
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
    # at USD 0.02/TH-day no frontier machine pays back within the 900-day hurdle: no purchase
    assert np.all(out.buy_ths == 0)
    no_ai = decide("rational", context(expected_hashprice_usd_per_th_day=0.02, ai_enabled=False))
    assert np.all(no_ai.convert_mw == 0)


def test_rational_converts_and_fills_the_rest_of_its_sites_with_machines_in_one_epoch():
    # A lease at USD 4M/MW-year beats mining; frontier machines still pay back at USD 0.045:
    # the agents convert one step (50 MW) and fill the 500 - 300 - 50 = 150 MW left with
    # frontier machines (150 MW / 13.5 J/TH), except at USD 200/MWh, where machines lose money.
    ctx = context(lease_usd_per_mw_year=4e6)
    out = decide("rational", ctx)
    np.testing.assert_allclose(out.convert_mw, 50.0)
    np.testing.assert_allclose(out.buy_ths, [150e6 / 13.5, 150e6 / 13.5, 0.0])


def test_rational_keeps_mining_when_mining_is_worth_more():
    rich = context(expected_hashprice_usd_per_th_day=0.5, lease_usd_per_mw_year=1.3e6)
    out = decide("rational", rich)
    assert np.all(out.convert_mw == 0)


def test_ai_first_respects_the_ai_share_ceiling():
    ctx = context(ai_mw=np.array([0.0, 395.0, 400.0]))
    out = decide("ai_first", ctx)
    np.testing.assert_allclose(out.convert_mw, [50.0, 5.0, 0.0])  # ceiling 0.8 x 500 = 400 MW


# ---------------------------------------------------------------- reasons
def test_rational_reasons_show_the_npvs_it_compared_when_it_converts():
    ctx = context(expected_hashprice_usd_per_th_day=0.02)
    out = decide("rational", ctx)
    r = out.reasons
    assert np.all(out.convert_mw > 0)
    assert np.all(r.ai_npv_usd_per_mw > np.maximum(r.mining_npv_usd_per_mw, 0.0))
    # here a lease earns more per MW-year than frontier machines do
    assert np.all(r.ai_noi_usd_per_mw_year > r.mining_margin_usd_per_mw_year)
    assert np.all(r.ai_verdict == AI["ai_beats_mining"])
    # at USD 0.02/TH-day frontier machines pay back in 15 / (0.02 - power) > 900 days
    assert np.all(r.asic_verdict == ASIC["misses_hurdle"])
    # payback: a year's lead time + USD 10M capex / (1.8M x 0.85) NOI a year (per IT MW; the
    # PUE divides both per MW of site)
    np.testing.assert_allclose(r.ai_payback_years, 1.0 + 10e6 / (1.8e6 * 0.85), rtol=1e-3)
    sentence = out.explain(0)
    assert sentence.startswith("Converts 50 MW to AI")
    assert f"{r.ai_npv_usd_per_mw[0] / 1e6:.2f}M/MW" in sentence


def test_rational_reasons_when_mining_is_worth_more():
    out = decide("rational", context(expected_hashprice_usd_per_th_day=0.5))
    r = out.reasons
    assert np.all(r.ai_npv_usd_per_mw > 0)  # a lease would pay, but mining pays more
    assert np.all(r.mining_npv_usd_per_mw >= r.ai_npv_usd_per_mw)
    assert np.all(r.ai_verdict == AI["mining_beats_ai"])
    assert out.explain(1).startswith("Keeps mining")
    off = decide("rational", context(ai_enabled=False))
    assert np.all(off.reasons.ai_verdict == AI["ai_off"])


def test_purchase_reasons_give_payback_against_the_hurdle():
    out = decide("mining_only", context())
    r = out.reasons
    bought = out.buy_ths > 0
    assert bought.tolist() == [True, True, False]
    assert np.all(r.frontier_payback_days[bought] < r.hurdle_payback_days[bought])
    assert r.asic_verdict[2] == ASIC["misses_hurdle"] and np.isinf(r.frontier_payback_days[2])
    assert "inside the 900-day hurdle" in out.explain(0)
    assert "pay back in inf days (hurdle 900 days)" in out.explain(2)
    full = decide("mining_only", context(fleet_mw=np.full(N, 500.0)))
    assert np.all(full.reasons.asic_verdict[:2] == ASIC["no_free_capacity"])
    broke = decide("hodl", context(cash_usd=np.full(N, 1e6)))
    assert broke.reasons.asic_verdict[0] == ASIC["no_budget"]
    assert "keeps the BTC it mined" in broke.explain(0)


def test_position_reasons_report_the_context():
    ctx = context(
        fleet_jth=np.array([20.0, 25.0, 30.0]),
        fleet_age_years=np.array([1.0, 2.0, 3.0]),
        monthly_cost_usd=np.array([1e7, 5e8, 0.0]),
        days_to_maturity=np.array([100.0, np.inf, 10.0]),
        secured_to_assets=np.array([0.1, 0.0, 0.5]),
        equity_open=np.array([True, False, True]),
        credit_open=False,
    )
    r = decide("rational", ctx).reasons
    np.testing.assert_allclose(r.cash_runway_months, [50.0, 1.0, np.inf])
    np.testing.assert_allclose(r.leverage, 0.1)  # 2e8 / 2e9
    # breakeven of the agent's own fleet: J/TH x 24 h / 1e6 x $/MWh
    np.testing.assert_allclose(
        r.breakeven_usd_per_th_day, [20 * 24e-6 * 30, 25 * 24e-6 * 45, 30 * 24e-6 * 200]
    )
    assert r.equity_open.tolist() == [True, False, True] and not r.credit_open.any()
    np.testing.assert_array_equal(r.covenant_limit, 0.6)
    np.testing.assert_array_equal(r.fleet_age_years, [1.0, 2.0, 3.0])
    unknown = decide("rational", context()).reasons  # a caller that does not know the position
    assert np.all(np.isnan(unknown.fleet_jth)) and not unknown.equity_open.any()


@pytest.mark.parametrize("policy", sorted(BUILT_IN))
def test_reasons_agree_with_the_decisions_in_random_positions(policy):
    rng = np.random.default_rng(16)
    converting = {AI["ai_beats_mining"], AI["ai_npv_positive"]}
    for _ in range(200):
        ctx = context(
            expected_hashprice_usd_per_th_day=rng.uniform(0.005, 0.12),
            lease_usd_per_mw_year=rng.uniform(0.3e6, 3e6),
            ai_enabled=bool(rng.random() < 0.8),
            credit_open=bool(rng.random() < 0.7),
            power_usd_mwh=rng.uniform(20, 120, N),
            fleet_mw=rng.uniform(0, 500, N),
            ai_mw=rng.choice([0.0, 380.0, 400.0], N),
            cash_usd=rng.uniform(0, 5e8, N),
        )
        out = decide(policy, ctx)
        r = out.reasons
        np.testing.assert_array_equal(out.convert_mw > 0, np.isin(r.ai_verdict, list(converting)))
        np.testing.assert_array_equal(out.buy_ths > 0, r.asic_verdict == ASIC["buys"])
        assert np.all(r.frontier_payback_days[out.buy_ths > 0] < ctx.params.hurdle_payback_days)
        if policy == "rational":
            ai = r.ai_verdict == AI["ai_beats_mining"]
            assert np.all(r.ai_npv_usd_per_mw[ai] > np.maximum(r.mining_npv_usd_per_mw[ai], 0))
            kept = r.ai_verdict == AI["mining_beats_ai"]
            assert np.all(r.mining_npv_usd_per_mw[kept] >= r.ai_npv_usd_per_mw[kept])
            not_positive = r.ai_verdict == AI["ai_npv_not_positive"]
            assert np.all(r.ai_npv_usd_per_mw[not_positive] <= 0)
        for i in range(N):
            assert out.explain(i).endswith(".")


def test_fringe_rows_say_they_follow_the_fringe():
    assert Decisions.zeros(2, explain=True).explain(1) == (
        "Follows the fringe's own rules (sim.fringe)."
    )


@pytest.mark.parametrize("policy", sorted(BUILT_IN))
def test_reasons_change_no_decision_and_are_skipped_unless_asked(policy):
    for ctx in (context(), context(expected_hashprice_usd_per_th_day=0.02)):
        plain, explained = decide(policy, ctx, explain=False), decide(policy, ctx)
        for field in ("sell_btc", "buy_ths", "convert_mw", "may_borrow"):
            np.testing.assert_array_equal(getattr(plain, field), getattr(explained, field))
        assert plain.reasons is None and explained.reasons is not None
        with pytest.raises(ValueError, match="without reasons"):
            plain.explain(0)
