"""One expectation rule for every miner (sim.expectations), against hand-worked paths."""

from __future__ import annotations

import numpy as np
import pytest

from sim import consensus
from sim.expectations import (
    DifficultyTrail,
    days_to_next_halving,
    expected_btc_drift,
    outlook,
)
from sim.input.scenario import load_scenario
from sim.units import YEAR_DAYS


def test_the_expected_path_for_a_given_drift():
    # frontier 0.2 a year (log), BTC drift +0.05: hashprice falls 0.15 a year in logs; the
    # subsidy halves (fees 0.1 BTC a block): after the halving the reward is 1.6625/3.225
    o = outlook(0.05, 840_000 - 52_560, 3.125, 0.1, 0.2, 0.05, 0.0, 1.0)
    assert o.decline_per_year == pytest.approx(0.15)
    assert o.days_to_halving == pytest.approx(52_560 * 600 / 86_400)  # 365 days
    assert o.halving_factor == pytest.approx((1.5625 + 0.1) / (3.125 + 0.1))
    days = np.array([0.0, 182.0, 400.0])
    want = 0.05 * np.exp(-0.15 * days / YEAR_DAYS) * np.array([1.0, 1.0, o.halving_factor])
    np.testing.assert_allclose(o.at(days), want)


def test_a_higher_btc_drift_raises_what_miners_expect():
    base = outlook(0.05, 900_000, 3.125, 0.0, 0.18, 0.0, 0.0, 1.0)
    bull = outlook(0.05, 900_000, 3.125, 0.0, 0.18, 0.3, 0.0, 1.0)
    assert bull.decline_per_year == pytest.approx(base.decline_per_year - 0.3)
    assert (bull.at([365.0]) > base.at([365.0])).all()


def test_the_halving_pass_through_scales_the_cut_in_logs():
    half = outlook(0.05, 900_000, 3.125, 0.0, 0.0, 0.0, 0.0, 0.5)
    assert half.halving_factor == pytest.approx(0.5**0.5)


def test_days_to_the_next_halving_at_600_s_blocks():
    assert days_to_next_halving(839_999) == pytest.approx(600 / 86_400)
    assert days_to_next_halving(840_000) == pytest.approx(consensus.HALVING_INTERVAL * 600 / 86_400)


def test_the_adaptive_term_is_the_weighted_trailing_growth():
    trail = DifficultyTrail(weight=0.5, window_days=182.0, prior_growth=1.0, difficulty=1e12)
    for d in np.arange(14.0, 364.0 + 1e-9, 14.0):
        growth = trail.adaptive_growth(d, 1e12 * np.exp(0.8 * d / YEAR_DAYS))
    assert growth == pytest.approx(0.5 * 0.8)  # a year in: only simulated epochs in the window
    early = DifficultyTrail(0.5, 182.0, 1.0, 1e12)
    for d in np.arange(14.0, 70.0 + 1e-9, 14.0):
        growth = early.adaptive_growth(d, 1e12 * np.exp(0.8 * d / YEAR_DAYS))
    # ten weeks in: 112 of the 182 days before the start (1.0 a year), 70 in the run (0.8)
    assert growth == pytest.approx(0.5 * (112 * 1.0 + 70 * 0.8) / 182)
    assert DifficultyTrail(0.0, 182.0, 1.0, 1e12).adaptive_growth(14.0, 2e12) == 0.0


def test_the_expected_drift_is_the_scenarios_own_unless_set():
    assert expected_btc_drift(load_scenario("btc_bear").config) == pytest.approx(
        load_scenario("btc_bear").config.market.btc.drift
    )
    assert expected_btc_drift(load_scenario("baseline").config) == 0.0
    replay = load_scenario("backtest_2022").config
    assert replay.market.btc.process == "replay"
    assert expected_btc_drift(replay) == (replay.expectations.btc_drift or 0.0)
    explicit = load_scenario("baseline", {"expectations.btc_drift": 0.1}).config
    assert expected_btc_drift(explicit) == 0.1


def test_a_scenario_that_changes_btcs_drift_changes_what_entrants_expect():
    import sim

    flat = sim.run(load_scenario("demo", {"market.btc.volatility": 0.0}), seed=0)
    bull = sim.run(
        load_scenario("demo", {"market.btc.volatility": 0.0, "market.btc.drift": 0.5}), seed=0
    )
    # same first epoch (same blocks), but entrants expecting a rising price break even on
    # dearer power
    first_flat = flat.epochs.entry_breakeven_usd_mwh.iloc[0]
    first_bull = bull.epochs.entry_breakeven_usd_mwh.iloc[0]
    assert first_bull > first_flat
