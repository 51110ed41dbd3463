"""Sweeps and Monte Carlo batches: load once, plan, run on a backend, stream to disk.

The parent loads and validates the scenario once (with the batch's overrides), checks every swept
value, then sends each run as a small :class:`sim.batch.worker.RunTask` carrying that Scenario
(pickled once) to a backend (:mod:`sim.batch.executors`): workers never read scenario files, and
each builds a scenario or a sweep point once and reuses it across its runs. It keeps a bounded
number of runs in flight, writes each result to disk as it arrives (:mod:`sim.batch.store`) and
keeps only counts, so memory does not grow with the number of runs. Run ``i`` gets its seed from
one root SeedSequence (:mod:`sim.batch.seeds`), so results do not depend on the backend, the
number of workers or the order in which runs finish.

A run whose chain stalled (it stopped before the scenario's end date: too little hashrate for its
difficulty) is an outcome, not an error: its rows say ``stalled = True`` and the summary counts
such runs.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import os
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sim.batch import cluster
from sim.batch.executors import Backend, check_backend, default_workers, open_executor
from sim.batch.plans import (
    Plan,
    grid_plan,
    grown,
    lhs_history,
    lhs_plan,
    monte_carlo_plan,
    morris_plan,
    sobol_plan,
    sobol_problem,
    with_levers,
)
from sim.batch.progress import Progress
from sim.batch.seeds import check_count, check_seed, run_seed
from sim.batch.store import FORMAT, METADATA_FILE, BatchStore, read_metadata
from sim.batch.worker import RUN_COLUMNS, RunOutput, RunTask, ScenarioParcel, execute_run
from sim.errors import MinersimError
from sim.input.scenario import Scenario, load_scenario

#: Seconds between checks that the backend is still there while no run finishes.
LIVENESS_CHECK_S = 5.0


@dataclass(frozen=True)
class BatchSummary:
    """Outcome of one call: where the results are and how many runs this call did."""

    out: Path
    total_runs: int
    skipped_runs: int  # already on disk when the call started (resume)
    completed_runs: int  # run and written by this call
    elapsed_s: float
    metadata: dict = field(repr=False)
    stalled_runs: int = 0  # of all finished runs recorded in the folder

    @property
    def runs_per_s(self) -> float:
        return self.completed_runs / self.elapsed_s if self.elapsed_s > 0 else 0.0


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch; finished runs are on disk and the same call resumes."""

    def __init__(self, out: Path, done: int, total: int):
        super().__init__(f"{done}/{total} runs saved in {out}")
        self.out, self.done, self.total = out, done, total


@dataclass(frozen=True)
class BackendOptions:
    """Where runs execute (see :func:`sim.batch.executors.open_executor`)."""

    workers: int | None = None
    scheduler: str | None = None
    dask_local: bool = False
    wait_workers_s: float = cluster.WORKER_WAIT_S


def monte_carlo(
    scenario: str | os.PathLike | Scenario,
    runs: int,
    seed: int,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    overrides: Mapping[str, object] | None = None,
    miners: bool = False,
    progress: bool = True,
    data_dirs: Iterable[str | os.PathLike] = (),
    wait_workers_s: float = cluster.WORKER_WAIT_S,
) -> BatchSummary:
    """Run ``scenario`` ``runs`` times with seeds derived from ``seed``, results in ``out``.

    ``out`` becomes a batch folder (see :mod:`sim.batch.store`); calling again with the same
    arguments on an interrupted folder runs only the missing (or damaged) runs, and with more
    ``runs`` on a finished one adds runs ``old..runs-1`` (the first runs are kept). ``workers``:
    local processes (default: all CPUs) or Dask LocalCluster workers; ``scheduler``: address of
    an existing Dask scheduler (``tcp://HOST:PORT``), which must have a worker within
    ``wait_workers_s``; ``miners``: also store the per-agent table; ``data_dirs``: folders the
    scenario may read files from besides its own.
    """
    plan = monte_carlo_plan(runs)
    backend = BackendOptions(workers, scheduler, dask_local, wait_workers_s)
    return _run_batch(scenario, plan, seed, out, backend, overrides, miners, progress, data_dirs)


def sweep(
    scenario: str | os.PathLike | Scenario,
    runs: int,
    seed: int,
    out: str | os.PathLike,
    *,
    grid: Mapping[str, Sequence[object]] | None = None,
    lhs: int | None = None,
    sobol: int | None = None,
    morris: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    levers: Mapping[str, Sequence[object]] | None = None,
    crn: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    overrides: Mapping[str, object] | None = None,
    miners: bool = False,
    progress: bool = True,
    data_dirs: Iterable[str | os.PathLike] = (),
    wait_workers_s: float = cluster.WORKER_WAIT_S,
) -> BatchSummary:
    """Sweep parameters (dotted scenario keys) and run each point ``runs`` times.

    Exactly one design: ``grid`` ({key: [values]}, every combination), ``lhs=N`` (N Latin
    hypercube points over ``ranges`` {key: (lo, hi)}), ``sobol=N`` (Saltelli's design,
    N * (D + 2) points, for Sobol' indices in :func:`sim.analysis.summary.summarize`) or
    ``morris=N`` (N Morris trajectories of D + 1 points, for elementary effects), or none with
    ``levers`` alone. ``levers`` ({key: [values]}) are crossed with the design's points, the
    uncertainties (:func:`sim.batch.plans.with_levers`). ``crn=True``: common random numbers,
    run r of every point gets the same seed (the same market paths and block draws), so that
    differences between points are the parameters' doing. Samplers are seeded from ``seed``.

    Calling again on a finished folder with larger ``runs``, or a larger ``lhs`` (a whole
    multiple), ``sobol`` (a power of 2) or ``morris``, extends the batch in place: the runs
    already there are kept and the new ones get the seeds of the same rule. Other arguments as
    in :func:`monte_carlo`.
    """
    seed = check_seed(seed)
    designs = [
        name
        for name, v in (("grid", grid), ("lhs", lhs), ("sobol", sobol), ("morris", morris))
        if v
    ]
    if len(designs) > 1 or not (designs or levers):
        raise MinersimError(
            "a sweep needs exactly one of --grid, --lhs N, --sobol N or --morris N "
            "(or --lever alone)"
        )
    runs = check_count("runs", runs)
    if ranges and not (lhs or sobol or morris):
        raise MinersimError("--range goes with --lhs, --sobol or --morris")
    previous = _previous_metadata(out)
    if grid:
        plan = grid_plan(grid, runs)
    elif lhs:
        plan = lhs_plan(lhs, ranges or {}, runs, seed, lhs_history(previous, ranges or {}, seed))
    elif sobol:
        plan = sobol_plan(sobol, ranges or {}, runs, seed)
    elif morris:
        plan = morris_plan(morris, ranges or {}, runs, seed)
    else:
        plan = monte_carlo_plan(runs)
    plan = with_levers(replace(plan, crn=bool(crn)), levers or {})
    backend = BackendOptions(workers, scheduler, dask_local, wait_workers_s)
    return _run_batch(scenario, plan, seed, out, backend, overrides, miners, progress, data_dirs)


def _previous_metadata(out: str | os.PathLike) -> dict | None:
    """The metadata of an existing batch folder ``out`` (None for a new folder)."""
    path = Path(out) / METADATA_FILE
    return read_metadata(out) if path.exists() or path.is_symlink() else None


def _run_batch(
    scenario, plan, seed, out, options, overrides, miners, show_progress, data_dirs
) -> BatchSummary:
    started = time.perf_counter()
    seed = check_seed(seed)
    check_backend(options.workers, options.scheduler, options.dask_local)
    overrides = dict(overrides or {})
    base = load_scenario(scenario, overrides, data_dirs=data_dirs)
    _check_parameters(base, plan, overrides)
    plan, grows = grown(plan, _previous_metadata(out))
    metadata = batch_metadata(base, plan, seed, overrides, miners)
    new_folder = not Path(out).exists()
    with BatchStore(out) as store:
        store.open(metadata, plan.points_frame() if plan.parameters else None, grows=grows)
        done = store.done_mask(plan.total_runs, miners)
        skipped = int(done.sum())
        template = RunTask(ScenarioParcel.of(base), -1, -1, -1, {}, {}, bool(miners))
        tasks = (
            _task_for(template, plan, seed, run_id)
            for run_id in range(plan.total_runs)
            if not done[run_id]
        )
        progress = Progress(plan.total_runs, skipped, enabled=show_progress)
        completed = 0
        workers = options.workers
        if not options.scheduler:  # no more local workers than runs to do
            workers = min(workers or default_workers(), max(plan.total_runs - skipped, 1))
        try:
            if skipped < plan.total_runs:
                with open_executor(
                    workers, options.scheduler, options.dask_local, options.wait_workers_s
                ) as backend:
                    for _ in _stream(backend, tasks, window=2 * backend.slots + 2, store=store):
                        completed += 1
                        progress.advance()
        except KeyboardInterrupt as exc:
            raise BatchInterrupted(store.root, skipped + completed, plan.total_runs) from exc
        except Exception:
            if new_folder and not completed:  # nothing to resume: leave no empty batch behind
                store.discard()
            raise
        finally:
            progress.close()
        stalled = store.stalled_runs()
    elapsed = time.perf_counter() - started
    return BatchSummary(store.root, plan.total_runs, skipped, completed, elapsed, metadata, stalled)


def _task_for(template: RunTask, plan: Plan, root_seed: int, run_id: int) -> RunTask:
    point = plan.point_of(run_id)
    return RunTask(
        scenario=template.scenario,
        run_id=run_id,
        seed=run_seed(root_seed, plan.seed_index(run_id)),
        point=point,
        point_overrides=plan.overrides_of(point),
        columns=plan.column_values(point),
        miners=template.miners,
    )


def _stream(
    backend: Backend | cf.Executor, tasks: Iterator[RunTask], window: int, store: BatchStore
) -> Iterator[int]:
    """Submit tasks keeping at most ``window`` in flight; write each result as it arrives and
    yield its run id. On any error or interrupt, pending tasks are cancelled. A bare Executor
    (tests) is taken as a backend that is never lost."""
    if isinstance(backend, cf.Executor):
        backend = Backend(backend, window)
    tasks = iter(tasks)
    in_flight: dict[cf.Future, RunTask] = {}
    try:
        while True:
            for task in itertools.islice(tasks, window - len(in_flight)):
                in_flight[_submit(backend, task)] = task
            if not in_flight:
                return
            finished, _ = cf.wait(
                in_flight, timeout=LIVENESS_CHECK_S, return_when=cf.FIRST_COMPLETED
            )
            failure = None if finished else backend.failure()
            if failure is not None:
                raise failure
            for future in finished:
                task = in_flight.pop(future)
                output = _result_of(future, task, backend)
                store.write_run(output.run_id, output.epochs, output.miners, output.stalled)
                yield output.run_id
    finally:
        for future in in_flight:
            future.cancel()


def _submit(backend: Backend, task: RunTask) -> cf.Future:
    try:
        return backend.executor.submit(execute_run, task)
    except Exception as exc:
        explained = backend.explain(exc, f"run {task.run_id}")
        if explained is None:
            raise
        raise explained from None


def _result_of(future: cf.Future, task: RunTask, backend: Backend) -> RunOutput:
    where = f"run {task.run_id} (point {task.point}, seed {task.seed}"
    where += f", {task.point_overrides})" if task.point_overrides else ")"
    try:
        return future.result()
    except MinersimError as exc:
        raise MinersimError(f"{where}: {exc}") from None
    except BaseException as exc:
        explained = backend.explain(exc, where)
        if explained is not None:
            raise explained from None
        if isinstance(exc, Exception):
            exc.add_note(f"while running {where}")
        raise


def _check_parameters(base: Scenario, plan: Plan, overrides: Mapping) -> None:
    """Fail before any run if a swept key is unknown, set twice, or a value does not validate:
    each parameter's values (grid) or bounds (ranges) are tried on top of the first point."""
    taken = set(RUN_COLUMNS) | set(base_columns())
    for key in plan.parameters:
        if key in overrides:
            raise MinersimError(f"'{key}' is both swept and set with --set; drop one of them")
        if key in taken:
            raise MinersimError(f"'{key}' cannot be swept: it is the name of an output column")
    if not plan.parameters:
        return
    first = plan.overrides_of(0)
    load_scenario(base, first)
    values = {**(plan.sampler.get("grid") or plan.sampler.get("ranges") or {})}
    values.update(plan.sampler.get("levers") or {})
    for key in plan.parameters:
        for value in values[key]:
            load_scenario(base, {**first, key: value})


def base_columns() -> tuple[str, ...]:
    from sim.results import EPOCH_COLUMNS, MINER_COLUMNS, MINER_EXTRA_COLUMNS

    return EPOCH_COLUMNS + MINER_COLUMNS + MINER_EXTRA_COLUMNS


def batch_metadata(
    base: Scenario, plan: Plan, root_seed: int, overrides: Mapping, miners: bool
) -> dict:
    """What the batch folder's metadata.json records (RESUME_KEYS must match to resume)."""
    import sim

    return {
        "format": FORMAT,
        "scenario_name": base.name,
        "scenario_hash": base.content_hash,
        "scenario_source": str(base.source) if base.source else None,
        "package_version": sim.__version__,
        "code_sha256": code_fingerprint(),
        "sampler": plan.sampler,
        "parameters": list(plan.parameters),
        "points": len(plan.points),
        "points_sha256": plan.points_sha256(),
        "runs_per_point": plan.runs_per_point,
        "total_runs": plan.total_runs,
        "layout": [list(step) for step in plan.layout],
        "root_seed": root_seed,
        "crn": plan.crn,
        "seeds": (
            "run i, replicate r of its point: seed = int(SeedSequence(root_seed).spawn(k + 1)[k]"
            ".generate_state(1, dtype=uint64)[0] >> 1) with k = "
            + (
                "r (common random numbers: replicate r of every point shares its seed)"
                if plan.crn
                else "i"
            )
            + "; (point, replicate) of run i follow the layout (sim.batch.plans.Plan.locate): "
            "with one layout step, point = i // runs_per_point and r = i % runs_per_point"
        ),
        "overrides": dict(overrides),
        "miners": bool(miners),
        "columns": {"stalled": "True when the run's chain stopped before the end date"},
        "libraries": {name: _version(name) for name in ("numpy", "scipy", "SALib", "pyarrow")},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def code_fingerprint() -> str:
    """SHA-256 of the simulator's own modules (``sim/**/*.py``): changes with any edit."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


__all__ = [
    "BatchInterrupted",
    "BatchSummary",
    "Plan",
    "Progress",
    "RunOutput",
    "RunTask",
    "execute_run",
    "monte_carlo",
    "open_executor",
    "run_seed",
    "sobol_problem",
    "sweep",
]
