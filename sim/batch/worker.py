"""What runs on a worker: one task, and the watch that ends a worker whose parent is gone.

Every backend gets the same picklable :class:`RunTask` (the validated Scenario as a
:class:`ScenarioParcel`, its point's overrides, the run id and seed); the worker runs it and
returns its tables as Parquet bytes with the run's columns (``run``, ``seed``, ``point``,
``stalled``, the point's parameters) in front. Workers do not read the scenario's files: they
get the Scenario the batch started with (only a swept file path, such as ``miners.csv``, is read
where the run runs).

A worker process builds each scenario once and reuses it across its runs: the parcel is
unpickled and checked once per process (:func:`scenario_of`), and a sweep point's Scenario (the
parcel's with the point's overrides, validated again) is built once and kept among the
POINT_CACHE_SIZE most recently used (:func:`point_scenario`).


Local worker processes watch the process that started the batch (:func:`init_local_worker`): when
it dies, even by SIGKILL (the OOM killer), they exit within a second instead of waiting forever
for work, and with them the pool's forkserver and resource tracker.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from sim.batch.store import frame_to_parquet
from sim.errors import MinersimError
from sim.input.scenario import Scenario, load_scenario

#: Columns that precede a run's own columns in the stored tables.
RUN_COLUMNS = ("run", "seed", "point", "stalled")
#: Exit status of a worker that found its parent gone.
PARENT_GONE_EXIT = 70
#: How often a worker without pidfd support checks its parent (seconds).
PARENT_POLL_S = 0.5
#: Most validated scenarios a worker process keeps (one per batch or experiment scenario).
SCENARIO_CACHE_SIZE = 4
#: Most sweep points' Scenarios a worker process keeps (a point's runs usually come together).
POINT_CACHE_SIZE = 8


@dataclass(frozen=True)
class ScenarioParcel:
    """A validated Scenario as it travels to workers: pickled once where the batch starts,
    unpickled and checked once per worker process (:func:`scenario_of`), whatever the number
    of tasks that carry it."""

    content_hash: str
    data: bytes

    @classmethod
    def of(cls, scenario: Scenario) -> ScenarioParcel:
        return cls(scenario.content_hash, pickle.dumps(scenario, pickle.HIGHEST_PROTOCOL))


#: This process's unpickled scenarios, by content hash, least recently used first.
_scenarios: OrderedDict[str, Scenario] = OrderedDict()
#: This process's sweep points' Scenarios, by (content hash, overrides), least recent first.
_points: OrderedDict[tuple[str, str], Scenario] = OrderedDict()


def scenario_of(parcel: ScenarioParcel) -> Scenario:
    """The parcel's Scenario, unpickled and checked against its content hash on first use in
    this process and reused afterwards (at most SCENARIO_CACHE_SIZE kept)."""
    scenario = _scenarios.get(parcel.content_hash)
    if scenario is None:
        scenario = pickle.loads(parcel.data)
        if scenario.content_hash != parcel.content_hash:
            raise MinersimError(
                f"scenario '{scenario.name}' arrived with content hash "
                f"{scenario.content_hash[:12]}, not {parcel.content_hash[:12]}"
            )
        scenario.check_unchanged()
        _remember(_scenarios, parcel.content_hash, scenario, SCENARIO_CACHE_SIZE)
    else:
        _scenarios.move_to_end(parcel.content_hash)
    return scenario


def point_scenario(parcel: ScenarioParcel, overrides: Mapping[str, object]) -> Scenario:
    """The parcel's Scenario with a sweep point's ``overrides``: built (validated again) on
    first use in this process, then reused (at most POINT_CACHE_SIZE points kept)."""
    base = scenario_of(parcel)
    if not overrides:
        return base
    key = (parcel.content_hash, repr(sorted(overrides.items())))
    scenario = _points.get(key)
    if scenario is None:
        scenario = load_scenario(base, overrides)
        _remember(_points, key, scenario, POINT_CACHE_SIZE)
    else:
        _points.move_to_end(key)
    return scenario


def _remember(cache: OrderedDict, key: object, value: object, size: int) -> None:
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run.

    ``scenario`` is the batch's validated Scenario (with its overrides), pickled once where the
    batch started; its content hash is checked on the worker.
    """

    scenario: ScenarioParcel
    run_id: int
    seed: int
    point: int
    point_overrides: dict
    columns: dict
    miners: bool


@dataclass(frozen=True)
class RunOutput:
    """A finished run: its tables as Parquet bytes, its run time (seconds) and whether its chain
    stalled before the end date."""

    run_id: int
    epochs: bytes
    miners: bytes | None
    seconds: float
    stalled: bool = False


def execute_run(task: RunTask) -> RunOutput:
    """Run one task (on any worker) and return its tables with the run's columns in front."""
    from sim.runner import run  # the engine: preloaded by the local pool's forkserver

    started = time.perf_counter()
    result = run(point_scenario(task.scenario, task.point_overrides), seed=task.seed)
    stalled = bool(result.meta.get("stalled", False))
    head = {
        "run": task.run_id,
        "seed": task.seed,
        "point": task.point,
        "stalled": stalled,
        **task.columns,
    }
    epochs = frame_to_parquet(_with_head(result.epochs, head), task.run_id)
    miners = frame_to_parquet(_with_head(result.miners, head), task.run_id) if task.miners else None
    return RunOutput(task.run_id, epochs, miners, time.perf_counter() - started, stalled)


def _with_head(frame: pd.DataFrame, head: Mapping[str, object]) -> pd.DataFrame:
    frame = frame.copy()
    for position, (name, value) in enumerate(head.items()):
        frame.insert(position, name, value)
    return frame


# --------------------------------------------------------------------------------------------
# Local workers


def init_local_worker(parent_pid: int) -> None:
    """Initializer of local worker processes: leave Ctrl-C to the parent (which cancels the
    batch and shuts the pool down) and exit when the parent is gone. What the worker inherited
    from the forkserver (the engine, loaded and warmed) is frozen out of its garbage
    collections: they no longer walk it, nor write to its pages shared with the server."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()
    watch_parent(parent_pid)


def watch_parent(parent_pid: int) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once ``parent_pid`` exits.

    Linux: it waits on a pidfd (no polling, no pid reuse); elsewhere it polls every
    PARENT_POLL_S. (Workers fork from the pool's forkserver, so the parent-death signal of
    ``prctl`` would follow the forkserver, not the process that started the batch.)
    """
    thread = threading.Thread(
        target=_wait_for_exit, args=(parent_pid,), name="minersim-parent-watch", daemon=True
    )
    thread.start()
    return thread


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(PARENT_GONE_EXIT)
    except (AttributeError, OSError):  # not Linux, or an old kernel
        fd = None
    if fd is not None:
        try:
            select.select([fd], [], [])  # readable once the process has exited
            os._exit(PARENT_GONE_EXIT)
        except OSError:
            pass  # fall back to polling
    while _alive(pid):
        time.sleep(PARENT_POLL_S)
    os._exit(PARENT_GONE_EXIT)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
