"""Batches extended in place: a larger --runs (or a larger LHS / Sobol' / Morris design) on a
finished folder adds runs with the same seeding rule and leaves the first runs as they were,
bit for bit; levers crossed with an uncertainty design."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json

import numpy as np
import pandas as pd
import pytest
from serial_backend import use_serial_backend

from sim.batch import monte_carlo, run_seed, store, sweep
from sim.batch import plans as batch_plans
from sim.cli import main
from sim.errors import MinersimError

ROOT_SEED = 17
SHORT = {"scenario.end_date": dt.date(2025, 12, 1)}
RANGES = {"market.btc.volatility": (0.2, 0.8), "market.power.base_usd_mwh": (30.0, 60.0)}


@pytest.fixture(autouse=True)
def serial(monkeypatch):
    use_serial_backend(monkeypatch)


def _file_hashes(root) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((root / "epochs").glob("run-*.parquet"))
    }


# --------------------------------------------------------------------------------------------
# The layout: run ids of a batch that grew


@pytest.mark.parametrize(
    "layout",
    [((3, 2),), ((3, 2), (3, 5)), ((3, 2), (7, 2)), ((1, 4), (1, 9), (5, 9), (6, 12))],
)
def test_each_point_and_replicate_has_exactly_one_run_id_and_old_ids_stay(layout):
    def plan_of(steps):
        points, runs = steps[-1]
        values = tuple((p,) for p in range(points))
        return batch_plans.Plan({"kind": "test"}, ("x",), values, runs, layout=steps)

    plan = plan_of(layout)
    points, runs = layout[-1]
    located = [plan.locate(i) for i in range(plan.total_runs)]
    assert sorted(located) == list(itertools.product(range(points), range(runs)))
    table = plan.run_table()
    assert list(zip(table["point"], table["replicate"], strict=True)) == located
    # the runs of each earlier size keep the ids a batch of that size gives them
    for step in range(1, len(layout)):
        first = plan_of(layout[:step])
        assert [first.locate(i) for i in range(first.total_runs)] == located[: first.total_runs]
    with pytest.raises(IndexError):
        plan.locate(plan.total_runs)


def test_a_layout_that_shrinks_is_rejected():
    with pytest.raises(ValueError, match="does not grow"):
        batch_plans.Plan({"kind": "test"}, (), ((),), 2, layout=((1, 3), (1, 2)))


# --------------------------------------------------------------------------------------------
# Monte Carlo and sweeps grown with --runs


def test_monte_carlo_extended_from_3_to_5_runs_equals_a_5_run_batch(tmp_path):
    grown = tmp_path / "grown"
    monte_carlo("demo", 3, ROOT_SEED, grown, overrides=SHORT, progress=False)
    first = _file_hashes(grown)
    summary = monte_carlo("demo", 5, ROOT_SEED, grown, overrides=SHORT, progress=False)
    assert (summary.skipped_runs, summary.completed_runs) == (3, 2)
    assert {k: v for k, v in _file_hashes(grown).items() if k in first} == first
    fresh = tmp_path / "fresh"
    monte_carlo("demo", 5, ROOT_SEED, fresh, overrides=SHORT, progress=False)
    assert _file_hashes(grown) == _file_hashes(fresh)  # bit for bit, every run
    meta = json.loads((grown / "metadata.json").read_text())
    assert meta["layout"] == [[1, 3], [1, 5]] and meta["total_runs"] == 5
    assert len(meta["extended"]) == 1


def test_a_grid_sweep_grown_with_runs_keeps_its_runs_and_appends_replicates(tmp_path):
    grid = {"market.btc.volatility": [0.3, 0.6]}
    out = tmp_path / "grown"
    sweep("demo", 2, ROOT_SEED, out, grid=grid, overrides=SHORT, progress=False)
    first = _file_hashes(out)
    sweep("demo", 3, ROOT_SEED, out, grid=grid, overrides=SHORT, progress=False)
    assert {k: v for k, v in _file_hashes(out).items() if k in first} == first
    per_run = store.read_epochs(out).groupby("run")[["point", "seed"]].first()
    # runs 0-3 as before (point by point, 2 each), then replicate 2 of points 0 and 1
    assert per_run["point"].tolist() == [0, 0, 1, 1, 0, 1]
    assert per_run["seed"].tolist() == [run_seed(ROOT_SEED, i) for i in range(6)]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["layout"] == [[2, 2], [2, 3]] and meta["runs_per_point"] == 3


def test_asking_for_fewer_runs_or_another_grid_on_a_grown_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "mc"
    monte_carlo("demo", 2, ROOT_SEED, out, overrides=SHORT, progress=False)
    with pytest.raises(MinersimError, match="never shrinks"):
        monte_carlo("demo", 1, ROOT_SEED, out, overrides=SHORT, progress=False)
    grid_out = tmp_path / "grid"
    grid = {"market.btc.volatility": [0.3]}
    sweep("demo", 1, ROOT_SEED, grid_out, grid=grid, overrides=SHORT, progress=False)
    argv = ["sweep", "demo", "--runs", "1", "--seed", str(ROOT_SEED), "--out", str(grid_out)]
    argv += ["--set", "scenario.end_date=2025-12-01", "--grid", "market.btc.volatility=0.3,0.6"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "different batch" in err and "sampler" in err


# --------------------------------------------------------------------------------------------
# Designs that grow


def _strata_filled(unit: np.ndarray) -> bool:
    """Each of the n equal strata of every axis holds exactly one of the n points."""
    n = len(unit)
    return all(
        np.array_equal(np.sort(np.floor(unit[:, j] * n)), np.arange(n))
        for j in range(unit.shape[1])
    )


def test_a_latin_hypercube_grown_by_whole_multiples_stays_one(tmp_path):
    rng = np.random.default_rng(3)
    from scipy.stats import qmc

    unit = qmc.LatinHypercube(d=3, rng=rng).random(10)
    for factor in (2, 3):
        bigger = batch_plans.grow_latin_hypercube(unit, factor, rng)
        assert bigger.shape == (len(unit) * factor, 3)
        np.testing.assert_array_equal(bigger[: len(unit)], unit)
        assert _strata_filled(bigger)
        unit = bigger
    not_lhs = np.vstack([unit[:5], unit[:5]])
    with pytest.raises(MinersimError, match="not a Latin hypercube"):
        batch_plans.grow_latin_hypercube(not_lhs, 2, rng)


def test_an_lhs_sweep_grows_from_4_to_8_to_16_points_in_place(tmp_path):
    out = tmp_path / "lhs"
    sizes = (4, 8, 16)
    for n in sizes:
        sweep("demo", 1, ROOT_SEED, out, lhs=n, ranges=RANGES, overrides=SHORT, progress=False)
        meta = json.loads((out / "metadata.json").read_text())
        assert meta["points"] == n
    points = pd.read_csv(out / "points.csv")
    lows = np.array([lo for lo, _ in RANGES.values()])
    highs = np.array([hi for _, hi in RANGES.values()])
    unit = (points[list(RANGES)].to_numpy() - lows) / (highs - lows)
    assert _strata_filled(unit)
    first = batch_plans.lhs_plan(4, RANGES, 1, ROOT_SEED)
    np.testing.assert_allclose(points[list(RANGES)].to_numpy()[:4], np.array(first.points))
    assert meta["sampler"]["sizes"] == list(sizes) and meta["layout"] == [[4, 1], [8, 1], [16, 1]]
    epochs = store.read_epochs(out, columns=["run", "point"]).groupby("run")["point"].first()
    assert epochs.tolist() == list(range(16))  # new points appended: run i is point i
    with pytest.raises(MinersimError, match="whole multiple of 16"):
        sweep("demo", 1, ROOT_SEED, out, lhs=24, ranges=RANGES, overrides=SHORT)


def test_sobol_and_morris_designs_of_twice_the_size_start_with_the_smaller_one():
    for make, (small, large) in (
        (batch_plans.sobol_plan, (8, 16)),
        (batch_plans.morris_plan, (3, 6)),
    ):
        a = make(small, RANGES, 1, ROOT_SEED)
        b = make(large, RANGES, 1, ROOT_SEED)
        assert b.points[: len(a.points)] == a.points and len(b.points) == 2 * len(a.points)
        grown, grows = batch_plans.grown(b, {**_metadata_of(a)})
        assert grows and grown.layout == ((len(a.points), 1), (len(b.points), 1))


def test_a_design_whose_first_points_differ_cannot_grow():
    a = batch_plans.morris_plan(3, RANGES, 1, ROOT_SEED)
    meta = _metadata_of(a)
    meta["points_sha256"] = "0" * 64  # as if the folder's points were others
    with pytest.raises(MinersimError, match="cannot be extended in place"):
        batch_plans.grown(batch_plans.morris_plan(6, RANGES, 1, ROOT_SEED), meta)


def _metadata_of(plan: batch_plans.Plan) -> dict:
    return store.json_normalized(
        {
            "sampler": plan.sampler,
            "parameters": list(plan.parameters),
            "points": len(plan.points),
            "points_sha256": plan.points_sha256(),
            "runs_per_point": plan.runs_per_point,
            "layout": [list(step) for step in plan.layout],
        }
    )


# --------------------------------------------------------------------------------------------
# Levers and uncertainties


def test_levers_are_crossed_with_every_future_and_lhs_growth_appends_futures():
    levers = {"miners.policies.MARA": ["rational", "hodl", "ai_first"]}
    small = batch_plans.with_levers(batch_plans.lhs_plan(4, RANGES, 2, ROOT_SEED), levers)
    assert small.parameters == ("miners.policies.MARA", *RANGES)
    assert len(small.points) == 12 and small.sampler["levers"] == levers
    futures = batch_plans.lhs_plan(4, RANGES, 2, ROOT_SEED).points
    for u, future in enumerate(futures):
        block = small.points[3 * u : 3 * u + 3]
        assert [p[0] for p in block] == levers["miners.policies.MARA"]
        assert all(p[1:] == future for p in block)
    big = batch_plans.with_levers(batch_plans.lhs_plan(8, RANGES, 2, ROOT_SEED, [4]), levers)
    assert big.points[:12] == small.points
    with pytest.raises(MinersimError, match="not with --sobol"):
        batch_plans.with_levers(batch_plans.sobol_plan(4, RANGES, 1, ROOT_SEED), levers)
    with pytest.raises(MinersimError, match="both a lever and an uncertainty"):
        batch_plans.with_levers(
            batch_plans.lhs_plan(4, RANGES, 1, ROOT_SEED), {"market.btc.volatility": [0.1, 0.2]}
        )


def test_a_lever_sweep_stores_levers_and_uncertainties_in_the_metadata(tmp_path, capsys):
    out = tmp_path / "levers"
    argv = ["sweep", "demo", "--runs", "1", "--out", str(out), "--crn"]
    argv += ["--set", "scenario.end_date=2025-11-01", "--lhs", "2"]
    argv += ["--range", "market.btc.volatility=0.2:0.8"]
    argv += ["--lever", "miners.policies.MARA=rational,hodl"]
    assert main(argv) == 0, capsys.readouterr().err
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["sampler"]["levers"] == {"miners.policies.MARA": ["rational", "hodl"]}
    assert meta["parameters"] == ["miners.policies.MARA", "market.btc.volatility"]
    assert meta["points"] == 4 and meta["crn"] is True
    bad = ["sweep", "demo", "--runs", "1", "--out", str(tmp_path / "bad")]
    assert main([*bad, "--lever", "miners.policies.MARA=rational,gamble"]) == 2
    assert "gamble" in capsys.readouterr().err
