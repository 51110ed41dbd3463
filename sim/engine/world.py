"""The processes outside the agents' books that an epoch reads: markets, machines, the kernel's
random stream, and one epoch's scratch values passed from phase to phase."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.finance import DebtService, EquityMarket
from sim.hardware import HardwareMarket
from sim.hosting import HostingFlows
from sim.machines import AsicMarket
from sim.markets import Markets
from sim.outages import OutageSchedule
from sim.policies import Decisions, PolicyContext


@dataclass
class World:
    """Processes outside the agents' books: daily market paths, the efficiency frontier, the
    new-machine market, the equity market's memory of share prices, the kernel's random stream
    (one per run) and the scenario's outages."""

    markets: Markets
    hardware: HardwareMarket
    machines: AsicMarket  # the new-machine market (its backlog moves every epoch)
    equity_market: EquityMarket
    kernel_rng: np.random.Generator
    outages: OutageSchedule


class Scratch:
    """One epoch's intermediate values, written by one phase and read by the later ones.

    A fresh one per epoch. Units: unix seconds (``t0``, ``t1``), days since the start
    (``day_start``, ``day_end``, ``day``), USD, BTC, TH/s, MWh; per-agent arrays unless noted.
    ``halted`` is set by a phase that ends the run before the epoch is recorded.
    """

    halted: bool = False
    t0: float  # unix seconds at the epoch's start
    day_start: float
    hashes_per_block: float
    running_ths: np.ndarray  # per fleet unit: TH/s switched on (0 when mothballed)
    unit_price: np.ndarray  # per fleet unit: power price, $/MWh
    kernel: tuple  # what sim.kernel.simulate_epoch returned
    t1: float  # unix seconds of the last block
    n_mined: int
    day_end: float
    epoch_s: float  # epoch length, s (at least 1)
    years: float  # epoch length, years
    p_avg: float  # mean daily BTC price over the epoch, USD
    p_end: float  # BTC price on the last day, USD
    eth_end: float  # ETH price on the last day, USD
    sol_end: float  # SOL price on the last day, USD
    btc_mined: np.ndarray
    energy_mwh: np.ndarray
    power_cost_usd: np.ndarray
    hashrate_ths: np.ndarray  # mean active TH/s
    fleet_mw: np.ndarray
    opex_usd: np.ndarray
    depreciation_usd: np.ndarray
    failures_usd: np.ndarray  # book value of the machines that failed
    revenue_usd: np.ndarray
    flows: HostingFlows
    service: DebtService
    action: np.ndarray  # int8 action codes (sim.engine.record.ACTIONS)
    next_bits: int
    next_height: int
    day: int  # the epoch's last day
    offline_share: float  # share of exposed units' hashrate off (an outage, sim.outages)
    ctx: PolicyContext
    decisions: Decisions
    debt_usd: np.ndarray  # outstanding principal after the epoch
    market_cap_usd: np.ndarray


__all__ = ["Scratch", "World"]
