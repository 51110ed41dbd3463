"""Batches: Monte Carlo runs and parameter sweeps, streamed to a Parquet dataset on disk.

One module per seam: :mod:`~sim.batch.seeds` (a SeedSequence child per run),
:mod:`~sim.batch.plans` (grid, Latin hypercube and Sobol' designs), :mod:`~sim.batch.worker`
(the task a worker runs), :mod:`~sim.batch.executors` (local processes, Dask) with
:mod:`~sim.batch.cluster` (connecting to a Dask scheduler), :mod:`~sim.batch.progress`,
:mod:`~sim.batch.runner` (monte_carlo, sweep), :mod:`~sim.batch.mapped` (map_runs: a task over
the same seeds, in memory) and :mod:`~sim.batch.store` (the folder layout,
resume checks, readers).
"""

from sim.batch.mapped import map_runs
from sim.batch.runner import BatchInterrupted, BatchSummary, monte_carlo, sweep
from sim.batch.seeds import run_seed

__all__ = ["BatchInterrupted", "BatchSummary", "map_runs", "monte_carlo", "run_seed", "sweep"]
