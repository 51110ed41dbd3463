"""Mesa agents: public miners and fringe miners.

An agent is a view onto its row of the engine's state (:mod:`sim.engine.state`: balance sheet,
fleet, contracts) and of the latest records: the engine advances all agents at once with
vectorised phases (see docs/architecture.md). The properties below read the agent's current
state, in the units their names give.
"""

from __future__ import annotations

import mesa

from sim.engine.record import ACTIONS


class MinerAgent(mesa.Agent):
    """A miner: a public company (``kind == "public"``) or a fringe aggregate (``"fringe"``)."""

    def __init__(self, model, index: int, name: str, kind: str, policy: str):
        super().__init__(model)
        self.index = index
        self.name = name
        self.kind = kind
        self.policy = policy

    def _last(self, column: str) -> float:
        rec = self.model.state.recorder
        return (
            float(rec.miner_float[column][rec.rows - 1, self.index]) if rec.rows else float("nan")
        )

    @property
    def cash_usd(self) -> float:
        return float(self.model.state.books.cash_usd[self.index])

    @property
    def btc_held(self) -> float:
        return float(self.model.state.books.btc_held[self.index])

    @property
    def debt_usd(self) -> float:
        return self._last("debt_usd")

    @property
    def market_cap_usd(self) -> float:
        return self._last("market_cap_usd")

    @property
    def hashrate_ehs(self) -> float:
        return self._last("hashrate_ehs")

    @property
    def mining_mw(self) -> float:
        return self._last("mining_mw")

    @property
    def ai_mw(self) -> float:
        return self._last("ai_mw")

    @property
    def defaulted(self) -> bool:
        return bool(self.model.state.books.defaulted[self.index])

    @property
    def last_action(self) -> str:
        rec = self.model.state.recorder
        return ACTIONS[rec.action[rec.rows - 1, self.index]] if rec.rows else "idle"

    def __repr__(self) -> str:
        return f"MinerAgent({self.unique_id}, {self.name!r}, {self.kind}, {self.policy})"
