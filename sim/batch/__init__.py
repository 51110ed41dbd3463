"""Batches: Monte Carlo runs and parameter sweeps, streamed to a Parquet dataset on disk.

:mod:`sim.batch.runner` plans the runs (points, seeds), sends them to an executor (local
processes or Dask) and streams the results; :mod:`sim.batch.store` owns the folder layout.
"""

from sim.batch.runner import BatchInterrupted, BatchSummary, monte_carlo, run_seed, sweep

__all__ = ["BatchInterrupted", "BatchSummary", "monte_carlo", "run_seed", "sweep"]
