"""Runs that reach their end only through an epoch far beyond the target are marked (issue 26).

``sim.health``: an epoch over 140 days (10x the 14-day target) or an end over 140 days past the
end date makes a run degenerate: ``meta["stalled"]`` is True with the reason in
``meta["stall_reason"]``; experiments leave such runs out and say how many and why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.batch.seeds import run_seed
from sim.errors import MinersimError
from sim.experiments import common
from sim.health import MAX_EPOCH_DAYS, STOPPED, degenerate_reason, run_health


def test_the_threshold_is_ten_target_epochs():
    assert MAX_EPOCH_DAYS == 140.0


@pytest.mark.parametrize(
    ("days", "last", "says"),
    [
        ([14.0, 13.0, 15.0], "2031-01-05", ""),
        ([14.0, 140.0], "2031-01-05", ""),
        ([14.0, 141.0], "2031-01-05", "an epoch lasted 141 days (limit 140"),
        ([14.0, 20.0], "2031-06-01", "152 days after its end date 2030-12-31"),
    ],
)
def test_degenerate_reason(days, last, says):
    reason = degenerate_reason(np.array(days), last, "2030-12-31")
    assert (says in reason) if says else reason == ""


def test_a_stopped_chain_keeps_its_own_reason():
    assert run_health(pd.DataFrame(), "2030-12-31", stopped=True) == (True, STOPPED)


def test_a_run_whose_price_collapses_is_marked_with_its_longest_epoch():
    # The defect of issue 26 (a jpm_method run with a 1,028-day epoch said stalled: False),
    # made independent of the economics: BTC falls from $100,000 to $100 in a month, only
    # 2% of the machines run whatever the margin, so the next epochs last far beyond the limit.
    overrides = {
        "market.btc.process": "piecewise",
        "market.btc.points": [["2025-10-01", 100000.0], ["2025-11-01", 100.0]],
        "fringe.must_run_fraction": 0.02,
    }
    result = sim.run(sim.load_scenario("demo", overrides), seed=0)
    longest = result.epochs["epoch_days"].max()
    assert longest > MAX_EPOCH_DAYS
    assert result.meta["stalled"] is True
    assert f"an epoch lasted {longest:,.0f} days" in result.meta["stall_reason"]


def _stalls_on_odd_seeds(spec, seed):
    if seed % 2:
        raise common.Excluded("stalled: made up for the test")
    return seed


def test_experiments_leave_out_excluded_runs_and_say_so(tmp_path, capsys):
    from sim.analysis.plots import figure

    args = common.parse_args("probe", "a test", 6, ["--out", str(tmp_path)])
    kept = common.over_seeds(_stalls_on_odd_seeds, "demo", args)
    seeds = [run_seed(0, i) for i in range(6)]
    assert kept == [s for s in seeds if s % 2 == 0]
    out = common.write_outputs(args, figure((2, 2)), pd.DataFrame({"x": [1.0]}), "T", [])
    page = (out / "probe.md").read_text()
    used = len(kept)
    assert f"`demo` {used} of 6" in page and "made up for the test" in page
    runs = pd.read_csv(out / "probe_runs.csv")
    assert runs.to_dict("records")[0] | {"why excluded": ""} == {
        "scenario": "demo",
        "runs": 6,
        "used": used,
        "excluded": 6 - used,
        "why excluded": "",
    }
    assert f"runs left out (demo: {6 - used} stalled)" in capsys.readouterr().out


def _always_stalls(spec, seed):
    raise common.Excluded("stalled: made up for the test")


def test_an_experiment_whose_every_run_is_left_out_stops_with_one_line(tmp_path):
    args = common.parse_args("probe", "a test", 2, ["--out", str(tmp_path)])
    with pytest.raises(MinersimError, match="every one of the 2 runs of demo was left out"):
        common.over_seeds(_always_stalls, "demo", args)


def test_sound_raises_for_a_stalled_result():
    stalled = sim.RunResult(
        pd.DataFrame(), pd.DataFrame(), meta={"stalled": True, "stall_reason": "x"}
    )
    with pytest.raises(common.Excluded, match="stalled: x"):
        common.sound(stalled)
