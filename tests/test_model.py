"""Invariants of a whole run, each able to fail: bookkeeping, BTC conservation, capacity,
solvency, default, reproducibility, and the output contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim import fleet, hosting
from sim.model import MiningModel
from sim.results import EPOCH_COLUMNS, MINER_COLUMNS

CRASH = {
    # BTC falls from $118,649 to $8,000 within three months and stays there: miners must
    # sell BTC, dilute or default ...
    "market.btc.process": "piecewise",
    "market.btc.volatility": 0.0,
    "market.btc.points": [["2025-10-01", 118649.0], ["2026-01-01", 8000.0]],
    # ... while other costs run at 3M USD per MW-year and credit markets stay shut for the year.
    "miners.opex_usd_per_mw_year": 3e6,
    "market.rates.closed_periods": [["2025-10-01", "2026-12-31"]],
}


@pytest.fixture(scope="module")
def demo_run() -> sim.RunResult:
    return sim.run("demo", seed=1)


@pytest.fixture(scope="module")
def crash_run() -> sim.RunResult:
    return sim.run("demo", seed=2, overrides=CRASH)


def test_output_contract_columns(demo_run):
    assert list(demo_run.epochs.columns[: len(EPOCH_COLUMNS)]) == list(EPOCH_COLUMNS)
    assert set(MINER_COLUMNS) <= set(demo_run.miners.columns)
    assert len(demo_run.epochs) >= 20  # one year of ~two-week epochs
    assert set(demo_run.miners["kind"]) == {"public", "fringe"}


@pytest.mark.parametrize("fixture", ["demo_run", "crash_run"])
def test_outputs_are_finite(fixture, request):
    result = request.getfixturevalue(fixture)
    for frame in (result.epochs, result.miners):
        numeric = frame.select_dtypes("number")
        assert np.isfinite(numeric.to_numpy(float)).all()


@pytest.mark.parametrize("fixture", ["demo_run", "crash_run"])
def test_balance_sheet_identity(fixture, request):
    m = request.getfixturevalue(fixture).miners
    gap = m["assets_usd"] - m["liabilities_usd"] - m["book_equity_usd"]
    scale = np.maximum(m["assets_usd"].abs(), 1.0)
    worst = (gap.abs() / scale).max()
    assert worst < 1e-6, m.loc[(gap.abs() / scale).idxmax()]


@pytest.mark.parametrize("fixture", ["demo_run", "crash_run"])
def test_btc_won_equals_subsidy_plus_fees(fixture, request):
    result = request.getfixturevalue(fixture)
    won_sat = (result.miners.groupby("epoch")["btc_mined"].sum() * 1e8).round().astype(np.int64)
    paid_sat = ((result.epochs["subsidy_btc"] + result.epochs["fees_btc"]) * 1e8).round()
    np.testing.assert_array_equal(won_sat.to_numpy(), paid_sat.astype(np.int64).to_numpy())


def test_subsidy_matches_halving_schedule(demo_run):
    # 2016 blocks an epoch, all before the 2028 halving: 3.125 BTC each.
    np.testing.assert_allclose(demo_run.epochs["subsidy_btc"], 2016 * 3.125)


def test_capacity_never_exceeded_and_cash_never_negative():
    model = MiningModel("demo", seed=3, overrides=CRASH)
    while model.running:
        model.step()
        v = model.view
        mining_mw = fleet.per_owner(v.fleet, fleet.unit_power_mw(v.fleet), v.n)
        ai_mw = hosting.committed_mw(v.contracts, v.n)
        assert np.all(mining_mw + ai_mw <= v.capacity_mw * (1 + 1e-9) + 1e-9)
        solvent = ~v.defaulted
        assert np.all(v.cash_usd[solvent] >= -1e-6)


def test_crash_causes_distress_and_defaulted_miners_mine_nothing(crash_run):
    m = crash_run.miners
    public = m[m["kind"] == "public"]
    actions = set(public["action"].astype(str))
    assert actions & {"default", "issue_equity"}, actions
    assert "borrow" not in actions  # credit is shut
    after_default = public[public["defaulted"] & (public["action"] != "default")]
    assert (after_default["btc_mined"] == 0).all()
    assert (after_default["hashrate_ehs"] == 0).all()
    assert (after_default["mining_mw"] == 0).all()


def test_same_seed_identical_other_seed_different():
    a = sim.run("demo", seed=7)
    b = sim.run("demo", seed=7)
    c = sim.run("demo", seed=8)
    pd.testing.assert_frame_equal(a.epochs, b.epochs)
    pd.testing.assert_frame_equal(a.miners, b.miners)
    assert not np.array_equal(a.epochs["epoch_days"].to_numpy(), c.epochs["epoch_days"].to_numpy())


@pytest.mark.parametrize("fixture", ["demo_run", "crash_run"])
def test_epoch_length_is_the_gamma_time_of_2016_blocks_at_the_running_hashrate(fixture, request):
    # Blocks arrive as a Poisson process of rate H(t) / (D 2^32) (H in hashes/s, D the
    # difficulty in effect: the previous epoch's retarget). After the 2016th block the
    # integrated rate, epoch length x mean hashrate / (2016 D 2^32), is Gamma(2016, 1) / 2016:
    # mean 1, sd 1/sqrt(2016) = 2.2%, independent across epochs, whatever the curtailment.
    result = request.getfixturevalue(fixture)
    e = result.epochs
    initial = sim.load_scenario("demo").config.chain.difficulty
    in_effect = e["difficulty"].shift(1).fillna(initial).to_numpy()
    work = e["epoch_days"] * 86400 * e["hashrate_ehs"] * 1e18 / (2016 * in_effect * 2**32)
    n, sd = len(work), 1 / np.sqrt(2016)
    assert n >= 20
    assert np.all(np.abs(work - 1) < 6 * sd), work.describe()  # each epoch
    assert abs(work.mean() - 1) < 5 * sd / np.sqrt(n)
    # sample variance: (n - 1) s^2 / sd^2 ~ chi2(n - 1); outside its 1e-6 tails fails
    statistic = (n - 1) * work.var(ddof=1) / sd**2
    assert stats.chi2.ppf(1e-6, n - 1) < statistic < stats.chi2.isf(1e-6, n - 1)
