"""Batch workers build a scenario once and reuse it: the parcel is unpickled once per process
and each sweep point's Scenario is built once (among the few kept), counted, not timed."""

from __future__ import annotations

import io
import pickle

import pandas as pd
import pytest

import sim
from sim import runner
from sim.batch import worker
from sim.batch.worker import RunTask, ScenarioParcel, execute_run
from sim.errors import MinersimError
from sim.results import RunResult

VOLATILITY = "market.btc.volatility"


@pytest.fixture
def counted(monkeypatch):
    """Empty worker caches, runs replaced by a one-row result that names the scenario it got,
    and counters of unpickled parcels and built points."""
    monkeypatch.setattr(worker, "_scenarios", type(worker._scenarios)())
    monkeypatch.setattr(worker, "_points", type(worker._points)())
    counts = {"unpickled": 0, "built": 0}
    loads, build = pickle.loads, worker.load_scenario

    def counting_loads(data):
        counts["unpickled"] += 1
        return loads(data)

    def counting_build(scenario, overrides):
        counts["built"] += 1
        return build(scenario, overrides)

    def fake_run(scenario, seed):
        frame = pd.DataFrame({"epoch": [0], "volatility": [scenario.config.market.btc.volatility]})
        return RunResult(frame, frame.iloc[:0], meta={"stalled": False})

    monkeypatch.setattr(worker.pickle, "loads", counting_loads)
    monkeypatch.setattr(worker, "load_scenario", counting_build)
    monkeypatch.setattr(runner, "run", fake_run)
    return counts


def task(parcel: ScenarioParcel, run_id: int, overrides: dict) -> RunTask:
    return RunTask(parcel, run_id, run_id, 0, overrides, {}, False)


def test_a_worker_unpickles_the_scenario_once_and_builds_each_point_once(counted):
    base = sim.load_scenario("demo")
    parcel = ScenarioParcel.of(base)
    points = [{}, {VOLATILITY: 0.5}, {VOLATILITY: 0.7}]
    base_volatility = base.config.market.btc.volatility
    for run_id in range(12):
        point = points[run_id % 3]
        output = execute_run(task(parcel, run_id, point))
        ran_with = pd.read_parquet(io.BytesIO(output.epochs))["volatility"].iloc[0]
        assert ran_with == point.get(VOLATILITY, base_volatility)  # the point's own scenario
    assert counted == {"unpickled": 1, "built": 2}  # the base point needs no build
    built = worker.point_scenario(parcel, {VOLATILITY: 0.7})
    assert built == sim.load_scenario(base, {VOLATILITY: 0.7}) and counted["built"] == 2


def test_the_point_cache_is_bounded(counted):
    parcel = ScenarioParcel.of(sim.load_scenario("demo"))
    size = worker.POINT_CACHE_SIZE
    values = [0.3 + 0.01 * k for k in range(size + 2)]
    for run_id, value in enumerate(values):
        execute_run(task(parcel, run_id, {VOLATILITY: value}))
    assert len(worker._points) == size
    worker.point_scenario(parcel, {VOLATILITY: values[-1]})  # still kept
    assert counted["built"] == size + 2
    worker.point_scenario(parcel, {VOLATILITY: values[0]})  # evicted: built again
    assert counted["built"] == size + 3


def test_a_parcel_whose_scenario_does_not_match_its_hash_is_refused(counted):
    demo, other = sim.load_scenario("demo"), sim.load_scenario("baseline")
    forged = ScenarioParcel(demo.content_hash, ScenarioParcel.of(other).data)
    with pytest.raises(MinersimError, match="arrived with content hash"):
        worker.scenario_of(forged)
