"""The experiments (sim.experiments): shared helpers, and a smoke run of each (slow).

The smoke tests run every script as a user would, with ``--runs 2`` into a temporary directory,
and check that the figure, the CSV and the Markdown table are written and the CSV holds finite
numbers. The halving helper is checked against the published 2016 / 2020 episodes
(data/sources.md §4.1) recomputed from the history files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import history
from sim.experiments import common, halving_2028, run_all


def test_on_grid_reads_the_epoch_covering_each_date():
    dates = pd.to_datetime(["2026-01-14", "2026-01-28"])
    grid = pd.to_datetime(["2026-01-01", "2026-01-14", "2026-01-20", "2026-02-10"])
    got = common.on_grid(dates, [1.0, 2.0], pd.DatetimeIndex(grid))
    np.testing.assert_array_equal(got[:3], [1.0, 1.0, 2.0])
    assert np.isnan(got[3])


def test_halving_date_interpolates_within_its_epoch():
    height = common.HALVING_2028_HEIGHT
    first = height - height % common.BLOCKS_PER_EPOCH  # boundary before the halving block
    epochs = pd.DataFrame(
        {
            "height": [first, first + common.BLOCKS_PER_EPOCH],
            "date": pd.to_datetime(["2028-04-01", "2028-04-15"]),
            "epoch_days": [14.0, 20.0],
        }
    )
    days = (height - first) / common.BLOCKS_PER_EPOCH * 20.0
    expected = (pd.Timestamp("2028-04-01") + pd.Timedelta(days=days)).normalize()
    assert common.halving_epoch(epochs) == 1
    assert common.halving_date(epochs) == expected
    assert common.halving_epoch(epochs.iloc[:1]) is None


def test_difficulty_in_effect_switches_on_the_retarget_day():
    epochs = pd.DataFrame({"date": pd.to_datetime(["2026-01-14"]), "difficulty": [2.0]})
    grid = pd.DatetimeIndex(pd.to_datetime(["2026-01-13", "2026-01-14"]))
    np.testing.assert_array_equal(common.difficulty_in_effect(epochs, grid, 1.0), [1.0, 2.0])


@pytest.mark.parametrize(
    ("halving", "drawdown_pct", "trough_day", "recovery_day"),
    [("2016-07-09", -5.4, 25, 38), ("2020-05-11", -14.7, 25, 64)],  # calibration README §4.1
)
def test_drawdown_recovery_reproduces_the_published_episodes(
    halving, drawdown_pct, trough_day, recovery_day
):
    series = history.difficulty()
    days = (series.index - pd.Timestamp(halving)).days.to_numpy()
    got = halving_2028.drawdown_recovery(days, series.to_numpy())
    assert got["drawdown_pct"] == pytest.approx(drawdown_pct, abs=0.05)
    assert got["trough_day"] == trough_day
    # §4.1 counts the first full day above the peak; the block-weighted retarget day can be 1 earlier
    assert recovery_day - 1 <= got["recovery_day"] <= recovery_day


def check_outputs(out: Path, name: str) -> None:
    folder = out / name
    for suffix in ("png", "csv", "md"):
        path = folder / f"{name}.{suffix}"
        assert path.is_file() and path.stat().st_size > 0, path
    table = pd.read_csv(folder / f"{name}.csv")
    numbers = table.select_dtypes("number")
    assert len(table) > 0 and numbers.shape[1] > 0
    assert not np.isinf(numbers.to_numpy()).any()
    empty = [c for c in numbers if not np.isfinite(numbers[c]).any()]
    assert not empty, f"{name}: columns without a finite number: {empty}"
    assert (folder / f"{name}.md").read_text().startswith("# ")


@pytest.mark.slow
@pytest.mark.parametrize("name", run_all.EXPERIMENTS)
def test_experiment_writes_figure_and_tables(name: str, tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", f"sim.experiments.{name}", "--runs", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    check_outputs(tmp_path, name)


@pytest.mark.slow
def test_run_all_passes_its_options_on(tmp_path: Path):
    assert run_all.main(["--runs", "2", "--out", str(tmp_path), "--only", "backtest"]) == 0
    check_outputs(tmp_path, "backtest")
    assert "--runs 2" in (tmp_path / "backtest" / "backtest.md").read_text()
