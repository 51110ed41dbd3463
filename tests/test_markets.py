"""Tests for sim.markets: chunk invariance, reproducibility and the statistics of each process.

Statistical bounds are 5 standard errors derived from the process definitions (a false failure
has probability below 1e-6 per check); seeds are fixed so the tests are deterministic.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from sim.errors import ScenarioError
from sim.input.schema import Market
from sim.markets import BLOCK_DAYS, DT_YEARS, MAX_BLOCK_FEES_SAT, Markets

START = dt.date(2025, 1, 1)
N_STAT_DAYS = 20_000  # long single paths for statistics (about 55 years)
Z = 5.0  # bounds in standard errors
WIDE = {"floor_usd": 1e-300, "cap_usd": 1e300}  # keep clipping out of statistical tests

PATHS = (
    "btc_price_usd",
    "eth_price_usd",
    "sol_price_usd",
    "power_usd_mwh",
    "ai_lease_usd_per_mw_year",
    "base_rate",
    "credit_open",
    "fee_btc_expected",
)

BTC_CONFIGS = {
    "gbm": {"process": "gbm", "drift": 0.2, "volatility": 0.7},
    "jump_diffusion": {
        "process": "jump_diffusion",
        "jump_intensity": 12.0,
        "jump_mean": -0.05,
        "jump_std": 0.1,
    },
    "regime_switching": {
        "process": "regime_switching",
        "bull_to_bear_per_year": 6.0,
        "bear_to_bull_per_year": 6.0,
    },
    "replay": {"process": "replay", "path_csv": "prices.csv"},
    "piecewise": {
        "process": "piecewise",
        "volatility": 0.4,
        "points": [[dt.date(2025, 1, 1), 90_000.0], [dt.date(2025, 6, 1), 150_000.0]],
    },
}

# closes and reopens often (10% below a 30-day high, back within 5%), with a forced closure,
# so the credit window's state carried across blocks is exercised
RATES = {
    "credit_close_drawdown": 0.1,
    "credit_reopen_drawdown": 0.05,
    "credit_high_window_days": 30,
    "closed_periods": [[dt.date(2025, 3, 1), dt.date(2025, 3, 20)]],
}


def replay_series(days: int = 150, first: dt.date = dt.date(2024, 12, 1)) -> pd.Series:
    """Daily USD indexed by datetime.date, as the scenario loader returns it."""
    index = pd.Index(list(pd.date_range(first, periods=days, freq="D").date), dtype="object")
    return pd.Series(np.linspace(80_000.0, 120_000.0, days), index=index)


def make(market: dict, seed: int = 1, replay: pd.Series | None = None) -> Markets:
    config = Market.model_validate(market)
    return Markets(config, START, np.random.SeedSequence(seed), replay)


def btc_only(btc: dict, **other) -> dict:
    return {"btc": btc, **other}


def log_returns(prices: np.ndarray) -> np.ndarray:
    return np.diff(np.log(prices))


# ------------------------------------------------------------------ chunk invariance, seeds


@pytest.mark.parametrize("process", sorted(BTC_CONFIGS))
@pytest.mark.parametrize("chunks", [(100, 300), (1, 37, 64, 65, 129, 300), (299, 300)])
def test_paths_do_not_depend_on_chunking(process, chunks):
    market = {"btc": BTC_CONFIGS[process], "rates": RATES}
    whole = make(market, replay=replay_series())
    whole.extend_to(chunks[-1])
    pieces = make(market, replay=replay_series())
    for n_days in chunks:
        pieces.extend_to(n_days)
        assert pieces.n_days >= n_days
    for name in PATHS:
        np.testing.assert_array_equal(
            getattr(pieces, name)[: chunks[-1]], getattr(whole, name)[: chunks[-1]], err_msg=name
        )


def test_capacity_grows_geometrically_in_whole_blocks():
    markets = make({})
    markets.extend_to(1)
    assert markets.n_days == BLOCK_DAYS
    markets.extend_to(BLOCK_DAYS + 1)
    assert markets.n_days == 2 * BLOCK_DAYS
    markets.extend_to(2 * BLOCK_DAYS + 1)
    assert markets.n_days == 4 * BLOCK_DAYS
    markets.extend_to(10)  # already long enough: nothing changes
    assert markets.n_days == 4 * BLOCK_DAYS


def test_views_are_read_only():
    markets = make({})
    markets.extend_to(10)
    with pytest.raises(ValueError):
        markets.btc_price_usd[0] = 1.0


def test_same_seed_sequence_reproduces_every_path_and_fee_draw():
    market = {"btc": BTC_CONFIGS["jump_diffusion"], "rates": RATES}
    first, second = make(market, seed=42), make(market, seed=42)
    for markets in (first, second):
        markets.extend_to(500)
    for name in PATHS:
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    np.testing.assert_array_equal(
        first.draw_block_fees_sat(100, 3), second.draw_block_fees_sat(100, 3)
    )
    other = make(market, seed=43)
    other.extend_to(500)
    assert not np.array_equal(other.btc_price_usd, first.btc_price_usd)


def test_processes_use_independent_streams():
    """Changing one process's parameters or drawing fees never changes another process's path."""
    base = make({"rates": RATES})
    base.extend_to(400)
    changed = make({"power": {"volatility": 1.0}, "ai": {"volatility": 0.9}, "rates": RATES})
    changed.draw_block_fees_sat(10_000, 0)
    changed.extend_to(400)
    np.testing.assert_array_equal(base.btc_price_usd, changed.btc_price_usd)
    np.testing.assert_array_equal(base.credit_open, changed.credit_open)
    assert not np.array_equal(base.power_usd_mwh, changed.power_usd_mwh)


def test_fee_draws_do_not_depend_on_path_extension():
    early, late = make({}), make({})
    early.extend_to(5000)
    draws_early = early.draw_block_fees_sat(1000, 10)
    draws_late = late.draw_block_fees_sat(1000, 10)
    np.testing.assert_array_equal(draws_early, draws_late)


# ------------------------------------------------------------------ BTC processes


def test_gbm_log_returns_have_the_stated_mean_and_variance():
    # vol high enough that a spurious -vol^2/2 drift correction (0.0055 a day) exceeds the bound
    drift, vol = 0.3, 2.0
    markets = make(btc_only({"process": "gbm", "drift": drift, "volatility": vol, **WIDE}))
    markets.extend_to(N_STAT_DAYS)
    r = log_returns(markets.btc_price_usd[:N_STAT_DAYS])
    n = r.size
    # daily log return ~ Normal(drift dt, vol^2 dt), independent across days
    var = vol**2 * DT_YEARS
    assert abs(r.mean() - drift * DT_YEARS) < Z * math.sqrt(var / n)
    # sample variance of a normal: standard error var sqrt(2 / (n - 1))
    assert abs(r.var(ddof=1) - var) < Z * var * math.sqrt(2 / (n - 1))
    assert markets.btc_price_usd[0] == pytest.approx(100_000.0)


def test_jump_count_is_within_a_poisson_bound():
    intensity, size = 20.0, 0.01
    btc = {
        "process": "jump_diffusion",
        "drift": 0.0,
        "volatility": 0.0,
        "jump_intensity": intensity,
        "jump_mean": size,
        "jump_std": 0.0,
        **WIDE,
    }
    markets = make(btc_only(btc))
    markets.extend_to(N_STAT_DAYS)
    per_day = log_returns(markets.btc_price_usd[:N_STAT_DAYS]) / size
    counts = np.rint(per_day)
    np.testing.assert_allclose(per_day, counts, atol=1e-6)  # whole jumps only
    # total ~ Poisson(intensity x years): mean = variance
    expected = intensity * (N_STAT_DAYS - 1) * DT_YEARS
    assert abs(counts.sum() - expected) < Z * math.sqrt(expected)
    assert counts.min() >= 0


def test_jump_diffusion_log_returns_have_the_compound_poisson_moments():
    # daily log return = drift dt + vol sqrt(dt) Z + sum of N ~ Poisson(lambda dt) jumps, each
    # Normal(m, s): mean (drift + lambda m) dt, variance (vol^2 + lambda (m^2 + s^2)) dt.
    drift, vol, intensity, m, s = 0.1, 0.3, 50.0, -0.02, 0.05
    btc = {
        "process": "jump_diffusion",
        "drift": drift,
        "volatility": vol,
        "jump_intensity": intensity,
        "jump_mean": m,
        "jump_std": s,
        **WIDE,
    }
    markets = make(btc_only(btc))
    markets.extend_to(N_STAT_DAYS)
    r = log_returns(markets.btc_price_usd[:N_STAT_DAYS])
    n = r.size
    mean = (drift + intensity * m) * DT_YEARS
    var = (vol**2 + intensity * (m**2 + s**2)) * DT_YEARS
    assert abs(r.mean() - mean) < Z * math.sqrt(var / n)
    # standard error of the sample variance from the fourth central moment: sqrt((mu4 - var^2)/n)
    lam = intensity * DT_YEARS
    diffusion = vol**2 * DT_YEARS
    jump2, jump4 = m**2 + s**2, m**4 + 6 * m**2 * s**2 + 3 * s**4
    # cumulants of the compound Poisson part: k2 = lam E[J^2], k4 = lam E[J^4]; mu4 = k4 + 3 var^2
    mu4 = lam * jump4 + 3 * (diffusion + lam * jump2) ** 2
    assert abs(r.var(ddof=1) - var) < Z * math.sqrt((mu4 - var**2) / n)


def test_regime_switching_spends_the_stationary_share_of_days_in_bear():
    up, down, to_bear, to_bull = 2.0, -3.0, 8.0, 4.0
    btc = {
        "process": "regime_switching",
        "drift": up,
        "volatility": 0.0,
        "bear_drift": down,
        "bear_volatility": 0.0,
        "bull_to_bear_per_year": to_bear,
        "bear_to_bull_per_year": to_bull,
        **WIDE,
    }
    markets = make(btc_only(btc))
    markets.extend_to(N_STAT_DAYS)
    r = log_returns(markets.btc_price_usd[:N_STAT_DAYS])
    bear = np.isclose(r, down * DT_YEARS, rtol=1e-6)
    assert np.all(bear | np.isclose(r, up * DT_YEARS, rtol=1e-6))
    p_bear = 1 - math.exp(-to_bear * DT_YEARS)  # daily switch probabilities
    p_bull = 1 - math.exp(-to_bull * DT_YEARS)
    share = p_bear / (p_bear + p_bull)
    rho = 1 - p_bear - p_bull  # lag-1 autocorrelation of the regime indicator
    se = math.sqrt(share * (1 - share) / r.size * (1 + rho) / (1 - rho))
    assert abs(bear.mean() - share) < Z * se


def test_replay_follows_the_series_then_continues_from_its_last_price():
    drift = 0.5
    btc = {"process": "replay", "path_csv": "p.csv", "drift": drift, "volatility": 0.0}
    series = replay_series(days=150, first=dt.date(2024, 12, 1))
    series = series.drop(series.index[[40, 41, 42]])  # a gap after the start date
    markets = make(btc_only(btc), replay=series)
    markets.extend_to(400)
    prices = markets.btc_price_usd
    offset = (START - dt.date(2024, 12, 1)).days
    last_day = 149 - offset
    kept = [day for day in range(last_day + 1) if day + offset not in (40, 41, 42)]
    np.testing.assert_allclose(prices[kept], series.to_numpy()[offset:], rtol=1e-12)
    gap = prices[40 - offset - 1 : 43 - offset + 1]  # log-linear through the gap: constant ratio
    np.testing.assert_allclose(np.diff(np.log(gap)), np.log(gap[-1] / gap[0]) / 4, rtol=1e-9)
    after = np.arange(1, 200)
    np.testing.assert_allclose(
        prices[last_day + after], prices[last_day] * np.exp(drift * DT_YEARS * after), rtol=1e-9
    )


@pytest.mark.parametrize("first", [dt.date(2025, 1, 2), dt.date(2024, 1, 1)])
def test_replay_must_cover_the_start_date(first):
    btc = {"process": "replay", "path_csv": "p.csv"}
    with pytest.raises(ScenarioError, match=r"market\.btc\.path_csv"):
        make(btc_only(btc), replay=replay_series(days=100, first=first))


def test_piecewise_without_volatility_is_log_linear_and_flat_outside_the_points():
    points = [[dt.date(2025, 3, 1), 50_000.0], [dt.date(2025, 5, 10), 200_000.0]]
    btc = {"process": "piecewise", "volatility": 0.0, "points": points}
    markets = make(btc_only(btc))
    markets.extend_to(400)
    prices = markets.btc_price_usd
    first, last = (points[0][0] - START).days, (points[1][0] - START).days
    assert np.all(prices[: first + 1] == pytest.approx(50_000.0))
    assert np.all(prices[last:] == pytest.approx(200_000.0))
    middle = (first + last) // 2
    assert prices[middle] == pytest.approx(math.sqrt(50_000.0 * 200_000.0), rel=1e-12)
    assert np.all(np.diff(np.log(prices[first : last + 1])) == pytest.approx(math.log(4) / 70))


def test_piecewise_noise_has_the_stated_variance_around_the_points():
    vol = 0.6
    points = [[dt.date(2024, 1, 1), 80_000.0]]
    markets = make(btc_only({"process": "piecewise", "volatility": vol, "points": points, **WIDE}))
    markets.extend_to(N_STAT_DAYS)
    r = log_returns(markets.btc_price_usd[:N_STAT_DAYS])
    var = vol**2 * DT_YEARS
    assert abs(r.mean()) < Z * math.sqrt(var / r.size)
    assert abs(r.var(ddof=1) - var) < Z * var * math.sqrt(2 / (r.size - 1))
    assert markets.btc_price_usd[0] == pytest.approx(80_000.0)


def test_price_stays_within_floor_and_cap():
    btc = {"process": "gbm", "volatility": 3.0, "floor_usd": 50_000.0, "cap_usd": 200_000.0}
    markets = make(btc_only(btc))
    markets.extend_to(3000)
    prices = markets.btc_price_usd
    assert prices.min() == pytest.approx(50_000.0)  # both barriers are reached
    assert prices.max() == pytest.approx(200_000.0)
    assert np.all((prices >= 50_000.0) & (prices <= 200_000.0))


EXTREME = {
    "btc_up": {"process": "gbm", "drift": 5.0, "volatility": 5.0},
    "btc_down": {"process": "gbm", "drift": -5.0, "volatility": 5.0},
    "jumps": {
        "process": "jump_diffusion",
        "drift": 5.0,
        "volatility": 5.0,
        "jump_intensity": 365.0,
        "jump_mean": 5.0,
        "jump_std": 5.0,
    },
    "regimes": {
        "process": "regime_switching",
        "drift": 5.0,
        "volatility": 5.0,
        "bear_drift": -5.0,
        "bear_volatility": 5.0,
        "bull_to_bear_per_year": 365.0,
        "bear_to_bull_per_year": 365.0,
    },
    "piecewise": {
        "process": "piecewise",
        "volatility": 5.0,
        "points": [[dt.date(2025, 1, 1), 1.0], [dt.date(2026, 1, 1), 1e9]],
    },
}


@pytest.mark.parametrize("case", sorted(EXTREME))
def test_extreme_parameters_over_30_years_stay_finite(case):
    market = {
        "btc": EXTREME[case],
        "power": {
            "volatility": 5.0,
            "mean_reversion_per_year": 0.0,
            "spike_probability_per_day": 1.0,
            "spike_multiplier": 100.0,
            "shock_multiplier": 100.0,
            "base_usd_mwh": 10_000.0,
        },
        "ai": {"volatility": 5.0, "mean_reversion_per_year": 0.0, "lease_usd_per_mw_year": 1e8},
        "fees": {
            "mean_btc_per_block": 1000.0,
            "lumpiness": 5.0,
            "burst_probability": 1.0,
            "burst_btc": 10_000.0,
        },
        "rates": {"credit_close_drawdown": 0.0, "credit_reopen_drawdown": 0.0},
    }
    markets = make(market)
    markets.extend_to(366 * 30)
    cfg = markets.config.btc
    for name in ("btc_price_usd", "power_usd_mwh", "ai_lease_usd_per_mw_year"):
        assert np.all(np.isfinite(getattr(markets, name))), name
    assert np.all((markets.btc_price_usd >= cfg.floor_usd) & (markets.btc_price_usd <= cfg.cap_usd))
    fees = markets.draw_block_fees_sat(50_000, 366 * 30 - 1)
    assert fees.dtype == np.int64
    assert np.all((fees >= 0) & (fees <= MAX_BLOCK_FEES_SAT))


# ------------------------------------------------------------------ power and AI lease


def ar1_checks(log_factor: np.ndarray, reversion: float, vol: float) -> None:
    """OU log factor x_t = a x_{t-1} + e_t, a = exp(-kappa dt): the OLS slope is a (standard
    error sqrt((1 - a^2) / n)); stationary mean 0 and variance vol^2 / (2 kappa), with an
    effective sample size n (1 - a) / (1 + a) (conservative for the variance too)."""
    a = math.exp(-reversion * DT_YEARS)
    x, y = log_factor[:-1], log_factor[1:]
    slope = np.dot(x - x.mean(), y - y.mean()) / np.dot(x - x.mean(), x - x.mean())
    assert abs(slope - a) < Z * math.sqrt((1 - a**2) / x.size)
    stationary_var = vol**2 / (2 * reversion)
    n_effective = log_factor.size * (1 - a) / (1 + a)
    assert abs(log_factor.mean()) < Z * math.sqrt(stationary_var / n_effective)
    burn = log_factor[int(5 / (reversion * DT_YEARS)) :]  # after 5 relaxation times
    assert abs(burn.var() / stationary_var - 1) < Z * math.sqrt(2 / n_effective)


def test_power_log_price_reverts_to_base():
    base, reversion, vol, shock = 60.0, 40.0, 0.8, 1.5
    power = {
        "base_usd_mwh": base,
        "mean_reversion_per_year": reversion,
        "volatility": vol,
        "spike_probability_per_day": 0.0,
        "shock_multiplier": shock,
    }
    markets = make({"power": power})
    markets.extend_to(N_STAT_DAYS)
    log_factor = np.log(markets.power_usd_mwh[:N_STAT_DAYS] / (base * shock))
    assert log_factor[0] == pytest.approx(0.0)
    ar1_checks(log_factor, reversion, vol)


def test_ai_lease_log_rate_reverts_to_its_level():
    lease, reversion, vol = 2.0e6, 30.0, 0.5
    ai = {"lease_usd_per_mw_year": lease, "mean_reversion_per_year": reversion, "volatility": vol}
    markets = make({"ai": ai})
    markets.extend_to(N_STAT_DAYS)
    ar1_checks(np.log(markets.ai_lease_usd_per_mw_year[:N_STAT_DAYS] / lease), reversion, vol)
    assert make({"ai": {"enabled": False}}).ai_enabled is False


def test_power_spikes_hit_single_days_at_the_stated_rate():
    p, multiplier, base = 0.05, 4.0, 50.0
    power = {
        "base_usd_mwh": base,
        "volatility": 0.0,
        "spike_probability_per_day": p,
        "spike_multiplier": multiplier,
    }
    markets = make({"power": power})
    markets.extend_to(N_STAT_DAYS)
    prices = markets.power_usd_mwh[:N_STAT_DAYS]
    spike = np.isclose(prices, base * multiplier)
    assert np.all(spike | np.isclose(prices, base))
    assert abs(spike.mean() - p) < Z * math.sqrt(p * (1 - p) / prices.size)


def test_renewal_price_uses_the_trailing_30_day_market_mean():
    power = {"volatility": 0.5, "renewal_shock": 0.2}
    markets = make({"power": power})
    basis = np.array([1.0, 0.75])
    renewed = markets.renewal_price_usd_mwh(100, basis)
    expected = markets.power_usd_mwh[71:101].mean() * basis * 1.2
    np.testing.assert_allclose(renewed, expected)
    flat = make({"power": {"volatility": 0.0, "spike_probability_per_day": 0.0}})
    np.testing.assert_allclose(flat.renewal_price_usd_mwh(0, basis), 45.0 * basis)


# ------------------------------------------------------------------ rates and credit


def test_credit_windows_are_forced_closed_in_closed_periods():
    rates = {
        "credit_close_drawdown": 1.0,  # BTC never closes the window
        "closed_periods": [
            [dt.date(2025, 2, 1), dt.date(2025, 2, 10)],
            [dt.date(2024, 12, 20), dt.date(2025, 1, 3)],  # begins before the start date
        ],
    }
    markets = make({"btc": {"volatility": 2.0}, "rates": rates})
    markets.extend_to(100)
    is_open = markets.credit_open
    closed = np.zeros(is_open.size, dtype=bool)
    closed[0:3] = True  # 2025-01-01 to 2025-01-03
    closed[31:41] = True  # 2025-02-01 to 2025-02-10, both ends included
    np.testing.assert_array_equal(is_open, ~closed)


def _scripted_btc(points: list[tuple[int, float]]) -> dict:
    """A deterministic piecewise BTC path through (day offset from START, USD) points."""
    return {
        "process": "piecewise",
        "volatility": 0.0,
        "points": [[START + dt.timedelta(days=day), usd] for day, usd in points],
    }


def test_credit_window_closes_in_a_drawdown_and_reopens_with_hysteresis():
    # 100k flat to day 10, log-linear down to 40k on day 110, back to 100k on day 210. With a
    # 365-day window the trailing high stays 100k: the window closes on the first day BTC ends
    # more than 50% below it (below 50k) and reopens on the first day it is less than 30%
    # below it (above 70k), on the way up.
    btc = _scripted_btc([(10, 100_000.0), (110, 40_000.0), (210, 100_000.0)])
    markets = make({"btc": btc, "rates": {}})
    markets.extend_to(300)
    price = markets.btc_price_usd[:300]
    days = np.arange(300)
    closes = int(np.flatnonzero(price < 50_000.0)[0])
    reopens = int(np.flatnonzero((price > 70_000.0) & (days > closes))[0])
    expected = (days < closes) | (days >= reopens)
    np.testing.assert_array_equal(markets.credit_open[:300], expected)
    assert 10 < closes < 110 < reopens < 210


def test_credit_window_trailing_high_forgets_old_peaks():
    # A 60% fall closes the window; with a 30-day window the high falls with the price, so the
    # window reopens once the peak is 30 days old, although BTC never recovers.
    btc = _scripted_btc([(10, 100_000.0), (12, 40_000.0)])
    rates = {"credit_high_window_days": 30}
    markets = make({"btc": btc, "rates": rates})
    markets.extend_to(100)
    is_open = markets.credit_open[:100]
    assert is_open[:12].all() and not is_open[12]
    # Day 10 (100k) leaves the window on day 40, whose high is day 11's 63.2k (37% above 40k:
    # still closed); on day 41 the high is the flat 40k and the window reopens.
    assert not is_open[12:41].any() and is_open[41:].all()


def test_credit_window_follows_btc_only():
    """The window is a function of the BTC path: other processes and seeds of other streams do
    not move it, and its own parameters move no other path."""
    base = make({"btc": {"volatility": 1.0}, "rates": RATES})
    changed = make({"btc": {"volatility": 1.0}, "rates": {"credit_close_drawdown": 0.3}})
    for markets in (base, changed):
        markets.extend_to(800)
    assert not np.array_equal(base.credit_open, changed.credit_open)
    for name in ("btc_price_usd", "power_usd_mwh", "ai_lease_usd_per_mw_year"):
        np.testing.assert_array_equal(getattr(base, name), getattr(changed, name), err_msg=name)
    np.testing.assert_array_equal(
        base.draw_block_fees_sat(500, 0), changed.draw_block_fees_sat(500, 0)
    )


def test_credit_rule_on_btc_history_closes_in_the_documented_windows():
    """On the 2015-2021 BTC closes the default rule (50% below the 365-day high closes, within
    30% reopens) shuts credit exactly in the periods docs/architecture.md and the schema state."""
    from sim import history
    from sim.input.schema import RatesMarket
    from sim.markets import drawdown_windows, trailing_high

    rates = RatesMarket()
    prices = history.btc_price_usd()[: history.LAST_FITTING_DAY]
    close = prices.to_numpy()
    high = trailing_high(close, rates.credit_high_window_days, np.empty(0))
    is_open = pd.Series(
        drawdown_windows(
            1 - close / high, rates.credit_close_drawdown, rates.credit_reopen_drawdown, True
        ),
        index=prices.index,
    )
    change = is_open.astype(int).diff()
    closed_on = [d.date().isoformat() for d in is_open.index[change == -1]]
    reopened_on = [d.date().isoformat() for d in is_open.index[change == 1]]
    assert closed_on == ["2018-02-01", "2020-03-12", "2021-06-21"]
    assert reopened_on == ["2019-05-10", "2020-05-06", "2021-08-07"]


def test_spread_and_borrowing_rate_rise_with_clipped_leverage():
    rates = {"base_rate": 0.05, "spread_base": 0.02, "spread_per_leverage": 0.1}
    markets = make({"rates": rates})
    leverage = np.array([-1.0, 0.0, 0.5, 5.0, 50.0, np.inf, np.nan])
    spread = markets.credit_spread(leverage)
    np.testing.assert_allclose(spread, 0.02 + 0.1 * np.array([0, 0, 0.5, 5, 5, 5, 5]))
    np.testing.assert_allclose(markets.borrowing_rate(500, leverage), 0.05 + spread)
    assert markets.n_days >= 501
    assert np.all(markets.base_rate == 0.05)


# ------------------------------------------------------------------ fees


def test_fee_draws_have_the_expected_mean_and_are_whole_nonnegative_sat():
    fees = {
        "mean_btc_per_block": 0.036,
        "lumpiness": 1.0,
        "burst_probability": 0.002,
        "burst_btc": 2.0,
    }
    markets = make({"fees": fees})
    n = 400_000
    sat = markets.draw_block_fees_sat(n, 30)
    assert sat.dtype == np.int64 and np.all(sat >= 0)
    expected = markets.fee_btc_expected[30]
    assert expected == pytest.approx(0.036 + 0.002 * 2.0)
    # per-block variance: lognormal part m^2 (e^{s^2} - 1); burst part p 2 b^2 - (p b)^2
    variance = 0.036**2 * math.expm1(1.0) + 0.002 * 2 * 2.0**2 - (0.002 * 2.0) ** 2
    assert abs(sat.mean() / 1e8 - expected) < Z * math.sqrt(variance / n)


def test_bursts_occur_at_their_probability_with_their_mean_size():
    p, burst, mean = 0.01, 3.0, 0.05
    fees = {
        "mean_btc_per_block": mean,
        "lumpiness": 0.0,
        "burst_probability": p,
        "burst_btc": burst,
    }
    n = 200_000
    btc = make({"fees": fees}).draw_block_fees_sat(n, 0) / 1e8
    extra = btc[btc > mean + 1e-8] - mean  # an exponential burst is below 1 sat with prob ~ 3e-9
    assert abs(extra.size / n - p) < Z * math.sqrt(p * (1 - p) / n)
    assert abs(extra.mean() - burst) < Z * burst / math.sqrt(extra.size)  # exponential: sd = mean


def test_fees_without_lumpiness_or_bursts_are_the_mean():
    fees = {"mean_btc_per_block": 0.1, "lumpiness": 0.0, "burst_probability": 0.0}
    sat = make({"fees": fees}).draw_block_fees_sat(50, 0)
    np.testing.assert_array_equal(sat, np.full(50, 10_000_000))


def test_fee_draw_rejects_negative_arguments():
    markets = make({})
    with pytest.raises(ValueError):
        markets.draw_block_fees_sat(-1, 0)
    with pytest.raises(ValueError):
        markets.draw_block_fees_sat(1, -1)


# ----------------------------------------------------------------- ETH and SOL with BTC
ALT_MARKET = {
    "btc": {"process": "gbm", "drift": 0.1, "volatility": 0.5, **WIDE},
    "eth": {"initial_usd": 3000.0, "drift": -0.1, "volatility": 0.7, "correlation_btc": 0.8},
    "sol": {
        "initial_usd": 200.0,
        "volatility": 0.9,
        "correlation_btc": 0.6,
        "correlation_eth": 0.75,
    },
}


def test_eth_and_sol_have_their_volatility_and_correlations():
    """Sample variance of daily log returns within 5 standard errors (sigma^2 dt sqrt(2/n)) and
    sample correlations within 5 x (1 - rho^2) / sqrt(n) of the calibration targets."""
    markets = make(ALT_MARKET, seed=11)
    markets.extend_to(N_STAT_DAYS)
    btc, eth, sol = (
        log_returns(getattr(markets, f"{name}_price_usd")[:N_STAT_DAYS])
        for name in ("btc", "eth", "sol")
    )
    n = eth.size
    for returns, cfg in ((eth, ALT_MARKET["eth"]), (sol, ALT_MARKET["sol"])):
        target = cfg["volatility"] ** 2 * DT_YEARS
        assert abs(returns.var() - target) < Z * target * math.sqrt(2 / n)
        assert abs(returns.mean() - cfg.get("drift", 0.0) * DT_YEARS) < Z * math.sqrt(target / n)
    for a, b, rho in (
        (btc, eth, 0.8),
        (btc, sol, 0.6),
        (eth, sol, 0.75),
    ):
        assert abs(np.corrcoef(a, b)[0, 1] - rho) < Z * (1 - rho**2) / math.sqrt(n)


def test_eth_and_sol_start_at_their_initial_prices_and_are_reproducible():
    first, second = make(ALT_MARKET, seed=4), make(ALT_MARKET, seed=4)
    first.extend_to(500)
    second.extend_to(500)
    assert first.eth_price_usd[0] == pytest.approx(3000.0, rel=1e-12)
    assert first.sol_price_usd[0] == pytest.approx(200.0, rel=1e-12)
    np.testing.assert_array_equal(first.eth_price_usd, second.eth_price_usd)
    np.testing.assert_array_equal(first.sol_price_usd, second.sol_price_usd)
    other = make(ALT_MARKET, seed=5)
    other.extend_to(500)
    assert not np.array_equal(first.eth_price_usd, other.eth_price_usd)


def test_eth_and_sol_parameters_leave_every_other_path_unchanged():
    """ETH and SOL draw from new child streams: BTC (and all else) is the path it was without
    them, whatever their parameters."""
    changed = {
        **ALT_MARKET,
        "eth": {**ALT_MARKET["eth"], "volatility": 2.0, "correlation_btc": -0.3},
        "sol": {**ALT_MARKET["sol"], "correlation_btc": 0.0, "correlation_eth": 0.0},
    }
    base, other = make(ALT_MARKET, seed=3), make(changed, seed=3)
    base.extend_to(1000)
    other.extend_to(1000)
    for name in PATHS:
        if name not in ("eth_price_usd", "sol_price_usd"):
            np.testing.assert_array_equal(getattr(base, name), getattr(other, name))
    assert not np.array_equal(base.eth_price_usd, other.eth_price_usd)


def test_btc_jumps_pass_to_eth_scaled_by_relative_volatility():
    """With uncorrelated shocks, ETH still moves with BTC on BTC's jump days: by the jump x
    volatility ratio (here 2), so ETH's return minus twice BTC's has no jump component left."""
    market = {
        "btc": {
            "process": "jump_diffusion",
            "volatility": 0.3,
            "jump_intensity": 20.0,
            "jump_mean": 0.0,  # symmetric: ETH (2x the jumps) stays far from its numerical bounds
            "jump_std": 0.2,
            **WIDE,
        },
        "eth": {"initial_usd": 1000.0, "volatility": 0.6, "correlation_btc": 0.0},
        "sol": {
            "initial_usd": 100.0,
            "volatility": 0.9,
            "correlation_btc": 0.0,
            "correlation_eth": 0.0,
        },
    }
    markets = make(market, seed=8)
    markets.extend_to(N_STAT_DAYS)
    btc = log_returns(markets.btc_price_usd[:N_STAT_DAYS])
    eth = log_returns(markets.eth_price_usd[:N_STAT_DAYS])
    assert np.corrcoef(btc, eth)[0, 1] > 0.3  # the jumps alone correlate them
    big = np.abs(btc) > 0.15  # jump days (a 0.3-vol diffusion day is 0.016 sd)
    assert big.sum() > 100
    residual = eth[big] - 2.0 * btc[big]
    diffusion_sd = math.sqrt((0.6**2 + 4 * 0.3**2) * DT_YEARS)
    assert np.abs(residual).max() < 6 * diffusion_sd


def test_inconsistent_treasury_correlations_are_rejected():
    with pytest.raises(ValueError, match="inconsistent"):
        Market.model_validate(
            {
                "eth": {"correlation_btc": 0.9},
                "sol": {"correlation_btc": 0.9, "correlation_eth": -0.9},
            }
        )
