"""Executors of a batch: local processes (default), a Dask cluster, or a Dask LocalCluster.

Every backend is a :class:`concurrent.futures.Executor`, wrapped in a :class:`Backend` that also
says how many runs may run at once, when it can no longer finish runs (a Dask scheduler closed
or hung, its last worker gone) and how its own failures read as one line (a worker process
killed, KilledWorker).
"""

from __future__ import annotations

import concurrent.futures as cf
import concurrent.futures.process
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sim.batch import cluster
from sim.batch.seeds import check_count
from sim.errors import MinersimError

#: What the local pool's forkserver imports before workers fork from it (the last one warms the
#: engine: :mod:`sim.batch.warm`).
FORKSERVER_PRELOAD = (
    "sim.batch.forkserver_hook",
    "sim.batch.worker",
    "sim.runner",
    "sim.batch.warm",
)


@dataclass
class Backend:
    """An executor and what the runner needs to know about it."""

    executor: cf.Executor
    slots: int
    #: One line once the backend cannot finish any more runs, else None (asked while no run
    #: finishes: a Dask scheduler closed or hung, its last worker gone).
    failure: Callable[[], MinersimError | None] = field(default=lambda: None)
    #: One line for a failure of the backend itself (not of a run), else None.
    explain: Callable[[BaseException, str], MinersimError | None] = field(
        default=lambda exc, where: None
    )


def default_workers() -> int:
    """Number of CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_backend(workers: int | None, scheduler: str | None, dask_local: bool) -> None:
    if workers is not None:
        check_count("workers", workers, 10_000)
    if scheduler and dask_local:
        raise MinersimError("choose either --scheduler or --dask-local, not both")
    if scheduler:
        cluster.parse_address(scheduler)


@contextlib.contextmanager
def open_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    dask_local: bool = False,
    wait_workers_s: float = cluster.WORKER_WAIT_S,
) -> Iterator[Backend]:
    """A backend; closed (pending work cancelled) on exit.

    Local processes by default; ``scheduler`` connects to an existing Dask cluster (which must
    have a worker within ``wait_workers_s``); ``dask_local`` starts a Dask LocalCluster of
    ``workers`` single-threaded processes.
    """
    check_backend(workers, scheduler, dask_local)
    if scheduler:
        with cluster.dask_client(scheduler, wait_workers_s=wait_workers_s) as client:
            slots = workers or max(1, sum(client.nthreads().values()))
            where = f"the Dask scheduler at {cluster.parse_address(scheduler).url}"
            yield _dask_backend(client, slots, where, wait_workers_s)
    elif dask_local:
        from distributed import Client, LocalCluster

        n = workers or default_workers()
        with (
            LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
            ) as local,
            Client(local) as client,
        ):
            yield _dask_backend(client, n, "the Dask LocalCluster", wait_workers_s)
    else:
        from sim.batch.worker import init_local_worker

        n = workers or default_workers()
        pool = cf.ProcessPoolExecutor(
            max_workers=n,
            mp_context=_process_context(),
            initializer=init_local_worker,
            initargs=(os.getpid(),),
        )
        try:
            yield Backend(pool, n, explain=_local_error)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask_backend(client, slots: int, where: str, wait_workers_s: float) -> Backend:
    watch = cluster.Liveness(client, where, wait_workers_s, cluster.CONNECT_TIMEOUT_S)
    return Backend(
        client.get_executor(pure=False), slots, watch.failure, explain=cluster.batch_error
    )


def _local_error(exc: BaseException, where: str) -> MinersimError | None:
    if isinstance(exc, concurrent.futures.process.BrokenProcessPool):
        return MinersimError(
            f"{where}: a worker process died (killed, or out of memory); {cluster.RESUME_HINT}"
        )
    return None


def start_local_server() -> None:
    """Start the local pool's forkserver now, if this platform has one (else nothing).

    ``minersim mc``/``sweep`` call it before importing the batch machinery (pandas, the scenario
    reader: about 1 s), so that the server imports and warms the engine meanwhile; the pool
    opened later finds it running (:func:`_process_context`)."""
    _process_context()


def _process_context() -> multiprocessing.context.BaseContext:
    """The start method of worker processes: forkserver where available (workers fork from a
    server that has imported the worker and the engine and loaded its compiled code once:
    :mod:`sim.batch.warm`), else spawn; never plain fork, which can deadlock in a process that
    runs threads (Dask, tqdm). Starts the forkserver unless it runs already."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        _start_forkserver_deaf_to_ctrl_c()
        return context
    return multiprocessing.get_context("spawn")


def _start_forkserver_deaf_to_ctrl_c() -> None:
    """Start the forkserver (and the resource tracker) with Ctrl-C ignored.

    Ctrl-C reaches every process of the terminal's foreground group. The forkserver ignores it
    only once it has imported its preloaded modules (seconds), so a Ctrl-C in the first seconds
    of a batch printed its 30-line KeyboardInterrupt traceback after the batch's own line. An
    ignored signal stays ignored across exec, so the server starts deaf to it; this process
    ignores Ctrl-C only for the instant the server takes to start.
    """
    import multiprocessing.forkserver
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        multiprocessing.forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


__all__ = [
    "FORKSERVER_PRELOAD",
    "Backend",
    "check_backend",
    "default_workers",
    "open_executor",
    "start_local_server",
]
