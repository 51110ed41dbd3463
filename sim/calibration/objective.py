"""The objective: a candidate's parameter values -> runs over common seeds -> weighted moment loss.

One :class:`CandidateTask` runs the scenario with the candidate's overrides for each of the
calibration's seeds (the same seeds for every candidate: common random numbers, so the loss is a
deterministic function of the parameters) and returns the moments of each run. Tasks are small
and picklable; :func:`evaluate` sends them to any :class:`concurrent.futures.Executor` (local
processes or a Dask client's executor from :func:`sim.batch.runner.open_executor`) or runs them
in this process, and returns the results in task order whatever order they finish in.

The loss is ``sum_k w_k * term_k`` over :data:`sim.calibration.moments.TERMS`, each term the mean
squared error of the mean-over-seeds simulated moment against history. A candidate whose run
fails (a stalled chain, a value the model rejects) scores :data:`FAILED_LOSS`.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim import consensus
from sim.calibration.moments import (
    Moments,
    Window,
    loss_terms,
    mean_moments,
    run_moments,
)
from sim.calibration.spec import MomentWeights, ParameterSpec
from sim.errors import MinersimError
from sim.input.scenario import Scenario, load_scenario
from sim.runner import run

#: Loss of a candidate whose runs fail: far above any fit (a log-difficulty MSE of 1e6).
FAILED_LOSS = 1e6


# --------------------------------------------------------------------------------------------
# Parameters <-> the optimiser's vector


@dataclass(frozen=True)
class ParameterSpace:
    """Maps the optimiser's vector to dotted-key values: log-scale keys are searched as
    log10(value), integer keys as whole numbers."""

    parameters: dict[str, ParameterSpec]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    @property
    def bounds(self) -> list[tuple[float, float]]:
        return [
            (np.log10(p.lower), np.log10(p.upper)) if p.scale == "log" else (p.lower, p.upper)
            for p in self.parameters.values()
        ]

    @property
    def integrality(self) -> np.ndarray | None:
        flags = np.array([p.integer for p in self.parameters.values()])
        return flags if flags.any() else None

    @property
    def start(self) -> np.ndarray | None:
        """The optimiser vector of the parameters' ``start`` values; None unless all have one."""
        starts = [p.start for p in self.parameters.values()]
        if any(v is None for v in starts):
            return None
        return np.array(
            [
                np.log10(v) if p.scale == "log" else v
                for p, v in zip(self.parameters.values(), starts, strict=True)
            ]
        )

    def values(self, x: Sequence[float]) -> dict[str, float | int]:
        """The dotted-key overrides of one optimiser vector."""
        out: dict[str, float | int] = {}
        for (key, spec), v in zip(self.parameters.items(), x, strict=True):
            if spec.integer:
                out[key] = round(float(v))
            elif spec.scale == "log":
                out[key] = float(10.0**v)
            else:
                out[key] = float(v)
        return out


# --------------------------------------------------------------------------------------------
# The task a worker runs


@dataclass(frozen=True)
class CandidateTask:
    """Run ``scenario`` (+ ``fixed``) with ``overrides`` once per seed; moments on ``window``
    and, with ``horizon``, each run's monthly log difficulty on every month of ``horizon`` too.

    ``scenario`` is a bundled name or an absolute path; ``scenario_hash`` the content hash the
    worker must find after applying ``fixed`` (workers must see the same files).
    """

    scenario: str
    scenario_hash: str
    fixed: dict
    overrides: dict
    seeds: tuple[int, ...]
    window: Window
    halvings: tuple[int, ...]
    horizon: Window | None = None


@dataclass(frozen=True)
class CandidateRuns:
    """What a task returns: per-seed moments (or the error that stopped a run), per-seed
    monthly paths (with a horizon) and the seconds the runs took."""

    moments: tuple[Moments, ...] | None
    paths: tuple[pd.Series, ...] | None
    error: str | None
    seconds: float


def simulate(task: CandidateTask) -> CandidateRuns:
    """Run one candidate on any worker (a module-level function, so it pickles)."""
    started = time.perf_counter()
    try:
        scenario = load_scenario(
            _base(task.scenario, task.scenario_hash, task.fixed), task.overrides
        )
        initial = initial_difficulty(scenario)
        moments, paths = [], []
        for seed in task.seeds:
            epochs = run(scenario, seed=seed).epochs
            moments.append(run_moments(epochs, initial, task.window, task.halvings))
            if task.horizon is not None:
                path = run_moments(epochs, initial, task.horizon, ())
                paths.append(pd.Series(path.log_difficulty, index=path.months))
    except MinersimError as exc:
        return CandidateRuns(None, None, str(exc), time.perf_counter() - started)
    return CandidateRuns(
        tuple(moments), tuple(paths) if task.horizon else None, None, time.perf_counter() - started
    )


def initial_difficulty(scenario: Scenario) -> float:
    """The difficulty a scenario starts at (given as ``chain.difficulty`` or ``chain.bits``)."""
    chain = scenario.config.chain
    return consensus.bits_to_difficulty(chain.bits) if chain.bits is not None else chain.difficulty


@functools.lru_cache(maxsize=4)
def _cached_base(scenario: str, fixed_json: str) -> Scenario:
    return load_scenario(scenario, json.loads(fixed_json))


def _base(scenario: str, scenario_hash: str, fixed: dict) -> Scenario:
    """The scenario with the fixed overrides, loaded once per process (again if its files
    changed since: the content hash must be the one the calibration started with)."""
    key = (scenario, json.dumps(fixed, sort_keys=True, default=str))
    base = _cached_base(*key)
    if base.content_hash != scenario_hash:
        _cached_base.cache_clear()
        base = _cached_base(*key)
    if base.content_hash != scenario_hash:
        raise MinersimError(
            f"scenario '{scenario}' has content hash {base.content_hash[:12]} here but "
            f"{scenario_hash[:12]} where the calibration started: workers must see the same "
            "scenario files"
        )
    return base


# --------------------------------------------------------------------------------------------
# Evaluating many candidates


def evaluate(
    tasks: Sequence[CandidateTask],
    executor: cf.Executor | None,
    on_done: Callable[[CandidateRuns], None] = lambda runs: None,
) -> list[CandidateRuns]:
    """Run tasks (in this process when ``executor`` is None); results in task order."""
    if executor is None:
        results = []
        for task in tasks:
            results.append(simulate(task))
            on_done(results[-1])
        return results
    futures = {executor.submit(simulate, task): i for i, task in enumerate(tasks)}
    results: list[CandidateRuns | None] = [None] * len(tasks)
    try:
        for future in cf.as_completed(futures):
            results[futures[future]] = future.result()
            on_done(results[futures[future]])
    finally:
        for future in futures:
            future.cancel()
    return results  # type: ignore[return-value]


def weighted_loss(terms: dict[str, float], weights: MomentWeights) -> float:
    """``sum_k w_k * term_k``."""
    return float(sum(getattr(weights, name) * value for name, value in terms.items()))


def score(
    runs: CandidateRuns, data: Moments, weights: MomentWeights
) -> tuple[float, dict[str, float] | None, Moments | None]:
    """Loss, its terms and the mean-over-seeds moments of one candidate (FAILED_LOSS on error)."""
    if runs.moments is None:
        return FAILED_LOSS, None, None
    simulated = mean_moments(runs.moments)
    terms = loss_terms(simulated, data)
    loss = weighted_loss(terms, weights)
    return (loss if np.isfinite(loss) else FAILED_LOSS), terms, simulated
