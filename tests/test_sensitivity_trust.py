"""Sensitivity with its own uncertainty: the warning on Sobol' indices that a too-small design
cannot estimate (CSV, figure, command line), none on a design large enough, Morris' elementary
effects of a linear model (known exactly), per-point fan charts and scatter matrices."""

from __future__ import annotations

import math
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import use_synthetic_runs

from sim.analysis import sensitivity
from sim.analysis.outcomes import Max, Outcome
from sim.analysis.summary import summarize
from sim.batch import sweep
from sim.cli import main

KEYS = ("market.btc.drift", "market.btc.jump_mean", "market.btc.bear_drift")  # allow [-pi, pi]
RANGES = dict.fromkeys(KEYS, (-math.pi, math.pi))


def functions(point: dict, rng: np.random.Generator) -> dict:
    """hashrate_ehs: the Ishigami function; btc_price_usd: 1 + x1 + 2 x2 (x3 plays no part)."""
    x1, x2, x3 = (point[k] for k in KEYS)
    return {
        "hashrate_ehs": np.sin(x1) + 7 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1),
        "btc_price_usd": 1 + x1 + 2 * x2,
    }


@pytest.mark.parametrize(
    ("s1", "s1_conf", "st", "st_conf", "flagged"),
    [
        (-7.15, 3.0, 120.8, 1878.0, ["S1 = -7.15 is outside", "ST = 121 is outside"]),
        (0.3, 0.4, 0.5, 0.1, ["S1 = 0.3 +- 0.4: the interval is wider"]),
        (0.01, 0.01, 0.02, 0.03, []),  # an unimportant parameter, precisely estimated
        (-0.03, 0.02, 0.5, 0.1, []),  # within the tolerance of 0
        (0.5, 0.1, 1.2, 0.1, ["ST = 1.2 is outside"]),
    ],
)
def test_the_warning_names_each_index_that_cannot_be_trusted(s1, s1_conf, st, st_conf, flagged):
    row = types.SimpleNamespace(S1=s1, S1_conf=s1_conf, ST=st, ST_conf=st_conf)
    text = sensitivity.sobol_warning(row)
    assert all(part in text for part in flagged) and (text == "") == (not flagged), text


def test_a_too_small_sobol_design_warns_in_the_csv_the_figure_and_the_cli(
    tmp_path, monkeypatch, capsys
):
    use_synthetic_runs(monkeypatch, functions)
    out = tmp_path / "small"
    sweep("demo", 1, 4, out, sobol=4, ranges=RANGES, progress=False)
    argv = ["summarize", str(out), "--column", "hashrate_ehs", "--column", "btc_price_usd"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "minersim: warning: Sobol' indices of hashrate_ehs are unreliable" in err
    assert "--sobol 8" in err  # says how to grow the design
    table = pd.read_csv(out / "summary" / "sobol_indices.csv", dtype={"warning": "string"}).fillna(
        {"warning": ""}
    )
    assert (table.loc[table["column"] == "hashrate_ehs", "warning"] != "").any()
    assert (out / "summary" / "sobol_indices.png").is_file()


@pytest.mark.slow
def test_a_large_design_gives_the_linear_indices_without_a_warning(tmp_path, monkeypatch):
    use_synthetic_runs(monkeypatch, functions)
    out = tmp_path / "large"
    sweep("demo", 1, 4, out, sobol=512, ranges=RANGES, progress=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summarize(out, fan_columns=("btc_price_usd",), final_columns=("btc_price_usd",))
    table = pd.read_csv(out / "summary" / "sobol_indices.csv", dtype={"warning": "string"}).fillna(
        {"warning": ""}
    )
    np.testing.assert_allclose(table["S1"], [0.2, 0.8, 0.0], atol=0.01)
    assert (table["warning"] == "").all()
    assert not [w for w in caught if issubclass(w.category, sensitivity.SensitivityWarning)]


def test_morris_effects_of_a_linear_model_are_its_slopes_times_the_ranges(tmp_path, monkeypatch):
    use_synthetic_runs(monkeypatch, functions)
    out = tmp_path / "morris"
    sweep("demo", 1, 4, out, morris=10, ranges=RANGES, progress=False)
    paths = summarize(out, fan_columns=("btc_price_usd",), final_columns=("btc_price_usd",))
    table = pd.read_csv(paths["morris_csv"]).set_index("parameter")
    width = 2 * math.pi  # every elementary effect of x_i is a_i x (hi - lo), so sigma = 0
    np.testing.assert_allclose(table["mu_star"], [width, 2 * width, 0.0], atol=1e-9)
    np.testing.assert_allclose(table["mu"], [width, 2 * width, 0.0], atol=1e-9)
    np.testing.assert_allclose(table["sigma"], 0.0, atol=1e-9)
    assert paths["morris_png"].is_file() and paths["scatter_matrix"].is_file()


def per_point(point: dict, rng: np.random.Generator) -> dict:
    return {"hashrate_ehs": 100 * (1 + point["market.btc.drift"]) + rng.normal(0, 1, 4)}


def test_fan_charts_per_point_hold_each_points_own_runs(tmp_path, monkeypatch):
    use_synthetic_runs(monkeypatch, per_point)
    out = tmp_path / "grid"
    sweep("demo", 9, 1, out, grid={"market.btc.drift": [0.0, 0.5, 1.0]}, progress=False)
    peak = Outcome("peak_hashrate", "hashrate_ehs", Max())
    paths = summarize(out, fan_columns=("hashrate_ehs",), final_columns=(), outcomes=[peak])
    quantiles = pd.read_csv(paths["quantiles_by_point_csv"])
    finals = pd.read_csv(paths["final_values_csv"])
    epochs = pd.read_parquet(out / "epochs")
    last_day = quantiles["date"].max()
    for point in range(3):
        row = quantiles[(quantiles["point"] == point) & (quantiles["date"] == last_day)]
        mine = epochs[(epochs["point"] == point) & (epochs["epoch"] == 3)]["hashrate_ehs"]
        assert row["p50"].item() == pytest.approx(np.median(mine))
        assert row["runs"].item() == 9
        peaks = epochs[epochs["point"] == point].groupby("run")["hashrate_ehs"].max()
        got = finals.loc[finals["point"] == point, "peak_hashrate"].sort_values()
        np.testing.assert_allclose(got, peaks.sort_values())
    assert paths["fan_by_point_hashrate_ehs"].is_file()
    assert "heatmap_peak_hashrate__market.btc.drift" not in paths  # one parameter: no pairs
