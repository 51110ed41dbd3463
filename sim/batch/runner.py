"""Sweeps and Monte Carlo batches: samplers, seeds, executors, streaming to disk, progress.

A batch is a list of *points* (parameter values; one empty point for Monte Carlo), each run
``runs_per_point`` times. Run ``i`` belongs to point ``i // runs_per_point`` and gets its seed
from one root :class:`numpy.random.SeedSequence` (:func:`run_seed`), so results depend only on
(scenario, overrides, sampler, root seed): not on the backend, the number of workers or the
order in which runs finish.

Every backend is a :class:`concurrent.futures.Executor` and gets the same picklable task
(:func:`execute_run` of a small :class:`RunTask`: the scenario's name or path, overrides, run id
and seed); the worker loads the scenario itself, runs it and returns its tables as Parquet bytes.
The parent keeps a bounded number of runs in flight, writes each result to disk as it arrives
(:mod:`sim.batch.store`) and keeps only counts, so memory does not grow with the number of runs.
Backends: local processes (default), an existing Dask cluster (``scheduler="tcp://HOST:PORT"``)
or a Dask ``LocalCluster`` started for the batch (``dask_local=True``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from sim.batch.store import BatchStore, frame_to_parquet
from sim.errors import MinersimError
from sim.input.scenario import SCENARIOS_DIR, Scenario, load_scenario, resolve_scenario_path
from sim.model import run

#: Entropy word mixed with the root seed for the samplers (LHS, Sobol'), so that their stream
#: is independent of the runs' seeds (children of ``SeedSequence(root_seed)``).
SAMPLER_ENTROPY = 0x53414D50  # "SAMP"

#: Columns that precede a run's own columns in the stored tables.
RUN_COLUMNS = ("run", "seed", "point")

SOBOL_IMPLEMENTATION = "SALib.sample.sobol.sample (Saltelli's scheme on scipy.stats.qmc.Sobol)"


# --------------------------------------------------------------------------------------------
# Seeds


def run_seed(root_seed: int, run_id: int) -> int:
    """Seed (an int in [0, 2**63)) of run ``run_id`` of a batch with root seed ``root_seed``.

    Equal to ``int(SeedSequence(root_seed).spawn(total_runs)[run_id].generate_state(1,
    dtype=np.uint64)[0] >> 1)`` for any ``total_runs > run_id``, computed without spawning the
    other children.
    """
    child = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> 1)


def sampler_seed(root_seed: int) -> int:
    """Seed of the LHS / Sobol' sampler, derived from the root seed (a 32-bit int)."""
    state = np.random.SeedSequence([root_seed, SAMPLER_ENTROPY]).generate_state(1)
    return int(state[0])


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def _check_count(name: str, value: object) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise MinersimError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Plans: which points, how many runs each


@dataclass(frozen=True)
class Plan:
    """What a batch runs: ``points`` (one tuple of values of ``parameters`` per point), each
    repeated ``runs_per_point`` times; ``sampler`` describes how the points were made (JSON)."""

    sampler: dict
    parameters: tuple[str, ...]
    points: tuple[tuple, ...]
    runs_per_point: int

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.runs_per_point

    def point_of(self, run_id: int) -> int:
        return run_id // self.runs_per_point

    def overrides_of(self, point: int) -> dict[str, object]:
        return dict(zip(self.parameters, self.points[point], strict=True))

    def column_values(self, point: int) -> dict[str, object]:
        """The point's values as stored in the dataset: one type per parameter column."""
        return {
            name: _as_column_value(value, self.column_kinds[name])
            for name, value in self.overrides_of(point).items()
        }

    @functools.cached_property
    def column_kinds(self) -> dict[str, type]:
        """bool, int, float or str per parameter, the same for every point."""
        return {
            name: _column_kind([point[i] for point in self.points])
            for i, name in enumerate(self.parameters)
        }

    def points_frame(self) -> pd.DataFrame:
        """One row per point: ``point`` and the parameter columns."""
        rows = [{"point": p, **self.column_values(p)} for p in range(len(self.points))]
        return pd.DataFrame(rows, columns=["point", *self.parameters])

    def points_sha256(self) -> str:
        text = json.dumps([list(p) for p in self.points], default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _column_kind(values: Sequence[object]) -> type:
    """bool, int, float or str: the type a parameter column is stored as."""
    if all(isinstance(v, bool) for v in values):
        return bool
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return int if all(isinstance(v, int) for v in values) else float
    return str


def _as_column_value(value: object, kind: type) -> object:
    return value if kind is bool else kind(value)


def monte_carlo_plan(runs: int) -> Plan:
    """One point (the scenario as it is), ``runs`` times."""
    return Plan({"kind": "monte_carlo"}, (), ((),), _check_count("runs", runs))


def grid_plan(grid: Mapping[str, Sequence[object]], runs: int) -> Plan:
    """Every combination of the listed values (the first key varies slowest)."""
    if not grid:
        raise MinersimError("a grid sweep needs at least one --grid key=v1,v2,...")
    for key, values in grid.items():
        if len(values) == 0:
            raise MinersimError(f"--grid {key}: no values")
        if len(set(map(repr, values))) != len(values):
            raise MinersimError(f"--grid {key}: a value is repeated")
    points = tuple(itertools.product(*grid.values()))
    sampler = {"kind": "grid", "grid": {k: list(v) for k, v in grid.items()}}
    return Plan(sampler, tuple(grid), points, _check_count("runs", runs))


def lhs_plan(n: int, ranges: Mapping[str, tuple[float, float]], runs: int, root_seed: int) -> Plan:
    """``n`` points of a Latin hypercube (scipy.stats.qmc.LatinHypercube) over ``ranges``."""
    from scipy.stats import qmc

    n = _check_count("--lhs N", n)
    lows, highs = _check_ranges(ranges)
    seed = sampler_seed(root_seed)
    unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(n)
    sampler = {
        "kind": "lhs",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "implementation": "scipy.stats.qmc.LatinHypercube",
        "sampler_seed": seed,
    }
    return Plan(sampler, tuple(ranges), _rows(qmc.scale(unit, lows, highs)), runs)


def sobol_plan(
    n: int, ranges: Mapping[str, tuple[float, float]], runs: int, root_seed: int
) -> Plan:
    """Saltelli's design for Sobol' indices: ``n * (D + 2)`` points for ``D`` parameters
    (first- and total-order indices), made by SALib's sampler on a scrambled Sobol' sequence,
    so that :func:`SALib.analyze.sobol.analyze` can read the outputs in point order."""
    from SALib.sample import sobol

    n = _check_count("--sobol N", n)
    if n & (n - 1):
        raise MinersimError(f"--sobol N must be a power of 2 (Sobol' sequence balance), got {n}")
    _check_ranges(ranges)
    seed = sampler_seed(root_seed)
    problem = sobol_problem(ranges)
    values = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    sampler = {
        "kind": "sobol",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "calc_second_order": False,
        "implementation": SOBOL_IMPLEMENTATION,
        "sampler_seed": seed,
    }
    return Plan(sampler, tuple(ranges), _rows(values), runs)


def sobol_problem(ranges: Mapping[str, Sequence[float]]) -> dict:
    """The SALib problem definition of a Sobol' sweep (names and bounds, in order)."""
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[float(lo), float(hi)] for lo, hi in ranges.values()],
    }


def _check_ranges(ranges: Mapping[str, tuple[float, float]]) -> tuple[list, list]:
    if not ranges:
        raise MinersimError("--lhs and --sobol need at least one --range key=lo:hi")
    for key, (lo, hi) in ranges.items():
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise MinersimError(f"--range {key}={lo}:{hi}: need finite numbers with lo < hi")
    return [lo for lo, _ in ranges.values()], [hi for _, hi in ranges.values()]


def _rows(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in values)


# --------------------------------------------------------------------------------------------
# The task that runs on a worker


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run; small, so it travels cheaply.

    ``scenario`` is a bundled scenario's name, a TOML path, or (for a Scenario object with no
    file behind it) the Scenario itself; ``scenario_hash`` is the content hash the worker must
    find after applying ``base_overrides``, so a worker with a different file fails loudly.
    """

    scenario: str | Scenario
    scenario_hash: str
    base_overrides: dict
    run_id: int
    seed: int
    point: int
    point_overrides: dict
    columns: dict
    miners: bool


@dataclass(frozen=True)
class RunOutput:
    """A finished run: its tables as Parquet bytes and its run time (seconds)."""

    run_id: int
    epochs: bytes
    miners: bytes | None
    seconds: float


def execute_run(task: RunTask) -> RunOutput:
    """Run one task (on any worker) and return its tables with the run's columns in front."""
    started = time.perf_counter()
    result = run(_scenario_for(task), seed=task.seed)
    head = {"run": task.run_id, "seed": task.seed, "point": task.point, **task.columns}
    epochs = frame_to_parquet(_with_head(result.epochs, head))
    miners = frame_to_parquet(_with_head(result.miners, head)) if task.miners else None
    return RunOutput(task.run_id, epochs, miners, time.perf_counter() - started)


def _scenario_for(task: RunTask) -> Scenario:
    if isinstance(task.scenario, str):
        base = _cached_scenario(task.scenario, task.base_overrides)
    else:
        base = load_scenario(task.scenario, task.base_overrides)
    if base.content_hash != task.scenario_hash:
        raise MinersimError(
            f"scenario '{task.scenario if isinstance(task.scenario, str) else base.name}' has "
            f"content hash {base.content_hash[:12]} on this worker but {task.scenario_hash[:12]} "
            "where the batch started: workers must see the same scenario files"
        )
    return load_scenario(base, task.point_overrides)


_SCENARIO_CACHE: dict[tuple[str, str], Scenario] = {}


def _cached_scenario(scenario: str, overrides: dict) -> Scenario:
    """The base scenario, loaded once per worker process and batch (loading takes ~20 ms)."""
    key = (scenario, json.dumps(overrides, sort_keys=True, default=repr))
    if key not in _SCENARIO_CACHE:
        if len(_SCENARIO_CACHE) >= 4:
            _SCENARIO_CACHE.clear()
        _SCENARIO_CACHE[key] = load_scenario(scenario, overrides)
    return _SCENARIO_CACHE[key]


def _with_head(frame: pd.DataFrame, head: Mapping[str, object]) -> pd.DataFrame:
    frame = frame.copy()
    for position, (name, value) in enumerate(head.items()):
        frame.insert(position, name, value)
    return frame


# --------------------------------------------------------------------------------------------
# Executors


def default_workers() -> int:
    """Number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@contextlib.contextmanager
def open_executor(
    workers: int | None = None, scheduler: str | None = None, dask_local: bool = False
) -> Iterator[tuple[cf.Executor, int]]:
    """An executor and its number of parallel slots; closed (pending work cancelled) on exit.

    Local processes by default; ``scheduler`` connects to an existing Dask cluster;
    ``dask_local`` starts a Dask LocalCluster of ``workers`` single-threaded processes.
    """
    _check_backend(workers, scheduler, dask_local)
    if scheduler:
        with _dask_client(scheduler) as client:
            slots = workers or max(1, sum(client.nthreads().values()))
            yield client.get_executor(pure=False), slots
    elif dask_local:
        from distributed import Client, LocalCluster

        n = workers or default_workers()
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client.get_executor(pure=False), n
    else:
        n = workers or default_workers()
        pool = cf.ProcessPoolExecutor(
            max_workers=n, mp_context=_process_context(), initializer=_init_worker
        )
        try:
            yield pool, n
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _check_backend(workers: int | None, scheduler: str | None, dask_local: bool) -> None:
    if workers is not None:
        _check_count("workers", workers)
    if scheduler and dask_local:
        raise MinersimError("choose either --scheduler or --dask-local, not both")


@contextlib.contextmanager
def _dask_client(address: str):
    from distributed import Client

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise MinersimError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    with client:
        yield client


def _process_context() -> multiprocessing.context.BaseContext:
    """The start method of worker processes: forkserver where available (workers fork from a
    server that has imported sim once), else spawn; never plain fork, which can deadlock in a
    process that runs threads (Dask, tqdm)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.batch.runner"])
        return context
    return multiprocessing.get_context("spawn")


def _init_worker() -> None:
    """Workers leave Ctrl-C to the parent, which cancels the batch and shuts the pool down."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------------------------
# Progress


class Progress:
    """Runs done, rate and ETA: a tqdm bar on a terminal, else a plain line every ~10% or 10 s
    (``progress: 120/1000 runs, 9.8 runs/s, ETA 90 s``)."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        stream: TextIO | None = None,
        enabled: bool = True,
        clock=time.monotonic,
    ):
        self.total, self.done, self.initial = total, done, done
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.clock = clock
        self.started = self.last_line = clock()
        self.last_count = done
        self.next_line_at = self._next_threshold(done)
        self.bar = None
        if enabled and _is_tty(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, initial=done, unit="run", file=self.stream, dynamic_ncols=True
            )

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled:
            now = self.clock()
            if self.done >= self.next_line_at or now - self.last_line >= 10.0:
                self._line(now)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.last_count != self.done:
            self._line(self.clock())

    def rate(self, now: float | None = None) -> float:
        """Runs per second finished by this process so far."""
        elapsed = (now if now is not None else self.clock()) - self.started
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    def _line(self, now: float) -> None:
        rate = self.rate(now)
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        print(
            f"progress: {self.done}/{self.total} runs, {rate:.1f} runs/s, ETA {eta}",
            file=self.stream,
            flush=True,
        )
        self.last_line, self.last_count = now, self.done
        self.next_line_at = self._next_threshold(self.done)

    def _next_threshold(self, done: int) -> int:
        step = max(1, math.ceil(self.total / 10))
        return (done // step + 1) * step


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# --------------------------------------------------------------------------------------------
# Running a batch


@dataclass(frozen=True)
class BatchSummary:
    """Outcome of one call: where the results are and how many runs this call did."""

    out: Path
    total_runs: int
    skipped_runs: int  # already on disk when the call started (resume)
    completed_runs: int  # run and written by this call
    elapsed_s: float
    metadata: dict = field(repr=False)

    @property
    def runs_per_s(self) -> float:
        return self.completed_runs / self.elapsed_s if self.elapsed_s > 0 else 0.0


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch; finished runs are on disk and the same call resumes."""

    def __init__(self, out: Path, done: int, total: int):
        super().__init__(f"{done}/{total} runs saved in {out}")
        self.out, self.done, self.total = out, done, total


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
) -> BatchSummary:
    """Run ``scenario`` ``runs`` times with seeds derived from ``seed``, results in ``out``.

    ``out`` becomes a batch folder (see :mod:`sim.batch.store`); calling again with the same
    arguments on an interrupted folder runs only the missing runs. ``workers``: local processes
    (default: all CPUs) or Dask LocalCluster workers; ``scheduler``: address of an existing Dask
    scheduler (``tcp://HOST:PORT``); ``miners``: also store the per-agent table.
    """
    plan = monte_carlo_plan(runs)
    return _run_batch(
        scenario, plan, seed, out, workers, scheduler, dask_local, overrides, miners, progress
    )


def sweep(
    scenario: str | os.PathLike | Scenario,
    runs: int,
    seed: int,
    out: str | os.PathLike,
    *,
    grid: Mapping[str, Sequence[object]] | None = None,
    lhs: int | None = None,
    sobol: int | None = None,
    ranges: Mapping[str, tuple[float, float]] | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    overrides: Mapping[str, object] | None = None,
    miners: bool = False,
    progress: bool = True,
) -> BatchSummary:
    """Sweep parameters (dotted scenario keys) and run each point ``runs`` times.

    Exactly one design: ``grid`` ({key: [values]}, every combination), ``lhs=N`` (N Latin
    hypercube points over ``ranges`` {key: (lo, hi)}) or ``sobol=N`` (Saltelli's design,
    N * (D + 2) points, for Sobol' indices in :func:`sim.analysis.summary.summarize`). Samplers are
    seeded from ``seed``. Other arguments as in :func:`monte_carlo`.
    """
    seed = _check_seed(seed)
    designs = [name for name, v in (("grid", grid), ("lhs", lhs), ("sobol", sobol)) if v]
    if len(designs) != 1:
        raise MinersimError("a sweep needs exactly one of --grid, --lhs N or --sobol N")
    runs = _check_count("runs", runs)
    if grid:
        if ranges:
            raise MinersimError("--range goes with --lhs or --sobol, not with --grid")
        plan = grid_plan(grid, runs)
    elif lhs:
        plan = lhs_plan(lhs, ranges or {}, runs, seed)
    else:
        plan = sobol_plan(sobol, ranges or {}, runs, seed)
    return _run_batch(
        scenario, plan, seed, out, workers, scheduler, dask_local, overrides, miners, progress
    )


def _run_batch(
    scenario, plan, seed, out, workers, scheduler, dask_local, overrides, miners, show_progress
) -> BatchSummary:
    started = time.perf_counter()
    seed = _check_seed(seed)
    _check_backend(workers, scheduler, dask_local)
    overrides = dict(overrides or {})
    base = load_scenario(scenario, overrides)
    _check_parameters(base, plan, overrides)
    store = BatchStore(out)
    metadata = batch_metadata(base, plan, seed, overrides, miners)
    store.open(metadata, plan.points_frame() if plan.parameters else None)
    done = store.done_mask(plan.total_runs, miners)
    skipped = int(done.sum())
    template = RunTask(
        scenario=_portable_reference(scenario, base, overrides),
        scenario_hash=base.content_hash,
        base_overrides=overrides,
        run_id=-1,
        seed=-1,
        point=-1,
        point_overrides={},
        columns={},
        miners=bool(miners),
    )
    tasks = (
        _task_for(template, plan, seed, run_id)
        for run_id in range(plan.total_runs)
        if not done[run_id]
    )
    progress = Progress(plan.total_runs, skipped, enabled=show_progress)
    completed = 0
    if not scheduler:  # no more local workers than runs to do
        workers = min(workers or default_workers(), plan.total_runs - skipped)
    try:
        if skipped < plan.total_runs:
            with open_executor(workers, scheduler, dask_local) as (executor, slots):
                for _ in _stream(executor, tasks, window=2 * slots + 2, store=store):
                    completed += 1
                    progress.advance()
    except KeyboardInterrupt as exc:
        raise BatchInterrupted(store.root, skipped + completed, plan.total_runs) from exc
    finally:
        progress.close()
    elapsed = time.perf_counter() - started
    return BatchSummary(store.root, plan.total_runs, skipped, completed, elapsed, metadata)


def _task_for(template: RunTask, plan: Plan, root_seed: int, run_id: int) -> RunTask:
    point = plan.point_of(run_id)
    return RunTask(
        scenario=template.scenario,
        scenario_hash=template.scenario_hash,
        base_overrides=template.base_overrides,
        run_id=run_id,
        seed=run_seed(root_seed, run_id),
        point=point,
        point_overrides=plan.overrides_of(point),
        columns=plan.column_values(point),
        miners=template.miners,
    )


def _stream(
    executor: cf.Executor, tasks: Iterator[RunTask], window: int, store: BatchStore
) -> Iterator[int]:
    """Submit tasks keeping at most ``window`` in flight; write each result as it arrives and
    yield its run id. On any error or interrupt, pending tasks are cancelled."""
    tasks = iter(tasks)
    in_flight: dict[cf.Future, RunTask] = {}
    try:
        while True:
            for task in itertools.islice(tasks, window - len(in_flight)):
                in_flight[executor.submit(execute_run, task)] = task
            if not in_flight:
                return
            finished, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                task = in_flight.pop(future)
                output = _result_of(future, task)
                store.write_run(output.run_id, output.epochs, output.miners)
                yield output.run_id
    finally:
        for future in in_flight:
            future.cancel()


def _result_of(future: cf.Future, task: RunTask) -> RunOutput:
    where = f"run {task.run_id} (point {task.point}, seed {task.seed}"
    where += f", {task.point_overrides})" if task.point_overrides else ")"
    try:
        return future.result()
    except MinersimError as exc:
        raise MinersimError(f"{where}: {exc}") from None
    except Exception as exc:
        exc.add_note(f"while running {where}")
        raise


def _portable_reference(scenario, base: Scenario, overrides: Mapping) -> str | Scenario:
    """What workers load: a bundled scenario's name (works wherever minersim is installed), a
    file's absolute path, or the Scenario itself when no file reproduces it."""
    if isinstance(scenario, Scenario):
        if scenario.source is None:
            return scenario
        reloaded = load_scenario(scenario.source, overrides)
        return str(scenario.source) if reloaded.content_hash == base.content_hash else scenario
    path = resolve_scenario_path(str(scenario))
    return path.stem if path.parent == SCENARIOS_DIR else str(path)


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
    values = plan.sampler.get("grid") or plan.sampler.get("ranges")
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
        "format": "minersim-batch/1",
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
        "root_seed": root_seed,
        "seeds": "run i: int(SeedSequence(root_seed).spawn(total_runs)[i]"
        ".generate_state(1, dtype=uint64)[0] >> 1); point = i // runs_per_point",
        "overrides": dict(overrides),
        "miners": bool(miners),
        "libraries": {name: _version(name) for name in ("numpy", "scipy", "SALib", "pyarrow")},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def code_fingerprint() -> str:
    """SHA-256 of the simulator's own modules (``sim/*.py``): changes with any edit."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
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
    "RunTask",
    "execute_run",
    "monte_carlo",
    "open_executor",
    "run_seed",
    "sweep",
]
