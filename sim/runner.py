"""Run a scenario to its horizon on the epoch engine, without Mesa.

:func:`run` is what ``minersim run``, the batch workers and calibration call;
:class:`sim.model.MiningModel` steps the same engine one epoch at a time for Mesa.
"""

from __future__ import annotations

import numpy as np

from sim.engine.build import build
from sim.engine.epoch import run_to_horizon
from sim.errors import MinersimError
from sim.health import run_health
from sim.input.scenario import Scenario, load_scenario
from sim.results import RunResult, epochs_frame, miners_frame


def checked_seed(seed) -> int:
    """``seed`` as an int, or a one-line error unless it is a whole number >= 0."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def result_of(spec: Scenario, seed: int, state) -> RunResult:
    """The epoch and miner tables of a finished (or stopped) run of ``spec``; ``meta`` says
    whether it stalled or is degenerate, and why (:func:`sim.health.run_health`)."""
    epochs = epochs_frame(state.recorder)
    stalled, reason = run_health(epochs, spec.config.scenario.end_date, state.stalled)
    return RunResult(
        epochs=epochs,
        miners=miners_frame(state.recorder),
        scenario_name=spec.name,
        seed=seed,
        scenario_hash=spec.content_hash,
        meta={
            "stalled": stalled,
            "stall_reason": reason,
            "defaults": list(state.default_events),
        },
    )


def run(scenario: Scenario | str, seed: int = 0, overrides: dict | None = None) -> RunResult:
    """Run a scenario to its horizon and return its epoch and miner tables."""
    seed = checked_seed(seed)
    spec = load_scenario(scenario, overrides)
    params, state, world = build(spec, seed)
    run_to_horizon(params, state, world)
    return result_of(spec, seed, state)


__all__ = ["checked_seed", "result_of", "run"]
