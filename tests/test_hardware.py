"""Tests for sim.hardware: catalogue, frontier, failures, depreciation, hashprice (machine prices:
tests/test_machines.py)."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest

from sim import history
from sim.hardware import (
    CATALOGUE,
    HISTORICAL_FRONTIER,
    HardwareMarket,
    catalogue_improvement_per_year,
)
from sim.input.schema import Hardware
from sim.units import hashprice_usd_per_th_day

START = dt.date(2025, 10, 23)


def market(**config) -> HardwareMarket:
    return HardwareMarket(Hardware(**config), START)


def day_of(date: dt.date) -> int:
    return (date - START).days


def by_name(name: str):
    return next(model for model in CATALOGUE if model.name == name)


# ------------------------------------------------------------------ catalogue


def test_catalogue_holds_the_requested_models_with_sources():
    names = {model.name for model in CATALOGUE}
    for short in ("S9", "S17", "S19 Pro", "S19j Pro+", "S19 XP", "S21", "S21+ Hydro", "S21 XP"):
        assert f"Antminer {short}" in names
    assert "Antminer S23 Hydro" in names
    for model in CATALOGUE:
        assert "README" in model.source
        assert model.ths > 0 and model.jth > 0 and model.usd_per_th > 0


def test_catalogue_efficiency_improves_with_release_date():
    ordered = sorted(CATALOGUE, key=lambda model: model.release)
    releases = [model.release for model in ordered]
    assert len(set(releases)) == len(releases)
    assert all(later.jth < earlier.jth for earlier, later in itertools.pairwise(ordered))


def test_catalogue_power_matches_the_readme_watts():
    # README 3.5 states watts for these; J/TH = W / TH
    assert by_name("Antminer S9").jth == pytest.approx(1323 / 13.5, rel=0.01)
    assert by_name("Antminer S17").jth == pytest.approx(2520 / 56, rel=0.01)
    assert by_name("Antminer S19 Pro").jth == pytest.approx(3250 / 110, rel=0.01)
    assert by_name("Antminer S21+ Hydro").jth == pytest.approx(4785 / 319, rel=0.01)


# ------------------------------------------------------------------ frontier


def test_frontier_is_monotone_non_increasing():
    hw = market(frontier_improvement_per_year=0.2)
    days = np.arange(-4000, 12_000)
    frontier = hw.frontier_jth(days)
    assert frontier.shape == days.shape
    assert np.all(np.diff(frontier) <= 0)
    assert np.all(frontier > 0)


def test_frontier_is_the_best_model_released_on_or_before_the_day():
    hw = market()
    for model in CATALOGUE:
        assert hw.frontier_jth(day_of(model.release)) == pytest.approx(model.jth)
    s21xp, s23 = by_name("Antminer S21 XP"), by_name("Antminer S23 Hydro")
    assert hw.frontier_jth(day_of(s23.release) - 1) == pytest.approx(s21xp.jth)
    earliest = min(CATALOGUE, key=lambda model: model.release)
    assert hw.frontier_jth(day_of(earliest.release) - 100) == pytest.approx(earliest.jth)
    assert isinstance(hw.frontier_jth(0), float)


def test_frontier_keeps_improving_after_the_last_release():
    f = 0.15
    hw = market(frontier_improvement_per_year=f, frontier_slowdown_half_life_years=None)
    last = max(CATALOGUE, key=lambda model: model.release)
    release = day_of(last.release)
    assert hw.frontier_jth(release + 365.25) == pytest.approx(last.jth * (1 - f))
    assert hw.frontier_jth(release + 730.5) == pytest.approx(last.jth * (1 - f) ** 2)
    assert market(frontier_improvement_per_year=0.0).frontier_jth(release + 3650) == last.jth


def test_the_frontiers_improvement_slows_with_its_half_life():
    # log rate r0 = -ln(1 - 0.2) halving every 4 years: after 4 years the rate is r0 / 2 and the
    # J/TH has fallen by r0 x 4 / ln 2 x (1 - 1/2) in logs
    hw = market(frontier_improvement_per_year=0.2, frontier_slowdown_half_life_years=4.0)
    last = max(CATALOGUE, key=lambda model: model.release)
    release = day_of(last.release)
    r0 = -math.log(0.8)
    assert hw.frontier_log_rate(release - 100) == pytest.approx(r0)  # before: the expectation
    assert hw.frontier_log_rate(release + 4 * 365.25) == pytest.approx(r0 / 2)
    fall = r0 * 4 / math.log(2) * 0.5
    assert hw.frontier_jth(release + 4 * 365.25) == pytest.approx(last.jth * math.exp(-fall))
    # the total fall is bounded: r0 x half-life / ln 2
    assert hw.frontier_jth(release + 1e6) == pytest.approx(
        last.jth * math.exp(-r0 * 4 / math.log(2)), rel=1e-6
    )


def test_the_default_pace_is_the_catalogues_recent_rate_and_no_3_jth_by_2030():
    # 29.55 J/TH (S19 Pro, 2020-07) to the last release: the schema's default, to 3 digits
    assert Hardware().frontier_improvement_per_year == pytest.approx(
        catalogue_improvement_per_year(), abs=5e-4
    )
    assert 0.15 < catalogue_improvement_per_year() < 0.21
    assert market().frontier_jth(day_of(dt.date(2030, 12, 31))) > 4.0


def test_historical_frontier_is_cbeci_lower_bound_where_it_changes():
    lower = history.efficiency_jth("lower")["2014-01-01":]
    steps = lower[lower.diff() != 0]
    got = [(day, jth) for day, jth in HISTORICAL_FRONTIER]
    assert [d for d, _ in got] == [t.date() for t in steps.index]
    np.testing.assert_allclose([j for _, j in got], steps.to_numpy(), rtol=1e-4)


# ------------------------------------------------------------------ failures, depreciation


def test_survival_factor_limits():
    rate = 0.05
    hw = market(annual_failure_rate=rate)
    assert hw.survival_factor(0.0) == 1.0
    assert hw.survival_factor(365.25) == pytest.approx(1 - rate)
    assert hw.survival_factor(730.5) == pytest.approx((1 - rate) ** 2)
    assert hw.survival_factor(365.25 * 200) < 1e-4
    days = np.linspace(0, 5000, 50)
    assert np.all(np.diff(hw.survival_factor(days)) < 0)
    assert market(annual_failure_rate=0.0).survival_factor(10_000.0) == 1.0
    assert market(annual_failure_rate=1.0).survival_factor(1.0) == 0.0
    with pytest.raises(ValueError):
        hw.survival_factor(-1.0)


def test_depreciation_fraction_limits():
    hw = market(useful_life_years=4.0)
    life = 4 * 365.25
    assert hw.depreciation_fraction(0.0) == 0.0
    assert hw.depreciation_fraction(life / 2) == pytest.approx(0.5)
    assert hw.depreciation_fraction(life) == pytest.approx(1.0)
    assert hw.depreciation_fraction(3 * life) == 1.0
    # fourteen-day epochs add up to the whole cost over the life
    assert hw.depreciation_fraction(14.0) * life / 14 == pytest.approx(1.0)
    with pytest.raises(ValueError):
        hw.depreciation_fraction(-0.5)


# ------------------------------------------------------------------ hashprice


def test_hashprice_matches_the_readme_consistency_check():
    # README 3.4: D = 150T: 1 PH/s-day expects 1.341e-4 blocks -> x 3.125 BTC = 4.19e-4 BTC
    btc_per_ph_day = 1000 * hashprice_usd_per_th_day(1.0, 150e12, 3.125, 0.0)
    assert btc_per_ph_day == pytest.approx(4.19e-4, rel=1e-3)
    assert btc_per_ph_day / 3.125 == pytest.approx(1.341e-4, rel=1e-3)
    assert btc_per_ph_day == pytest.approx(0.00041, rel=0.03)  # Luxor Nov-2025 average


def test_hashprice_scales_with_price_reward_and_inverse_difficulty():
    base = hashprice_usd_per_th_day(100_000.0, 150e12, 3.125, 0.036)
    assert hashprice_usd_per_th_day(200_000.0, 150e12, 3.125, 0.036) == pytest.approx(2 * base)
    assert hashprice_usd_per_th_day(100_000.0, 300e12, 3.125, 0.036) == pytest.approx(base / 2)
    fee_share = 0.036 / (3.125 + 0.036)
    subsidy_only = hashprice_usd_per_th_day(100_000.0, 150e12, 3.125, 0.0)
    assert 1 - subsidy_only / base == pytest.approx(fee_share)
    prices = np.array([50_000.0, 100_000.0])
    np.testing.assert_allclose(
        hashprice_usd_per_th_day(prices, 150e12, 3.125, 0.0), prices * 4.19e-7, rtol=1e-3
    )
    assert math.isfinite(base)
