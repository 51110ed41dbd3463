"""Common random numbers: with ``crn=True`` run r of every point gets the same seed, so points
whose parameters are equal give identical runs and differences between points are the
parameters' doing."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from serial_backend import use_serial_backend

from sim.batch import run_seed, store, sweep
from sim.cli import main

ROOT_SEED = 5
SHORT = {"scenario.end_date": dt.date(2025, 12, 1)}  # demo cut to two months: ~4 epochs
# The description changes nothing in a run: points 0 and 1 (drift 0) have equal parameters.
GRID = {"scenario.description": ["first", "second"], "market.btc.drift": [0.0, 0.4]}
RUNS = 2


@pytest.fixture(autouse=True)
def serial(monkeypatch):
    use_serial_backend(monkeypatch)


def _sweep(out, crn: bool, runs: int = RUNS):
    return sweep("demo", runs, ROOT_SEED, out, grid=GRID, crn=crn, overrides=SHORT, progress=False)


def _runs_of(frame, point):
    """The epoch rows of one point's runs, without the columns that name the point."""
    rows = frame[frame["point"] == point].drop(columns=["run", "point", *GRID])
    return rows.reset_index(drop=True)


def test_points_with_equal_parameters_give_identical_runs_with_crn(tmp_path):
    _sweep(tmp_path / "crn", crn=True)
    epochs = store.read_epochs(tmp_path / "crn")
    # points: (first, 0.0), (first, 0.4), (second, 0.0), (second, 0.4)
    assert epochs.groupby("point")["market.btc.drift"].first().tolist() == [0.0, 0.4, 0.0, 0.4]
    same = _runs_of(epochs, 0), _runs_of(epochs, 2)
    assert len(same[0]) > RUNS and same[0].equals(same[1])
    # the same seeds with another drift: the same shocks, so another path (not a copy)
    other = _runs_of(epochs, 1)
    assert other["seed"].tolist() == same[0]["seed"].tolist()
    assert not np.allclose(other["btc_price_usd"], same[0]["btc_price_usd"])


def test_without_crn_equal_points_differ_by_their_seeds(tmp_path):
    _sweep(tmp_path / "independent", crn=False)
    epochs = store.read_epochs(tmp_path / "independent")
    a, b = _runs_of(epochs, 0), _runs_of(epochs, 2)
    assert set(a["seed"]).isdisjoint(b["seed"])
    assert not np.allclose(a["btc_price_usd"], b["btc_price_usd"])


def test_crn_seeds_are_the_replicates_children_of_the_root_seed(tmp_path):
    summary = _sweep(tmp_path / "crn", crn=True)
    seeds = store.read_epochs(tmp_path / "crn", columns=["run", "point", "seed"])
    per_run = seeds.groupby("run").first()
    replicate = per_run.index.to_numpy() % RUNS  # one layout step: run = point * RUNS + r
    assert per_run["seed"].tolist() == [run_seed(ROOT_SEED, int(r)) for r in replicate]
    meta = json.loads((tmp_path / "crn" / "metadata.json").read_text())
    assert meta["crn"] is True and summary.metadata["crn"] is True
    assert "common random numbers" in meta["seeds"]


def test_a_crn_batch_extended_in_place_keeps_sharing_seeds(tmp_path):
    _sweep(tmp_path / "crn", crn=True)
    before = store.read_epochs(tmp_path / "crn")
    _sweep(tmp_path / "crn", crn=True, runs=3)
    after = store.read_epochs(tmp_path / "crn")
    assert after[after["run"] < 4 * RUNS].reset_index(drop=True).equals(before)
    third = after[after["run"] >= 4 * RUNS].groupby("run")["seed"].first()
    assert third.tolist() == [run_seed(ROOT_SEED, 2)] * 4  # replicate 2 of each of 4 points


def test_resuming_with_crn_switched_is_refused_in_one_line(tmp_path, capsys):
    _sweep(tmp_path / "crn", crn=True)
    argv = ["sweep", "demo", "--runs", str(RUNS), "--seed", str(ROOT_SEED)]
    argv += ["--out", str(tmp_path / "crn"), "--set", "scenario.end_date=2025-12-01"]
    argv += ["--grid", "scenario.description=first,second", "--grid", "market.btc.drift=0.0,0.4"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "crn is true there but false now" in err
    assert main([*argv, "--crn"]) == 0  # the same batch resumes (nothing left to run)
