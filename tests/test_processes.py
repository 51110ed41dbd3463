"""Process-level faults (issue 14, family "processes"): real ``minersim mc`` processes.

* SIGKILL of the parent alone (what the OOM killer does), at a generated moment (after a drawn
  number of finished runs, with one or two workers): within a few seconds no process of the
  batch remains (workers, the pool's forkserver, the resource tracker), and the same command
  then resumes to the full batch;
* a second ``mc`` with the same arguments and ``--out`` while the first runs: it stops at once
  with one line naming the first's pid; once the first is killed, the lock is free.

Each batch runs in its own session (``start_new_session``), so "a process of the batch" is any
process of that session; whatever a failing test leaves is killed by session at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.batch import store
from sim.batch.worker import PARENT_GONE_EXIT
from sim.cli import main

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]
PROJECT = Path(sim.__file__).resolve().parent.parent
#: Seconds within which every process of a batch must be gone after its parent is killed.
ORPHAN_DEADLINE_S = 10.0


def session_processes(sid: int) -> list[int]:
    """Pids of the live (not zombie) processes of session ``sid``."""
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getsid(proc.pid) == sid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(proc.pid)
        except (ProcessLookupError, PermissionError, psutil.Error):
            continue
    return found


def kill_session(sid: int) -> None:
    for pid in session_processes(sid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_mc(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        CLI + args,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
        cwd=PROJECT,
    )


def finished_runs(out: Path) -> int:
    folder = out / "epochs"
    return sum(n.startswith("run-") for n in os.listdir(folder)) if folder.is_dir() else 0


def wait_until(condition, proc: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the batch exited ({proc.returncode}) before {what}")
        time.sleep(0.05)
    pytest.fail(f"no {what} after {timeout} s")


def left_after(sid: int, seconds: float) -> list[int]:
    """The processes of session ``sid`` still alive after waiting up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not session_processes(sid):
            return []
        time.sleep(0.1)
    return session_processes(sid)


@pytest.mark.timeout(1800)
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(after_runs=st.integers(0, 4), workers=st.sampled_from([1, 2]))
def test_sigkill_of_the_parent_alone_leaves_no_process_behind(
    tmp_path_factory, after_runs, workers
):
    tmp = tmp_path_factory.mktemp("orphans")
    out = tmp / "batch"
    args = ["mc", "demo", "--runs", "60", "--seed", "2", "--out", str(out)]
    args += ["--workers", str(workers), "--set", "scenario.end_date=2026-01-01"]
    proc = start_mc(args, tmp / "mc.log")
    try:
        # the workers exist once the first run is done (or at least started)
        wait_until(  # a run is done: the workers exist and wait for (or run) the next
            lambda: finished_runs(out) >= max(after_runs, 1), proc, 240, "finished runs"
        )
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone
        proc.wait(timeout=30)
        left = left_after(proc.pid, ORPHAN_DEADLINE_S)
        assert not left, f"still alive {ORPHAN_DEADLINE_S} s after the parent: {left}"

    finally:
        kill_session(proc.pid)
    done = finished_runs(out)
    assert done < 60
    assert main([*args, "--workers", "2"]) == 0  # the same batch resumes
    assert len(store.read_epochs(out)["run"].unique()) == 60


@pytest.mark.timeout(900)
def test_a_second_batch_on_the_same_folder_stops_at_once(tmp_path):
    out = tmp_path / "batch"
    args = ["mc", "demo", "--runs", "200", "--out", str(out), "--workers", "1"]
    first = start_mc(args, tmp_path / "first.log")
    try:
        wait_until(lambda: (out / store.METADATA_FILE).exists(), first, 240, "metadata.json")
        second = subprocess.run(
            CLI + args, capture_output=True, text=True, cwd=PROJECT, timeout=240
        )
        assert second.returncode == 2, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and f"another minersim batch (pid {first.pid})" in lines[0]
        assert first.poll() is None  # the first goes on
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        kill_session(first.pid)
    with store.BatchStore(out) as again:  # the kernel released the lock with the process
        again.open(store.read_metadata(out))


@pytest.mark.timeout(300)
def test_a_worker_watching_a_parent_that_dies_exits(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    ready = tmp_path / "ready"
    code = (
        "import pathlib, sys, time; from sim.batch.worker import watch_parent; "
        f"watch_parent({parent.pid}); pathlib.Path({str(ready)!r}).touch(); time.sleep(300)"
    )
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT)
    try:
        wait_until(ready.exists, worker, 120, "the worker's watch")
        time.sleep(1.0)
        assert worker.poll() is None  # waits while the parent lives
        parent.kill()
        parent.wait(timeout=30)
        assert worker.wait(timeout=10) == PARENT_GONE_EXIT
    finally:
        for proc in (parent, worker):
            if proc.poll() is None:
                proc.kill()
