"""Moments of difficulty paths, simulated or historical: what a calibration compares.

- the difficulty in effect on each day of a run, read from its epoch table;
- monthly log difficulty: :func:`sim.history.monthly_log_mean` of a daily difficulty series (the
  same function for a run and for history, so both sides are averaged alike);
- the halving response of data/sources.md §4.1: the peak of the 14 days before the halving ->
  the trough within 150 days after -> the first day back above the peak;
- the machines the factories shipped in each period of ``data/asic_market_mw.csv`` (MW; the
  data are bands, data/sources.md §6.6).

A :class:`Moments` holds these for one window; :func:`run_moments` computes them for one run,
:func:`history_moments` for history (never past :data:`sim.history.LAST_FITTING_DAY`), and
:func:`mean_moments` averages runs (simulated method of moments compares the mean over runs with
the data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim import consensus
from sim import history as sim_history
from sim.errors import MinersimError
from sim.units import YEAR_DAYS

#: Halvings in the history files: block height -> date (cal §3.2).
HISTORY_HALVINGS = {420_000: pd.Timestamp("2016-07-09"), 630_000: pd.Timestamp("2020-05-11")}
#: §4.1's method: the peak is the highest value of the days [-14, 0] around the halving ...
PEAK_DAYS_BEFORE = 14
#: ... and the trough the lowest of the days (0, 150].
TROUGH_DAYS_AFTER = 150
DAY = pd.Timedelta(days=1)


# --------------------------------------------------------------------------------------------
# Reading a run's epoch table


def difficulty_in_effect(
    epochs: pd.DataFrame, grid: pd.DatetimeIndex, initial: float
) -> np.ndarray:
    """Difficulty that applies on each grid date: an epoch's retarget (its ``difficulty``) from
    the day of its last block on; ``initial`` before the first retarget."""
    ends = pd.DatetimeIndex(epochs["date"]).to_numpy()
    applied = np.searchsorted(ends, grid.to_numpy(), side="right") - 1
    values = epochs["difficulty"].to_numpy()
    return np.where(applied >= 0, values[np.maximum(applied, 0)], initial)


def halving_epoch(epochs: pd.DataFrame, height: int) -> int | None:
    """Row of the epoch that mines block ``height`` (None if the run ends before it)."""
    after = np.flatnonzero(epochs["height"].to_numpy() > height)
    return int(after[0]) if len(after) and after[0] > 0 else None


def halving_date(epochs: pd.DataFrame, height: int) -> pd.Timestamp | None:
    """Day block ``height`` is mined, interpolated within its epoch (None if not reached)."""
    k = halving_epoch(epochs, height)
    if k is None:
        return None
    first = epochs["height"].iloc[k - 1]
    fraction = (height - first) / consensus.RETARGET_INTERVAL
    start = pd.Timestamp(epochs["date"].iloc[k - 1])
    return (start + fraction * epochs["epoch_days"].iloc[k] * DAY).normalize()


def produced_mw(epochs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """MW of machines the run's factories produced over the days ``start`` .. ``end`` (inclusive):
    the cumulative ``machines_produced_mw``, 0 on the run's first day, read linearly between
    epoch ends."""
    ends = pd.DatetimeIndex(epochs["date"])
    first = ends[0] - epochs["epoch_days"].iloc[0] * DAY
    days = np.concatenate([[0.0], (ends - first) / DAY])
    made = np.concatenate([[0.0], epochs["machines_produced_mw"].to_numpy()])
    at = np.interp([(start - first) / DAY, (end + DAY - first) / DAY], days, made)
    return float(at[1] - at[0])


def daily_difficulty(
    epochs: pd.DataFrame, initial: float, start: pd.Timestamp, end: pd.Timestamp
) -> pd.Series:
    """The difficulty in effect on every day from ``start`` to ``end`` (a daily Series)."""
    days = pd.date_range(start, end, freq="D", name="date")
    return pd.Series(difficulty_in_effect(epochs, days, initial), index=days, name="difficulty")


# --------------------------------------------------------------------------------------------
# Halving responses


def drawdown_recovery(days: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Peak (14 d before) -> trough (150 d after) -> first day back above the peak.

    ``days`` are days since the halving (one value a day). The recovery day is NaN if the series
    has not come back above the peak by its end.
    """
    pre = (days >= -PEAK_DAYS_BEFORE) & (days <= 0)
    post = (days > 0) & (days <= TROUGH_DAYS_AFTER) & np.isfinite(values)
    if not pre.any() or not post.any():
        return {"drawdown_pct": np.nan, "trough_day": np.nan, "recovery_day": np.nan}
    peak = np.nanmax(values[pre])
    trough_at = np.flatnonzero(post)[np.argmin(values[post])]
    back = np.flatnonzero((days > days[trough_at]) & (values > peak))
    return {
        "drawdown_pct": 100 * (values[trough_at] / peak - 1),
        "trough_day": float(days[trough_at]),
        "recovery_day": float(days[back[0]]) if len(back) else np.nan,
    }


@dataclass(frozen=True)
class HalvingResponse:
    """One halving's difficulty response: ``drawdown`` = log(trough / peak) (log points, <= 0)
    and ``recovery_days`` from the halving back above the peak; a series that has not recovered
    by the end of the window is *censored*: its recovery counts as the days left in the window."""

    drawdown: float
    recovery_days: float
    censored: bool

    @property
    def drawdown_pct(self) -> float:
        return 100 * math.expm1(self.drawdown)


def halving_response(daily: pd.Series, halving: pd.Timestamp) -> HalvingResponse:
    """§4.1's response of a daily difficulty series (it ends where the window ends)."""
    days = np.asarray((daily.index - halving).days)
    found = drawdown_recovery(days, daily.to_numpy(dtype=float))
    left = float(days[-1]) if len(days) else 0.0
    censored = not np.isfinite(found["recovery_day"])
    return HalvingResponse(
        drawdown=math.log1p(found["drawdown_pct"] / 100),
        recovery_days=left if censored else found["recovery_day"],
        censored=censored,
    )


# --------------------------------------------------------------------------------------------
# Windows and moments


@dataclass(frozen=True)
class Window:
    """A date range [start, end] (inclusive). Its moments use the calendar months inside it."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", pd.Timestamp(self.start))
        object.__setattr__(self, "end", pd.Timestamp(self.end))
        if self.end <= self.start:
            raise MinersimError(f"window end {self.end.date()} is not after {self.start.date()}")
        if len(self.months) == 0:
            raise MinersimError(
                f"window {self} holds no whole calendar month: monthly moments need one"
            )

    @property
    def months(self) -> pd.DatetimeIndex:
        """First days of the calendar months that lie wholly inside the window."""
        first = self.start if self.start.day == 1 else self.start + pd.offsets.MonthBegin(1)
        last = (self.end + DAY).to_period("M").to_timestamp() - pd.offsets.MonthBegin(1)
        return pd.date_range(first, last, freq="MS", name="date")

    def halvings(self) -> dict[int, pd.Timestamp]:
        """History's halvings whose §4.1 response fits in the window (14 days before, 150
        after): height -> date."""
        return {
            height: day
            for height, day in HISTORY_HALVINGS.items()
            if day - PEAK_DAYS_BEFORE * DAY >= self.start
            and day + TROUGH_DAYS_AFTER * DAY <= self.end
        }

    def shipment_periods(self) -> list[tuple[pd.Timestamp, pd.Timestamp, float, float]]:
        """The shipment bands (start, end, low MW, high MW) of data/asic_market_mw.csv whose
        period lies wholly inside the window."""
        bands = sim_history.market_shipments_mw()
        inside = bands[(bands["start"] >= self.start) & (bands["end"] <= self.end)]
        return [
            (row.start, row.end, float(row.low_mw), float(row.high_mw))
            for row in inside.itertuples()
        ]

    def __str__(self) -> str:
        return f"{self.start.date()}..{self.end.date()}"


@dataclass(frozen=True)
class Moments:
    """Monthly log difficulty (``months``, ``log_difficulty``), the halving responses
    (height -> HalvingResponse) and the factories' shipments of one window: (start, end) ->
    (low, high) MW, a band for history, low = high for a run."""

    months: pd.DatetimeIndex
    log_difficulty: np.ndarray
    halvings: dict[int, HalvingResponse]
    shipments: dict[tuple[pd.Timestamp, pd.Timestamp], tuple[float, float]] = field(
        default_factory=dict
    )


def run_moments(
    epochs: pd.DataFrame, initial: float, horizon: Window, halvings: Sequence[int]
) -> Moments:
    """The moments of one run on ``horizon``: its monthly log difficulty on every whole month,
    and the response to each halving height in ``halvings`` (the run's own halving day)."""
    last = pd.Timestamp(epochs["date"].iloc[-1]) if len(epochs) else None
    if last is None or last < horizon.end:
        raise MinersimError(f"the run stopped on {last} (stalled), before the end of {horizon}")
    daily = daily_difficulty(epochs, initial, horizon.start, horizon.end)
    monthly = sim_history.monthly_log_mean(daily).reindex(horizon.months)
    responses = {}
    for height in halvings:
        day = halving_date(epochs, height)
        if day is None:
            raise MinersimError(f"the run did not reach block {height:,} within {horizon}")
        responses[height] = halving_response(daily, day)
    shipments = {}
    if "machines_produced_mw" in epochs:
        for start, end, _, _ in horizon.shipment_periods():
            made = produced_mw(epochs, start, end)
            shipments[start, end] = (made, made)
    return Moments(horizon.months, monthly.to_numpy(), responses, shipments)


def history_moments(window: Window) -> Moments:
    """The historical moments of a window (data/history; an error past LAST_FITTING_DAY)."""
    sim_history.check_fitting_day(window.end, f"the window {window}")
    daily = sim_history.for_fitting(sim_history.difficulty(), window.end).loc[window.start :]
    monthly = sim_history.monthly_log_mean(daily).reindex(window.months)
    if monthly.isna().any():
        missing = ", ".join(f"{m:%Y-%m}" for m in monthly.index[monthly.isna()])
        raise MinersimError(f"data/history has no complete difficulty month for {missing}")
    halvings = {h: halving_response(daily, day) for h, day in window.halvings().items()}
    shipments = {(start, end): (low, high) for start, end, low, high in window.shipment_periods()}
    return Moments(window.months, monthly.to_numpy(), halvings, shipments)


def mean_moments(runs: Sequence[Moments]) -> Moments:
    """The mean over runs of each moment (what simulated method of moments matches)."""
    first = runs[0]
    halvings = {
        height: HalvingResponse(
            drawdown=float(np.mean([r.halvings[height].drawdown for r in runs])),
            recovery_days=float(np.mean([r.halvings[height].recovery_days for r in runs])),
            censored=any(r.halvings[height].censored for r in runs),
        )
        for height in first.halvings
    }
    log_difficulty = np.mean([r.log_difficulty for r in runs], axis=0)
    shipments = {
        period: tuple(np.mean([r.shipments[period] for r in runs], axis=0).tolist())
        for period in first.shipments
    }
    return Moments(first.months, log_difficulty, halvings, shipments)


# --------------------------------------------------------------------------------------------
# The objective's terms

#: The objective's terms and what each squares (docs/calibration.md): monthly log difficulty
#: error; its month-on-month change (growth); halving drawdown error (log points); halving
#: recovery error (years); the log distance of the factories' shipments from the data's band.
TERMS = ("log_difficulty", "growth", "halving_drawdown", "halving_recovery", "shipments")


def loss_terms(simulated: Moments, data: Moments) -> dict[str, float]:
    """Mean squared error of each term (simulated minus data) on the data's months."""
    error = _aligned(simulated, data) - data.log_difficulty
    growth = np.diff(error)
    heights = sorted(data.halvings)
    drawdowns = [simulated.halvings[h].drawdown - data.halvings[h].drawdown for h in heights]
    recoveries = [
        (simulated.halvings[h].recovery_days - data.halvings[h].recovery_days) / YEAR_DAYS
        for h in heights
    ]
    misses = [
        shipment_miss(simulated.shipments[p][0], *band)
        for p, band in data.shipments.items()
        if p in simulated.shipments  # a model without factories has no shipments
    ]
    return {
        "shipments": float(np.mean(np.square(misses))) if misses else 0.0,
        "log_difficulty": float(np.mean(error**2)),
        "growth": float(np.mean(growth**2)) if len(growth) else 0.0,
        "halving_drawdown": float(np.mean(np.square(drawdowns))) if heights else 0.0,
        "halving_recovery": float(np.mean(np.square(recoveries))) if heights else 0.0,
    }


def shipment_miss(made_mw: float, low_mw: float, high_mw: float) -> float:
    """Log distance of ``made_mw`` from the band [low, high] (0 inside it; MW)."""
    if made_mw <= 0:
        return math.inf
    return max(math.log(low_mw / made_mw), 0.0, math.log(made_mw / high_mw))


def _aligned(simulated: Moments, data: Moments) -> np.ndarray:
    """The simulated monthly log difficulty on the data's months (an error if one is missing)."""
    series = pd.Series(simulated.log_difficulty, index=simulated.months).reindex(data.months)
    if series.isna().any():
        missing = ", ".join(f"{m:%Y-%m}" for m in series.index[series.isna()])
        raise MinersimError(f"the simulated difficulty has no value for {missing}")
    return series.to_numpy()


def rmse(simulated: Moments, data: Moments) -> float:
    """Root mean squared error of monthly log difficulty on the data's months."""
    return math.sqrt(float(np.mean((_aligned(simulated, data) - data.log_difficulty) ** 2)))
