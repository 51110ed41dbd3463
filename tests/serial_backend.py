"""An in-process stand-in for the batch worker pool, so that tests of the command line, the
runs and the batch folder do not pay for process start-up (seconds per batch)."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib

import pytest


class SerialExecutor(cf.Executor):
    """Runs each task at once in this process; errors come back through the future, as a
    pool's do."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


def use_serial_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make sim.batch run every batch on a SerialExecutor (the argument checks stay)."""
    from sim.batch import runner
    from sim.batch.executors import Backend, check_backend

    @contextlib.contextmanager
    def open_serial(workers=None, scheduler=None, dask_local=False, wait_workers_s=60.0):
        check_backend(workers, scheduler, dask_local)
        yield Backend(SerialExecutor(), 1)

    monkeypatch.setattr(runner, "open_executor", open_serial)
