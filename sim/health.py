"""Whether a run can be trusted as a path of the industry: stalled or degenerate, and why.

A run is **stalled** when its chain stopped before the scenario's end date (no block found, or
fewer than 2016 blocks in an epoch; the engine stops it). It is **degenerate** when it reached
its end, but only through an epoch so long that the chain had in effect stopped: an epoch of more
than :data:`MAX_EPOCH_DAYS` days (10x the 14-day target; the difficulty then lags the hashrate by
more than the 4x a retarget may correct), or a last epoch ending more than :data:`MAX_EPOCH_DAYS`
days after the end date. Both are outcomes of the scenario, not errors: their tables are kept,
``RunResult.meta`` says ``stalled = True`` with the reason in ``stall_reason``, and experiments,
summaries and reports leave them out of their bands and say how many and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.consensus import TARGET_TIMESPAN
from sim.units import DAY_S

#: The difficulty's target epoch, days (2016 blocks of 10 minutes).
TARGET_EPOCH_DAYS = TARGET_TIMESPAN / DAY_S
#: An epoch longer than this many days (10 target epochs) marks the run as degenerate; so does a
#: run ending more than this many days after its end date.
MAX_EPOCH_DAYS = 10 * TARGET_EPOCH_DAYS

#: The reason given for a chain the engine stopped before the end date.
STOPPED = "the chain stopped before the end date (too little hashrate for the difficulty)"


def degenerate_reason(epoch_days: np.ndarray, last_date, end_date) -> str:
    """Why a run that reached its end is degenerate ('' if it is not): an epoch longer than
    :data:`MAX_EPOCH_DAYS` days, or a last epoch ending more than that after ``end_date``.

    ``epoch_days``: each epoch's length, days (the ``epoch_days`` column); ``last_date`` and
    ``end_date``: dates (anything ``pandas.Timestamp`` reads).
    """
    reasons = []
    days = np.asarray(epoch_days, dtype=float)
    if len(days) and float(np.nanmax(days)) > MAX_EPOCH_DAYS:
        reasons.append(
            f"an epoch lasted {np.nanmax(days):,.0f} days (limit {MAX_EPOCH_DAYS:.0f}: 10x the "
            f"{TARGET_EPOCH_DAYS:.0f}-day target)"
        )
    if last_date is not None and len(days):
        last, end = pd.Timestamp(last_date), pd.Timestamp(end_date)
        overrun = (last - end).days
        if overrun > MAX_EPOCH_DAYS:
            reasons.append(
                f"it ends {last:%Y-%m-%d}, {overrun:,} days after its end date {end:%Y-%m-%d}"
            )
    return "; ".join(reasons)


def run_health(epochs: pd.DataFrame, end_date, stopped: bool) -> tuple[bool, str]:
    """``(stalled, reason)`` of a run's epoch table: stalled if the engine ``stopped`` it early or
    it is degenerate (:func:`degenerate_reason`); reason '' for a sound run."""
    if stopped:
        return True, STOPPED
    if not len(epochs):
        return False, ""
    reason = degenerate_reason(epochs["epoch_days"].to_numpy(), epochs["date"].iloc[-1], end_date)
    return bool(reason), reason


def stalled_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs of a batch's epoch rows (columns run, stalled, epoch_days) marked stalled, with
    the reason (columns run, why): degenerate if an epoch was too long, else stopped."""
    if "stalled" not in frame:
        return pd.DataFrame(columns=["run", "why"])
    rows = [
        {"run": run, "why": degenerate_reason(g["epoch_days"], None, None) or STOPPED}
        for run, g in frame[frame["stalled"].astype(bool)].groupby("run")
    ]
    return pd.DataFrame(rows, columns=["run", "why"])


__all__ = [
    "MAX_EPOCH_DAYS",
    "STOPPED",
    "TARGET_EPOCH_DAYS",
    "degenerate_reason",
    "run_health",
    "stalled_runs",
]
