"""A plain-Python Mesa implementation of the same block loop, for the speed comparison.

What a straightforward Mesa model of block-level mining looks like: one ``mesa.Agent`` per
owner, a Python loop over the 2016 blocks of each epoch (exponential arrival, winner by
hashrate share with ``bisect``, subsidy at the block's height) and a per-agent ``step`` doing
the epoch's accounting (revenue, power cost, cash) and the exact retarget. It does less than
minersim (no curtailment, markets, finance or decisions), so the speed ratio it gives is a
lower bound on what the numba kernel and vectorised accounting buy.

Other benchmark scripts import :func:`run_plain_mesa` after putting this folder on sys.path.
"""

from __future__ import annotations

import bisect
import itertools
import random
import time

import mesa

from sim import consensus
from sim.units import HASHES_PER_DIFFICULTY, HASHES_PER_TH, energy_mwh

PRICE_USD = 100_000.0
POWER_USD_MWH = 45.0


class PlainMiner(mesa.Agent):
    def __init__(self, model, hashrate_ths: float, efficiency_jth: float):
        super().__init__(model)
        self.hashrate_ths = hashrate_ths
        self.efficiency_jth = efficiency_jth
        self.sat_won = 0
        self.cash_usd = 0.0

    def step(self) -> None:
        power_mwh = energy_mwh(self.hashrate_ths, self.efficiency_jth, self.model.epoch_seconds)
        self.cash_usd += self.sat_won / consensus.COIN * PRICE_USD - power_mwh * POWER_USD_MWH
        self.sat_won = 0


class PlainMiningModel(mesa.Model):
    def __init__(self, n_agents: int, seed: int = 0, height: int = 917_280):
        super().__init__(rng=seed)
        self.py_random = random.Random(seed)
        share = 1_057.5e6 / n_agents  # TH/s, the October-2025 network split evenly
        for k in range(n_agents):
            PlainMiner(self, share, 15.0 + 10.0 * k / n_agents)
        self.miners = list(self.agents)
        self.height = height
        self.bits = consensus.difficulty_to_bits(143.47e12)
        self.time_s = 0.0
        self.epoch_seconds = 0.0

    def step(self) -> None:
        rate = sum(m.hashrate_ths for m in self.miners) * HASHES_PER_TH
        mean_interval = consensus.bits_to_difficulty(self.bits) * HASHES_PER_DIFFICULTY / rate
        cumulative = list(itertools.accumulate(m.hashrate_ths for m in self.miners))
        total = cumulative[-1]
        start, first = self.time_s, None
        for _ in range(consensus.RETARGET_INTERVAL):
            self.time_s += self.py_random.expovariate(1.0 / mean_interval)
            first = self.time_s if first is None else first
            winner = self.miners[bisect.bisect_right(cumulative, self.py_random.random() * total)]
            winner.sat_won += consensus.block_subsidy(self.height)
            self.height += 1
        self.epoch_seconds = self.time_s - start
        self.agents.do("step")
        self.bits = consensus.next_bits(self.bits, int(first), int(self.time_s))


def run_plain_mesa(n_agents: int, n_epochs: int, seed: int = 0) -> PlainMiningModel:
    """Build the plain Mesa model and run ``n_epochs`` epochs (what benchmarks time, like
    ``sim.run``, which also builds its model)."""
    model = PlainMiningModel(n_agents, seed)
    for _ in range(n_epochs):
        model.step()
    return model


def plain_mesa_seconds(n_agents: int, n_epochs: int, seed: int = 0) -> float:
    """Wall time (s) of one :func:`run_plain_mesa`."""
    start = time.perf_counter()
    run_plain_mesa(n_agents, n_epochs, seed)
    return time.perf_counter() - start


if __name__ == "__main__":
    for n in (10, 100):
        seconds = plain_mesa_seconds(n, 10)
        print(f"{n} agents: {10 * 2016 / seconds:,.0f} blocks/s")
