"""A Prat & Walter-style free-entry benchmark for the network's hashrate, month by month.

Free entry sets a long-run hashrate at which revenue covers the cost of hashing: revenue per
block in USD (BTC price P x block subsidy R) over the energy per hash of the best machine on
sale (frontier efficiency e, J/TH). Entry is irreversible and takes time, so hashrate moves
towards that level with partial adjustment, and responds to revenue with a lag::

    log H*_t = a + b log(P_{t-L} R_{t-L}) - log e_t
    log H_t  = log H_{t-1} + lam (log H*_t - log H_{t-1})
    D_t      = H_t x 600 s / 2**32                      (H in hashes per second)

Four parameters: the level ``a``, the revenue elasticity ``b``, the monthly adjustment speed
``lam`` and the lag ``L`` in months. Outages (China's 2021 ban, the same dates and shares as the
agent-based model's ``history_2016`` scenario: :mod:`sim.outages`) switch off a share of the
month's hashrate, and the share lost for good leaves the level it adjusts from (nothing about
them is fitted). ``P`` is the monthly geometric mean of the daily BTC close,
``R`` the day-weighted mean subsidy of the month, ``e`` the monthly geometric mean of CBECI's lower
bound (the best machine on sale) to 2021-12 and, after it, a rule (:func:`frontier_jth`):
``"catalogue"`` (default: sim.hardware's ASIC catalogue, the frontier the agent-based model's
entrants buy) or ``"trend"`` (CBECI's 2016-2021 log-linear trend, extrapolated). Fees are left
out (a few % of revenue to 2021: ``a`` absorbs their mean). The 2016/2015 retarget factor (a
0.05% higher difficulty) is absorbed by ``a`` too.

It is fitted like the agent-based model (docs/calibration.md): simulated forward from the
observed state of the month before the window, it minimises the squared error of monthly log
difficulty on 2016-01 .. 2021-12 (:func:`scipy.optimize.least_squares` for ``a, b, lam`` at each
lag ``L = 0..12``, the best lag kept), and is checked on 2020-01 .. 2021-12 from the observed
2019-12 state (a rolling origin, in sample). A fit reads no data after :data:`sim.history.LAST_FITTING_DAY`.
:func:`difficulty_path` drives it forward with the real BTC price from any start date (the
2022-2025 backtest) with the committed parameters (``scenarios/calibration/benchmark.fit.toml``,
written by ``python -m sim.calibration.benchmark --write``).

Halvings: blocks 420,000 on 2016-07-09 and 630,000 on 2020-05-11 (cal §3.2); later ones are
placed 210,000 x 600 s (1,458.3 days) after the previous (the schedule at target spacing, using
no post-2021 data: 2024-05-09 for block 840,000, against the real 2024-04-20).
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import consensus
from sim import history as sim_history
from sim.calibration.moments import HISTORY_HALVINGS, Window
from sim.errors import MinersimError
from sim.paths import SCENARIOS_DIR
from sim.units import DAY_S, HASHES_PER_DIFFICULTY

#: The committed fit (``python -m sim.calibration.benchmark --write``).
FIT_FILE = SCENARIOS_DIR / "calibration" / "benchmark.fit.toml"
FIT_WINDOW = Window("2016-01-01", "2021-12-31")
#: The rolling-origin check: the fitted parameters run again from the observed 2019-12 state.
VALIDATION_WINDOW = Window("2020-01-01", "2021-12-31")
#: The scenario whose outages (China's 2021 ban) the benchmark applies, as the ABM does.
OUTAGE_SCENARIO = "history_2016"
MAX_LAG_MONTHS = 12
FRONTIER_RULES = ("catalogue", "trend")
#: log of the difficulty of 1 EH/s at 600 s blocks: log D = log H[EH/s] + LOG_DIFFICULTY_PER_EHS.
LOG_DIFFICULTY_PER_EHS = math.log(1e18 * consensus.TARGET_SPACING / HASHES_PER_DIFFICULTY)
#: Days between halvings at 600 s blocks (210,000 x 600 s).
HALVING_DAYS = consensus.HALVING_INTERVAL * consensus.TARGET_SPACING / DAY_S
#: First day of the price series: no month before it can be an input.
FIRST_PRICE_DAY = pd.Timestamp("2015-01-01")


@dataclass(frozen=True)
class BenchmarkParams:
    """``a`` (log EH/s at unit revenue/efficiency), ``b`` (revenue elasticity), ``lam`` (share of
    the gap to the long-run level closed per month), ``lag_months`` (revenue lag ``L``)."""

    a: float
    b: float
    lam: float
    lag_months: int


@dataclass(frozen=True)
class BenchmarkFit:
    """A fitted benchmark and how it does in and out of sample (log points)."""

    params: BenchmarkParams
    fit_window: tuple[str, str]
    validation_window: tuple[str, str] | None
    rmse_fit: float
    rmse_validation: float | None
    bias_fit: float
    bias_validation: float | None
    lag_profile: dict[int, float]  # L -> in-sample RMSE with a, b, lam refitted at that L
    frontier: str


# --------------------------------------------------------------------------------------------
# Inputs


def subsidy_btc(days: pd.DatetimeIndex) -> np.ndarray:
    """Block subsidy (BTC) on each day: history's halving dates, then one every HALVING_DAYS."""
    heights = sorted(HISTORY_HALVINGS)
    dates = [HISTORY_HALVINGS[h] for h in heights]
    while dates[-1] <= days.max():
        heights.append(heights[-1] + consensus.HALVING_INTERVAL)
        dates.append(dates[-1] + pd.Timedelta(days=HALVING_DAYS))
    first = heights[0] - consensus.HALVING_INTERVAL  # in force before the first listed date
    starts = np.array([np.datetime64("1970-01-01"), *[np.datetime64(d) for d in dates]])
    era = np.searchsorted(starts, days.to_numpy(), side="right") - 1
    sat = [consensus.block_subsidy(h) for h in [first, *heights]]
    return np.array(sat, dtype=float)[era] / consensus.COIN


def frontier_jth(days: pd.DatetimeIndex, rule: str = "catalogue") -> np.ndarray:
    """Best J/TH on sale each day: CBECI's lower bound to 2021-12-31, then ``rule``.

    ``"catalogue"``: :class:`sim.hardware.HardwareMarket`'s frontier (the ASIC catalogue, and
    its default improvement after the last release); ``"trend"``: CBECI's monthly lower bound
    2016-01 .. 2021-12 fitted log-linearly in time, continued from its 2021-12-31 value.
    """
    if rule not in FRONTIER_RULES:
        raise MinersimError(f"frontier rule must be one of {', '.join(FRONTIER_RULES)}: {rule!r}")
    observed = sim_history.efficiency_jth("lower")
    last = observed.index.max()
    out = np.array(observed.reindex(days), dtype=float)
    later = days > last
    if later.any():
        since = np.asarray((days[later] - last).days, dtype=float)
        if rule == "catalogue":
            from sim.hardware import HardwareMarket
            from sim.input.schema import Hardware

            market = HardwareMarket(Hardware(), (last + pd.Timedelta(days=1)).date())
            out[later] = market.frontier_jth(since - 1)
        else:
            out[later] = observed.loc[last] * np.exp(_cbeci_trend_per_day() * since)
    if np.isnan(out).any():
        raise MinersimError(f"no frontier efficiency before {observed.index.min().date()}")
    return out


def _cbeci_trend_per_day() -> float:
    """Slope of log CBECI lower bound per day, fitted on the months 2016-01 .. 2021-12."""
    monthly = sim_history.monthly_log_mean(sim_history.efficiency_jth("lower")).loc["2016-01-01":]
    days = np.asarray((monthly.index - monthly.index[0]).days, dtype=float)
    return float(np.polyfit(days, monthly.to_numpy(), 1)[0])


def outage_factors(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Each day's share of the network's hashrate online (1 - the outage's share off, as if the
    whole network were exposed) and the share lost for good that day (on each outage's
    ``return_end``), from OUTAGE_SCENARIO's outages."""
    from sim.input.scenario import load_scenario
    from sim.outages import OutageDays

    config = load_scenario(OUTAGE_SCENARIO).config
    first = days[0].date()
    day = np.asarray((days - days[0]).days, dtype=float)
    online, lost = np.ones(day.size), np.zeros(day.size)
    for outage in config.fringe.outages:
        o = OutageDays.of(outage, first)
        online *= 1.0 - np.array([o.offline_share(d) for d in day])
        lost[day == o.return_end] = o.lost_share
    return online, lost


def monthly_inputs(
    first_month: pd.Timestamp,
    last_month: pd.Timestamp,
    frontier: str = "catalogue",
    price: pd.Series | None = None,
) -> pd.DataFrame:
    """Monthly ``log_revenue`` (log of P x R, USD per block), ``log_efficiency`` (log J/TH),
    ``log_online`` (mean log share of the hashrate an outage leaves on) and ``log_kept`` (log of
    the share an outage's permanent loss keeps) for the months ``first_month .. last_month``
    (month starts).

    ``price``: daily BTC close (default: the history file, 2015-01-01 .. 2026-02-13).
    """
    price = sim_history.btc_price_usd() if price is None else price
    days = pd.date_range(first_month, last_month + pd.offsets.MonthEnd(0), freq="D", name="date")
    if days[0] < price.index.min() or days[-1] > price.index.max():
        raise MinersimError(
            f"the BTC price series covers {price.index.min().date()} to "
            f"{price.index.max().date()}; the benchmark needs {days[0].date()} to {days[-1].date()}"
        )
    online, lost = outage_factors(days)
    daily = pd.DataFrame(
        {
            "log_revenue": np.log(price.reindex(days).ffill().to_numpy() * subsidy_btc(days)),
            "log_efficiency": np.log(frontier_jth(days, frontier)),
            "log_online": np.log(online),
            "log_kept": np.log1p(-lost),
        },
        index=days,
    )
    monthly = daily.groupby(days.to_period("M")).agg(
        {"log_revenue": "mean", "log_efficiency": "mean", "log_online": "mean", "log_kept": "sum"}
    )
    monthly.index = monthly.index.to_timestamp()
    monthly.index.name = "date"
    return monthly


def history_data(end: object, frontier: str = "catalogue") -> pd.DataFrame:
    """The monthly data a fit uses, from 2015-01 to ``end``'s month, read only up to ``end``
    (an error after LAST_FITTING_DAY): the inputs and the observed ``log_difficulty``."""
    end = sim_history.check_fitting_day(end, "the benchmark's data")
    price = sim_history.for_fitting(sim_history.btc_price_usd(), end)
    last_month = end.to_period("M").to_timestamp()
    data = monthly_inputs(FIRST_PRICE_DAY, last_month, frontier, price=price)
    observed = sim_history.for_fitting(sim_history.difficulty(), end)
    data["log_difficulty"] = sim_history.monthly_log_mean(observed).reindex(data.index)
    return data


# --------------------------------------------------------------------------------------------
# The model


def simulate(
    params: BenchmarkParams, data: pd.DataFrame, months: pd.DatetimeIndex, log_h0: float
) -> np.ndarray:
    """log EH/s on ``months`` (consecutive month starts), from ``log_h0`` the month before.

    ``data`` holds ``log_revenue`` and ``log_efficiency`` on a monthly index covering
    ``months`` and the ``lag_months`` before them.
    """
    revenue, efficiency, online, kept = _aligned_inputs(data, months, params.lag_months)
    return _path(params.a, params.b, params.lam, revenue, efficiency, log_h0, online, kept)


def _aligned_inputs(
    data: pd.DataFrame, months: pd.DatetimeIndex, lag: int
) -> tuple[np.ndarray, ...]:
    """log revenue ``lag`` months before each month; log efficiency, log online share and log
    kept share (outages) of the month."""
    position = data.index.get_indexer(months)
    if (position < 0).any() or position[0] - lag < 0:
        raise MinersimError(
            f"the benchmark needs inputs from {months[0] - pd.DateOffset(months=lag):%Y-%m} to "
            f"{months[-1]:%Y-%m}"
        )

    def outage(column: str) -> np.ndarray:  # data without outage columns had none
        return data[column].to_numpy()[position] if column in data else np.zeros(position.size)

    return (
        data["log_revenue"].to_numpy()[position - lag],
        data["log_efficiency"].to_numpy()[position],
        outage("log_online"),
        outage("log_kept"),
    )


def _path(
    a: float,
    b: float,
    lam: float,
    revenue: np.ndarray,
    efficiency: np.ndarray,
    log_h0: float,
    online: np.ndarray,
    kept: np.ndarray,
) -> np.ndarray:
    """Partial adjustment of log H towards ``a + b revenue - efficiency``, from ``log_h0``; an
    outage's permanent loss (``kept``, log) moves the level, its share off (``online``, log)
    only the month's hashrate."""
    target = a + b * revenue - efficiency
    path = np.empty(len(target))
    level = log_h0
    for t, goal in enumerate(target):
        level += kept[t]
        level += lam * (goal - level)
        path[t] = level + online[t]
    return path


def _start_level(data: pd.DataFrame, window: Window) -> float:
    """Observed log EH/s of the month before the window (the state a path starts from)."""
    before = window.months[0] - pd.offsets.MonthBegin(1)
    value = data["log_difficulty"].get(before, np.nan)
    if not np.isfinite(value):
        raise MinersimError(f"no observed difficulty for {before:%Y-%m}, the month before {window}")
    return float(value) - LOG_DIFFICULTY_PER_EHS


def residuals(params: BenchmarkParams, data: pd.DataFrame, window: Window) -> np.ndarray:
    """Simulated minus observed monthly log difficulty on the window's months."""
    months = window.months
    path = simulate(params, data, months, _start_level(data, window)) + LOG_DIFFICULTY_PER_EHS
    observed = data["log_difficulty"].reindex(months).to_numpy()
    if np.isnan(observed).any():
        raise MinersimError(f"observed difficulty missing in {window}")
    return path - observed


# --------------------------------------------------------------------------------------------
# Fitting


def fit(
    fit_window: Window = FIT_WINDOW,
    validation_window: Window | None = VALIDATION_WINDOW,
    *,
    data: pd.DataFrame | None = None,
    max_lag: int = MAX_LAG_MONTHS,
    frontier: str = "catalogue",
) -> BenchmarkFit:
    """Fit ``a, b, lam`` by least squares at every lag ``0..max_lag`` and keep the best lag.

    ``data``: monthly ``log_revenue``, ``log_efficiency``, ``log_difficulty`` (default:
    :func:`history_data` up to the last window's end, never past LAST_FITTING_DAY).
    """
    for window in (fit_window, validation_window):
        if window is not None:
            sim_history.check_fitting_day(window.end, f"the benchmark's window {window}")
    if data is None:
        end = (validation_window or fit_window).end
        data = history_data(end, frontier)
    profile = {lag: _fit_at_lag(data, fit_window, lag) for lag in range(max_lag + 1)}
    lag = min(profile, key=lambda k: (profile[k][1], k))
    params = profile[lag][0]
    inside = residuals(params, data, fit_window)
    outside = residuals(params, data, validation_window) if validation_window else None
    return BenchmarkFit(
        params=params,
        fit_window=_dates(fit_window),
        validation_window=_dates(validation_window) if validation_window else None,
        rmse_fit=_rmse(inside),
        rmse_validation=_rmse(outside) if outside is not None else None,
        bias_fit=float(inside.mean()),
        bias_validation=float(outside.mean()) if outside is not None else None,
        lag_profile={k: _rmse_of_cost(v[1], len(inside)) for k, v in profile.items()},
        frontier=frontier,
    )


#: Starting points of the local least-squares search (lam, b); ``a`` starts where the mean
#: long-run level matches the data.
STARTS = tuple((lam, b) for lam in (0.05, 0.2, 0.5, 0.9) for b in (0.4, 1.0))


def _fit_at_lag(data: pd.DataFrame, window: Window, lag: int) -> tuple[BenchmarkParams, float]:
    """Best (params, sum of squared residuals) at one lag over STARTS."""
    from scipy.optimize import least_squares

    months = window.months
    revenue, efficiency, online, kept = _aligned_inputs(data, months, lag)
    observed = data["log_difficulty"].reindex(months).to_numpy() - LOG_DIFFICULTY_PER_EHS
    log_h0 = _start_level(data, window)

    def cost_vector(x: np.ndarray) -> np.ndarray:
        return _path(x[0], x[1], x[2], revenue, efficiency, log_h0, online, kept) - observed

    best = None
    for lam, b in STARTS:
        a0 = float(np.mean(observed + efficiency - b * revenue))
        found = least_squares(
            cost_vector,
            x0=[a0, b, lam],
            bounds=([-np.inf, 0.0, 1e-3], [np.inf, 5.0, 1.0]),
            x_scale=[1.0, 0.1, 0.1],
            xtol=1e-12,
            ftol=1e-12,
            gtol=1e-12,
        )
        ssr = float(np.sum(found.fun**2))
        if best is None or ssr < best[1] - 1e-12:
            best = (BenchmarkParams(*map(float, found.x), lag), ssr)
    return best


def _rmse(errors: np.ndarray) -> float:
    return float(np.sqrt(np.mean(errors**2)))


def _rmse_of_cost(ssr: float, n: int) -> float:
    return math.sqrt(ssr / n)


def _dates(window: Window) -> tuple[str, str]:
    return (str(window.start.date()), str(window.end.date()))


# --------------------------------------------------------------------------------------------
# Using a fit


def load_fit(path: str | Path = FIT_FILE) -> BenchmarkParams:
    """The committed benchmark parameters (``[benchmark]`` of the fit file)."""
    try:
        table = tomllib.loads(Path(path).read_text())["benchmark"]
        return BenchmarkParams(
            float(table["a"]), float(table["b"]), float(table["lam"]), int(table["lag_months"])
        )
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise MinersimError(f"cannot read the benchmark fit {path}: {exc}") from None


def fit_summary(path: str | Path = FIT_FILE) -> dict:
    """The ``[fit]`` statistics of the committed fit file (windows, RMSEs, lag profile)."""
    try:
        return tomllib.loads(Path(path).read_text())["fit"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise MinersimError(f"cannot read the benchmark fit {path}: {exc}") from None


def difficulty_path(
    start: object,
    end: object,
    params: BenchmarkParams | None = None,
    *,
    initial_difficulty: float | None = None,
    frontier: str = "catalogue",
    price: pd.Series | None = None,
) -> pd.Series:
    """Monthly difficulty (mean of the month, log-averaged) from ``start``'s month to ``end``'s.

    The path starts from ``initial_difficulty``, the difficulty of the month before ``start``
    (default: the observed monthly mean, available to 2021-12), and is driven by the real BTC
    price (or ``price``, daily USD). ``params`` default to the committed fit (:func:`load_fit`).
    For the backtest: ``difficulty_path("2022-01-01", "2025-12-31")``.
    """
    params = params or load_fit()
    first = pd.Timestamp(start).to_period("M").to_timestamp()
    last = pd.Timestamp(end).to_period("M").to_timestamp()
    if last < first:
        raise MinersimError(f"end {end} is before start {start}")
    months = pd.date_range(first, last, freq="MS", name="date")
    if initial_difficulty is None:
        before = first - pd.offsets.MonthBegin(1)
        observed = sim_history.monthly_log_mean(sim_history.difficulty())
        if before not in observed.index:
            raise MinersimError(
                f"no observed difficulty for {before:%Y-%m}: pass initial_difficulty"
            )
        log_d0 = float(observed.loc[before])
    else:
        log_d0 = math.log(initial_difficulty)
    inputs_from = max(first - pd.DateOffset(months=params.lag_months), FIRST_PRICE_DAY)
    data = monthly_inputs(inputs_from, last, frontier, price=price)
    log_h = simulate(params, data, months, log_d0 - LOG_DIFFICULTY_PER_EHS)
    return pd.Series(np.exp(log_h + LOG_DIFFICULTY_PER_EHS), index=months, name="difficulty")


def hashrate_ehs(difficulty: pd.Series | np.ndarray) -> np.ndarray:
    """EH/s of a difficulty at 600 s blocks (the benchmark's identity, inverted)."""
    return np.exp(np.log(np.asarray(difficulty, dtype=float)) - LOG_DIFFICULTY_PER_EHS)


# --------------------------------------------------------------------------------------------
# The committed fit file


def fit_text(result: BenchmarkFit) -> str:
    """The fit file: a comment block, ``[benchmark]`` (the parameters) and ``[fit]``."""
    import tomli_w

    p = result.params
    header = [
        "# Prat & Walter-style free-entry benchmark (sim/calibration/benchmark.py), fitted by",
        "# `python -m sim.calibration.benchmark --write`: least squares on monthly log difficulty,",
        f"# fit {result.fit_window[0]}..{result.fit_window[1]}, rolling-origin check "
        f"{result.validation_window[0]}..{result.validation_window[1]} (no data after "
        f"{sim_history.LAST_FITTING_DAY.date()}); frontier after 2021: {result.frontier}.",
        f"# log H* = {p.a:.4f} + {p.b:.4f} log(P x R lagged {p.lag_months} months) - log e;",
        f"# {p.lam:.4f} of the gap to H* closes each month (half-life "
        f"{_half_life(p.lam):.1f} months).",
        f"# RMSE of monthly log difficulty: {result.rmse_fit:.4f} in sample, "
        f"{result.rmse_validation:.4f} from the 2020-01 origin. Do not edit by hand.",
        "",
    ]
    body = {
        "benchmark": {k: v for k, v in asdict(p).items()} | {"frontier": result.frontier},
        "fit": {
            "fit_window": list(result.fit_window),
            "validation_window": list(result.validation_window or ()),
            "rmse_fit": result.rmse_fit,
            "rmse_validation": result.rmse_validation,
            "bias_fit": result.bias_fit,
            "bias_validation": result.bias_validation,
            "lag_profile_rmse": {str(k): v for k, v in result.lag_profile.items()},
        },
    }
    return "\n".join(header) + "\n" + tomli_w.dumps(body)


def _half_life(lam: float) -> float:
    return math.log(0.5) / math.log1p(-lam) if lam < 1 else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.calibration.benchmark",
        description="Fit the free-entry benchmark to history.",
    )
    parser.add_argument("--frontier", choices=FRONTIER_RULES, default="catalogue")
    parser.add_argument("--write", action="store_true", help=f"write {FIT_FILE.name}")
    args = parser.parse_args(argv)
    result = fit(frontier=args.frontier)
    p = result.params
    print(
        f"a = {p.a:.4f}, b = {p.b:.4f}, lam = {p.lam:.4f} (half-life "
        f"{_half_life(p.lam):.1f} months), L = {p.lag_months} months\n"
        f"RMSE of monthly log difficulty: {result.rmse_fit:.4f} in sample "
        f"{result.fit_window}, {result.rmse_validation:.4f} on validation "
        f"{result.validation_window}\n"
        "lag profile (in-sample RMSE): "
        + ", ".join(f"L={k}: {v:.4f}" for k, v in result.lag_profile.items())
    )
    if args.write:
        FIT_FILE.parent.mkdir(parents=True, exist_ok=True)
        FIT_FILE.write_text(fit_text(result))
        print(f"wrote {FIT_FILE}")
    return 0


__all__ = [
    "BenchmarkFit",
    "BenchmarkParams",
    "difficulty_path",
    "fit",
    "fit_summary",
    "frontier_jth",
    "load_fit",
    "simulate",
]

if __name__ == "__main__":
    sys.exit(main())
