"""A run's result: its epoch and miner tables (DataFrames), built once from its records.

The column names (the output contract, DESIGN.md §4) and the preallocated recorder live in
:mod:`sim.engine.record`; they are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.engine.record import (
    ACTIONS,
    EPOCH_COLUMNS,
    EPOCH_EXTRA_COLUMNS,
    MINER_COLUMNS,
    MINER_EXTRA_COLUMNS,
    Recorder,
)


@dataclass
class RunResult:
    """One run: ``epochs`` (one row per epoch) and ``miners`` (one row per agent per epoch);
    ``reasons`` (one row per agent per epoch: the action and the policy's figures,
    :mod:`sim.reasons`) when the run was asked for them, else None. ``meta``: ``stalled`` and
    ``stall_reason`` (:mod:`sim.health`), ``defaults``."""

    epochs: pd.DataFrame
    miners: pd.DataFrame
    scenario_name: str = ""
    seed: int = 0
    scenario_hash: str = ""
    meta: dict = field(default_factory=dict)
    reasons: pd.DataFrame | None = None


def epochs_frame(rec: Recorder) -> pd.DataFrame:
    """The epoch table of a run's records."""
    r = rec.rows
    data = {c: rec.epoch_int[c][:r] for c in rec.epoch_int}
    data.update({c: rec.epoch_float[c][:r] for c in rec.epoch_float})
    data["date"] = _dates(rec.epoch_time_s[:r])
    return pd.DataFrame(data, columns=list(EPOCH_COLUMNS + EPOCH_EXTRA_COLUMNS))


def miners_frame(rec: Recorder) -> pd.DataFrame:
    """The miner table (one row per agent per epoch) of a run's records."""
    r, n = rec.rows, rec.n_agents
    data = {
        "epoch": np.repeat(rec.epoch_int["epoch"][:r], n),
        "date": np.repeat(_dates(rec.epoch_time_s[:r]), n),
        "miner_id": np.tile(rec.ids, r),
        "name": np.tile(rec.names, r),
        "kind": np.tile(rec.kinds, r),
        "action": pd.Categorical.from_codes(rec.action[:r].ravel(), categories=list(ACTIONS)),
        "defaulted": rec.defaulted[:r].ravel(),
    }
    data.update({c: rec.miner_float[c][:r].ravel() for c in rec.miner_float})
    return pd.DataFrame(data, columns=list(MINER_COLUMNS + MINER_EXTRA_COLUMNS))


def _dates(unix_s: np.ndarray) -> np.ndarray:
    return pd.to_datetime(unix_s, unit="s").normalize().to_numpy()


__all__ = [
    "ACTIONS",
    "EPOCH_COLUMNS",
    "EPOCH_EXTRA_COLUMNS",
    "MINER_COLUMNS",
    "MINER_EXTRA_COLUMNS",
    "Recorder",
    "RunResult",
    "epochs_frame",
    "miners_frame",
]
