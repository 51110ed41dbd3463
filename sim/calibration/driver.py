"""``calibrate``: fit a spec's parameters with differential evolution, then judge the fit.

Why :func:`scipy.optimize.differential_evolution` (docs/calibration.md says more): scipy is
already a dependency; DE is global and derivative-free, which suits a loss that is piecewise
smooth at best (runs are discrete-event simulations, even under common random numbers); it is
seeded (``rng``) and with ``vectorized=True`` hands us a whole generation at once, which we run
on any executor. Its ``updating="deferred"`` (implied by ``vectorized``) makes the search depend
only on the losses, never on the order runs finish in: serial, local processes and Dask give the
same fitted values.

Seeds: run ``r`` of every candidate uses ``sim.batch.run_seed(seed, r)`` (common random numbers);
the optimiser's own stream is ``sim.batch.runner.sampler_seed(seed)``.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from sim import history as sim_history
from sim.batch.executors import default_workers, open_executor
from sim.batch.progress import Progress
from sim.batch.runner import code_fingerprint
from sim.batch.seeds import check_seed, run_seed, sampler_seed
from sim.calibration.moments import Moments, Window, history_moments, rmse
from sim.calibration.objective import (
    CandidateRuns,
    CandidateTask,
    ParameterSpace,
    evaluate,
    score,
)
from sim.calibration.results import CalibrationResult, PeriodFit, output_paths, write_outputs
from sim.calibration.spec import CalibrationSpec, Period, load_spec
from sim.errors import MinersimError
from sim.outputs import check_can_create
from sim.paths import SCENARIOS_DIR

OPTIMIZER = "scipy.optimize.differential_evolution"


def calibrate(
    spec: str | Path | CalibrationSpec,
    seed: int = 0,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    out: str | Path | None = None,
    write: bool = True,
    progress: bool = True,
    replications: int | None = None,
    popsize: int | None = None,
    maxiter: int | None = None,
) -> CalibrationResult:
    """Fit the spec's parameters to history and write the fitted values.

    Parameters
    ----------
    spec:
        A calibration spec file (``scenarios/calibration/*.toml``, see
        :mod:`sim.calibration.spec`) or a loaded :class:`CalibrationSpec`.
    seed:
        Root seed: the same spec, budget and seed give the same fitted values on any backend.
    workers:
        Parallel processes (default: all CPUs); ``1`` runs everything in this process.
    scheduler, dask_local:
        Run on an existing Dask cluster (``tcp://HOST:PORT``) or a LocalCluster started for the
        call, as in :func:`sim.monte_carlo`.
    out:
        Fragment file to write (default: the spec's ``calibration.output``); its statistics go
        beside it as ``.json``. ``write=False`` writes nothing.
    progress:
        A tqdm bar of runs on a terminal, else a line every ~10% or 10 s, plus one line per
        generation (best loss so far), on stderr.
    replications, popsize, maxiter:
        Override the spec's budget (``[optimizer]``).
    """
    started = time.perf_counter()
    seed = check_seed(seed)
    spec = spec if isinstance(spec, CalibrationSpec) else load_spec(spec)
    spec = spec.with_budget(replications=replications, popsize=popsize, maxiter=maxiter)
    targets = output_paths(out if out is not None else spec.output) if write else None
    if targets:  # fail now, not after the search, if the folder cannot be made
        check_can_create(targets[0].parent)
    seeds = tuple(run_seed(seed, r) for r in range(spec.optimizer.replications))
    space = ParameterSpace(spec.parameters)
    data = history_moments(spec.fit.window)
    meter = Progress(spec.planned_runs, enabled=progress)
    search = _Search(spec, space, data, seeds, meter)
    try:
        with _executor(workers, scheduler, dask_local) as (executor, backend):
            search.executor = executor
            solution = search.run(sampler_seed(seed))
            searched = time.perf_counter() - started
            fitted = space.values(solution.x)
            fit = _judge(spec, spec.fit, fitted, seeds, executor, meter)
            validation = (
                _judge(spec, spec.validation, fitted, seeds, executor, meter)
                if spec.validation
                else None
            )
    finally:
        meter.close()
    elapsed = time.perf_counter() - started
    result = CalibrationResult(
        name=spec.name,
        spec=_shown(spec.path),
        spec_sha256=spec.sha256,
        seed=seed,
        seeds=list(seeds),
        parameters={k: p.model_dump() for k, p in spec.parameters.items()},
        fixed=dict(spec.fixed),
        fitted=fitted,
        objective=float(solution.fun),
        moments=spec.moments.model_dump(),
        budget=spec.optimizer.model_dump() | {"population": spec.population},
        optimizer={
            "library": OPTIMIZER,
            "candidates": search.runs // len(seeds),
            "nit": int(solution.nit),
            "success": bool(solution.success),
            "message": str(solution.message),
            "failed_candidates": search.failures,
        },
        fit=fit,
        validation=validation,
        generations=search.generations,
        timing={
            "elapsed_s": elapsed,
            "search_s": searched,
            "runs": search.runs,
            "seconds_per_run": search.run_seconds / max(search.runs, 1),
            "wall_seconds_per_run": searched / max(search.runs, 1),
            "seconds_per_generation": searched / max(len(search.generations), 1),
        },
        environment=_environment(backend),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        written=tuple(map(str, targets)) if targets else None,
    )
    if targets:
        write_outputs(result, targets[0])
    return result


def rescore(
    spec: str | Path | CalibrationSpec, fitted: dict, seeds: Sequence[int]
) -> tuple[PeriodFit, PeriodFit | None]:
    """Score given values on the spec's fit and validation periods, in this process.

    With a committed fit's ``fitted`` values and ``seeds`` this reproduces its scores exactly
    (the runs are deterministic): a check of the committed numbers without a new search.
    """
    spec = spec if isinstance(spec, CalibrationSpec) else load_spec(spec)
    seeds = tuple(int(s) for s in seeds)
    meter = Progress(0, enabled=False)
    fit = _judge(spec, spec.fit, dict(fitted), seeds, None, meter)
    validation = (
        _judge(spec, spec.validation, dict(fitted), seeds, None, meter) if spec.validation else None
    )
    return fit, validation


class _Search:
    """The differential-evolution search: the vectorised objective and its bookkeeping."""

    def __init__(self, spec: CalibrationSpec, space: ParameterSpace, data: Moments, seeds, meter):
        self.spec, self.space, self.data, self.meter = spec, space, data, meter
        self.template = _task(spec.fit, spec.fixed, seeds)
        self.executor = None
        self.generations: list[dict] = []
        self.runs = 0
        self.run_seconds = 0.0
        self.failures = 0
        self.best: tuple[float, dict] | None = None

    def run(self, optimizer_seed: int):
        from scipy.optimize import differential_evolution

        settings = self.spec.optimizer.model_dump(exclude={"replications"})  # DE's own names
        return differential_evolution(
            self.losses,
            self.space.bounds,
            **settings,
            rng=optimizer_seed,
            callback=self.on_generation,
            polish=False,  # a gradient polish is meaningless on a simulated loss
            init="latinhypercube",
            x0=self.space.start,  # replaces one member of the initial population
            updating="deferred",
            vectorized=True,
            integrality=self.space.integrality,
        )

    def losses(self, population: np.ndarray) -> np.ndarray:
        """Loss of each column of ``population`` (shape: parameters x candidates)."""
        candidates = [self.space.values(x) for x in np.atleast_2d(population.T)]
        tasks = [replace(self.template, overrides=values) for values in candidates]
        outcomes = evaluate(tasks, self.executor, self._count)
        losses = np.empty(len(tasks))
        for i, (values, runs) in enumerate(zip(candidates, outcomes, strict=True)):
            losses[i] = score(runs, self.data, self.spec.moments)[0]
            self.failures += runs.error is not None
            if self.best is None or losses[i] < self.best[0]:
                self.best = (float(losses[i]), values)
        if not self.generations:  # the initial population is generation 0
            self._report(0)
        return losses

    def on_generation(self, intermediate_result) -> None:
        self._report(len(self.generations))

    def _count(self, runs: CandidateRuns) -> None:
        self.runs += len(self.template.seeds)
        self.run_seconds += runs.seconds
        self.meter.advance(len(self.template.seeds))

    def _report(self, generation: int) -> None:
        loss, values = self.best
        self.generations.append({"generation": generation, "best_loss": loss, "best": values})
        text = ", ".join(f"{k}={v:.5g}" for k, v in values.items())
        line = (
            f"generation {generation}/{self.spec.optimizer.maxiter}: best loss {loss:.5g} "
            f"({text}); {self.runs} runs"
        )
        if self.meter.bar is not None:
            self.meter.bar.write(line, file=self.meter.stream)
        elif self.meter.enabled:
            print(line, file=self.meter.stream, flush=True)


def _task(period: Period, fixed: dict, seeds: tuple[int, ...]) -> CandidateTask:
    return CandidateTask(
        scenario=period.scenario,
        scenario_hash=period.base.content_hash,
        fixed=dict(fixed),
        overrides={},
        seeds=seeds,
        window=period.window,
        halvings=tuple(period.window.halvings()),
    )


def horizon_of(period: Period) -> Window:
    """The months a period's figure shows: its scenario's dates, cut at LAST_FITTING_DAY."""
    info = period.base.config.scenario
    end = min(pd.Timestamp(info.end_date), sim_history.LAST_FITTING_DAY)
    return Window(pd.Timestamp(info.start_date), end)


def _judge(spec, period: Period, fitted: dict, seeds, executor, meter) -> PeriodFit:
    """Run the fitted values on a period and compare with history on its window."""
    horizon = horizon_of(period)
    task = replace(_task(period, spec.fixed, seeds), overrides=fitted, horizon=horizon)
    (runs,) = evaluate([task], executor, lambda r: meter.advance(len(seeds)))
    if runs.error is not None:
        raise MinersimError(f"the fitted values fail on {period.scenario}: {runs.error}")
    data = history_moments(period.window)
    loss, terms, simulated = score(runs, data, spec.moments)
    error = simulated.log_difficulty - data.log_difficulty
    history = sim_history.monthly_log_mean(
        sim_history.for_fitting(sim_history.difficulty(), horizon.end)
    ).reindex(horizon.months)
    return PeriodFit(
        scenario=period.base.name,
        scenario_hash=period.base.content_hash,
        window=(str(period.window.start.date()), str(period.window.end.date())),
        months=len(data.months),
        loss=loss,
        terms=terms,
        rmse_log_difficulty=rmse(simulated, data),
        bias_log_difficulty=float(np.mean(error)),
        halvings=_halving_table(simulated, data),
        shipments=_shipment_table(simulated, data),
        paths={
            "months": [m.date().isoformat() for m in horizon.months],
            "history": [float(v) for v in history.to_numpy()],
            "runs": [[float(v) for v in path.to_numpy()] for path in runs.paths],
        },
    )


def _shipment_table(simulated: Moments, data: Moments) -> dict[str, dict]:
    return {
        f"{start.date()}..{end.date()}": {
            "low_mw": low,
            "high_mw": high,
            "sim_mw": simulated.shipments[start, end][0],
        }
        for (start, end), (low, high) in data.shipments.items()
        if (start, end) in simulated.shipments
    }


def _halving_table(simulated: Moments, data: Moments) -> dict[str, dict]:
    return {
        str(height): {
            "sim_drawdown_pct": simulated.halvings[height].drawdown_pct,
            "history_drawdown_pct": data.halvings[height].drawdown_pct,
            "sim_recovery_days": simulated.halvings[height].recovery_days,
            "history_recovery_days": data.halvings[height].recovery_days,
            "censored": simulated.halvings[height].censored,
        }
        for height in sorted(data.halvings)
    }


@contextlib.contextmanager
def _executor(workers, scheduler, dask_local) -> Iterator[tuple[object, str]]:
    """(executor or None for in-process, a label of the backend)."""
    if workers == 1 and not scheduler and not dask_local:
        yield None, "in-process"
        return
    with open_executor(workers, scheduler, dask_local) as backend:
        kind = f"Dask {scheduler}" if scheduler else ("Dask local" if dask_local else "processes")
        yield backend.executor, f"{kind}, {backend.slots} workers"


def _environment(backend: str) -> dict[str, str | None]:
    import sim

    return {
        "minersim": sim.__version__,
        "scipy": version("scipy"),
        "numpy": version("numpy"),
        "numba": version("numba"),
        "python": sys.version.split()[0],
        "code_sha256": code_fingerprint(),
        "backend": backend,
        "default_workers": str(default_workers()),
    }


def _shown(path: Path) -> str:
    """A path relative to the project when inside it (committed files stay portable)."""
    try:
        return str(path.resolve().relative_to(SCENARIOS_DIR.parent))
    except ValueError:
        return str(path)


__all__ = ["calibrate", "horizon_of"]
