"""Scenario discovery: PRIM finds a box planted in synthetic data (and its quasi-p-values call
the irrelevant parameters irrelevant), CART's densest leaf and the feature scores agree, and
``minersim discover`` runs end to end on a batch whose runs are functions of their point."""

from __future__ import annotations

import builtins
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import use_synthetic_runs

from sim.analysis import discovery
from sim.batch import sweep
from sim.cli import main
from sim.errors import MinersimError

pytest.importorskip(
    "ema_workbench", reason="needs the analysis extra: pip install -e '.[analysis]'"
)


def planted(n: int = 600, seed: int = 1, noise: float = 0.03):
    """Runs of interest inside a > 0.6 and b < 0 (95% of them; 3% of the others)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "a": rng.uniform(0, 1, n),
            "b": rng.uniform(-5, 5, n),
            "c": rng.uniform(10, 20, n),
            "policy": rng.choice(["hodl", "rational"], n),
        }
    )
    inside = ((x["a"] > 0.6) & (x["b"] < 0)).to_numpy()
    y = np.where(inside, rng.random(n) < 0.95, rng.random(n) < noise)
    return x, y


def test_prim_finds_the_planted_box_and_only_its_two_parameters():
    x, y = planted()
    result = discovery.prim_box(x, y, min_density=0.9)
    limits = result.limits.set_index("parameter")
    assert set(limits.index) == {"a", "b"}  # c and the policy are left free
    assert 0.5 <= limits.loc["a", "min"] <= 0.7 and limits.loc["a", "max"] == x["a"].max()
    assert -1.0 <= limits.loc["b", "max"] <= 1.0 and limits.loc["b", "min"] == x["b"].min()
    assert limits.loc["a", "qp_min"] < 1e-6 and limits.loc["b", "qp_max"] < 1e-6
    assert result.stats["density"] >= 0.9 and result.stats["coverage"] >= 0.75
    assert result.interest == int(y.sum()) and result.runs == len(y)
    assert set(result.trajectory.columns) >= {"coverage", "density", "mass", "res_dim"}


def test_prim_on_a_condition_unrelated_to_the_parameters_finds_no_dense_box():
    x, _ = planted()
    y = np.random.default_rng(7).random(len(x)) < 0.2  # the parameters explain nothing
    result = discovery.prim_box(x, y, min_density=0.9)
    assert result.stats["density"] < 0.6  # no box holds mostly runs of interest


def test_cart_and_feature_scores_point_at_the_planted_parameters():
    x, y = planted()
    leaves = discovery.cart_boxes(x, y)
    top = leaves.iloc[0]
    assert top["density"] >= 0.85 and "a >" in top["rules"] and "b <=" in top["rules"]
    scores = discovery.feature_scores(x, {"box": y, "linear": (3 * x["a"] + x["b"]).to_numpy()})
    np.testing.assert_allclose(scores.sum(), 1.0)
    assert scores.loc[["a", "b"], "box"].min() > scores.loc[["c", "policy"], "box"].max()
    assert scores["linear"].idxmax() == "b"  # b spans 10 units, 3a spans 3
    assert scores.loc["policy", "linear"] < 0.05


def test_cart_on_a_small_batch_keeps_a_leaf_of_one_run_or_more():
    x, y = planted(n=16)  # the workbench's leaf size int(0.05 x 16) would be 0
    assert len(discovery.cart_boxes(x, y)) >= 1


def test_too_few_runs_or_one_sided_conditions_are_one_line_errors():
    x, y = planted(n=50)
    with pytest.raises(MinersimError, match="both sides"):
        discovery.prim_box(x, np.zeros(len(x), dtype=bool))
    with pytest.raises(MinersimError, match="at least 10 runs"):
        discovery.prim_box(x[:5], y[:5])
    with pytest.raises(MinersimError, match="swept parameters"):
        discovery.prim_box(x[[]], y)


RANGES = {"market.btc.volatility": (0.2, 1.0), "market.power.base_usd_mwh": (20.0, 80.0)}


def defaults_when_volatile_and_cheap(point: dict, rng: np.random.Generator) -> dict:
    """3+ defaults by the end when volatility > 0.7 and power < 40 $/MWh; hashrate is noise."""
    stressed = point["market.btc.volatility"] > 0.7 and point["market.power.base_usd_mwh"] < 40
    final = 3 + rng.integers(0, 3) if stressed else rng.integers(0, 2)
    return {
        "miners_defaulted": np.minimum(np.arange(4), final),
        "hashrate_ehs": rng.normal(1000, 50),
        "btc_price_usd": 1e5 * (1 + point["market.btc.volatility"]),
    }


def test_discover_cli_on_a_batch_finds_the_stress_box(tmp_path, monkeypatch, capsys):
    use_synthetic_runs(monkeypatch, defaults_when_volatile_and_cheap)
    out = tmp_path / "lhs"
    sweep("demo", 1, 3, out, lhs=400, ranges=RANGES, progress=False)
    argv = ["discover", str(out), "--where", "miners_defaulted >= 3"]
    argv += ["--outcome", "peak_price=max(btc_price_usd)", "--score", "peak_price"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "market.btc.volatility >= 0.6" in printed and "market.power.base_usd_mwh <= 4" in printed
    folder = out / "discovery" / "miners_defaulted_3"
    box = pd.read_csv(folder / "prim_box.csv").set_index("parameter")  # planted: > 0.7, < 40
    assert 0.6 <= box.loc["market.btc.volatility", "min"] <= 0.8
    assert 35 <= box.loc["market.power.base_usd_mwh", "max"] <= 50
    leaf = pd.read_csv(folder / "cart_boxes.csv").iloc[0]
    assert leaf["density"] == 1.0 and "market.btc.volatility > 0.69" in leaf["rules"]
    for name in ("runs.csv", "prim_trajectory.csv", "prim_box.csv", "cart_boxes.csv",
                 "feature_scores.csv", "prim.png", "feature_scores.png"):  # fmt: skip
        assert (folder / name).is_file(), name
    scores = pd.read_csv(folder / "feature_scores.csv").set_index("parameter")
    assert scores["peak_price"].idxmax() == "market.btc.volatility"
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 400 and runs["of_interest"].sum() == (runs["miners_defaulted"] >= 3).sum()


def test_discover_without_the_extra_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    real_import = builtins.__import__

    def no_workbench(name, *args, **kwargs):
        if name.startswith("ema_workbench"):
            raise ImportError("No module named 'ema_workbench'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_workbench)
    assert main(["discover", str(tmp_path), "--where", "miners_defaulted >= 3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'minersim[analysis]'" in err


def test_discover_with_a_bad_condition_is_one_line(tmp_path, monkeypatch, capsys):
    use_synthetic_runs(monkeypatch, defaults_when_volatile_and_cheap)
    sweep("demo", 1, 3, tmp_path / "b", lhs=20, ranges=RANGES, progress=False)
    assert main(["discover", str(tmp_path / "b"), "--where", "nonesuch >= 3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--where 'nonesuch >= 3'" in err


def test_import_sim_leaves_the_analysis_extra_unimported():
    code = (
        "import sys, sim; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ema_workbench', 'sklearn'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
