"""minersim: agent-based simulator of the Bitcoin mining industry.

Public API (names other tools call):

- :func:`load_scenario` -- read and validate a scenario TOML (+ its CSVs), with dotted overrides;
- :func:`run` -- run a scenario to its horizon, returning a :class:`RunResult` whose ``.epochs``
  and ``.miners`` DataFrames follow the output contract (docs/outputs.md);
- :class:`MiningModel` -- the Mesa model, for stepping through a run;
- :func:`monte_carlo`, :func:`sweep` -- batches (see :mod:`sim.batch`; from a script they need
  an ``if __name__ == "__main__":`` guard, checked by :mod:`sim.main_guard`);
- :func:`open_batch` -- a batch folder's experiments and outcomes as DataFrames (see
  :mod:`sim.analysis.batch_view` and :mod:`sim.analysis.outcomes`);
- :func:`calibrate` -- fit scenario parameters to history (see :mod:`sim.calibration`);
- :func:`register_policy` -- add a miners' decision rule by name from your own code (see
  :mod:`sim.policy_registry` and docs/policies.md).

``import sim`` imports none of them: each name is imported on first use (PEP 562 module
``__getattr__``), so a command or a worker pays only for what it uses (``import sim`` then
``sim.load_scenario`` loads the scenario reader, not Mesa or numba).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.lazy import lazy_attributes

#: Where each public name lives (imported on first access).
_LAZY = {
    "EPOCH_COLUMNS": "sim.results",
    "MINER_COLUMNS": "sim.results",
    "RunResult": "sim.results",
    "MiningModel": "sim.model",
    "run": "sim.runner",
    "Scenario": "sim.input.scenario",
    "load_scenario": "sim.input.scenario",
    "monte_carlo": "sim.main_guard",
    "sweep": "sim.main_guard",
    "open_batch": "sim.analysis.batch_view",
    "calibrate": "sim.calibration",
    "register_policy": "sim.policy_registry",
}

__all__ = sorted(_LAZY)

__version__ = "0.1.0"


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

if TYPE_CHECKING:  # names for type checkers and IDEs, never imported at run time
    from sim.analysis.batch_view import open_batch as open_batch
    from sim.calibration import calibrate as calibrate
    from sim.input.scenario import Scenario as Scenario
    from sim.input.scenario import load_scenario as load_scenario
    from sim.main_guard import monte_carlo as monte_carlo
    from sim.main_guard import sweep as sweep
    from sim.model import MiningModel as MiningModel
    from sim.policy_registry import register_policy as register_policy
    from sim.results import EPOCH_COLUMNS as EPOCH_COLUMNS
    from sim.results import MINER_COLUMNS as MINER_COLUMNS
    from sim.results import RunResult as RunResult
    from sim.runner import run as run
