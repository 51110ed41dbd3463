"""The fringe's free entry (sim.fringe): break-even power price, supply curves, orders, deliveries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.optimize import brentq

from sim.fringe import (
    EntryOutlook,
    Fringe,
    breakeven_power_usd_mwh,
    entry_npv_usd_per_th,
    expected_margin_path,
)
from sim.input.schema import Fringe as FringeConfig
from sim.units import YEAR_DAYS

OUTLOOK = EntryOutlook(
    hashprice_usd_per_th_day=0.05,
    frontier_jth=15.0,
    machine_usd_per_th=12.0,
    fixed_usd_per_th_day=0.002,
    expected_decline=0.3,
    days_to_halving=900.0,
    halving_factor=0.5,
    lead_time_days=90.0,
    life_years=4.0,
    discount_rate=0.15,
)


def test_margin_path_integrates_to_the_closed_form_annuity():
    # No halving within the life: sum of weights x hashprice -> integral of
    # h e^-(g+r)t dt from lead to lead + life, in days.
    outlook = dataclasses.replace(OUTLOOK, days_to_halving=1e9)
    hashprice, weight = expected_margin_path(outlook)
    rate = outlook.expected_decline + outlook.discount_rate
    lead, life = outlook.lead_time_days / YEAR_DAYS, outlook.life_years
    exact = (
        outlook.hashprice_usd_per_th_day
        * YEAR_DAYS
        * (np.exp(-rate * lead) - np.exp(-rate * (lead + life)))
        / rate
    )
    assert np.sum(weight * hashprice) == pytest.approx(exact, rel=2e-3)


def test_breakeven_is_the_root_of_the_npv():
    price = breakeven_power_usd_mwh(OUTLOOK)
    root = brentq(lambda p: entry_npv_usd_per_th(OUTLOOK, p), 0.0, 1e4, xtol=1e-12)
    assert price == pytest.approx(root, rel=1e-9)
    assert (
        entry_npv_usd_per_th(OUTLOOK, 0.99 * price)
        > 0
        > entry_npv_usd_per_th(OUTLOOK, 1.01 * price)
    )


def test_fixed_costs_count_over_the_whole_life_whether_the_machine_runs_or_not():
    # a fixed cost of F per TH/s-day costs F x the discounted days of the life, even on days
    # the margin is negative; so it lowers the NPV at any power price by the same amount
    _, weight = expected_margin_path(OUTLOOK)
    free = dataclasses.replace(OUTLOOK, fixed_usd_per_th_day=0.0)
    for power in (0.0, 30.0, 500.0):
        gap = entry_npv_usd_per_th(free, power) - entry_npv_usd_per_th(OUTLOOK, power)
        assert gap == pytest.approx(0.002 * weight.sum())


def test_breakeven_is_zero_when_even_free_power_does_not_pay():
    dear = dataclasses.replace(OUTLOOK, machine_usd_per_th=1e3)
    assert entry_npv_usd_per_th(dear, 0.0) < 0
    assert breakeven_power_usd_mwh(dear) == 0.0


def test_a_nearer_halving_a_dearer_machine_or_a_faster_decline_lowers_the_breakeven():
    base = breakeven_power_usd_mwh(OUTLOOK)
    for change in (
        {"days_to_halving": 100.0},
        {"machine_usd_per_th": 15.0},
        {"expected_decline": 0.6},
        {"discount_rate": 0.3},
        {"fixed_usd_per_th_day": 0.004},
    ):
        assert breakeven_power_usd_mwh(dataclasses.replace(OUTLOOK, **change)) < base, change
    assert breakeven_power_usd_mwh(dataclasses.replace(OUTLOOK, halving_factor=1.0)) > base


def _fringe(**config) -> Fringe:
    cfg = FringeConfig(**{"supply_elasticity": 2.0, "supply_build_per_year": 0.0, **config})
    return Fringe(cfg, np.array([1, 2]), np.array([40.0, 60.0]), np.array([100.0, 50.0]))


def test_supply_is_flat_up_to_capacity_then_rises_with_the_elasticity():
    f = _fringe()
    np.testing.assert_allclose(f.marginal_usd_mwh(np.array([50.0, 50.0])), [40.0, 60.0])
    # 4x the capacity at elasticity 2 costs 4**(1/2) = 2x the price
    np.testing.assert_allclose(f.marginal_usd_mwh(np.array([400.0, 200.0])), [80.0, 120.0])
    # supplied_mw inverts marginal_usd_mwh beyond capacity, and offers nothing below the price
    np.testing.assert_allclose(f.supplied_mw(80.0), [400.0, 50.0 * (80 / 60) ** 2])
    np.testing.assert_allclose(f.supplied_mw(39.0), [0.0, 0.0])


def test_capacity_grows_exogenously_and_builds_out_toward_what_is_held():
    f = _fringe(supply_growth_per_year=0.2, supply_headroom=1.5)
    f.grow_capacity(np.zeros(2), 2.0)
    np.testing.assert_allclose(f.capacity_mw, np.array([150.0, 75.0]) * np.exp(0.4))
    # build-out closes 1 - exp(-rate x years) of the gap to the MW held beyond capacity
    g = _fringe(supply_build_per_year=0.5)
    g.grow_capacity(np.array([300.0, 40.0]), 1.0)
    np.testing.assert_allclose(g.capacity_mw, [100.0 + (1 - np.exp(-0.5)) * 200.0, 50.0])


def test_orders_close_a_share_of_the_gap_within_the_delivery_cap_and_arrive_after_the_lead():
    f = _fringe(adjustment_per_epoch=0.5, max_deliveries_per_epoch=1.0, lead_time_days=90.0)
    fleet_mw = np.array([0.0, 100.0, 50.0])  # model agent 0 is a public miner
    outlook = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.2)
    breakeven = f.order(
        outlook, fleet_mw, market_factor=1.0, installed_ths=1e12, day=10.0, years=0.04
    )
    wanted = f.supplied_mw(breakeven)
    ordered_mw = f.orders.hashrate_ths * f.orders.efficiency_jth / 1e6
    np.testing.assert_allclose(ordered_mw, 0.5 * (wanted - [100.0, 50.0]))
    assert f.deliveries(99.0).n == 0
    arrived = f.deliveries(100.0)
    assert arrived.n == 2 and f.orders.n == 0
    # sited at the marginal price of the MW they take: above the agent's price once beyond capacity
    assert np.all(arrived.site_usd_mwh > [40.0, 60.0])


def test_deliveries_are_capped_network_wide():
    f = _fringe(adjustment_per_epoch=1.0, max_deliveries_per_epoch=0.05)
    outlook = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.2)
    f.order(outlook, np.array([0.0, 100.0, 50.0]), 1.0, installed_ths=1e7, day=0.0, years=0.04)
    assert f.orders.hashrate_ths.sum() == pytest.approx(0.05 * 1e7)


def test_unbounded_orders_share_the_cap_instead_of_vanishing():
    # power at no cost (market factor 0): the break-even over it is infinite and so is the MW
    # the supply curve offers; the orders are the capped ones in the limit, not NaN
    f = _fringe(adjustment_per_epoch=1.0, max_deliveries_per_epoch=0.05)
    outlook = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.2)
    assert np.isinf(f.supplied_mw(1e300)).all()
    f.order(outlook, np.array([0.0, 100.0, 50.0]), 0.0, installed_ths=1e7, day=0.0, years=0.04)
    np.testing.assert_array_equal(f.orders.hashrate_ths, [0.025 * 1e7, 0.025 * 1e7])


def test_a_power_delivery_cap_bounds_the_mw_a_year_whatever_the_network_size():
    # 20 MW a year over a 0.25-year epoch: 5 MW of 15 J/TH machines, split pro rata, on a small
    # network and on one a thousand times larger alike.
    outlook = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.2)
    fleet_mw = np.array([0.0, 100.0, 50.0])
    uncapped = _fringe(adjustment_per_epoch=1.0, max_deliveries_per_epoch=1.0)
    uncapped.order(outlook, fleet_mw, 1.0, installed_ths=1e12, day=0.0, years=0.25)
    share = uncapped.orders.hashrate_ths / uncapped.orders.hashrate_ths.sum()
    for installed_ths in (1e6, 1e9):
        f = _fringe(adjustment_per_epoch=1.0, delivery_cap="power", max_deliveries_mw_per_year=20.0)
        f.order(outlook, fleet_mw, 1.0, installed_ths=installed_ths, day=0.0, years=0.25)
        mw = f.orders.hashrate_ths * f.orders.efficiency_jth / 1e6
        np.testing.assert_allclose(mw, 5.0 * share)
        np.testing.assert_allclose(f.orders.hashrate_ths.sum(), 5.0 * 1e6 / 15.0)


def test_no_orders_when_entry_does_not_pay():
    f = _fringe(adjustment_per_epoch=1.0)
    poor = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.01)
    f.order(poor, np.array([0.0, 100.0, 50.0]), 1.0, installed_ths=1e7, day=0.0, years=0.04)
    assert f.orders.n == 0


def _expected_decline_after(fringe: Fringe, growth_per_year: float, day: float) -> float:
    """Entrants' expected decline on ``day`` after the difficulty grew at ``growth_per_year``
    (log a year) since the start, with an epoch every 14 days."""
    fringe.start_difficulty_trend(1e12)
    for d in np.arange(14.0, day + 1e-9, 14.0):
        decline = fringe.expected_decline(d, 1e12 * np.exp(growth_per_year * d / YEAR_DAYS))
    return decline


def test_without_the_weight_entrants_expect_the_constant_decline_whatever_the_difficulty():
    fringe = _fringe(expected_hashprice_decline=0.3, prior_difficulty_growth_per_year=2.0)
    decline = _expected_decline_after(fringe, 1.5, day=364.0)
    assert decline == 0.3  # exactly: the outlook (and so the break-even) is the old one
    outlook = dataclasses.replace(OUTLOOK, expected_decline=decline)
    assert breakeven_power_usd_mwh(outlook) == breakeven_power_usd_mwh(OUTLOOK)


def test_adaptive_entrants_add_the_weighted_trailing_growth_and_enter_less_after_growth():
    fringe = _fringe(
        expected_hashprice_decline=0.3,
        expected_difficulty_weight=0.5,
        difficulty_trend_days=182.0,
        prior_difficulty_growth_per_year=1.0,
    )
    # a year into the run the window holds only simulated epochs: 0.3 + 0.5 x 0.8
    assert _expected_decline_after(fringe, 0.8, day=364.0) == pytest.approx(0.7)
    # ten weeks in, 112 of its 182 days are before the start (growth 1.0) and 70 in it (0.8)
    early = _expected_decline_after(fringe, 0.8, day=70.0)
    assert early == pytest.approx(0.3 + 0.5 * (112 * 1.0 + 70 * 0.8) / 182)
    grown = dataclasses.replace(OUTLOOK, expected_decline=early)
    assert breakeven_power_usd_mwh(grown) < breakeven_power_usd_mwh(OUTLOOK)
    # a shrinking difficulty raises the expected hashprice instead
    assert _expected_decline_after(fringe, -0.4, day=364.0) == pytest.approx(0.1)


def test_anticipating_entrants_expect_the_hashprice_the_orders_on_the_way_leave():
    installed = 1e7
    outlook = dataclasses.replace(OUTLOOK, hashprice_usd_per_th_day=0.2)
    myopic = _fringe(adjustment_per_epoch=1.0, max_deliveries_per_epoch=0.05)
    anticipating = _fringe(
        adjustment_per_epoch=1.0, max_deliveries_per_epoch=0.05, anticipate_pipeline=True
    )
    for f in (myopic, anticipating):
        assert f.pipeline_factor(installed) == 1.0  # nothing on order yet
        f.order(outlook, np.array([0.0, 100.0, 50.0]), 1.0, installed, day=0.0, years=0.04)
    assert myopic.pipeline_factor(installed) == 1.0
    on_order = anticipating.orders.hashrate_ths.sum()
    assert anticipating.pipeline_factor(installed) == pytest.approx(
        installed / (installed + on_order)
    )
    # the expected path, and with it the break-even power price, falls by that factor
    cut = dataclasses.replace(outlook, pipeline_factor=anticipating.pipeline_factor(installed))
    np.testing.assert_allclose(
        expected_margin_path(cut)[0],
        expected_margin_path(outlook)[0] * cut.pipeline_factor,
    )
    assert breakeven_power_usd_mwh(cut) < breakeven_power_usd_mwh(outlook)
