"""Rules that only the goldens guarded, checked against values worked out by hand (issue 27).

The goldens catch any change, right or wrong, and say nothing about which rule broke; these
tests state the rule. Fringe orders are sited at the marginal power price of the MW halfway
through the order (with a supply elasticity of 1, the midpoint of today's price and the
break-even); a defaulted miner's machines sell at ``default_recovery`` (0.5 unless set) x their
resale value; a convertible converts at a premium *above* the share price; and a covenant cure
never borrows, even when the leverage ceiling leaves room above the covenant.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim import fleet, hosting
from sim.engine import execute, waterfall
from sim.engine.build import build
from sim.engine.epoch import run_epoch
from sim.expectations import HashpriceOutlook
from sim.finance import SECURED, issue_notes, secured_by_owner
from sim.fringe import EntryOutlook, Fringe
from sim.input.scenario import load_scenario
from sim.input.schema import Machines
from sim.machines import AsicMarket

SHORT = {"scenario.end_date": "2025-12-31"}
START = dt.date(2025, 10, 1)


def one_epoch(overrides: dict | None = None):
    """The demo's parameters, state and world after its first epoch, and that epoch's scratch."""
    params, state, world = build(load_scenario("demo", {**SHORT, **(overrides or {})}), seed=0)
    scratch = run_epoch(params, state, world)
    return params, state, world, scratch


# ---------------------------------------------------------------- fringe orders
OUTLOOK = EntryOutlook(
    expected=HashpriceOutlook(
        hashprice_usd_per_th_day=0.1,
        decline_per_year=0.3,
        days_to_halving=1000.0,
        halving_factor=0.5,
    ),
    frontier_jth=15.0,
    fixed_usd_per_th_day=0.005,
    lead_time_days=30.0,
    life_years=4.0,
    discount_rate=0.15,
)
#: A machine market at $1/W whatever the backlog (no markup, ample capacity): $15/TH.
MACHINES = Machines(floor_usd_per_w=1.0, markup_per_backlog_year=0.0, capacity_mw_per_year=1e7)


def fringe_of(elasticity: float) -> Fringe:
    """One fringe agent (model index 0) sited at 50 $/MWh with 100 MW, whose supply holds
    exactly its fleet (headroom 1) and which orders all it wants in one epoch."""
    config = load_scenario("demo").config.fringe.model_copy(
        update={
            "supply_elasticity": elasticity,
            "supply_headroom": 1.0,
            "adjustment_per_epoch": 1.0,
        }
    )
    return Fringe(config, np.array([0]), np.array([50.0]), np.array([100.0]), START)


@pytest.mark.parametrize("elasticity", [1.0, 2.0, 0.5])
def test_fringe_orders_are_sited_at_the_marginal_price_halfway_through_the_order(elasticity):
    fringe = fringe_of(elasticity)
    market = AsicMarket(MACHINES, START)
    breakeven, _ = fringe.order(OUTLOOK, market, np.array([100.0]), 1.0, day=0.0)
    assert breakeven > 50.0  # the outlook pays: the agent orders
    wanted = 100.0 * (breakeven / 50.0) ** elasticity  # MW its supply offers at break-even
    ordered = wanted - 100.0
    site = fringe.orders.site_usd_mwh[0]
    assert site == pytest.approx(50.0 * ((100.0 + ordered / 2) / 100.0) ** (1 / elasticity))
    if elasticity == 1.0:  # linear supply: the midpoint of today's price and the break-even
        assert site == pytest.approx((50.0 + breakeven) / 2)
    assert fringe.orders.hashrate_ths[0] == pytest.approx(ordered * 1e6 / OUTLOOK.frontier_jth)


# ---------------------------------------------------------------- defaults
@pytest.mark.parametrize(
    ("overrides", "recovery"), [({}, 0.5), ({"miners.default_recovery": 0.2}, 0.2)]
)
def test_a_defaulted_miners_machines_sell_at_the_recovery_factor_of_resale(overrides, recovery):
    params, state, world, scratch = one_epoch(overrides)
    assert params.default_recovery == recovery
    f = state.fleet
    failed = np.zeros(params.n, dtype=bool)
    failed[0] = True
    units = np.flatnonzero(f.owner == 0)
    assert units.size and params.n > params.n_public  # a fringe buys the machines
    resale = world.machines.resale_usd_per_th(
        f.efficiency_jth[units], scratch.day, scratch.ctx.frontier_jth
    )
    expected = f.hashrate_ths[units] * resale * recovery
    buyer_equity = state.books.equity_usd[params.n_public]
    waterfall.default(params, state, world, scratch, failed)
    assert (f.owner[units] == params.n_public).all()
    np.testing.assert_allclose(f.cost_usd[units], expected, rtol=1e-12)
    np.testing.assert_allclose(f.book_usd[units], expected, rtol=1e-12)
    assert state.books.equity_usd[params.n_public] == pytest.approx(buyer_equity + expected.sum())
    assert state.books.defaulted[0] and state.books.cash_usd[0] == 0.0


# ---------------------------------------------------------------- equipment loans
@pytest.mark.parametrize("years", [2.0, 3.0, 0.5])
def test_an_equipment_loan_is_secured_and_repaid_in_equal_instalments(years):
    params, state, world, scratch = one_epoch({"market.rates.equipment_loan_years": years})
    assert params.equipment_loan_years == years
    amount = np.zeros(params.n)
    amount[0] = 1e6
    before = state.debt.n
    execute.borrow(params, state, world, scratch, amount, years, amortising=True)
    assert state.debt.n == before + 1
    d = state.debt
    (note,) = np.flatnonzero((d.owner == 0) & (d.principal_usd == 1e6))
    assert d.instrument[note] == SECURED
    assert d.amortization_usd_per_year[note] == pytest.approx(1e6 / years)
    assert d.maturity_day[note] == pytest.approx(scratch.day + years * 365.25)


# ---------------------------------------------------------------- covenant cure
def test_a_covenant_cure_never_borrows_even_below_the_leverage_ceiling():
    """A leverage ceiling (0.9) above the covenant (0.3) leaves room to borrow; new secured
    debt cures nothing, so the cure must raise cash otherwise (shares, machines) or fail."""
    overrides = {"policy.max_leverage": 0.9, "market.rates.covenant_secured_to_assets": 0.3}
    params, state, world, scratch = one_epoch(overrides)
    assert world.markets.credit_open[scratch.day]  # credit would be there to draw
    n, b = params.n, state.books
    b.btc_held[0] = b.cash_usd[0] = 0.0  # nothing to pay with before the credit step
    state.debt.keep(state.debt.owner != 0)
    assets = waterfall.assets_usd(state, scratch.p_end)[0]
    issue_notes(state.debt, np.array([0]), np.array([0.5 * assets]), SECURED, 0.08, 3650.0)
    assert 0.5 > params.covenant_secured_to_assets and 0.5 < params.max_leverage  # room to borrow
    # in breach, the credit on offer is nothing, the window open and the ceiling's room aside
    assert waterfall.offer_credit(params, state, world, scratch).available_usd[0] == 0.0
    secured_before = secured_by_owner(state.debt, n)[0]
    notes_before = int(((state.debt.owner == 0) & (state.debt.instrument == SECURED)).sum())
    tested = np.zeros(n, dtype=bool)
    tested[0] = True
    waterfall.meet_covenant(params, state, world, scratch, tested)
    notes_after = int(((state.debt.owner == 0) & (state.debt.instrument == SECURED)).sum())
    assert notes_after <= notes_before  # no new note drawn
    assert secured_by_owner(state.debt, n)[0] < secured_before  # repaid with cash raised


# ---------------------------------------------------------------- retiring to fit
def test_retire_to_fit_keeps_the_most_efficient_units_and_cuts_the_straddling_one():
    """Only an oracle copy of the old array code checked this rule (tests/test_compiled.py).
    Owner 0: 20 MW at 20 J/TH, 30 MW at 30 J/TH, 10 MW at 40 J/TH, limited to 35 MW: it keeps
    the first, half of the second and none of the third. Owner 1 is under its limit."""
    f = fleet.new_fleet_table()
    fleet.add_units(f, 0, 1e6, 30.0, 300.0, 45.0)  # listed out of order on purpose
    fleet.add_units(f, 0, 1e6, 20.0, 200.0, 45.0)
    fleet.add_units(f, 0, 0.25e6, 40.0, 100.0, 45.0)
    fleet.add_units(f, 1, 1e6, 20.0, 200.0, 45.0)
    removed = fleet.retire_to_fit(f, np.array([35.0, 50.0]), 2)
    np.testing.assert_allclose(removed, [150.0 + 100.0, 0.0])
    kept = sorted(zip(f.owner, f.efficiency_jth, f.hashrate_ths, f.book_usd, strict=True))
    np.testing.assert_allclose(
        np.array(kept, dtype=float),
        [[0, 20.0, 1e6, 200.0], [0, 30.0, 0.5e6, 150.0], [1, 20.0, 1e6, 200.0]],
    )
    assert fleet.unit_power_mw(f)[f.owner == 0].sum() == pytest.approx(35.0)


# ---------------------------------------------------------------- AI leases renewed
def test_an_expired_lease_is_renewed_for_a_term_at_the_market_rate():
    """Only test_compiled.py's oracle copy checked the renewal. A 10 MW hall leased at
    1.8M USD/MW-year from day 0 to day 100 is re-leased at the market's 1.2M from day 100 to
    day 200; an epoch inside the new term earns the new rate (NOI margin 85%)."""
    c = hosting.new_contract_table()
    hosting.sign_contracts(c, np.array([0]), np.array([10.0]), 1.8e6, 0.0, 0.0, 100.0, 0.0, 1.8e6)
    first = hosting.step_hosting(c, 0.0, 90.0, 0.85, 1.2e6, 100.0, 1)
    assert first.noi_usd[0] == pytest.approx(10 * 1.8e6 * 0.85 * 90 / 365.25)
    assert c.usd_per_mw_year[0] == 1.8e6  # not expired yet
    hosting.step_hosting(c, 90.0, 120.0, 0.85, 1.2e6, 100.0, 1)
    assert (c.usd_per_mw_year[0], c.start_day[0], c.end_day[0]) == (1.2e6, 100.0, 200.0)
    inside = hosting.step_hosting(c, 130.0, 160.0, 0.85, 1.5e6, 100.0, 1)
    assert inside.noi_usd[0] == pytest.approx(10 * 1.2e6 * 0.85 * 30 / 365.25)
    assert c.usd_per_mw_year[0] == 1.2e6  # today's market rate waits for the next renewal
