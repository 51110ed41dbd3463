"""Runs that stop early say so (issue 14, family "silent wrong results").

The rule (docs/architecture.md): a run *stalls* when its chain stops before the scenario's end
date (too little hashrate for the difficulty: no block in an epoch, or an epoch that would end
years past the end date). Then ``result.meta["stalled"]`` is True; ``minersim run`` writes the
tables, warns on stderr in one line and exits with status 3 (the horizon asked for was not
reached); the report says so; in a batch the run's rows have ``stalled = True``, the summary
counts such runs and ``mc`` / ``sweep`` warn (exit 0: a stalled path is one outcome of many).

Checked here: for generated price collapses, ``stalled`` holds exactly when the last epoch ends
before the end date (or no epoch completed); then the command line and a batch.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serial_backend import use_serial_backend
from strategies import copy_demo

import sim
from sim.batch import store
from sim.cli import main

START = dt.date(2025, 10, 1)
FAST = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def collapse(low_usd: float, days: int, must_run: float, horizon_days: int) -> dict:
    """Overrides: BTC falls from 118,649 to ``low_usd`` over ``days`` days, the fringe runs
    ``must_run`` of its hashrate whatever the margin."""
    return {
        "market.btc.process": "piecewise",
        "market.btc.volatility": 0.0,
        "market.btc.points": [[START, 118_649.0], [START + dt.timedelta(days=days), low_usd]],
        "fringe.must_run_fraction": must_run,
        "scenario.end_date": START + dt.timedelta(days=horizon_days),
    }


def stopped_early(epochs: pd.DataFrame, end: dt.date) -> bool:
    """The independent reading of "stalled": no epoch, the last ends before the end date, or the
    run is degenerate (an epoch over 140 days, or an end over 140 days past the end date)."""
    if epochs.empty or epochs["date"].iloc[-1].date() < end:
        return True
    overrun = (epochs["date"].iloc[-1].date() - end).days
    return bool(epochs["epoch_days"].max() > 140 or overrun > 140)


@pytest.mark.timeout(600)
@FAST
@given(
    low=st.sampled_from([100.0, 1_000.0, 20_000.0, 118_649.0]),
    days=st.integers(5, 60),
    must_run=st.sampled_from([0.0, 1e-4, 0.05, 1.0]),
    horizon=st.integers(30, 200),
)
def test_stalled_exactly_when_the_run_ends_before_its_end_date(low, days, must_run, horizon):
    overrides = collapse(low, days, must_run, horizon)
    result = sim.run("demo", seed=1, overrides=overrides)
    end = overrides["scenario.end_date"]
    assert result.meta["stalled"] == stopped_early(result.epochs, end)


def test_a_collapse_without_must_run_hashrate_stalls():
    # BTC at $1,000 within a month and no must-run fringe: every machine is under water.
    result = sim.run("demo", seed=0, overrides=collapse(1_000.0, 31, 0.0, 365))
    assert result.meta["stalled"]
    assert stopped_early(result.epochs, START + dt.timedelta(days=365))


def test_run_command_warns_and_exits_3_when_the_chain_stalls(tmp_path, capsys):
    demo = copy_demo(tmp_path)
    out = tmp_path / "out"
    sets = ["--set", 'market.btc.process="piecewise"', "--set", "market.btc.volatility=0.0"]
    sets += ["--set", "market.btc.points=[[2025-10-01, 118649.0], [2025-11-01, 1000.0]]"]
    sets += ["--set", "fringe.must_run_fraction=0.0"]
    code = main(["run", str(demo), "--out", str(out), *sets])
    err = capsys.readouterr().err
    assert code == 3
    assert err.count("\n") == 1 and err.startswith("minersim: warning: the chain stalled"), err
    meta = json.loads((out / "metadata.json").read_text())  # the report reads this
    assert meta["stalled"] is True and meta["end_date"] == "2026-10-01"
    assert (
        pd.read_parquet(out / "epochs.parquet")["date"].iloc[-1].date().isoformat()
        == (meta["last_epoch_date"])
    )
    healthy = main(["run", str(demo), "--out", str(tmp_path / "ok")])
    assert healthy == 0
    assert json.loads((tmp_path / "ok" / "metadata.json").read_text())["stalled"] is False


def test_report_of_a_stalled_run_says_so(tmp_path):
    from sim.analysis.report import write_report

    demo = copy_demo(tmp_path)
    out = tmp_path / "out"
    sets = ["--set", 'market.btc.process="piecewise"', "--set", "market.btc.volatility=0.0"]
    sets += ["--set", "market.btc.points=[[2025-10-01, 118649.0], [2025-11-01, 1000.0]]"]
    sets += ["--set", "fringe.must_run_fraction=0.0"]
    assert main(["run", str(demo), "--out", str(out), *sets]) == 3
    assert "stopped early** (the chain stopped before the end date" in write_report(out).read_text()


@pytest.fixture
def serial(monkeypatch):
    use_serial_backend(monkeypatch)


def test_a_batch_marks_stalled_runs_and_counts_them(tmp_path, capsys, serial):
    demo = copy_demo(tmp_path)
    out = tmp_path / "sweep"
    base = ["--set", 'market.btc.process="piecewise"', "--set", "market.btc.volatility=0.0"]
    base += ["--set", "market.btc.points=[[2025-10-01, 118649.0], [2025-11-01, 1000.0]]"]
    base += ["--set", "scenario.end_date=2026-03-01"]
    grid = ["--grid", "fringe.must_run_fraction=0.0,0.2"]
    code = main(["sweep", str(demo), "--runs", "1", "--out", str(out), *grid, *base])
    err = capsys.readouterr().err
    assert code == 0
    frame = store.read_epochs(out)
    per_run = frame.groupby("run").agg(stalled=("stalled", "first"), last=("date", "max"))
    per_run["early"] = per_run["last"].dt.date < dt.date(2026, 3, 1)
    assert (per_run["stalled"] == per_run["early"]).all()
    assert per_run["stalled"].tolist() == [True, False]  # no must-run hashrate stalls
    assert "minersim: warning: 1 of 2 runs stalled" in err
    # the summaries leave the stalled run out of their fan charts and say so
    assert main(["summarize", str(out)]) == 0
    err = capsys.readouterr().err
    assert "the fan charts use 1 of 2 runs; 1 stalled or are degenerate" in err
    runs = pd.read_csv(out / "summary" / "runs.csv").iloc[0]
    assert (runs["runs"], runs["used"], runs["excluded"]) == (2, 1, 1)
    assert "run 0: the chain stopped" in runs["why excluded"]
    finals = pd.read_csv(out / "summary" / "final_values.csv")
    assert finals.set_index("run")["excluded"].to_dict() == {0: True, 1: False}


def test_stalled_column_comes_after_the_run_columns(tmp_path, serial):
    summary = sim.monte_carlo("demo", 1, 0, tmp_path / "mc", progress=False)
    frame = store.read_epochs(summary.out)
    assert list(frame.columns[:4]) == ["run", "seed", "point", "stalled"]
    assert summary.stalled_runs == 0 and not frame["stalled"].any()
    assert Path(summary.out / store.LEDGER_FILE).exists()


def test_a_chain_that_stops_after_its_end_date_covered_the_horizon():
    # BTC to $1,000 over 41 days, a 30-day horizon: the first epoch's blocks run past the end
    # date (2025-10-31) before the chain stops short of 2,016 blocks. The run reached its end
    # date, so it is not stalled (it was, before the engine checked the horizon first).
    result = sim.run("demo", seed=1, overrides=collapse(1_000.0, 41, 0.0, 30))
    assert len(result.epochs) == 1
    assert result.epochs["date"].iloc[-1].date() >= START + dt.timedelta(days=30)
    assert not result.meta["stalled"]
