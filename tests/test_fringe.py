"""The fringe's free entry (sim.fringe): break-even power price, supply curves, orders, deliveries."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from scipy.optimize import brentq

from sim.expectations import HashpriceOutlook
from sim.fringe import (
    BreakevenCurve,
    EntryOutlook,
    Fringe,
    breakeven_power_usd_mwh,
    entry_npv_usd_per_th,
    expected_margin_path,
    weighted_cost_of_capital,
)
from sim.input.schema import Fringe as FringeConfig
from sim.input.schema import Machines
from sim.machines import AsicMarket
from sim.units import YEAR_DAYS

EXPECTED = HashpriceOutlook(
    hashprice_usd_per_th_day=0.05, decline_per_year=0.3, days_to_halving=900.0, halving_factor=0.5
)
OUTLOOK = EntryOutlook(
    expected=EXPECTED,
    frontier_jth=15.0,
    fixed_usd_per_th_day=0.002,
    lead_time_days=90.0,
    life_years=4.0,
    discount_rate=0.15,
)
PRICE = 12.0  # USD per TH/s


def _with(outlook: EntryOutlook = OUTLOOK, **expected) -> EntryOutlook:
    return dataclasses.replace(outlook, expected=dataclasses.replace(outlook.expected, **expected))


def test_margin_path_integrates_to_the_closed_form_annuity():
    # No halving within the life: sum of weights x hashprice -> integral of
    # h e^-(g+r)t dt from lead to lead + life, in days.
    outlook = _with(days_to_halving=1e9)
    hashprice, weight = expected_margin_path(outlook)
    rate = outlook.expected.decline_per_year + outlook.discount_rate
    lead, life = outlook.lead_time_days / YEAR_DAYS, outlook.life_years
    exact = (
        outlook.expected.hashprice_usd_per_th_day
        * YEAR_DAYS
        * (np.exp(-rate * lead) - np.exp(-rate * (lead + life)))
        / rate
    )
    assert np.sum(weight * hashprice) == pytest.approx(exact, rel=2e-3)


def test_breakeven_is_the_root_of_the_npv():
    price = breakeven_power_usd_mwh(OUTLOOK, PRICE)
    root = brentq(lambda p: entry_npv_usd_per_th(OUTLOOK, PRICE, p), 0.0, 1e4, xtol=1e-12)
    assert price == pytest.approx(root, rel=1e-9)
    assert (
        entry_npv_usd_per_th(OUTLOOK, PRICE, 0.99 * price)
        > 0
        > entry_npv_usd_per_th(OUTLOOK, PRICE, 1.01 * price)
    )


def test_the_curve_gives_the_root_at_every_machine_price():
    curve = BreakevenCurve(OUTLOOK)
    for machine in (0.0, 5.0, 12.0, 30.0):
        p = curve.power_usd_mwh(machine)
        if p > 0:
            assert entry_npv_usd_per_th(OUTLOOK, machine, p) == pytest.approx(0.0, abs=1e-9)
    # a dearer machine needs cheaper power
    assert curve.power_usd_mwh(5.0) > curve.power_usd_mwh(12.0) > curve.power_usd_mwh(20.0)


def test_fixed_costs_count_over_the_whole_life_whether_the_machine_runs_or_not():
    # a fixed cost of F per TH/s-day costs F x the discounted days of the life, even on days
    # the margin is negative; so it lowers the NPV at any power price by the same amount
    _, weight = expected_margin_path(OUTLOOK)
    free = dataclasses.replace(OUTLOOK, fixed_usd_per_th_day=0.0)
    for power in (0.0, 30.0, 500.0):
        gap = entry_npv_usd_per_th(free, PRICE, power) - entry_npv_usd_per_th(OUTLOOK, PRICE, power)
        assert gap == pytest.approx(0.002 * weight.sum())


def test_breakeven_is_zero_when_even_free_power_does_not_pay():
    assert entry_npv_usd_per_th(OUTLOOK, 1e3, 0.0) < 0
    assert breakeven_power_usd_mwh(OUTLOOK, 1e3) == 0.0


def test_a_nearer_halving_a_dearer_machine_or_a_faster_decline_lowers_the_breakeven():
    base = breakeven_power_usd_mwh(OUTLOOK, PRICE)
    assert breakeven_power_usd_mwh(_with(days_to_halving=100.0), PRICE) < base
    assert breakeven_power_usd_mwh(_with(decline_per_year=0.6), PRICE) < base
    assert breakeven_power_usd_mwh(OUTLOOK, 15.0) < base
    for change in ({"discount_rate": 0.3}, {"fixed_usd_per_th_day": 0.004}):
        assert breakeven_power_usd_mwh(dataclasses.replace(OUTLOOK, **change), PRICE) < base
    assert breakeven_power_usd_mwh(_with(halving_factor=1.0), PRICE) > base


def test_the_cost_of_capital_weighs_debt_and_equity_by_the_financed_share():
    # half borrowed at 8%, half equity at 20%: 14%; with credit closed (share 0): 20%
    assert weighted_cost_of_capital(0.20, 0.08, 0.5) == pytest.approx(0.14)
    assert weighted_cost_of_capital(0.20, 0.08, 0.0) == 0.20


START = dt.date(2020, 1, 1)


def _fringe(anticipate_pipeline: bool = False, **config) -> Fringe:
    cfg = FringeConfig(**{"supply_elasticity": 2.0, "supply_build_per_year": 0.0, **config})
    return Fringe(
        cfg,
        np.array([1, 2]),
        np.array([40.0, 60.0]),
        np.array([100.0, 50.0]),
        START,
        anticipate_pipeline,
    )


def _market(**config) -> AsicMarket:
    """A machine market of 1,000 MW a year, floor $0.5/W, markup 4 per backlog-year."""
    cfg = {
        "floor_usd_per_w": 0.5,
        "markup_per_backlog_year": 4.0,
        "base_lead_days": 30.0,
        "capacity_mw_per_year": 1000.0,
        "capacity_date": START,
        **config,
    }
    return AsicMarket(Machines(**cfg), START)


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
    f.grow_capacity(np.zeros(2), 2.0, day=730.0)
    np.testing.assert_allclose(f.capacity_mw, np.array([150.0, 75.0]) * np.exp(0.4))
    # build-out closes 1 - exp(-rate x years) of the gap to the MW held beyond capacity
    g = _fringe(supply_build_per_year=0.5)
    g.grow_capacity(np.array([300.0, 40.0]), 1.0, day=365.0)
    np.testing.assert_allclose(g.capacity_mw, [100.0 + (1 - np.exp(-0.5)) * 200.0, 50.0])


def test_the_build_out_is_bounded_network_wide_pro_rata():
    # the agents want 126.4 and 0 MW of build-out; the bound is 40 MW a year over half a year:
    # 20 MW, all to the first agent
    g = _fringe(supply_build_per_year=0.5, build_mw_per_year=40.0)
    g.grow_capacity(np.array([300.0, 40.0]), 0.5, day=182.0)
    np.testing.assert_allclose(g.capacity_mw, [120.0, 50.0])


def test_ai_data_centres_take_their_demand_from_the_capacity_pro_rata():
    # 0 MW on 2020-01-01 rising to 30 MW on 2021-01-01: half a year in, 15 MW taken of 150
    g = _fringe(ai_power=[(START, 0.0), (dt.date(2021, 1, 1), 30.0)])
    g.grow_capacity(np.zeros(2), 0.5, day=183.0)
    np.testing.assert_allclose(g.capacity_mw, np.array([100.0, 50.0]) * (1 - 15.0 / 150.0))
    taken = g.ai_taken_mw
    g.grow_capacity(np.zeros(2), 0.0, day=183.0)  # nothing more taken on the same day
    assert g.ai_taken_mw == taken
    np.testing.assert_allclose(g.capacity_mw.sum(), 135.0)


def test_orders_clear_the_machine_market_and_arrive_behind_the_backlog():
    f = _fringe(adjustment_per_epoch=0.5)
    market = _market()
    fleet_mw = np.array([0.0, 100.0, 50.0])  # model agent 0 is a public miner
    outlook = _with(hashprice_usd_per_th_day=0.2)
    breakeven, usd_per_w = f.order(outlook, market, fleet_mw, market_factor=1.0, day=10.0)
    ordered_mw = f.orders.hashrate_ths * f.orders.efficiency_jth / 1e6
    total = ordered_mw.sum()
    # the clearing: the price is the one of the backlog the orders leave, and the orders are
    # what the agents want at that price (half the gap to what their supply offers)
    assert usd_per_w == pytest.approx(0.5 * (1 + 4.0 * total / 1000.0))
    assert breakeven == pytest.approx(BreakevenCurve(outlook).power_usd_mwh(usd_per_w * 15.0))
    np.testing.assert_allclose(
        ordered_mw, 0.5 * (f.supplied_mw(breakeven) - [100.0, 50.0]), rtol=1e-9
    )
    assert market.backlog_mw == pytest.approx(total)
    # they arrive after the base lead and the queue to half the epoch's own orders
    arrival = 10.0 + 30.0 + 0.5 * total / 1000.0 * YEAR_DAYS
    np.testing.assert_allclose(f.orders.arrival_day, arrival)
    np.testing.assert_allclose(f.orders.cost_usd, f.orders.hashrate_ths * usd_per_w * 15.0)
    assert f.deliveries(arrival - 0.5).n == 0
    arrived = f.deliveries(arrival)
    assert arrived.n == 2 and f.orders.n == 0
    # sited at the midpoint of the MW they take: above the agent's price once beyond capacity
    held = np.array([100.0, 50.0])
    np.testing.assert_allclose(arrived.site_usd_mwh, f.marginal_usd_mwh(held + 0.5 * ordered_mw))
    assert np.all(arrived.site_usd_mwh > [40.0, 60.0])


def test_a_backlog_raises_the_price_and_cuts_the_orders():
    outlook = _with(hashprice_usd_per_th_day=0.2)
    fleet_mw = np.array([0.0, 100.0, 50.0])
    free, busy = _market(), _market()
    busy.book(500.0)  # half a year of production already queued: the price starts at 1.5 x
    f, g = _fringe(adjustment_per_epoch=0.5), _fringe(adjustment_per_epoch=0.5)
    _, cheap = f.order(outlook, free, fleet_mw, 1.0, day=0.0)
    _, dear = g.order(outlook, busy, fleet_mw, 1.0, day=0.0)
    assert dear > cheap and g.orders.hashrate_ths.sum() < f.orders.hashrate_ths.sum()
    queued = g.orders.hashrate_ths.sum() * 15.0 / 1e6
    assert g.orders.arrival_day[0] == pytest.approx(
        30.0 + (500.0 + 0.5 * queued) / 1000 * YEAR_DAYS
    )


def test_unbounded_demand_orders_until_the_price_eats_the_whole_margin():
    # power at no cost (market factor 0): the supply curves offer unbounded MW at any positive
    # break-even, so orders grow until the machine's price takes all the margin free power
    # leaves (NPV 0 at 0 $/MWh), shared equally, and never beyond what the factories book
    f = _fringe(adjustment_per_epoch=1.0)
    market = _market()
    outlook = _with(hashprice_usd_per_th_day=0.2)
    assert np.isinf(f.supplied_mw(1e300)).all()
    _, usd_per_w = f.order(outlook, market, np.array([0.0, 100.0, 50.0]), 0.0, day=0.0)
    assert entry_npv_usd_per_th(outlook, usd_per_w * 15.0, 0.0) == pytest.approx(0.0, abs=1e-6)
    mw = f.orders.hashrate_ths * 15.0 / 1e6
    assert mw[0] == mw[1] and 0 < mw.sum() <= 5 * 1000.0


def test_no_orders_when_entry_does_not_pay():
    f = _fringe(adjustment_per_epoch=1.0)
    market = _market()
    poor = _with(hashprice_usd_per_th_day=0.01)
    _, usd_per_w = f.order(poor, market, np.array([0.0, 100.0, 50.0]), 1.0, day=0.0)
    assert f.orders.n == 0 and market.backlog_mw == 0.0 and usd_per_w == 0.5


def test_anticipating_entrants_expect_the_hashprice_the_orders_on_the_way_leave():
    installed = 1e7
    outlook = _with(hashprice_usd_per_th_day=0.2)
    myopic = _fringe(adjustment_per_epoch=1.0)
    anticipating = _fringe(adjustment_per_epoch=1.0, anticipate_pipeline=True)
    for f in (myopic, anticipating):
        assert f.pipeline_factor(installed) == 1.0  # nothing on order yet
        f.order(outlook, _market(), np.array([0.0, 100.0, 50.0]), 1.0, day=0.0)
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
    assert breakeven_power_usd_mwh(cut, PRICE) < breakeven_power_usd_mwh(outlook, PRICE)


def test_the_power_price_scale_multiplies_every_class_before_the_spread():
    """history_2016's class "fringe_lower_p30" (30 $/MWh, 2 agents, spread 0.3) at scale 0.5:
    its agents pay 30 x 0.5 x (1 - 0.3) = 10.5 and 30 x 0.5 x (1 + 0.3) = 19.5 $/MWh."""
    import sim
    from sim.engine.build import build

    scenario = sim.load_scenario(
        "history_2016", {"fringe.power_price_scale": 0.5, "fringe.power_price_spread": 0.3}
    )
    _, state, _ = build(scenario, 0)
    first = int(np.count_nonzero(state.is_public))  # the fringe's agents follow the public ones
    assert scenario.config.fringe.classes[0].power_price_usd_mwh == 30.0
    assert state.power_usd_mwh[first : first + 2] == pytest.approx([10.5, 19.5])


def test_a_site_the_agent_has_saves_the_site_annuity():
    # NPV on a new site = NPV on an own site - the discounted days x the site's annuity a day
    sited = dataclasses.replace(OUTLOOK, site_usd_per_th_day=0.003)
    weight = expected_margin_path(sited)[1].sum()
    for power in (0.0, 20.0, 50.0):
        gap = entry_npv_usd_per_th(sited, PRICE, power, new_site=False) - entry_npv_usd_per_th(
            sited, PRICE, power
        )
        assert gap == pytest.approx(weight * 0.003)
    # on an own site the annuity is sunk: the break-even is the outlook's without it
    own = breakeven_power_usd_mwh(sited, PRICE, new_site=False)
    assert own == breakeven_power_usd_mwh(OUTLOOK, PRICE)
    assert breakeven_power_usd_mwh(sited, PRICE) < own


def test_renewal_fills_a_mothballed_site_at_the_sunk_cost_break_even_and_builds_no_site():
    """Agent 1 (sites: 100 MW) runs 60 MW and has 40 MW mothballed. At the clearing price a new
    site does not pay beyond 60 MW, a sunk one pays beyond 100 MW: it orders (adjustment 1) up to
    its sites, 100 - 60 = 40 MW, and no more. Agent 2 runs its 50 MW and would want less than
    that on a new site, more on its own: its sites are full, it orders nothing."""
    f = _fringe(adjustment_per_epoch=1.0)
    outlook = dataclasses.replace(
        _with(hashprice_usd_per_th_day=0.05, decline_per_year=0.1), site_usd_per_th_day=0.012
    )
    running_mw = np.array([0.0, 60.0, 50.0])  # agent 1 also has 40 MW mothballed
    market = _market()
    _, usd_per_w = f.order(outlook, market, running_mw, 1.0, day=0.0)
    new_site = f.supplied_mw(breakeven_power_usd_mwh(outlook, usd_per_w * 15.0))
    own_site = f.supplied_mw(breakeven_power_usd_mwh(outlook, usd_per_w * 15.0, new_site=False))
    assert new_site[0] < 60.0 and own_site[0] > 100.0  # the case the docstring describes
    assert new_site[1] < 50.0 < own_site[1]
    ordered_mw = f.orders.hashrate_ths * f.orders.efficiency_jth / 1e6
    np.testing.assert_allclose(ordered_mw, [40.0], rtol=1e-9)
    assert f.orders.owner.tolist() == [1]
    np.testing.assert_allclose(f.site_mw, [100.0, 50.0])
    # the room the agents' fleets have once the order arrives: their sites less their orders
    np.testing.assert_allclose(f.room_mw(3), [np.inf, 60.0, 50.0])


def test_orders_beyond_the_sites_build_new_ones_and_an_outage_takes_sites_with_it():
    f = _fringe(adjustment_per_epoch=0.5)
    fleet_mw = np.array([0.0, 100.0, 50.0])
    f.order(_with(hashprice_usd_per_th_day=0.2), _market(), fleet_mw, 1.0, day=0.0)
    ordered_mw = f.on_order_mw(3)[1:]
    assert np.all(ordered_mw > 0)
    np.testing.assert_allclose(f.site_mw, np.array([100.0, 50.0]) + ordered_mw)
    f.lose_sites(np.array([5.0, 30.0, 80.0]))  # a public miner's loss is not the fringe's
    np.testing.assert_allclose(f.site_mw, [70.0 + ordered_mw[0], max(ordered_mw[1] - 30.0, 0.0)])


def test_a_delivery_sells_the_least_efficient_machines_beyond_the_sites_at_resale():
    """Agent 1 has 100 MW of sites: 60 MW running at 20 J/TH and 40 MW mothballed at 40 J/TH;
    40 MW of 15 J/TH machines arrive. The 40 J/TH units go, sold at the resale price
    $0.5/W x 15 J/TH x (15 / 40)^2 per TH/s; book value written off, proceeds in cash. The
    public miner (owner 0) keeps its machines whatever it holds."""
    from types import SimpleNamespace

    from sim import fleet
    from sim.engine.operate import sell_renewed_machines

    f = fleet.new_fleet_table()
    fleet.add_units(f, 0, 1e7, 30.0, 3e6, 40.0)  # 300 MW of a public miner's
    fleet.add_units(f, 1, 3e6, 20.0, 9e5, 40.0)  # 60 MW
    fleet.add_units(f, 1, 1e6, 40.0, 2e5, 40.0)  # 40 MW, mothballed
    f.mothballed[2] = True
    fleet.add_units(f, 1, 40e6 / 15.0, 15.0, 1e6, 40.0)  # the delivery: 40 MW
    state = SimpleNamespace(
        fleet=f,
        fringe=_fringe(),
        books=SimpleNamespace(cash_usd=np.zeros(3), equity_usd=np.zeros(3)),
    )
    world = SimpleNamespace(
        machines=_market(), hardware=SimpleNamespace(frontier_jth=lambda day: 15.0)
    )
    sell_renewed_machines(SimpleNamespace(n=3), state, world, day=0.0)
    assert sorted(f.efficiency_jth.tolist()) == [15.0, 20.0, 30.0]
    proceeds = 1e6 * 0.5 * 15.0 * (15.0 / 40.0) ** 2
    np.testing.assert_allclose(state.books.cash_usd, [0.0, proceeds, 0.0])
    np.testing.assert_allclose(state.books.equity_usd, [0.0, proceeds - 2e5, 0.0])
