"""Batches: Monte Carlo runs and parameter sweeps, streamed to a Parquet dataset on disk.

One module per seam: :mod:`~sim.batch.seeds` (a SeedSequence child per run),
:mod:`~sim.batch.plans` (grid, Latin hypercube and Sobol' designs), :mod:`~sim.batch.worker`
(the task a worker runs), :mod:`~sim.batch.executors` (local processes, Dask) with
:mod:`~sim.batch.cluster` (connecting to a Dask scheduler), :mod:`~sim.batch.progress`,
:mod:`~sim.batch.runner` (monte_carlo, sweep), :mod:`~sim.batch.mapped` (map_runs: a task over
the same seeds, in memory), :mod:`~sim.batch.warm` (the forkserver loads the compiled code
before workers fork) and :mod:`~sim.batch.store` (the folder layout,
resume checks, readers).

Importing the package imports none of them (PEP 562 module ``__getattr__``): a reader of a
batch folder (:mod:`~sim.batch.store`) does not load the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.lazy import lazy_attributes

#: Where each public name lives (imported on first access).
_LAZY = {
    "BatchInterrupted": "sim.batch.runner",
    "BatchSummary": "sim.batch.runner",
    "monte_carlo": "sim.batch.runner",
    "sweep": "sim.batch.runner",
    "map_runs": "sim.batch.mapped",
    "run_seed": "sim.batch.seeds",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

if TYPE_CHECKING:
    from sim.batch.mapped import map_runs as map_runs
    from sim.batch.runner import BatchInterrupted as BatchInterrupted
    from sim.batch.runner import BatchSummary as BatchSummary
    from sim.batch.runner import monte_carlo as monte_carlo
    from sim.batch.runner import sweep as sweep
    from sim.batch.seeds import run_seed as run_seed
