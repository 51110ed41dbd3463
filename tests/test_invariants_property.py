"""Property-based tests of the model's invariants (issue 8) over random valid scenarios.

tests/strategies.py:valid_scenarios draws 0-4 public miners (random fleets, cash, BTC, debt
notes, AI leases), 0-3 fringe classes, random BTC / fee / power / AI / rate processes, hardware
and policy parameters, and a 2-17 week horizon. Each scenario is stepped epoch by epoch: after
every step mining MW + AI MW <= capacity and cash >= 0 for solvent public miners; at the end the
result must pass every whole-run check of tests/invariants.py. The checks themselves are shown
to fail on corrupted results.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import (
    check_balance_sheet,
    check_btc_conservation,
    check_defaulted_mine_nothing,
    check_finite,
    check_public_cash,
    check_retarget_clamp,
    check_subsidy_schedule,
    run_checked,
)
from strategies import ScenarioFiles, valid_scenarios

import sim
from sim.input.scenario import load_scenario
from sim.model import MiningModel

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=1000)
SEEDS = st.integers(0, 2**32 - 1)


def check_scenario(files: ScenarioFiles, seed: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = files.write(Path(folder))
        scenario = load_scenario(path)  # a generated scenario must be valid
        run_checked(MiningModel(scenario, seed=seed))


@pytest.mark.timeout(300)
@FAST
@given(valid_scenarios(), SEEDS)
def test_invariants_hold_for_random_scenarios(files: ScenarioFiles, seed: int):
    check_scenario(files, seed)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(valid_scenarios(max_days=400), SEEDS)
def test_invariants_hold_for_random_scenarios_many(files: ScenarioFiles, seed: int):
    check_scenario(files, seed)


# ------------------------------------------------------------------------------- the checks fail


@pytest.fixture(scope="module")
def crash_result() -> sim.RunResult:
    crash = {
        "market.btc.process": "piecewise",
        "market.btc.volatility": 0.0,
        "market.btc.points": [["2025-10-01", 118649.0], ["2026-01-01", 8000.0]],
        "scenario.end_date": "2026-04-01",
    }
    return sim.run("demo", seed=2, overrides=crash)


def corrupt(result: sim.RunResult, table: str, column: str, change) -> sim.RunResult:
    """A copy of ``result`` with one cell replaced by ``change(frame, row)``: in the epochs
    table the last epoch, in the miners table a solvent public miner in the last epoch."""
    epochs, miners = result.epochs.copy(), result.miners.copy()
    frame = epochs if table == "epochs" else miners
    if table == "epochs":
        row = epochs.index[-1]
    else:
        solvent = (miners["kind"] == "public") & ~miners["defaulted"]
        row = miners.index[solvent & (miners["epoch"] == miners["epoch"].max())][0]
    frame.loc[row, column] = change(frame, row)
    return sim.RunResult(epochs=epochs, miners=miners, meta=dict(result.meta))


@pytest.mark.parametrize(
    ("check", "table", "column", "change"),
    [
        (check_finite, "epochs", "hashprice_usd_per_ph_day", lambda f, r: np.inf),
        (check_finite, "miners", "cash_usd", lambda f, r: np.nan),
        (
            check_balance_sheet,
            "miners",
            "book_equity_usd",
            lambda f, r: f.at[r, "book_equity_usd"] + 1e-5 * max(abs(f.at[r, "assets_usd"]), 1),
        ),
        (check_btc_conservation, "miners", "btc_mined", lambda f, r: f.at[r, "btc_mined"] + 1e-8),
        (check_btc_conservation, "epochs", "fees_btc", lambda f, r: f.at[r, "fees_btc"] + 1e-8),
        (check_subsidy_schedule, "epochs", "subsidy_btc", lambda f, r: f.at[r, "subsidy_btc"] - 1),
        (
            check_retarget_clamp,
            "epochs",
            "difficulty",
            lambda f, r: f["difficulty"].iloc[-2] * 4.01,
        ),
        (check_public_cash, "miners", "cash_usd", lambda f, r: -1.0),
    ],
)
def test_each_check_detects_a_corrupted_cell(crash_result, check, table, column, change):
    check(crash_result)
    with pytest.raises(AssertionError):
        check(corrupt(crash_result, table, column, change))


def test_default_check_detects_mining_after_default(crash_result):
    check_defaulted_mine_nothing(crash_result)
    miners = crash_result.miners.copy()
    public = miners.index[miners["kind"] == "public"]
    miners.loc[public[-1], "defaulted"] = True
    miners.loc[public[-1], "action"] = "defaulted"
    miners.loc[public[-1], "btc_mined"] = 1.0
    with pytest.raises(AssertionError):
        check_defaulted_mine_nothing(sim.RunResult(epochs=crash_result.epochs, miners=miners))
