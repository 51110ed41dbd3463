"""Monte Carlo in memory: a picklable task mapped over a batch's run seeds on local processes.

``map_runs(task, scenario, runs, seed, workers)`` returns ``[task(scenario, seed_0), ...,
task(scenario, seed_{runs-1})]`` where ``seed_i`` is :func:`sim.batch.seeds.run_seed` of the
root seed: the seeds ``minersim mc --seed SEED`` gives its runs, so run ``i`` of an experiment
is run ``i`` of the batch with the same root seed. Results are in run order and do not depend
on ``workers``. The scenario is loaded and validated once in the calling process and
unpickled once per worker process (:func:`sim.batch.worker.scenario_of`).

Unlike :func:`sim.batch.monte_carlo`, nothing is written to disk: the task returns whatever the
caller keeps of a run (a few columns, a summary row), so it suits the experiments.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sim.batch.executors import open_executor
from sim.batch.seeds import check_count, check_seed, run_seed
from sim.batch.worker import ScenarioParcel, scenario_of
from sim.input.scenario import Scenario, load_scenario

#: Chunks per worker: few enough that the scenario travels rarely, enough to balance the load.
CHUNKS_PER_WORKER = 4


@dataclass(frozen=True)
class _Call:
    """``task(scenario, seed)`` with the scenario as a parcel (picklable by reference)."""

    task: Callable[[Scenario, int], object]
    parcel: ScenarioParcel

    def __call__(self, seed: int) -> object:
        return self.task(scenario_of(self.parcel), seed)


def run_seeds(seed: int, runs: int) -> list[int]:
    """Seeds of runs ``0 .. runs-1`` of a batch with root seed ``seed`` (as ``minersim mc``)."""
    seed, runs = check_seed(seed), check_count("runs", runs)
    return [run_seed(seed, i) for i in range(runs)]


def map_runs[T](
    task: Callable[[Scenario, int], T],
    scenario: str | os.PathLike | Scenario,
    runs: int,
    seed: int,
    workers: int = 1,
    *,
    overrides: Mapping[str, object] | None = None,
) -> list[T]:
    """``task(scenario, run_seed(seed, i))`` for ``i`` in ``range(runs)``, in run order.

    ``scenario``: a bundled name, a TOML path or a Scenario (with ``overrides`` applied once);
    ``workers``: 1 runs every call in this process, more use that many local processes (then
    ``task`` must be picklable: a module-level function). Bad counts or seeds raise
    :class:`~sim.errors.MinersimError` before anything runs.
    """
    seeds = run_seeds(seed, runs)
    workers = check_count("workers", workers, 10_000)
    base = load_scenario(scenario, dict(overrides or {}))
    if workers == 1:
        return [task(base, s) for s in seeds]
    call = _Call(task, ScenarioParcel.of(base))
    workers = min(workers, runs)
    chunk = max(1, math.ceil(runs / (CHUNKS_PER_WORKER * workers)))
    with open_executor(workers) as backend:
        return list(backend.executor.map(call, seeds, chunksize=chunk))


__all__ = ["map_runs", "run_seeds"]
