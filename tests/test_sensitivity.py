"""Sobol' indices through the project's own path (sim.sweep's Saltelli plan, the batch store,
sim.analysis.summary.summarize) on functions whose indices are known in closed form.

Each "run" is replaced by a function of the run's point (the batch runner, store and summary are
the real ones; only ``execute_run`` is swapped), so the test checks the design, the order in which
points are written and read back, and the mapping of indices to parameters and columns:

* linear: ``y = x1 + 2 x2`` with every x uniform on the same range: S1 = ST = (1/5, 4/5, 0);
* Ishigami: ``y = sin x1 + 7 sin^2 x2 + 0.1 x3^4 sin x1`` on [-pi, pi]^3 (Ishigami & Homma
  1990): S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244) in closed form below.

Tolerances. The linear model is additive, so Saltelli's estimators recover its indices almost
exactly (to 0.01 at N = 256). For Ishigami they carry sampling error (standard error about 0.05
at N = 256): each index must lie within twice SALib's 95% bootstrap half-width of the true value
(about 4 standard errors), and the half-widths must be below 0.25 so the check has teeth.
Swapping two parameters or two columns moves the linear indices by 0.6.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.summary import summarize
from sim.batch import runner
from sim.batch.executors import Backend

KEYS = ("market.btc.drift", "market.btc.jump_mean", "market.btc.bear_drift")  # all allow [-pi, pi]
N_BASE = 256
A, B = 7.0, 0.1


def linear(x1, x2, x3):
    return x1 + 2.0 * x2 + 0.0 * x3


def ishigami(x1, x2, x3):
    return np.sin(x1) + A * np.sin(x2) ** 2 + B * x3**4 * np.sin(x1)


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    """First-order and total indices of the Ishigami function on [-pi, pi]^3."""
    pi4, pi8 = math.pi**4, math.pi**8
    v1 = 0.5 * (1 + B * pi4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * pi8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / total, np.array([v1 + v13, v2, v13]) / total


DATE = pa.array([np.datetime64("2026-01-01", "ns")])


def fake_execute_run(task: runner.RunTask) -> runner.RunOutput:
    """One "run": a single epoch whose outputs are the two test functions of the point (written
    with pyarrow directly, as a run's table would be: pandas would triple the test's time)."""
    x = [float(task.point_overrides[key]) for key in KEYS]
    head = {"run": task.run_id, "seed": task.seed, "point": task.point, **task.columns}
    columns = {name: pa.array([value]) for name, value in head.items()}
    columns.update(
        stalled=pa.array([False]),  # as a real run's rows (sim.batch.worker.RUN_COLUMNS)
        epoch=pa.array([0]),
        epoch_days=pa.array([14.0]),
        date=DATE,
        linear=pa.array([float(linear(*x))]),
        ishigami=pa.array([float(ishigami(*x))]),
    )
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return runner.RunOutput(task.run_id, sink.getvalue(), None, 0.0)


class SerialExecutor:
    def submit(self, fn, /, *args, **kwargs):
        import concurrent.futures as cf

        future: cf.Future = cf.Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.fixture
def functions_instead_of_runs(monkeypatch):
    @contextlib.contextmanager
    def open_serial(workers=None, scheduler=None, dask_local=False, wait_workers_s=60.0):
        yield Backend(SerialExecutor(), 1)

    monkeypatch.setattr(runner, "execute_run", fake_execute_run)
    monkeypatch.setattr(runner, "open_executor", open_serial)


def test_sobol_indices_of_functions_with_known_indices(functions_instead_of_runs, tmp_path):
    ranges = dict.fromkeys(KEYS, (-math.pi, math.pi))
    result = runner.sweep(
        "demo", 1, 2024, tmp_path / "sobol", sobol=N_BASE, ranges=ranges, progress=False
    )
    assert result.total_runs == N_BASE * (len(KEYS) + 2)
    paths = summarize(
        tmp_path / "sobol", fan_columns=("linear",), final_columns=("linear", "ishigami")
    )
    table = pd.read_csv(paths["sobol_csv"]).set_index(["column", "parameter"])
    linear_got = table.loc["linear"].loc[list(KEYS)]
    for index in ("S1", "ST"):
        np.testing.assert_allclose(linear_got[index], [0.2, 0.8, 0.0], atol=0.01, err_msg=index)
    ishigami_got = table.loc["ishigami"].loc[list(KEYS)]
    for index, true in zip(("S1", "ST"), ishigami_indices(), strict=True):
        error = np.abs(ishigami_got[index].to_numpy() - true)
        half_width = ishigami_got[f"{index}_conf"].to_numpy()
        assert np.all(half_width < 0.25), (index, half_width)
        assert np.all(error < 2 * half_width), (index, error, half_width)


def test_closed_form_ishigami_indices():
    # the published values (Saltelli et al., Global Sensitivity Analysis: The Primer, 2008)
    s1, st = ishigami_indices()
    np.testing.assert_allclose(s1, [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(st, [0.5576, 0.4424, 0.2437], atol=1e-4)
