"""Batches whose "runs" are functions of their point: the real planner, runner, store and
readers, with ``execute_run`` swapped for a function, so analysis tests know the answer.

``use_synthetic_runs(monkeypatch, outputs)`` makes every run of ``sim.batch.sweep`` /
``monte_carlo`` (on an in-process backend) write an epoch table of :data:`EPOCHS` epochs whose
columns are ``outputs(point_overrides, rng)`` ({column: value or per-epoch array}), drawn with
a generator seeded by the run's seed; the clock columns (epoch, date, height, epoch_days) are
those of a chain that mines 2016 blocks every 14 days from :data:`START`; every other epoch
column of the output contract is 0.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from serial_backend import use_serial_backend

from sim.results import EPOCH_COLUMNS

EPOCHS = 4
START = np.datetime64("2026-01-01", "ns")
FIRST_HEIGHT = 1_040_000

Outputs = Callable[[dict, np.random.Generator], dict]


def use_synthetic_runs(monkeypatch: pytest.MonkeyPatch, outputs: Outputs) -> None:
    from sim.batch import runner

    def execute(task: runner.RunTask) -> runner.RunOutput:
        rng = np.random.default_rng(task.seed)
        head = {"run": task.run_id, "seed": task.seed, "point": task.point, "stalled": False}
        columns = {k: pa.array([v] * EPOCHS) for k, v in {**head, **task.columns}.items()}
        epoch = np.arange(EPOCHS)
        columns["epoch"] = pa.array(epoch)
        columns["date"] = pa.array(START + (14 * (epoch + 1)).astype("timedelta64[D]"))
        columns["height"] = pa.array(FIRST_HEIGHT + 2016 * (epoch + 1))
        columns["epoch_days"] = pa.array(np.full(EPOCHS, 14.0))
        values = dict.fromkeys(EPOCH_COLUMNS, 0.0) | outputs(task.point_overrides, rng)
        for name, value in values.items():
            if name not in columns:
                columns[name] = pa.array(np.broadcast_to(np.asarray(value, dtype=float), EPOCHS))
        sink = io.BytesIO()
        pq.write_table(pa.table(columns), sink)
        return runner.RunOutput(task.run_id, sink.getvalue(), None, 0.0)

    use_serial_backend(monkeypatch)
    monkeypatch.setattr(runner, "execute_run", execute)
