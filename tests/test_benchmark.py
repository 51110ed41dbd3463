"""The free-entry benchmark (sim.calibration.benchmark): its equations, its fit, and its data discipline.

Synthetic data are generated here straight from the equations in the module docstring (a loop
written independently of ``sim.calibration.benchmark.simulate``); the fit must recover the planted
parameters. Subsidies and frontier efficiencies are checked against data/sources.md (§3.2 halving
dates, §3.5 machine efficiencies) and Bitcoin's schedule.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import history
from sim.calibration import benchmark
from sim.calibration.benchmark import BenchmarkParams
from sim.calibration.moments import Window
from sim.errors import MinersimError

PLANTED = BenchmarkParams(a=-3.0, b=0.8, lam=0.3, lag_months=2)
LOG_D_PER_EHS = math.log(1e18 * 600 / 2**32)  # D = H x 600 s / 2^32


def synthetic(params: BenchmarkParams, noise: float, seed: int = 0) -> pd.DataFrame:
    """Monthly data 2015-01 .. 2021-12 from the benchmark's equations with log-normal noise on
    the observed difficulty: revenue a random walk, efficiency falling 30% a year."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2015-01-01", "2021-12-01", freq="MS", name="date")
    revenue = 9.0 + np.cumsum(rng.normal(0.02, 0.15, len(months)))
    efficiency = np.log(500.0) + np.log(0.7) / 12 * np.arange(len(months))
    log_h = np.empty(len(months))
    log_h[: params.lag_months + 1] = params.a + params.b * revenue[0] - efficiency[0]
    for t in range(params.lag_months + 1, len(months)):
        target = params.a + params.b * revenue[t - params.lag_months] - efficiency[t]
        log_h[t] = log_h[t - 1] + params.lam * (target - log_h[t - 1])
    observed = log_h + LOG_D_PER_EHS + rng.normal(0.0, noise, len(months))
    return pd.DataFrame(
        {"log_revenue": revenue, "log_efficiency": efficiency, "log_difficulty": observed},
        index=months,
    )


def test_the_fit_recovers_planted_parameters():
    data = synthetic(PLANTED, noise=0.01)
    got = benchmark.fit(Window("2016-01-01", "2019-12-31"), None, data=data, max_lag=6)
    assert got.params.lag_months == PLANTED.lag_months
    assert got.params.b == pytest.approx(PLANTED.b, abs=0.05)
    assert got.params.lam == pytest.approx(PLANTED.lam, abs=0.05)
    assert got.params.a == pytest.approx(PLANTED.a, abs=0.5)
    assert got.rmse_fit < 0.015  # about the noise
    assert got.lag_profile[PLANTED.lag_months] == min(got.lag_profile.values())


def test_without_noise_the_fit_is_exact():
    data = synthetic(PLANTED, noise=0.0, seed=1)
    got = benchmark.fit(Window("2016-01-01", "2019-12-31"), None, data=data, max_lag=3)
    assert got.params.lag_months == PLANTED.lag_months
    np.testing.assert_allclose(
        [got.params.a, got.params.b, got.params.lam], [PLANTED.a, PLANTED.b, PLANTED.lam], rtol=1e-4
    )
    assert got.rmse_fit < 1e-6


def test_partial_adjustment_closes_a_fixed_share_of_the_gap_each_month():
    months = pd.date_range("2020-01-01", periods=6, freq="MS")
    data = pd.DataFrame({"log_revenue": 10.0, "log_efficiency": 3.0}, index=months)
    params = BenchmarkParams(a=-2.0, b=0.5, lam=0.25, lag_months=1)
    goal = -2.0 + 0.5 * 10.0 - 3.0  # log H* = 0
    path = benchmark.simulate(params, data, months[1:], log_h0=4.0)
    np.testing.assert_allclose(path, goal + (4.0 - goal) * 0.75 ** np.arange(1, 6))
    jump = benchmark.simulate(BenchmarkParams(-2.0, 0.5, 1.0, 1), data, months[1:], 4.0)
    np.testing.assert_allclose(jump, goal)  # lam = 1: at the long-run level at once


def test_an_outage_takes_the_month_off_and_its_permanent_loss_moves_the_level():
    # at the long-run level (lam = 1 keeps it there): half the hashrate off in month 3 shows as
    # log 0.5 that month only; a loss of 20% in month 4 drops the level it adjusts from, and
    # with lam = 0.5 it closes half the gap back each month
    months = pd.date_range("2021-01-01", periods=6, freq="MS")
    data = pd.DataFrame(
        {
            "log_revenue": 10.0,
            "log_efficiency": 3.0,
            "log_online": [0.0, 0.0, np.log(0.5), 0.0, 0.0, 0.0],
            "log_kept": [0.0, 0.0, 0.0, np.log(0.8), 0.0, 0.0],
        },
        index=months,
    )
    goal = -2.0 + 0.5 * 10.0 - 3.0
    off = benchmark.simulate(BenchmarkParams(-2.0, 0.5, 1.0, 1), data, months[1:], goal)
    np.testing.assert_allclose(off, [goal, goal + np.log(0.5), goal, goal, goal])
    slow = benchmark.simulate(BenchmarkParams(-2.0, 0.5, 0.5, 1), data, months[1:], goal)
    gap = np.log(0.8) * 0.5
    np.testing.assert_allclose(slow[2:], [goal + gap, goal + gap / 2, goal + gap / 4])


def test_the_china_ban_is_in_the_benchmarks_inputs():
    days = pd.date_range("2021-05-01", "2021-12-31", freq="D")
    online, lost = benchmark.outage_factors(days)
    assert online[days.get_loc(pd.Timestamp("2021-07-03"))] == pytest.approx(0.54)
    assert online[0] == 1.0 and online[-1] == 1.0
    assert lost.sum() == pytest.approx(0.46 * 0.26)


def test_subsidy_follows_the_halving_dates():
    days = pd.DatetimeIndex(
        ["2016-07-08", "2016-07-09", "2020-05-10", "2020-05-11", "2024-05-08", "2024-05-09"]
    )
    # cal §3.2: 420,000 on 2016-07-09, 630,000 on 2020-05-11; then 210,000 x 600 s = 1,458.3 days
    np.testing.assert_array_equal(
        benchmark.subsidy_btc(days), [25.0, 12.5, 12.5, 6.25, 6.25, 3.125]
    )


def test_frontier_is_cbeci_to_2021_then_the_catalogue():
    days = pd.DatetimeIndex(["2019-12-31", "2021-12-31", "2022-06-01", "2022-10-15", "2023-10-15"])
    got = benchmark.frontier_jth(days, "catalogue")
    lower = history.efficiency_jth("lower")
    assert got[0] == lower.loc["2019-12-31"] and got[1] == lower.loc["2021-12-31"]
    # cal §3.5: S19 Pro 29.5 J/TH, S19 XP 21.5 (deliveries from Oct 2022), S21 17.5 (2023)
    np.testing.assert_array_equal(got[2:], [29.5, 21.5, 17.5])
    trend = benchmark.frontier_jth(days, "trend")
    assert trend[1] == got[1] and trend[2] < got[1] and trend[4] < trend[3] < trend[2]
    with pytest.raises(MinersimError, match="frontier rule"):
        benchmark.frontier_jth(days, "moore")


def test_the_committed_fit_is_what_fitting_gives():
    got = benchmark.fit()
    committed = benchmark.load_fit()
    assert got.params.lag_months == committed.lag_months
    np.testing.assert_allclose(
        [got.params.a, got.params.b, got.params.lam],
        [committed.a, committed.b, committed.lam],
        rtol=1e-6,
    )
    summary = benchmark.fit_summary()
    assert got.rmse_fit == pytest.approx(summary["rmse_fit"], rel=1e-6)
    assert got.rmse_validation == pytest.approx(summary["rmse_validation"], rel=1e-6)


def test_a_fit_reads_no_data_after_2021(monkeypatch):
    """Corrupting every price and difficulty after 2021-12-31 changes nothing in a fit."""
    windows = (Window("2016-01-01", "2019-12-31"), Window("2020-01-01", "2021-12-31"))
    clean = benchmark.fit(*windows, max_lag=2)
    price, difficulty = history.btc_price_usd(), history.difficulty()
    later = pd.date_range("2022-01-01", "2026-12-31", freq="D", name="date")
    monkeypatch.setattr(
        history, "btc_price_usd", lambda: pd.concat([price, pd.Series(1e-3, index=later)])
    )
    monkeypatch.setattr(
        history, "difficulty", lambda: pd.concat([difficulty, pd.Series(1e30, index=later)])
    )
    assert history.btc_price_usd().index.max() > history.LAST_FITTING_DAY  # the trap is set
    assert benchmark.fit(*windows, max_lag=2) == clean
    with pytest.raises(MinersimError, match="out of sample"):
        benchmark.fit(windows[0], Window("2020-01-01", "2022-03-31"), max_lag=2)
    with pytest.raises(MinersimError, match="out of sample"):
        benchmark.history_data("2022-01-01")


def test_difficulty_path_starts_from_the_observed_month_before():
    flat = BenchmarkParams(a=0.0, b=0.0, lam=1e-12, lag_months=1)  # hashrate stays put
    path = benchmark.difficulty_path("2022-01-01", "2022-06-30", flat)
    assert list(path.index.strftime("%Y-%m")) == [f"2022-0{m}" for m in range(1, 7)]
    december = history.difficulty().loc["2021-12-01":"2021-12-31"]
    np.testing.assert_allclose(path.to_numpy(), np.exp(np.log(december).mean()), rtol=1e-9)
    with pytest.raises(MinersimError, match="pass initial_difficulty"):
        benchmark.difficulty_path("2023-01-01", "2023-06-30", flat)
    given = benchmark.difficulty_path("2023-01-01", "2023-03-31", flat, initial_difficulty=3e13)
    np.testing.assert_allclose(given.to_numpy(), 3e13, rtol=1e-9)


def test_the_backtest_path_runs_to_2025_with_the_committed_fit():
    path = benchmark.difficulty_path("2022-01-01", "2025-12-31")
    assert len(path) == 48 and np.isfinite(path).all() and (path > 1e12).all()
    np.testing.assert_allclose(
        benchmark.hashrate_ehs(path), path.to_numpy() * 2**32 / 600 / 1e18, rtol=1e-12
    )
