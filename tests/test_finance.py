"""Fleets, debt service, the covenant, equity issuance and AI hosting: the pieces of the
per-epoch bookkeeping."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sim import fleet, hosting
from sim.finance import (
    CONVERTIBLE,
    SECURED,
    EquityMarket,
    covenant_cure_usd,
    debt_by_owner,
    issue_notes,
    new_debt_table,
    repay_secured,
    secured_by_owner,
    service_debt,
    write_off_debt,
)
from sim.input.schema import RatesMarket
from sim.tables import Table


def test_table_append_keep_and_grow():
    t = Table({"a": np.int64, "b": np.float64}, capacity=2)
    t.append(a=np.arange(5), b=np.linspace(0, 1, 5))
    t.append(a=9, b=9.0)
    assert len(t) == 6
    t.keep(t.a % 2 == 1)
    np.testing.assert_array_equal(t.a, [1, 3, 9])
    with pytest.raises(ValueError, match="missing"):
        t.append(a=1)
    with pytest.raises(ValueError, match="different lengths"):
        t.append(a=np.arange(2), b=np.zeros(3))


def test_table_columns_write_through_after_growth_keep_and_pickling():
    t = Table({"a": np.int64, "b": np.float64}, capacity=1)
    t.append(a=np.arange(3), b=np.zeros(3))  # grows the storage
    t.b[:] += 1.0
    t.keep(t.a > 0)
    t.b[0] = 5.0
    u = pickle.loads(pickle.dumps(t))
    u.b[1] = 7.0  # an unpickled table's columns still view its storage
    u.append(a=9, b=9.0)
    np.testing.assert_array_equal(t.b, [5.0, 1.0])
    np.testing.assert_array_equal(u.b, [5.0, 7.0, 9.0])
    np.testing.assert_array_equal(u.a, [1, 2, 9])


def test_initial_vintages_keep_the_mean_efficiency():
    f = fleet.new_fleet_table()
    fleet.add_vintages(f, 0, 1e6, 20.0, np.array([10.0, 10.0, 10.0]), 45.0)
    mean_jth = np.sum(f.hashrate_ths * f.efficiency_jth) / f.hashrate_ths.sum()
    assert mean_jth == pytest.approx(20.0)
    assert fleet.unit_power_mw(f).sum() == pytest.approx(20.0)  # 1 EH/s x 20 J/TH = 20 MW


def test_retire_to_fit_removes_least_efficient_first():
    f = fleet.new_fleet_table()
    fleet.add_units(f, [0, 0, 0, 1], [1e6] * 4, [30.0, 15.0, 20.0, 25.0], [100.0] * 4, 45.0)
    # Owner 0 draws 15 + 20 + 30 = 65 MW; a 30 MW limit keeps the 15 J/TH unit whole and 15/20
    # of the 20 J/TH unit, and retires the 30 J/TH unit. Owner 1 is within its limit.
    removed = fleet.retire_to_fit(f, np.array([30.0, 100.0]), 2)
    kept = dict(zip(f.efficiency_jth, f.hashrate_ths, strict=True))
    assert kept[15.0] == pytest.approx(1e6)
    assert kept[20.0] == pytest.approx(0.75e6)
    assert 30.0 not in kept and 25.0 in kept
    np.testing.assert_allclose(removed, [100.0 + 25.0, 0.0])
    assert fleet.per_owner(f, fleet.unit_power_mw(f), 2)[0] == pytest.approx(30.0)


def test_depreciation_and_failures_never_push_book_below_zero():
    f = fleet.new_fleet_table()
    fleet.add_units(f, 0, 1e6, 20.0, 100.0, 45.0)
    f.book_usd[:] = 10.0
    charge = fleet.depreciate(f, 0.5)
    assert charge[0] == pytest.approx(10.0) and f.book_usd[0] == 0.0
    lost = fleet.apply_failures(f, 0.9)
    assert lost[0] == 0.0 and f.hashrate_ths[0] == pytest.approx(0.9e6)


def _debt():
    d = new_debt_table()
    issue_notes(d, np.array([0, 1]), np.array([100.0, 200.0]), SECURED, 0.08, maturity_day=365.0)
    issue_notes(
        d,
        np.array([0, 1]),
        np.array([50.0, 50.0]),
        CONVERTIBLE,
        0.0,
        maturity_day=30.0,
        conversion_price_usd=np.array([10.0, 10.0]),
    )
    return d


def test_debt_service_pays_coupons_and_settles_maturities():
    d = _debt()
    # Owner 0's shares trade at 20 >= 10: its convertible converts into 5 shares. Owner 1's at
    # 5 < 10: it repays 50 in cash.
    s = service_debt(d, day_end=40.0, years=40 / 365.25, share_price_usd=np.array([20.0, 5.0]), n=2)
    np.testing.assert_allclose(s.interest_usd, [100 * 0.08 * 40 / 365.25, 200 * 0.08 * 40 / 365.25])
    np.testing.assert_allclose(s.converted_usd, [50.0, 0.0])
    np.testing.assert_allclose(s.new_shares, [5.0, 0.0])
    np.testing.assert_allclose(s.repaid_usd, [0.0, 50.0])
    np.testing.assert_allclose(s.matured_usd, [0.0, 50.0])
    np.testing.assert_allclose(debt_by_owner(d, 2), [100.0, 200.0])


def test_amortisation_reduces_principal():
    d = new_debt_table()
    d.append(
        owner=0,
        instrument=SECURED,
        principal_usd=1000.0,
        coupon=0.0,
        maturity_day=3650.0,
        conversion_price_usd=np.nan,
        amortization_usd_per_year=100.0,
    )
    s = service_debt(d, day_end=182.625, years=0.5, share_price_usd=np.zeros(1), n=1)
    assert s.repaid_usd[0] == pytest.approx(50.0)
    assert s.matured_usd[0] == 0.0  # amortisation is not a maturity
    assert d.principal_usd[0] == pytest.approx(950.0)


def test_hosting_builds_then_leases():
    c = hosting.new_contract_table()
    hosting.sign_contracts(
        c,
        np.array([0]),
        np.array([10.0]),
        1.8e6,
        day=0.0,
        lead_time_days=100,
        term_days=3652.5,
        capex_usd_per_mw=1e7,
        market_usd_per_mw_year=1.8e6,
    )
    first = hosting.step_hosting(c, 0.0, 50.0, 0.85, 1.8e6, 3652.5, 1)
    assert first.capex_usd[0] == pytest.approx(0.5e8)  # half the build time: half the capex
    assert first.noi_usd[0] == 0.0
    second = hosting.step_hosting(c, 50.0, 150.0, 0.85, 1.8e6, 3652.5, 1)
    assert second.capex_usd[0] == pytest.approx(0.5e8)
    assert second.completed_usd[0] == pytest.approx(1e8)
    # Leased from day 100 to 150: 50 days of 10 MW x 1.8M USD/MW-year x 85% NOI.
    assert second.noi_usd[0] == pytest.approx(10 * 1.8e6 * 0.85 * 50 / 365.25)
    assert hosting.committed_mw(c, 1)[0] == 10.0


@pytest.mark.parametrize(
    ("secured", "assets", "limit"),
    [(90.0, 100.0, 0.85), (50.0, 100.0, 0.85), (120.0, 100.0, 0.85), (90.0, 100.0, 0.0)],
)
def test_covenant_cure_restores_the_ratio_when_repaid_from_cash(secured, assets, limit):
    cure = covenant_cure_usd(np.array([secured]), np.array([assets]), limit)[0]
    assert 0.0 <= cure <= secured
    if secured <= limit * assets:
        assert cure == 0.0
    elif cure < secured:  # repaying from cash lowers both: the covenant holds exactly afterwards
        assert secured - cure == pytest.approx(limit * (assets - cure))
    else:  # assets below the principal: only repaying all of it meets the covenant
        assert assets <= secured or limit == 0.0


def test_covenant_cure_at_limit_one_needs_all_secured_debt_only_when_assets_fall_short():
    cure = covenant_cure_usd(np.array([90.0, 110.0]), np.array([100.0, 100.0]), 1.0)
    np.testing.assert_array_equal(cure, [0.0, 110.0])


def test_repay_secured_is_pro_rata_over_secured_notes_only():
    d = _debt()  # owner 0: 100 secured + 50 convertible; owner 1: 200 secured + 50 convertible
    issue_notes(d, np.array([0]), np.array([300.0]), SECURED, 0.07, maturity_day=900.0)
    repay_secured(d, np.array([200.0, 200.0]), 2)
    np.testing.assert_allclose(secured_by_owner(d, 2), [200.0, 0.0])
    np.testing.assert_allclose(debt_by_owner(d, 2), [250.0, 50.0])  # converts untouched
    owner0 = d.principal_usd[(d.owner == 0) & (d.instrument == SECURED)]
    np.testing.assert_allclose(sorted(owner0), [50.0, 150.0])  # each note cut by 1/2
    assert len(d) == 4  # owner 1's secured note, repaid in full, is gone


def _equity_market(**rates) -> EquityMarket:
    defaults = {
        "equity_discount": 0.05,
        "equity_discount_per_drawdown": 0.5,
        "equity_max_discount": 0.4,
        "equity_max_dilution_per_epoch": 0.1,
        "equity_min_share_price_usd": 1.0,
        "equity_high_window_epochs": 3,
    }
    return EquityMarket(
        RatesMarket(**(defaults | rates)), np.array([20.0, 20.0, 0.5]), np.full(3, 1e8)
    )


def test_equity_discount_widens_with_the_share_drawdown_up_to_its_cap():
    market = _equity_market()
    price = np.array([20.0, 10.0, 2.0])  # 0%, 50% and 90% below the 20.0 high (agent 2: 0.5)
    issue = market.issue_price_usd(price)
    # discounts 5%, 5% + 25% = 30%, and agent 2 at its own high (2.0 > 0.5): 5%
    np.testing.assert_allclose(issue, [19.0, 7.0, 1.9])
    market.record(np.array([20.0, 10.0, 0.5]), np.full(3, 1e8))
    deep = market.issue_price_usd(np.array([2.0, 10.0, 0.5]))
    np.testing.assert_allclose(deep[0], 2.0 * (1 - 0.4))  # 90% below: capped at 40%


def test_equity_high_is_trailing_over_the_window():
    market = _equity_market(equity_high_window_epochs=2)
    for price in (10.0, 8.0):  # 20.0 (opening) then 10.0, 8.0: the 20.0 has left the window
        market.record(np.array([price, price, price]), np.full(3, 1e8))
    np.testing.assert_allclose(market.trailing_high_usd(), [10.0, 10.0, 10.0])


def test_equity_capacity_is_the_dilution_cap_and_shut_below_the_minimum_price():
    market = _equity_market()
    price = np.array([20.0, 20.0, 0.5])
    capacity = market.capacity_usd(price)
    # 10% of 1e8 shares at 19.0; agent 2 trades below USD 1: shut
    np.testing.assert_allclose(capacity, [1e7 * 19.0, 1e7 * 19.0, 0.0])
    new_shares = market.issue(np.array([0.5e7 * 19.0, 0.0, 0.0]), price)
    np.testing.assert_allclose(new_shares, [0.5e7, 0.0, 0.0])
    np.testing.assert_allclose(market.capacity_usd(price)[0], 0.5e7 * 19.0)  # half the cap left
    market.record(price, np.array([1.05e8, 1e8, 1e8]))  # a new epoch: a new allowance
    np.testing.assert_allclose(market.capacity_usd(price)[0], 1.05e7 * 19.0)


def test_compact_merges_within_an_owner_only_whatever_the_efficiency():
    f = fleet.new_fleet_table()
    # Owner 0's units are 1% apart (one band); owner 1 has one at an absurd 5e-324 J/TH, whose
    # band once overflowed the packed key into owner 0's range.
    fleet.add_units(
        f, [0, 0, 1, 1], [1.0, 3.0, 2.0, 5.0], [20.0, 20.2, 5e-324, 1e6], [1.0, 2.0, 3.0, 4.0], 45.0
    )
    f.underwater_epochs[:] = [0, 2, 0, 0]
    power_before = fleet.per_owner(f, fleet.unit_power_mw(f), 2)
    book_before = fleet.per_owner(f, f.book_usd, 2)
    fleet.compact(f)
    assert len(f) == 3
    np.testing.assert_allclose(fleet.per_owner(f, fleet.unit_power_mw(f), 2), power_before)
    np.testing.assert_allclose(fleet.per_owner(f, f.book_usd, 2), book_before)
    merged = f.owner == 0
    assert f.hashrate_ths[merged][0] == 4.0 and f.underwater_epochs[merged][0] == 0


def test_compact_keeps_the_efficiency_of_units_without_hashrate():
    # A public miner listed at 0 EH/s has vintages of 0 TH/s; when another owner's units merge,
    # they must keep a J/TH (their parts' mean), not 0 J/TH (log and frontier ratios of 0 are
    # infinite: issue 14, found by tests/test_mechanism_reach.py).
    f = fleet.new_fleet_table()
    f.append(
        owner=[0, 0, 1, 1, 1],
        hashrate_ths=[1.0, 3.0, 0.0, 0.0, 0.0],
        efficiency_jth=[20.0, 20.2, 16.0, 16.16, 24.0],
        cost_usd=0.0,
        book_usd=0.0,
        underwater_epochs=0,
        must_run=False,
        site_usd_mwh=[40.0, 40.0, 30.0, 30.0, 50.0],
        mothballed=False,
        mothballed_epochs=0,
        exposed=False,
    )
    fleet.compact(f)
    idle = f.owner == 1
    np.testing.assert_allclose(np.sort(f.efficiency_jth[idle]), [16.08, 24.0])
    np.testing.assert_array_equal(f.hashrate_ths[idle], 0.0)
    assert np.all(f.site_usd_mwh[idle] > 0)  # their site prices, not 0 $/MWh


# ------------------------------------------------------------------ the rules one by one
# Added after the mutation check (tests/README.md): each pins one bookkeeping rule with values
# worked out by hand, where the whole-run balance-sheet identity alone let wrong rules through
# (a rule that is wrong on both sides of the books keeps them balanced).


def _unit(**values) -> Table:
    f = fleet.new_fleet_table()
    row = dict(
        owner=0,
        hashrate_ths=1e6,
        efficiency_jth=20.0,
        cost_usd=100.0,
        book_usd=80.0,
        underwater_epochs=0,
        must_run=False,
        site_usd_mwh=40.0,
        mothballed=False,
        mothballed_epochs=0,
        exposed=False,
    )
    f.append(**{**row, **values})
    return f


def test_failures_shrink_hashrate_cost_and_book_by_the_survival_factor():
    f = _unit(owner=[0, 1], hashrate_ths=[1e6, 2e6], cost_usd=[100.0, 50.0], book_usd=[80.0, 40.0])
    lost = fleet.apply_failures(f, 0.95)
    np.testing.assert_allclose(lost, [4.0, 2.0])  # 5% of the book written off
    np.testing.assert_allclose(f.book_usd, [76.0, 38.0])
    np.testing.assert_allclose(f.cost_usd, [95.0, 47.5])
    np.testing.assert_allclose(f.hashrate_ths, [0.95e6, 1.9e6])


def test_depreciation_charges_a_share_of_cost_capped_at_book():
    f = _unit(owner=[0, 0], cost_usd=[100.0, 100.0], book_usd=[80.0, 3.0])
    np.testing.assert_allclose(fleet.depreciate(f, 0.04), [4.0, 3.0])
    np.testing.assert_allclose(f.book_usd, [76.0, 0.0])


def test_retire_returns_the_book_removed_per_owner():
    f = _unit(owner=[0, 0, 1], book_usd=[10.0, 20.0, 40.0])
    removed = fleet.retire(f, np.array([True, False, True]), 3)
    np.testing.assert_allclose(removed, [10.0, 40.0, 0.0])
    np.testing.assert_allclose(f.book_usd, [20.0])


def test_notes_of_zero_are_not_issued_and_small_ones_are():
    d = new_debt_table()
    issue_notes(d, np.array([0, 1, 2]), np.array([0.0, 0.5, 7.0]), SECURED, 0.08, 365.0)
    np.testing.assert_array_equal(d.owner, [1, 2])
    np.testing.assert_allclose(d.principal_usd, [0.5, 7.0])
    issue_notes(d, np.array([0]), np.array([0.0]), SECURED, 0.08, 365.0)
    assert len(d) == 2


def test_write_off_removes_only_the_defaulted_owners_debt():
    d = _debt()
    write_off_debt(d, np.array([True, False]))
    np.testing.assert_array_equal(d.owner, [1, 1])
    np.testing.assert_allclose(debt_by_owner(d, 2), [0.0, 250.0])


def test_contracted_noi_is_mw_times_rate_times_margin():
    c = hosting.new_contract_table()
    hosting.sign_contracts(
        c, np.array([0, 1]), np.array([10.0, 0.0]), 2e6, 0.0, 100, 3650, 1e7, 1.8e6
    )
    hosting.sign_contracts(c, np.array([1]), np.array([0.5]), 1e6, 0.0, 100, 3650, 1e7, 1.8e6)
    np.testing.assert_allclose(
        hosting.contracted_noi_per_year(c, 0.8, 2), [10 * 2e6 * 0.8, 0.5 * 1e6 * 0.8]
    )
    np.testing.assert_allclose(c.end_day, [3750.0, 3750.0])  # lead time + term from signing
    np.testing.assert_allclose(c.start_day, [100.0, 100.0])


def test_hosting_build_out_then_lease_then_re_lease_at_the_market_rate():
    c = hosting.new_contract_table()
    hosting.sign_contracts(c, np.array([0]), np.array([2.0]), 1e6, 0.0, 100, 200, 5e6, 1.8e6)
    # day 0-40: 40 of 100 build days, 40% of the capex; nothing leased or completed
    a = hosting.step_hosting(c, 0.0, 40.0, 0.5, 3e6, 200, 1)
    np.testing.assert_allclose([a.capex_usd[0], a.noi_usd[0], a.completed_usd[0]], [4e6, 0, 0])
    assert c.capex_remaining_usd[0] == pytest.approx(6e6)
    # day 40-70: 30 of the 60 build days left, half the remaining capex
    b = hosting.step_hosting(c, 40.0, 70.0, 0.5, 3e6, 200, 1)
    np.testing.assert_allclose([b.capex_usd[0], b.completed_usd[0], b.noi_usd[0]], [3e6, 0, 0])
    # day 70-100: the rest; the hall completes on day 100 and its cost leaves construction
    b = hosting.step_hosting(c, 70.0, 100.0, 0.5, 3e6, 200, 1)
    np.testing.assert_allclose([b.capex_usd[0], b.completed_usd[0], b.noi_usd[0]], [3e6, 1e7, 0])
    assert c.capex_spent_usd[0] == 0.0 and c.capex_remaining_usd[0] == 0.0
    # day 100-300: leased the whole term (200 days) at 1e6, then renewed at the market's 3e6
    d = hosting.step_hosting(c, 100.0, 300.0, 0.5, 3e6, 200, 1)
    assert d.noi_usd[0] == pytest.approx(2 * 1e6 * 0.5 * 200 / 365.25)
    assert d.capex_usd[0] == 0.0 and d.completed_usd[0] == 0.0
    assert (c.usd_per_mw_year[0], c.start_day[0], c.end_day[0]) == (3e6, 300.0, 500.0)
    # the renewed lease earns the new rate
    e = hosting.step_hosting(c, 300.0, 310.0, 0.5, 9e6, 200, 1)
    assert e.noi_usd[0] == pytest.approx(2 * 3e6 * 0.5 * 10 / 365.25)


def test_debt_matures_on_its_day_and_converts_at_the_conversion_price():
    d = new_debt_table()
    # owner 0: a convertible maturing on day 30, shares exactly at the conversion price (10):
    # it converts. owner 1: a secured note of 0.5 USD maturing on day 30: repaid and removed.
    issue_notes(d, np.array([0]), np.array([50.0]), CONVERTIBLE, 0.0, 30.0, np.array([10.0]))
    issue_notes(d, np.array([1]), np.array([0.5]), SECURED, 0.0, 30.0)
    s = service_debt(d, day_end=30.0, years=30 / 365.25, share_price_usd=np.array([10.0, 1.0]), n=2)
    np.testing.assert_allclose(s.converted_usd, [50.0, 0.0])
    np.testing.assert_allclose(s.new_shares, [5.0, 0.0])
    np.testing.assert_allclose(s.repaid_usd, [0.0, 0.5])
    assert len(d) == 0
