"""Runs on a common date grid: one rule for the experiments and ``minersim summarize``.

Runs' epochs end on different dates (a faster network makes epochs shorter), so runs are
compared on common dates. The rule, everywhere:

- epoch ``i`` covers the days after epoch ``i-1``'s last block up to and including the day of
  its own last block (its ``date``); the first epoch covers every day up to its ``date``;
- the value of a run at a grid date is the value of the epoch covering that date (the first
  epoch whose ``date`` is on or after it);
- after the run's last epoch (a run that stalled, or a grid that goes past the end) it is NaN.

Dates are compared as whole days (``date`` is the day of an epoch's last block).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Default spacing of a date grid (days).
STEP_DAYS = 7


def date_grid(first, last, step_days: int = STEP_DAYS) -> pd.DatetimeIndex:
    """Days from ``first`` every ``step_days``, ending on ``last`` (added when the steps miss
    it); just ``last`` when ``first`` is after it."""
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    if first > last:
        return pd.DatetimeIndex([last])
    grid = pd.date_range(first, last, freq=f"{step_days}D")
    return grid if grid[-1] == last else grid.append(pd.DatetimeIndex([last]))


def covering_rows(runs, dates, grid) -> np.ndarray:
    """Row of the epoch covering each grid date, for each run: a (runs x grid dates) matrix of
    positions into ``dates``, -1 after a run's last epoch.

    ``runs`` labels each epoch row with its run and ``dates`` gives its day; rows must be sorted
    by run (in any order of runs, each run's rows together) and by date within a run. Matrix
    rows follow the runs in order of first appearance.
    """
    codes = pd.factorize(np.asarray(runs))[0]
    days = _days(dates)
    grid_days = _days(grid)
    if len(days) == 0:
        return np.full((0, len(grid_days)), -1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(days)]
    origin = min(days.min(), grid_days.min(initial=days.min()))
    span = max(days.max(), grid_days.max(initial=days.max())) - origin + 1
    keys = np.arange(len(starts)).repeat(ends - starts) * span + (days - origin)
    query = np.arange(len(starts))[:, None] * span + (grid_days - origin)[None, :]
    rows = np.searchsorted(keys, query, side="left")  # first epoch ending on or after the date
    return np.where(rows < ends[:, None], rows, -1)


def on_grid(dates, values, grid) -> np.ndarray:
    """One run's per-epoch ``values`` at the ``grid`` dates (the rule above), NaN after its end."""
    rows = covering_rows(np.zeros(len(dates)), dates, grid)
    return take(np.asarray(values, dtype=float), rows)[0] if len(dates) else _nan(len(grid))


def frame_on_grid(
    frame: pd.DataFrame, columns: Sequence[str], grid
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every run of a long epoch table (``run``, ``epoch``, ``date`` and ``columns``) on the
    grid: the run labels and, per column, a (runs x grid dates) matrix."""
    frame = frame.sort_values(["run", "epoch"], ignore_index=True)
    rows = covering_rows(frame["run"], frame["date"], grid)
    runs = pd.unique(frame["run"])
    return runs, {c: take(frame[c].to_numpy(dtype=float), rows) for c in columns}


def take(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` with NaN where ``rows`` is -1."""
    out = values[np.maximum(rows, 0)]
    out[rows < 0] = np.nan
    return out


def _days(dates) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(dates).to_numpy().astype("datetime64[D]"), dtype=np.int64)


def _nan(n: int) -> np.ndarray:
    return np.full(n, np.nan)


__all__ = ["STEP_DAYS", "covering_rows", "date_grid", "frame_on_grid", "on_grid", "take"]
