"""MiningModel: a Mesa adapter over the epoch engine; one Mesa step = one difficulty epoch.

The engine (:mod:`sim.engine`) holds the run's parameters, state and market processes and runs
an epoch's phases (:data:`sim.engine.epoch.PHASES`; docs/architecture.md has the order). The
model builds them, steps them, keeps its :class:`~sim.agents.MinerAgent` views in step and
collects the epoch's network columns (named as in the results, e.g. ``hashrate_ehs``) with
Mesa's DataCollector. :func:`sim.runner.run` runs the same engine without Mesa.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import mesa
import numpy as np

from sim.agents import MinerAgent
from sim.engine.build import build
from sim.engine.epoch import run_epoch
from sim.engine.record import NETWORK_SERIES, Recorder
from sim.engine.state import StateView, view
from sim.input.scenario import Scenario, load_scenario
from sim.reasons import epoch_reasons, reasons_table
from sim.results import RunResult
from sim.runner import checked_seed, result_of, run

#: Epoch columns the DataCollector collects after each step (names as in sim.results).
COLLECTED_COLUMNS = NETWORK_SERIES


def _latest(column: str):
    return lambda model: model.state.recorder.latest(column)


def fresh_seed() -> int:
    """A new root seed (an int >= 0, 63 bits) from the operating system's entropy."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> 1)


class MiningModel(mesa.Model):
    """The Bitcoin mining industry, one difficulty epoch per step.

    Parameters
    ----------
    scenario:
        A :class:`sim.input.scenario.Scenario`, a path to a scenario TOML file, or a bundled name;
        kept as ``model.spec`` (Mesa reserves ``model.scenario`` for its own scenario objects).
    seed:
        Root seed (an int >= 0). ``numpy.random.SeedSequence(seed)`` is spawned into independent
        streams for the markets and the kernel, so results depend only on (scenario, seed): the
        same in any process, on any backend. Batches derive each run's int seed from one root
        SeedSequence (see sim.batch). ``None`` (what ``mesa.batch_run(..., iterations=N)``
        passes) draws a fresh seed from the operating system's entropy, kept in ``model.seed``
        so that the run can be repeated.
    overrides:
        Dotted-key overrides applied to the scenario (``{"market.btc.volatility": 0.6}``).
    explain_decisions:
        Whether the policies also return their reasons (default: the class's
        :attr:`explains_by_default`); switch it on or off at any time with
        ``model.explain_decisions = True``. While it is on, each epoch's decisions are kept
        (``decisions_at``); ``model.reasons`` is their table (:mod:`sim.reasons`).

    ``model.view`` is a read-only view of the engine's state (:class:`sim.engine.state.StateView`);
    ``model.params``, ``model.state`` and ``model.world`` are the engine's own objects.
    """

    #: Whether new models explain their decisions (the browser page's subclass says True).
    explains_by_default: ClassVar[bool] = False

    def __init__(
        self,
        scenario: Scenario | str = "demo",
        seed: int | None = 0,
        overrides: dict | None = None,
        *,
        explain_decisions: bool | None = None,
    ):
        seed = fresh_seed() if seed is None else checked_seed(seed)
        super().__init__(rng=seed)
        self.spec = load_scenario(scenario, overrides)
        self.seed = seed
        self.cfg = self.spec.config
        explain = self.explains_by_default if explain_decisions is None else explain_decisions
        self.params, self.state, self.world = build(self.spec, seed, bool(explain))
        self.last_context = self.last_decisions = None  # the latest epoch's, for the page
        #: Each explained epoch's (context, decisions), by its row in the results (the page and
        #: ``reasons`` read them).
        self.decisions_at: dict[int, tuple] = {}
        s = self.state
        self.miner_agents = [
            MinerAgent(self, i, s.names[i], s.kinds[i], str(s.policy_names[i])) for i in range(s.n)
        ]
        self.datacollector = mesa.DataCollector(
            model_reporters={column: _latest(column) for column in COLLECTED_COLUMNS}
        )

    def step(self) -> None:
        """Run one epoch's phases; collect its columns unless the run ended before recording."""
        if not self.running:
            return
        scratch = run_epoch(self.params, self.state, self.world)
        self.running = self.state.running
        if not scratch.halted:
            self.last_context, self.last_decisions = scratch.ctx, scratch.decisions
            if scratch.decisions.reasons is not None:
                row = self.state.recorder.rows - 1
                self.decisions_at[row] = (scratch.ctx, scratch.decisions)
            self.datacollector.collect(self)

    @property
    def explain_decisions(self) -> bool:
        """Whether the policies return their reasons from the next epoch on (settable)."""
        return self.params.explain_decisions

    @explain_decisions.setter
    def explain_decisions(self, on: bool) -> None:
        self.params = dataclasses.replace(self.params, explain_decisions=bool(on))

    @property
    def reasons(self):
        """The reasons of the epochs stepped while ``explain_decisions`` was on, one row per
        agent and epoch (:mod:`sim.reasons`; empty if none), built when read."""
        rec = self.state.recorder
        return reasons_table(
            [epoch_reasons(rec, d, row) for row, (_, d) in sorted(self.decisions_at.items())]
        )

    @property
    def recorder(self) -> Recorder:
        """The run's preallocated outputs so far (rows up to ``epoch``; sim.engine.record)."""
        return self.state.recorder

    @property
    def view(self) -> StateView:
        """A read-only view of the engine's state now."""
        return view(self.state)

    @property
    def n(self) -> int:
        return self.params.n

    @property
    def n_public(self) -> int:
        return self.params.n_public

    @property
    def epoch(self) -> int:
        return self.state.epoch

    @property
    def time_s(self) -> float:
        """Unix seconds at the start of the coming epoch."""
        return self.state.time_s

    @property
    def stalled(self) -> bool:
        return self.state.stalled

    @property
    def default_events(self) -> list[dict]:
        """One record per default: epoch, date, miner, cause, unmet USD, the market that day."""
        return self.state.default_events

    def result(self) -> RunResult:
        """The run so far; ``reasons`` holds the explained epochs' reasons (None if none)."""
        reasons = self.reasons if self.decisions_at else None
        return result_of(self.spec, self.seed, self.state, reasons)


__all__ = ["MiningModel", "run"]
