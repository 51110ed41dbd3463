"""Public miners that can break and choose like their 2025 selves (issue 25), rule by rule.

Each expected value is worked by hand from the rule's formula and the numbers of the test (or
of the scenario's own rows); the engine tests use the one-miner worlds of tests/worlds.py.
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from invariants import run_checked
from worlds import BTC_USD, START, lease, miner_row, note, write_world

from sim import fleet, policy_registry
from sim.engine import waterfall
from sim.engine.execute import affordable_mw, project_loan_usd_per_mw, replaced_fraction
from sim.engine.params import build_params
from sim.engine.state import assets_usd
from sim.engine.waterfall import diluted_price_usd
from sim.engine.world import Scratch
from sim.errors import ScenarioError
from sim.finance import (
    SECURED,
    EquityMarket,
    credit_room_usd,
    debt_by_owner,
    secured_by_owner,
)
from sim.input.scenario import load_scenario
from sim.input.schema import RatesMarket
from sim.model import MiningModel
from sim.policies import Decisions, lease_npv_usd_per_mw, rent_years_factor, replacement_jth
from sim.valuation import if_converted_price_usd, marked_lease_noi_usd_per_year

#: BTC falls 77% in four weeks (the 2021 high to the 2022 low, compressed) and stays there.
CRASH = [(str(START), 100_000.0), ("2025-11-01", 100_000.0), ("2025-11-29", 23_000.0)]


def alpha(result) -> pd.DataFrame:
    rows = result.miners[result.miners["name"] == "Alpha"]
    return rows.set_index("date")


# ------------------------------------------------------------------ leverage ceiling, covenant
def test_credit_room_keeps_the_leverage_ceiling_and_the_covenant_by_hand():
    debt, secured, assets = np.array([40.0]), np.array([30.0]), np.array([100.0])
    # (0.9 x 100 - 40) / 0.1 = 500 under the ceiling; (0.6 x 100 - 30) / 0.4 = 75 under the
    # covenant: a secured loan gets 75 (then 105 / 175 = 0.6), an unsecured one 500.
    assert credit_room_usd(debt, secured, assets, 0.9, 0.6)[0] == pytest.approx(75.0)
    assert credit_room_usd(debt, secured, assets, 0.9, 0.6, secured=False)[0] == pytest.approx(
        500.0
    )
    # above the ceiling (0.4 x 100 < 40... at 0.35): nothing, whatever the covenant allows
    assert credit_room_usd(debt, secured, assets, 0.35, 0.6)[0] == 0.0
    # a ceiling of 1 does not bind while assets cover the debt
    assert np.isinf(credit_room_usd(debt, secured, assets, 1.0, 1.0, secured=False)[0])


def test_the_covenant_cure_with_a_ceiling_above_the_covenant_borrows_only_to_the_covenant(
    tmp_path,
):
    # Secured notes at ~45% of assets, a USD 1bn convertible due 2026-02-01 with USD 10M of
    # cash, credit open, the leverage ceiling (0.95) far above the covenant (0.6). The
    # waterfall lends only up to the covenant: (0.6 A - S) / 0.4, not (0.95 A - D) / 0.05;
    # the rest of the maturity comes from new shares and sales, and the covenant holds after.
    # The opening share price is about the model's (USD ~1.4bn over 1bn shares), so the share
    # is not 80% below its trailing high and the equity market is open.
    miner, leases = miner_row(cash_usd=1e7, share_price_usd=1.5), [lease(100, 2.4e6)]
    opening = float(MiningModel(write_world(tmp_path, miner, [], leases)).view.equity_usd[0])
    notes = [
        note("senior_secured", 0.45 * opening, "2030-01-01"),
        note("convertible", 1e9, "2026-02-01", conversion_usd=1e3),
    ]
    overrides = {"policy.max_leverage": 0.95, "market.rates.covenant_secured_to_assets": 0.6}
    # the credit on offer to the miner with its secured notes only (the convertible repaid)
    path = write_world(tmp_path, miner, notes[:1], leases, credit_closed=False)
    model = MiningModel(path, seed=0, overrides=overrides)
    model.step()
    scratch = Scratch()
    scratch.p_end, scratch.day = BTC_USD, 20
    offer = waterfall.offer_credit(model.params, model.state, model.world, scratch)
    assets = assets_usd(model.state, BTC_USD)[0]
    debt = debt_by_owner(model.state.debt, model.params.n)[0]
    secured = secured_by_owner(model.state.debt, model.params.n)[0]
    assert (0.95 * assets - debt) / 0.05 > 2 * (0.6 * assets - secured) / 0.4  # the premise
    assert offer.available_usd[0] == pytest.approx((0.6 * assets - secured) / 0.4, rel=1e-12)
    path = write_world(tmp_path, miner, notes, leases, credit_closed=False)
    result = run_checked(MiningModel(path, seed=0, overrides=overrides))
    rows = alpha(result)
    due = rows.index[rows.index >= pd.Timestamp("2026-02-01")][0]
    assert result.meta["defaults"] == []
    ratio = rows["debt_usd"] / rows["assets_usd"]  # only secured debt is left after the maturity
    assert (ratio.loc[due:] <= 0.6 * (1 + 1e-9)).all()
    shares = rows["market_cap_usd"] / rows["share_price_usd"]
    assert shares.loc[due] > shares.iloc[0] * 1.001  # new shares paid part of the maturity


def test_an_amortising_note_forces_a_default(tmp_path):
    # USD 1bn of notes amortising 50% a year: USD 1e9 x 0.5 x ~14/365 = ~19M an epoch against
    # USD 50M of cash and ~2-3M of mining cash flow an epoch; no equity, no credit, nothing to
    # sell for anything: the third epoch cannot pay. Without amortisation nothing is due.
    no_way_out = {
        "market.rates.equity_min_share_price_usd": 1e6,
        "miners.fire_sale_discount": 1.0,
        "miners.asset_sale_fraction": 0.0,
    }
    for amortization, defaults in ((0.5, True), (0.0, False)):
        notes = [
            note("convertible", 1e9, "2031-01-01", amortization=amortization, conversion_usd=1e3)
        ]
        path = write_world(tmp_path, miner_row(cash_usd=5e7), notes)
        result = run_checked(MiningModel(path, seed=0, overrides=no_way_out))
        if not defaults:
            assert result.meta["defaults"] == []
            continue
        [event] = result.meta["defaults"]
        per_epoch = 1e9 * 0.5 * 14 / 365.25
        assert event["cause"] == "debt_service"
        assert 2 <= event["epoch"] <= 3  # 50M of cash lasts two to three epochs of ~17M net
        assert 0 < event["unmet_usd"] < per_epoch


def _maturity_run(tmp_path, credit_closed: bool, overrides: dict | None = None):
    # USD 12M of cash, 10 EH/s, 100 MW of halls in service (book ~USD 0.5bn) let at a token
    # rent, and a USD 300M convertible due 2026-02-01 (deep out of the money: repaid in
    # cash). No equity (a minimum share price of USD 1M), nothing sells for anything: the
    # maturity is refinanced with new secured credit or the miner defaults.
    no_sales = {
        "market.rates.equity_min_share_price_usd": 1e6,
        "miners.fire_sale_discount": 1.0,
        "miners.asset_sale_fraction": 0.0,
        **(overrides or {}),
    }
    notes = [note("convertible", 3e8, "2026-02-01", conversion_usd=1e3)]
    path = write_world(
        tmp_path,
        miner_row(cash_usd=1e7),
        notes,
        [lease(100, 1e5, capex=5e6)],
        credit_closed=credit_closed,
    )
    model = MiningModel(path, seed=0, overrides=no_sales)
    return model, run_checked(model)


def test_a_maturity_is_refinanced_while_credit_is_open_and_defaults_when_it_is_closed(tmp_path):
    # Closed credit: the shortfall on the due date (USD 300M less the cash the miner had) is
    # unmet, a default on the maturity. Open credit, the ceiling (0.5) and the covenant (0.85)
    # leaving room for it: the same shortfall becomes one new 5-year secured note at the
    # market's rate, and nothing defaults. Open credit but a ceiling of 0.1: (0.1 A - 0) / 0.9
    # is less than the shortfall, a default on the maturity again, with less unmet.
    _, closed = _maturity_run(tmp_path, credit_closed=True)
    [event] = closed.meta["defaults"]
    assert event["cause"] == "maturity" and not event["credit_open"]
    assert event["date"] == "2026-02-04"  # the first epoch ending after the due date
    shortfall = event["unmet_usd"]
    assert 2.4e8 < shortfall < 3e8  # 300M less ~USD 40M of cash by then
    model, refinanced = _maturity_run(tmp_path, credit_closed=False)
    assert refinanced.meta["defaults"] == []
    d = model.state.debt
    [new] = np.flatnonzero(d.owner == 0)
    assert d.instrument[new] == SECURED
    assert d.principal_usd[new] == pytest.approx(shortfall, rel=1e-9)
    assert d.amortization_usd_per_year[new] == 0.0  # a bullet note
    due_day = (pd.Timestamp("2026-02-04") - pd.Timestamp(START)).days  # 126
    assert d.maturity_day[new] == pytest.approx(due_day + 5 * 365.25, abs=1.0)
    _, above_ceiling = _maturity_run(tmp_path, False, {"policy.max_leverage": 0.1})
    [event] = above_ceiling.meta["defaults"]
    assert event["cause"] == "maturity" and event["credit_open"]
    assert 0 < event["unmet_usd"] < shortfall


# ------------------------------------------------------------------ equity dilution
def test_issuing_shares_at_a_discount_dilutes_the_price_by_hand():
    # 1bn shares at USD 20, a 5% discount at the trailing high: 100M new shares fetch
    # 100M x 19 = USD 1.9bn; the market value 20bn + 1.9bn over 1.1bn shares = USD 19.909...,
    # i.e. 20 - 1 x 100/1,100: the discount times the new shares' share of the total.
    rates = RatesMarket(equity_discount=0.05, equity_max_dilution_per_epoch=0.1)
    market = EquityMarket(rates, np.array([20.0]), np.array([1e9]))
    price = np.array([20.0])
    raised = market.capacity_usd(price)
    assert raised[0] == pytest.approx(0.1 * 1e9 * 19.0)
    new = market.issue(raised, price)
    assert new[0] == pytest.approx(1e8)
    after = diluted_price_usd(price, np.array([1e9]), new, raised)
    assert after[0] == pytest.approx(20.0 - 1.0 * 1e8 / 1.1e9)
    assert after[0] == pytest.approx((20e9 + 1.9e9) / 1.1e9)
    assert market.capacity_usd(price)[0] == 0.0  # the epoch's allowance is used up


def test_no_shares_sell_more_than_80pct_below_the_trailing_high_by_hand():
    # A share that traded at USD 20: at USD 5 (75% down) 10% of 1bn shares sell at
    # 5 x (1 - min(0.05 + 0.5 x 0.75, 0.5)) = USD 2.875; at USD 3.9 (80.5% down) none do,
    # though the price is above the USD 1 minimum.
    rates = RatesMarket(equity_discount=0.05, equity_close_drawdown=0.8)
    market = EquityMarket(rates, np.array([20.0]), np.array([1e9]))
    assert market.capacity_usd(np.array([5.0]))[0] == pytest.approx(1e8 * 5 * (1 - 0.425))
    assert market.capacity_usd(np.array([3.9]))[0] == 0.0


def test_a_mining_site_fetches_its_build_cost_only_while_new_machines_pay_by_hand():
    # Build cost USD 0.85M per MW, a 10-year life at 10%: (1 - e^-1) / 0.1 = 6.32 years of
    # annuity. Entry breaks even at USD 50/MWh: a site at 45 or 50 is worth its build cost;
    # at 52 it is 2 x 8,766 MWh x 6.32 = ~USD 0.111M less; at 70 (20 short, ~USD 1.11M) 0.
    years = (1 - math.exp(-1.0)) / 0.1
    params = dataclasses.replace(PARAMS, n=4, site_usd_per_mw=0.85e6, site_annuity_years=years)
    state = SimpleNamespace(
        entry_breakeven_usd_mwh=50.0, power_usd_mwh=np.array([45.0, 50.0, 52.0, 70.0])
    )
    value = waterfall.mining_site_usd_per_mw(params, state)
    np.testing.assert_allclose(
        value, [0.85e6, 0.85e6, 0.85e6 - 2 * 24 * 365.25 * years, 0.0], rtol=1e-12
    )


# ------------------------------------------------------------------ a 2022-like crash
def _crash_run(tmp_path, miner: str, notes: list[str], leases: list[str], crash: bool):
    path = write_world(
        tmp_path, miner, notes, leases, credit_closed=False, btc_points=CRASH if crash else None
    )
    model = MiningModel(path, seed=0)
    return model, run_checked(model)


def test_a_leveraged_miner_defaults_in_a_2022_like_crash_and_not_without_it(tmp_path):
    # 10 EH/s, USD 40M of cash and 3,000 BTC (USD 300M at 100k), USD 150M of 12% secured
    # equipment notes amortising 50% a year (2022's short equipment loans) and a USD 150M 10%
    # convertible due 2026-03-01 (secured / assets ~0.74 at the start). Flat BTC: the
    # treasury pays the maturity. BTC -77%: the treasury is worth USD 69M, credit closes (BTC
    # more than 50% below its high), the share is worthless, and machines and sites cannot
    # cover USD ~260M of claims: a default on the maturity or before it.
    miner = miner_row(cash_usd=4e7, btc_held=3000.0, capacity_mw=190.0, shares=3e7)
    notes = [
        note("senior_secured", 1.5e8, "2027-06-30", coupon=0.12, amortization=0.5),
        note("convertible", 1.5e8, "2026-03-01", coupon=0.10, conversion_usd=100.0),
    ]
    _, flat = _crash_run(tmp_path, miner, notes, [], crash=False)
    assert flat.meta["defaults"] == []
    _, crashed = _crash_run(tmp_path, miner, notes, [], crash=True)
    [event] = crashed.meta["defaults"]
    assert event["cause"] in ("maturity", "debt_service", "covenant")
    assert event["btc_price_usd"] == pytest.approx(23_000.0, rel=1e-6)
    assert not event["credit_open"]
    assert event["date"] <= "2026-03-15"
    rows = alpha(crashed)
    assert rows["defaulted"].iloc[-1] and rows["hashrate_ehs"].iloc[-1] == 0.0


def test_a_20bn_miner_with_5bn_of_debt_survives_the_same_crash(tmp_path):
    # 1,000 MW leased at USD 2.4M/MW-year (NOI 2.04bn/year x 12 = USD 24.5bn) and USD 5bn of 8%
    # secured notes due 2026-02-01, in the crash: credit is shut, but the contracted AI value
    # does not move with BTC: shares sold at market (the epoch's 10% cap), then machines and
    # part of the halls, pay the maturity.
    miner = miner_row()
    notes = [note("senior_secured", 5e9, "2026-02-01", coupon=0.08)]
    _, result = _crash_run(tmp_path, miner, notes, [lease(1000, 2.4e6)], crash=True)
    rows = alpha(result)
    assert 18e9 < rows["market_cap_usd"].iloc[0] < 22e9
    assert result.meta["defaults"] == []
    due = rows.index[rows.index >= pd.Timestamp("2026-02-01")][0]
    assert rows.loc[due, "debt_usd"] == 0.0
    shares = rows["market_cap_usd"] / rows["share_price_usd"]
    assert shares.loc[due] == pytest.approx(1.1e9)  # the epoch's cap: 10% more shares


# ------------------------------------------------------------------ the AI decision
PARAMS = dataclasses.replace(
    build_params(load_scenario("demo").config, 1, 1),
    lease_discount_rate=0.08,
    ai_noi_margin=0.85,
    ai_capex_usd_per_mw=10e6,
    ai_term_years=10.0,
    ai_lead_time_days=0.0,
    ai_pue=1.25,
    ai_renewal_probability=0.0,
    ai_renewal_years=5.0,
    ai_backstop_share=1.0,
    ai_tenant_default_per_year=0.04,
    ai_delivery_probability=1.0,
    ai_delivery_delay_days=365.25,
    ai_tenant_capex_share=0.0,
)


def annuity(rate: float, start: float, end: float) -> float:
    return (math.exp(-rate * start) - math.exp(-rate * end)) / rate


def test_lease_npv_for_given_terms_by_hand():
    noi = 2e6 * 0.85  # USD per IT MW-year
    # A 10-year lease delivered at once, backstopped, no renewal: NOI x annuity(8%, 10) less
    # the capex, per IT MW; a MW of site carries 1 / 1.25 MW of IT.
    plain = (noi * annuity(0.08, 0, 10) - 10e6) / 1.25
    assert lease_npv_usd_per_mw(PARAMS, 2e6) == pytest.approx(plain, rel=1e-12)
    # Renewals: two 5-year options, each taken with probability 0.5 (the second 0.25), within
    # the hall's 20-year life.
    renewing = dataclasses.replace(PARAMS, ai_renewal_probability=0.5)
    factor = annuity(0.08, 0, 10) + 0.5 * annuity(0.08, 10, 15) + 0.25 * annuity(0.08, 15, 20)
    assert rent_years_factor(renewing) == pytest.approx(factor, rel=1e-12)
    # No backstop: the tenant's 4% default rate adds to the discount rate of the rent.
    unbacked = dataclasses.replace(PARAMS, ai_backstop_share=0.0)
    assert rent_years_factor(unbacked) == pytest.approx(annuity(0.12, 0, 10), rel=1e-12)
    # Delivery: a year's build, on time with probability 0.5, else a year later; the capex
    # counts at mid-build; the tenant pays 80% of it.
    risky = dataclasses.replace(
        PARAMS, ai_lead_time_days=365.25, ai_delivery_probability=0.5, ai_tenant_capex_share=0.8
    )
    delivery = 0.5 * math.exp(-0.08) + 0.5 * math.exp(-0.16)
    expected = (noi * annuity(0.08, 0, 10) * delivery - 2e6 * math.exp(-0.04)) / 1.25
    assert lease_npv_usd_per_mw(risky, 2e6) == pytest.approx(expected, rel=1e-12)


def test_project_notes_are_sized_on_the_lease_and_capped_at_the_loan_to_cost():
    # Rent USD 1.8M per IT MW / 1.35 per MW of site, 85% NOI margin, 10 years at 7.5%,
    # cover 1.3: NOI / 1.3 x (1 - e^-0.75) / 0.075 = USD ~6.13M per MW of site, under
    # 85% of the USD 10M / 1.35 = 7.41M capex per MW of site (~83% loan-to-cost).
    params = dataclasses.replace(
        PARAMS, ai_noi_margin=0.85, ai_term_years=10.0, project_dscr=1.3, ai_loan_to_cost=0.85
    )
    rent, capex = 1.8e6 / 1.35, 10e6 / 1.35
    loan = project_loan_usd_per_mw(params, rent, capex, 0.075)
    by_hand = rent * 0.85 / 1.3 * (1 - math.exp(-0.75)) / 0.075
    assert loan == pytest.approx(by_hand, rel=1e-12)
    assert 0.82 < loan / capex < 0.85
    # a lease at twice the rent supports more than 85%: the cap binds
    assert project_loan_usd_per_mw(params, 2 * rent, capex, 0.075) == pytest.approx(0.85 * capex)
    # USD 100M of spare cash, USD 1.2M own funds a MW while the loan room lasts
    mw = affordable_mw(np.array([1e8, 1e8]), np.array([1e12, 1e8]), 7e6, 5.8e6)
    np.testing.assert_allclose(mw, [1e8 / 1.2e6, (1e8 + 1e8) / 7e6])


# ------------------------------------------------------------------ strategies as data
def test_each_public_miner_takes_its_stated_strategy_from_the_csv():
    scenario = load_scenario("baseline")
    frame = scenario.miners.set_index("name")
    assert set(frame["strategy"]) == {"mining_first", "balanced", "ai_first"}
    assert frame["strategy_source"].str.startswith("cal §3.14").all()
    n = len(frame) + 2  # two fringe agents after the public miners
    params = build_params(scenario.config, n, len(frame), miner_rows=scenario.miners)
    names = list(frame.index)
    mara, riot, cipher = names.index("MARA"), names.index("Riot"), names.index("Cipher")
    strategies = scenario.config.policy.strategies
    assert params.conversion_hurdle[mara] == strategies.mining_first.conversion_hurdle
    assert params.leverage_ceiling[mara] == strategies.mining_first.max_leverage
    assert params.ai_offer_fraction[mara] == strategies.mining_first.ai_offer_fraction
    assert params.ai_offer_fraction[riot] == pytest.approx(0.39)  # its own cell (700 / 1,800)
    assert params.leverage_ceiling[cipher] == strategies.ai_first.max_leverage
    policy = scenario.config.policy
    assert params.leverage_ceiling[-1] == policy.max_leverage  # the fringe: the policy's own
    assert params.ai_offer_fraction[-1] == policy.max_ai_fraction


def test_an_unknown_strategy_is_refused(tmp_path):
    path = write_world(tmp_path, miner_row())
    text = (tmp_path / "miners.csv").read_text().splitlines()
    (tmp_path / "miners.csv").write_text(
        f"{text[0]},strategy\n{text[1]},ai_only\n", encoding="utf-8"
    )
    with pytest.raises(ScenarioError, match="unknown strategy"):
        load_scenario(path)


# ------------------------------------------------------------------ stocks
def test_a_lease_is_valued_for_its_term_and_at_the_market_rate_after_it_by_hand():
    # NOI USD 100M a year, multiple 12 (yield 1/12): 6 years left and the market rate 20%
    # below the signing rate. Term: 100M x 12 x (1 - e^-0.5); after it: 0.8 x 100M x 12 x
    # e^-0.5. With the market unchanged the plain multiple: 12 x 100M.
    noi, left = np.array([100e6, 100e6]), np.array([6.0, 6.0])
    marked = marked_lease_noi_usd_per_year(noi, left, np.array([0.8, 1.0]), 12.0)
    tail = math.exp(-0.5)
    np.testing.assert_allclose(12 * marked, [1.2e9 * (1 - tail) + 0.8 * 1.2e9 * tail, 1.2e9])
    # a lease past its term is worth the market's rate alone
    past = marked_lease_noi_usd_per_year(noi[:1], np.array([-1.0]), np.array([0.5]), 12.0)
    assert past[0] == pytest.approx(50e6)


def test_convertibles_in_the_money_count_as_shares_by_hand():
    # 100M shares, equity worth USD 2bn with two converts counted as debt: USD 500M at USD 15
    # and USD 300M at USD 30. At V/N = USD 20 the first converts (33.3M shares): (2bn + 0.5bn)
    # / 133.3M = USD 18.75, still below 30, so the second stays debt. At USD 1bn (USD 10) none
    # converts; at exactly USD 15 a share converting changes nothing: (1.5bn + 0.5bn) /
    # (100M + 33.3M) = 15, continuous.
    owner = np.array([0, 0, 1, 1, 2, 2])
    principal = np.array([5e8, 3e8] * 3)
    conversion = np.array([15.0, 30.0] * 3)
    price = if_converted_price_usd(
        np.array([2e9, 1e9, 1.5e9]), np.full(3, 1e8), owner, principal, conversion
    )
    np.testing.assert_allclose(price, [2.5e9 / (1e8 + 5e8 / 15), 10.0, 15.0], rtol=1e-12)
    assert price[0] == pytest.approx(18.75)


# ------------------------------------------------------------------ fleets that renew
def test_machines_worth_replacing_by_hand():
    # Frontier 13.5 J/TH at USD 15/TH, expected hashprice USD 0.045/TH-day: the extra revenue
    # of a new MW must repay its capex within the 900-day hurdle (shorter than the life's
    # annuity, 365.25 x (1 - e^-0.4) / 0.1 = ~1,204 days), so a MW of machines at e J/TH is
    # worth replacing when e > 13.5 / (1 - 15 / (0.045 x 900)) = ~21.4 J/TH. With a 2,000-day
    # hurdle the life binds: 13.5 / (1 - 15 / (0.045 x 1,204)) = ~18.7. At USD 200/MWh
    # frontier machines lose money: nothing is replaced.
    from test_policies import IDX, context

    ctx = context()
    threshold = replacement_jth(ctx, IDX)
    np.testing.assert_allclose(threshold[:2], 13.5 / (1 - 15.0 / (0.045 * 900)))
    assert 21.3 < threshold[0] < 21.5 and np.isinf(threshold[2])
    life_days = 365.25 * (1 - math.exp(-0.4)) / 0.1
    patient = replacement_jth(context(hurdle_payback_days=2000.0), IDX)
    np.testing.assert_allclose(patient[:2], 13.5 / (1 - 15.0 / (0.045 * life_days)))
    out = Decisions.zeros(3)
    policy_registry.policy("rational").decide(ctx, IDX, out)
    np.testing.assert_allclose(out.replace_above_jth, threshold)


def test_old_machines_are_unplugged_only_for_replacements_the_factories_deliver():
    # The factories make 1,000 MW a year; an epoch of 0.05 years has 50 MW in stock. Two
    # miners want 60 MW of purchases (at 20 J/TH: 3e6 TH/s) and 40 MW of replacements: 100 MW
    # in all, served pro rata at 50%, so each replaces half of what it wanted (20 MW, 0 MW).
    from sim.engine.execute import deliverable_mw

    class Factories:
        def from_stock(self, wanted_ths, frontier_jth, day, years):
            stock_ths = 1000.0 * years * 1e6 / frontier_jth
            return wanted_ths * min(1.0, stock_ths / wanted_ths.sum())

    scratch = SimpleNamespace(ctx=SimpleNamespace(frontier_jth=20.0), day=0, years=0.05)
    world = SimpleNamespace(machines=Factories())
    buy_ths = np.array([1e6, 2e6])  # 20 MW and 40 MW
    got = deliverable_mw(world, scratch, buy_ths, np.array([40.0, 0.0]))
    np.testing.assert_allclose(got, [20.0, 0.0])
    # with stock for all of it, every replacement goes ahead
    scratch.years = 1.0
    every = deliverable_mw(world, scratch, buy_ths, np.array([40.0, 0.0]))
    np.testing.assert_allclose(every, [40.0, 0.0])


def test_the_least_efficient_machines_go_first_up_to_what_can_be_bought():
    # Owner 0: 10 MW each at 25, 20 and 15 J/TH, the first two above the threshold; it can pay
    # for 15 MW of new machines: all of the 25 J/TH unit, half of the 20 J/TH one. Owner 1's
    # old unit (30 J/TH) has no budget.
    f = fleet.new_fleet_table()
    for owner, jth in ((0, 20.0), (0, 25.0), (0, 15.0), (1, 30.0)):
        fleet.add_units(f, np.array([owner]), np.array([10e6 / jth]), jth, 1e6, 40.0)
    old = f.efficiency_jth > 18.0
    fraction = replaced_fraction(f, old, np.array([15.0, 0.0]), 2)
    np.testing.assert_allclose(fraction, [0.5, 1.0, 0.0, 0.0])
