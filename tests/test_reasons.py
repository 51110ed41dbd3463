"""Reasons as data (issue 26): ``sim.run(..., reasons=True)`` gives ``result.reasons``, one row per
agent and epoch; ``model.explain_decisions`` can be switched on and off on a built model;
``mesa.batch_run`` works with ``iterations`` (seed None)."""

from __future__ import annotations

import json
import multiprocessing
import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import MinersimError
from sim.reasons import REASON_COLUMNS

SHORT = {"scenario.end_date": "2026-02-01"}  # demo, a few epochs


def test_a_run_returns_its_reasons_when_asked_and_the_same_results():
    plain = sim.run("demo", seed=3, overrides=SHORT)
    explained = sim.run("demo", seed=3, overrides=SHORT, reasons=True)
    assert plain.reasons is None
    pd.testing.assert_frame_equal(plain.epochs, explained.epochs)
    pd.testing.assert_frame_equal(plain.miners, explained.miners)
    r = explained.reasons
    assert list(r.columns) == list(REASON_COLUMNS) and r.columns.is_unique
    assert len(r) == len(plain.miners)  # one row per agent and epoch
    merged = r.merge(plain.miners, on=["epoch", "miner_id"], suffixes=("", "_m"))
    assert (merged["action"].astype(str) == merged["action_m"].astype(str)).all()
    assert (merged["date"] == merged["date_m"]).all()
    public = r[r["kind"] == "public"]
    assert public["why"].str.endswith(".").all() and public["why"].str.len().gt(20).all()
    assert np.isfinite(public["hashprice_usd_per_th_day"]).all()


def test_explain_decisions_switches_on_and_off_on_a_built_model():
    model = sim.MiningModel("demo", seed=0, overrides=SHORT)
    assert model.explain_decisions is False
    model.step()
    assert model.last_decisions.reasons is None and model.result().reasons is None
    model.explain_decisions = True
    model.step()
    model.step()
    assert model.last_decisions.explain(0).endswith(".")
    assert sorted(model.decisions_at) == [1, 2]
    assert sorted(model.reasons["epoch"].unique()) == [1, 2]
    model.explain_decisions = False
    model.step()
    assert model.last_decisions.reasons is None
    assert len(model.result().reasons) == 2 * model.n


def test_the_explained_run_follows_the_same_path():
    quiet = sim.MiningModel("demo", seed=1, overrides=SHORT)
    loud = sim.MiningModel("demo", seed=1, overrides=SHORT, explain_decisions=True)
    while quiet.running:
        quiet.step()
        loud.step()
    pd.testing.assert_frame_equal(quiet.result().miners, loud.result().miners)


def test_seed_none_draws_a_fresh_seed_kept_on_the_model():
    a, b = sim.MiningModel("demo", seed=None), sim.MiningModel("demo", seed=None)
    assert isinstance(a.seed, int) and a.seed >= 0 and a.seed != b.seed


@pytest.fixture
def keep_start_method():
    """mesa.batch_run sets multiprocessing's start method for the whole process: put it back."""
    method = multiprocessing.get_start_method(allow_none=True)
    yield
    multiprocessing.set_start_method(method, force=True)


def test_mesa_batch_run_with_iterations(keep_start_method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa prefers rng= to iterations=
        rows = mesa.batch_run(
            sim.MiningModel,
            parameters={"scenario": "demo"},
            iterations=2,
            number_processes=1,
            max_steps=1,
            display_progress=False,
        )
    assert len(rows) == 2 and all(np.isfinite(row["hashrate_ehs"]) for row in rows)
    seeded = mesa.batch_run(
        sim.MiningModel,
        parameters={"scenario": "demo"},
        rng=[0, 1],
        number_processes=1,
        max_steps=1,
        display_progress=False,
    )
    assert [row["seed"] for row in seeded] == [0, 1]


@pytest.mark.parametrize("bad", [-1, 1.5, "x"])
def test_bad_seeds_are_still_refused(bad):
    with pytest.raises(MinersimError, match="seed"):
        sim.MiningModel("demo", seed=bad)


def test_run_reasons_are_kept_in_the_folder_and_cited_by_the_report(tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "run"
    argv = ["run", "demo", "--out", str(out), "--set", "scenario.end_date=2026-02-01", "--report"]
    assert main([*argv, "--reasons"]) == 0
    reasons = pd.read_parquet(out / "reasons.parquet")
    assert list(reasons.columns) == list(REASON_COLUMNS)
    page = (out / "report.md").read_text()
    assert "## Why the public miners acted" in page
    assert reasons["why"].iloc[-1] in page or reasons["why"].iloc[0][:30] in page
    assert "--reasons" in json.loads((out / "metadata.json").read_text())["command"]
    assert main([*argv, "--force"]) == 0  # replaced without reasons: none left to cite
    assert not (out / "reasons.parquet").exists()
    assert "## Why the public miners acted" not in (out / "report.md").read_text()
