"""A batch on a real Dask cluster: a `dask scheduler` and a `dask worker` started as separate
processes (as on an HPC cluster) give the same dataset as local processes; and the ways a
cluster fails (no workers, a worker killed repeatedly: KilledWorker, the scheduler killed) end
the batch in one line that says how to resume, within seconds."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from sim.batch import monte_carlo, store
from sim.cli import main

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

#: The environment's own ``dask`` (in a venv: .venv/bin/dask, often not on PATH), else PATH's.
DASK = Path(sys.executable).with_name("dask")
if not DASK.exists() and shutil.which("dask"):
    DASK = Path(shutil.which("dask"))
PROJECT = Path(__file__).resolve().parent.parent


def dataset_hash(root: Path) -> str:
    frame = store.read_epochs(root)
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + repr(list(frame.columns)).encode()).hexdigest()


def _wait_for_file(path: Path, procs: list[subprocess.Popen], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:  # being written
                pass
        if any(p.poll() is not None for p in procs):
            pytest.fail("the Dask scheduler exited early")
        time.sleep(0.1)
    pytest.fail(f"{path} not written after {timeout} s")


@contextlib.contextmanager
def dask_cluster(tmp_path: Path, workers: int = 1, env: dict | None = None):
    """A scheduler (port chosen by the OS) and ``workers`` worker processes (under one nanny)
    started as separate processes; yields (address, scheduler process, worker process)."""
    if not DASK.exists():
        pytest.skip(f"no dask executable at {DASK} or on PATH: pip install 'dask[distributed]'")
    info = tmp_path / "scheduler.json"
    log = (tmp_path / "dask.log").open("w")
    common = {
        "cwd": PROJECT,
        "stdout": log,
        "stderr": subprocess.STDOUT,
        "env": {**os.environ, **(env or {})},
        "start_new_session": True,
    }
    scheduler = subprocess.Popen(
        [
            *(str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
            *("--scheduler-file", str(info)),
        ],
        **common,
    )
    procs = [scheduler]
    try:
        address = _wait_for_file(info, procs)["address"]
        worker = None
        if workers:
            worker = subprocess.Popen(
                [
                    *(str(DASK), "worker", address, "--nworkers", str(workers), "--nthreads", "1"),
                    *("--no-dashboard", "--local-directory", str(tmp_path / "worker")),
                ],
                **common,
            )
            procs.append(worker)
            from distributed import Client

            with Client(address, timeout="30s") as client:
                client.wait_for_workers(workers, timeout=120)
        yield address, scheduler, worker
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()


@pytest.fixture
def scheduler_address(tmp_path):
    """``tcp://127.0.0.1:PORT`` of a scheduler with one worker."""
    with dask_cluster(tmp_path) as (address, _, _):
        yield address


def test_batch_on_a_dask_scheduler_equals_the_local_batch(scheduler_address, tmp_path, capsys):
    runs, seed = 4, 21
    remote = tmp_path / "remote"
    args = ["mc", "demo", "--runs", str(runs), "--seed", str(seed), "--out", str(remote)]
    assert main([*args, "--scheduler", scheduler_address]) == 0
    assert "4 runs" in capsys.readouterr().out

    local = tmp_path / "local"
    monte_carlo("demo", runs, seed, local, workers=1, progress=False)
    assert dataset_hash(remote) == dataset_hash(local)
    assert store.read_epochs(remote)["run"].nunique() == runs


# --------------------------------------------------------------------------------------------
# Failures: one line, "run the same command again to resume", within seconds

CLI = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]


def _start_batch(
    address: str, out: Path, runs: int = 40, extra: tuple[str, ...] = ()
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(*CLI, "mc", "demo", "--runs", str(runs), "--out", str(out)),
            *("--scheduler", address, *extra),
        ],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _runs_done(out: Path) -> int:
    folder = out / "epochs"
    return sum(n.startswith("run-") for n in os.listdir(folder)) if folder.is_dir() else 0


def _wait_for_runs(out: Path, proc: subprocess.Popen, at_least: int = 1, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _runs_done(out) < at_least:
        if proc.poll() is not None:
            pytest.fail(f"batch exited early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.1)
    assert _runs_done(out) >= at_least


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("progress:")]
    assert len(lines) == 1 and lines[0].startswith("minersim: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_a_scheduler_without_workers_fails_in_one_line(tmp_path, capsys):
    with dask_cluster(tmp_path, workers=0) as (address, _, _):
        started = time.monotonic()
        argv = ["mc", "demo", "--runs", "2", "--out", str(tmp_path / "b"), "--scheduler", address]
        code = main([*argv, "--wait-workers", "3"])

        elapsed = time.monotonic() - started
    line = _one_error_line(capsys.readouterr().err)
    assert code == 2 and "has no workers after 3 s" in line
    assert elapsed < 60


def _fault_mid_batch(
    tmp_path: Path, fault, env: dict | None = None, extra: tuple[str, ...] = ()
) -> str:
    """Start a 40-run batch on a fresh cluster, apply ``fault(scheduler, nanny)`` once a run is
    done, and return the batch's one error line (exit 2 within a minute of the fault)."""
    out = tmp_path / "batch"
    with dask_cluster(tmp_path, workers=1, env=env) as (address, scheduler, nanny):
        proc = _start_batch(address, out, extra=extra)
        _wait_for_runs(out, proc)
        fault(scheduler, nanny)
        started = time.monotonic()
        _, err = proc.communicate(timeout=120)
        elapsed = time.monotonic() - started
    line = _one_error_line(err)
    assert proc.returncode == 2 and "run the same command again to resume" in line
    assert elapsed < 60
    assert 1 <= _runs_done(out) < 40
    return line


def _kill_workers(scheduler, nanny) -> None:
    for child in psutil.Process(nanny.pid).children(recursive=True):
        child.kill()  # the worker process, mid-batch


def _kill_scheduler(scheduler, nanny) -> None:
    os.killpg(scheduler.pid, signal.SIGKILL)


def test_a_worker_killed_repeatedly_ends_in_one_killedworker_line(tmp_path):
    # allowed-failures = 0: the scheduler gives up on a task the first time its worker dies
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    assert "KilledWorker" in _fault_mid_batch(tmp_path, _kill_workers, env)


def test_a_lost_scheduler_ends_in_one_line_and_the_batch_resumes(tmp_path):
    assert "lost the Dask scheduler" in _fault_mid_batch(tmp_path, _kill_scheduler)
    out = tmp_path / "batch"
    done = _runs_done(out)

    summary = monte_carlo("demo", 40, 0, out, workers=2, progress=False)  # resume locally
    assert summary.skipped_runs == done and summary.completed_runs == 40 - done


def _kill_the_last_worker(scheduler, nanny) -> None:
    os.killpg(nanny.pid, signal.SIGKILL)  # the nanny too: no worker comes back


def _stop_scheduler(scheduler, nanny) -> None:
    os.kill(scheduler.pid, signal.SIGSTOP)  # alive, connected, never answers


def test_a_batch_whose_last_worker_dies_ends_in_one_line_and_resumes(tmp_path):
    """The issue's batch that waited forever in silence once its last worker died (the check
    for workers ran only at the start)."""
    line = _fault_mid_batch(tmp_path, _kill_the_last_worker, extra=("--wait-workers", "3"))
    assert "has had no workers for 3 s" in line
    out = tmp_path / "batch"
    done = _runs_done(out)
    summary = monte_carlo("demo", 40, 0, out, workers=2, progress=False)  # resume locally
    assert summary.skipped_runs == done and summary.completed_runs == 40 - done


def test_a_scheduler_that_stops_answering_ends_in_one_line(tmp_path):
    assert "has not answered" in _fault_mid_batch(tmp_path, _stop_scheduler)
