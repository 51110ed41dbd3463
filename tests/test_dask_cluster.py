"""A batch on a real Dask cluster: a `dask scheduler` and a `dask worker` started as separate
processes (as on an HPC cluster) give the same dataset as local processes."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
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


@pytest.fixture
def scheduler_address(tmp_path):
    """``tcp://127.0.0.1:PORT`` of a scheduler (port chosen by the OS) with one worker."""
    if not DASK.exists():
        pytest.skip(f"no dask executable at {DASK} or on PATH: pip install 'dask[distributed]'")
    info = tmp_path / "scheduler.json"
    log = (tmp_path / "dask.log").open("w")
    common = {"cwd": PROJECT, "stdout": log, "stderr": subprocess.STDOUT}
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
        procs.append(
            subprocess.Popen(
                [
                    *(str(DASK), "worker", address, "--nworkers", "1", "--nthreads", "1"),
                    *("--no-dashboard", "--local-directory", str(tmp_path / "worker")),
                ],
                **common,
            )
        )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


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
