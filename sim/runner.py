"""Run a scenario to its horizon on the epoch engine, without Mesa.

:func:`run` is what ``minersim run``, the batch workers and calibration call;
:class:`sim.model.MiningModel` steps the same engine one epoch at a time for Mesa.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.engine.build import build
from sim.engine.epoch import run_epoch, run_to_horizon
from sim.errors import MinersimError
from sim.health import run_health
from sim.input.scenario import Scenario, load_scenario
from sim.reasons import epoch_reasons, reasons_table
from sim.results import RunResult, epochs_frame, miners_frame


def checked_seed(seed) -> int:
    """``seed`` as an int, or a one-line error unless it is a whole number >= 0."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def result_of(spec: Scenario, seed: int, state, reasons: pd.DataFrame | None = None) -> RunResult:
    """The epoch and miner tables of a finished (or stopped) run of ``spec``; ``meta`` says
    whether it stalled or is degenerate, and why (:func:`sim.health.run_health`); ``reasons``:
    the policies' reasons table, if collected (:mod:`sim.reasons`)."""
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
        reasons=reasons,
    )


def run(
    scenario: Scenario | str,
    seed: int = 0,
    overrides: dict | None = None,
    *,
    reasons: bool = False,
) -> RunResult:
    """Run a scenario to its horizon and return its epoch and miner tables; with ``reasons``,
    also the policies' reasons, one row per agent and epoch (``result.reasons``; slower)."""
    seed = checked_seed(seed)
    spec = load_scenario(scenario, overrides)
    params, state, world = build(spec, seed, explain_decisions=reasons)
    if not reasons:
        run_to_horizon(params, state, world)
        return result_of(spec, seed, state)
    frames = []
    while state.running:
        scratch = run_epoch(params, state, world)
        if not scratch.halted:
            rec = state.recorder
            frames.append(epoch_reasons(rec, scratch.decisions, rec.rows - 1))
    return result_of(spec, seed, state, reasons_table(frames))


__all__ = ["checked_seed", "result_of", "run"]
