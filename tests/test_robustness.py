"""Levers against uncertainties: regret of each lever setting across futures, against values
worked out by hand, and ``minersim robustness`` on a real lever sweep of a named miner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serial_backend import use_serial_backend

from sim.analysis.robustness import regret_table
from sim.cli import main
from sim.errors import MinersimError

U = np.array([0.1, 0.5, 0.9])


def futures(outcome_a, outcome_b, replicate=0):
    """Two settings of lever ``policy`` in the futures ``u`` (one replicate)."""
    experiments = pd.DataFrame(
        {
            "replicate": replicate,
            "policy": ["a", "b"] * len(U),
            "u": np.repeat(U, 2),
        }
    )
    values = np.column_stack([outcome_a, outcome_b]).ravel()
    return experiments, pd.Series(values)


def test_regret_is_the_shortfall_from_the_best_setting_of_each_future():
    experiments, values = futures(2 * U, np.full(3, 0.6))  # a: 0.2, 1.0, 1.8; b: 0.6
    table, regret, dropped = regret_table(experiments, values, ["policy"], ["u"])
    rows = table.set_index("setting")
    # a falls short by 0.4 when u = 0.1; b by 0.4 at u = 0.5 and 1.2 at u = 0.9
    np.testing.assert_allclose(rows.loc["policy=a", ["regret_max", "regret_mean"]], [0.4, 0.4 / 3])
    np.testing.assert_allclose(rows.loc["policy=b", ["regret_max", "regret_mean"]], [1.2, 1.6 / 3])
    np.testing.assert_allclose(rows["best_in_share"], [2 / 3, 1 / 3])
    assert table["setting"].tolist() == ["policy=a", "policy=b"]  # minimax regret first
    assert dropped == 0 and len(regret) == 6
    np.testing.assert_allclose(rows.loc["policy=a", "outcome_median"], 1.0)


def test_lower_is_better_measures_regret_as_excess_cost():
    experiments, values = futures(2 * U, np.full(3, 0.6))
    table, _, _ = regret_table(experiments, values, ["policy"], ["u"], higher_is_better=False)
    rows = table.set_index("setting")
    # as a cost: a exceeds b by 0.4 at u = 0.5 and by 1.2 at u = 0.9; b exceeds a by 0.4
    np.testing.assert_allclose(rows.loc["policy=a", "regret_max"], 1.2)
    np.testing.assert_allclose(rows.loc["policy=b", "regret_max"], 0.4)
    assert table["setting"].iloc[0] == "policy=b"


def test_a_future_missing_a_setting_is_left_out_and_counted():
    experiments, values = futures(2 * U, np.full(3, 0.6))
    values.iloc[1] = np.nan  # b's run of the first future has no value
    table, _, dropped = regret_table(experiments, values, ["policy"], ["u"])
    assert dropped == 1 and table["futures"].tolist() == [2, 2]
    with pytest.raises(MinersimError, match="lever sweep"):
        regret_table(experiments, values, [], ["u"])


def test_robustness_cli_on_a_lever_sweep_of_a_named_miner(tmp_path, monkeypatch, capsys):
    use_serial_backend(monkeypatch)
    out = tmp_path / "levers"
    sweep = ["sweep", "demo", "--runs", "1", "--out", str(out), "--crn", "--miners"]
    sweep += ["--set", "scenario.end_date=2026-01-01", "--lhs", "2"]
    sweep += ["--range", "market.btc.drift=-0.5:0.5"]
    sweep += ["--lever", "miners.policies.MARA=rational,hodl"]
    assert main(sweep) == 0
    capsys.readouterr()
    assert main(["robustness", str(out), "--miner", "MARA"]) == 0
    printed = capsys.readouterr().out
    assert "mara_market_cap_usd (higher is better) over 2 futures" in printed
    table = pd.read_csv(out / "robustness" / "mara_market_cap_usd" / "robustness.csv")
    assert sorted(table["setting"]) == ["MARA=hodl", "MARA=rational"]
    assert table["regret_max"].min() == 0.0 or table["best_in_share"].max() > 0
    assert set(table.columns) >= {"regret_mean", "regret_p90", "default_rate"}
    assert (out / "robustness" / "mara_market_cap_usd" / "robustness.png").is_file()
    assert main(["robustness", str(out), "--miner", "Nobody"]) == 2
    assert "no miner named 'Nobody'" in capsys.readouterr().err
