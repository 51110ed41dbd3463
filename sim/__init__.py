"""minersim: agent-based simulator of the Bitcoin mining industry.

Public API (names other tools call):

- :func:`load_scenario` -- read and validate a scenario TOML (+ its CSVs), with dotted overrides;
- :func:`run` -- run a scenario to its horizon, returning a :class:`RunResult` whose ``.epochs``
  and ``.miners`` DataFrames follow the output contract (docs/outputs.md);
- :class:`MiningModel` -- the Mesa model, for stepping through a run;
- :func:`monte_carlo`, :func:`sweep` -- batches (see :mod:`sim.batch`);
- :func:`open_batch` -- a batch folder's experiments and outcomes as DataFrames (see
  :mod:`sim.analysis.batch_view` and :mod:`sim.analysis.outcomes`);
- :func:`calibrate` -- fit scenario parameters to history (see :mod:`sim.calibration`).
"""

from sim.analysis.batch_view import open_batch
from sim.batch import monte_carlo, sweep
from sim.calibration import calibrate
from sim.input.scenario import Scenario, load_scenario
from sim.results import EPOCH_COLUMNS, MINER_COLUMNS, RunResult
from sim.runner import run

__all__ = [
    "EPOCH_COLUMNS",
    "MINER_COLUMNS",
    "MiningModel",
    "RunResult",
    "Scenario",
    "calibrate",
    "load_scenario",
    "monte_carlo",
    "open_batch",
    "run",
    "sweep",
]


__version__ = "0.1.0"


def __getattr__(name: str):
    """``sim.MiningModel`` imports Mesa on first use only (``sim.run`` never needs it)."""
    if name == "MiningModel":
        from sim.model import MiningModel

        return MiningModel
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
