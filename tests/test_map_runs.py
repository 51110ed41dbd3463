"""sim.batch.map_runs: the experiments' Monte Carlo uses the seeds of ``minersim mc`` and gives
the same results on any number of workers; bad counts are one-line errors."""

from __future__ import annotations

import pytest

import sim
from sim.batch import map_runs, run_seed
from sim.batch import runner as batch
from sim.batch.worker import ScenarioParcel
from sim.errors import MinersimError


def seed_and_hash(scenario: sim.Scenario, seed: int) -> tuple[int, str]:
    """A task: what the worker was given (module level, so that workers can unpickle it)."""
    return seed, scenario.content_hash


def test_run_i_gets_the_seed_minersim_mc_gives_run_i():
    scenario = sim.load_scenario("demo")
    plan = batch.monte_carlo_plan(5)
    template = batch.RunTask(ScenarioParcel.of(scenario), -1, -1, -1, {}, {}, False)
    mc_seeds = [batch._task_for(template, plan, 7, i).seed for i in range(5)]
    got = map_runs(seed_and_hash, scenario, 5, seed=7)
    assert [seed for seed, _ in got] == mc_seeds == [run_seed(7, i) for i in range(5)]
    assert {h for _, h in got} == {scenario.content_hash}


def test_workers_do_not_change_the_results_or_their_order():
    one = map_runs(seed_and_hash, "demo", 6, seed=3, workers=1)
    two = map_runs(seed_and_hash, "demo", 6, seed=3, workers=2)
    assert two == one
    assert len({seed for seed, _ in one}) == 6


def test_overrides_are_applied_once_before_the_runs():
    base = sim.load_scenario("demo")
    (got,) = map_runs(seed_and_hash, base, 1, seed=0, overrides={"market.btc.volatility": 0.9})
    assert got[1] == sim.load_scenario(base, {"market.btc.volatility": 0.9}).content_hash
    assert got[1] != base.content_hash


@pytest.mark.parametrize(
    ("runs", "seed", "workers", "message"),
    [
        (0, 0, 1, "runs must be a whole number >= 1, got 0"),
        (2, -1, 1, "seed must be a whole number >= 0, got -1"),
        (2, 0, 0, "workers must be a whole number >= 1, got 0"),
    ],
)
def test_bad_counts_are_one_line_errors(runs, seed, workers, message):
    with pytest.raises(MinersimError) as caught:
        map_runs(seed_and_hash, "demo", runs, seed, workers)
    assert str(caught.value) == message
