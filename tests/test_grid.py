"""The date-grid rule (sim.analysis.grid) that the experiments and ``minersim summarize`` share:
the value at a grid date is the epoch covering it; NaN after the run ends."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis import grid
from sim.analysis.summary import fan_quantiles
from sim.experiments import common


def days(*dates: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(dates)))


def test_a_grid_date_takes_the_epoch_covering_it():
    ends = days("2026-01-14", "2026-01-28")  # epoch 0 covers up to 01-14, epoch 1 01-15..01-28
    at = days("2026-01-01", "2026-01-14", "2026-01-15", "2026-01-28", "2026-01-29")
    got = grid.on_grid(ends, [1.0, 2.0], at)
    np.testing.assert_array_equal(got[:4], [1.0, 1.0, 2.0, 2.0])
    assert np.isnan(got[4])  # after the run's last epoch


def test_times_of_day_do_not_move_a_date_to_the_next_epoch():
    ends = pd.DatetimeIndex(["2026-01-14 18:00", "2026-01-28"])
    got = grid.on_grid(ends, [1.0, 2.0], days("2026-01-14"))
    np.testing.assert_array_equal(got, [1.0])


def test_runs_of_a_long_table_are_read_one_by_one():
    frame = pd.DataFrame(
        {
            "run": [3, 3, 3, 1, 1],
            "epoch": [0, 1, 2, 0, 1],
            "date": days("2026-01-01", "2026-01-15", "2026-01-29", "2026-01-03", "2026-01-20"),
            "x": [1.0, 2.0, 3.0, 10.0, 20.0],
        }
    )
    at = days("2025-12-30", "2026-01-03", "2026-01-10", "2026-01-21", "2026-02-01")
    runs, matrices = grid.frame_on_grid(frame, ["x"], at)
    assert list(runs) == [1, 3]  # sorted by run
    np.testing.assert_array_equal(
        matrices["x"], [[10.0, 10.0, 20.0, np.nan, np.nan], [1.0, 2.0, 2.0, 3.0, np.nan]]
    )


def test_experiments_and_summarize_read_runs_the_same_way():
    frame = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1, 1],
            "epoch": [0, 1, 2, 0, 1, 2],
            "date": days(
                "2026-01-12", "2026-01-25", "2026-02-09", "2026-01-10", "2026-01-20", "2026-02-03"
            ),
            "x": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0],
        }
    )
    table = fan_quantiles(frame, ["x"], step_days=5)
    at = pd.DatetimeIndex(table["date"])
    by_run = np.array(
        [common.on_grid(part["date"], part["x"], at) for _, part in frame.groupby("run")]
    )
    np.testing.assert_allclose(table["p50"], np.median(by_run, axis=0))


def test_date_grid_steps_from_the_first_day_and_ends_on_the_last():
    got = grid.date_grid("2026-01-01", "2026-01-20", step_days=7)
    assert list(got.strftime("%m-%d")) == ["01-01", "01-08", "01-15", "01-20"]
    assert list(grid.date_grid("2026-01-01", "2026-01-15", 7).strftime("%d")) == ["01", "08", "15"]
    assert list(grid.date_grid("2026-02-01", "2026-01-15").strftime("%m-%d")) == ["01-15"]
