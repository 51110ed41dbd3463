"""The output contract's columns and the preallocated arrays an epoch's records go into.

Per epoch and per agent values are written into preallocated arrays during a run (grown by
doubling if a run has more epochs than expected) and turned into tables once at the end, by
:mod:`sim.results`, never inside the loop. Column names are a public contract (DESIGN.md §4):
other tools depend on them; extra columns may be added, none renamed. To add an output column:
name it in ``EPOCH_EXTRA_COLUMNS`` or ``MINER_EXTRA_COLUMNS`` (a float column) and fill it in
:func:`record_epoch`.
"""

from __future__ import annotations

import numpy as np

from sim import consensus, fleet, hosting
from sim.engine.state import assets_usd
from sim.finance import treasury_usd
from sim.units import DAY_S, HOURS_PER_DAY

EPOCH_COLUMNS = (
    "epoch",
    "date",
    "height",
    "bits",
    "difficulty",
    "hashrate_ehs",
    "epoch_days",
    "btc_price_usd",
    "subsidy_btc",
    "fees_btc",
    "hashprice_usd_per_ph_day",
    "network_power_mw",
    "network_efficiency_j_per_th",
    "cost_to_mine_cash_usd",
    "cost_to_mine_allin_usd",
    "mining_capacity_mw",
    "ai_capacity_mw",
    "total_debt_usd",
    "miners_active",
    "miners_defaulted",
)

MINER_COLUMNS = (
    "epoch",
    "date",
    "miner_id",
    "name",
    "kind",
    "hashrate_ehs",
    "btc_mined",
    "btc_held",
    "cash_usd",
    "debt_usd",
    "book_equity_usd",
    "market_cap_usd",
    "mining_mw",
    "ai_mw",
    "power_price_usd_mwh",
    "action",
    "defaulted",
)

#: The network series the report's figures draw and Mesa's DataCollector carries (per epoch,
#: in the results' units).
NETWORK_SERIES = (
    "hashrate_ehs",
    "difficulty",
    "btc_price_usd",
    "cost_to_mine_cash_usd",
    "cost_to_mine_allin_usd",
    "hashprice_usd_per_ph_day",
    "total_debt_usd",
    "mining_capacity_mw",
    "ai_capacity_mw",
)

#: Extra per-epoch columns (beyond the contract): the machine market and the fringe's entry.
EPOCH_EXTRA_COLUMNS = (
    "installed_ehs",  # every machine installed at the epoch's end, running or mothballed, EH/s
    "mothballed_ehs",  # of which mothballed (off, site kept), EH/s
    "on_order_ehs",  # fringe machines ordered and not yet delivered, EH/s
    "frontier_jth",  # best machine on sale, J/TH
    "new_machine_usd_per_th",  # its price, USD per TH/s
    "machine_usd_per_w",  # a new frontier machine's price, USD per W of its power draw
    "machine_backlog_years",  # the factories' order backlog, years of production
    "machine_capacity_mw_per_year",  # the factories' output, MW of machines a year
    "machines_produced_mw",  # MW of machines the factories produced since the run's start
    "power_capacity_mw",  # the fringe's power capacity at its agents' base prices, MW
    "offline_ehs",  # switched off by an outage (sim.outages), EH/s
    "entry_breakeven_usd_mwh",  # power price at which a new frontier machine breaks even, $/MWh
    "eth_price_usd",  # ETH on the epoch's last day, USD
    "sol_price_usd",  # SOL on the epoch's last day, USD
)

#: Extra per-agent columns (beyond the contract) used by invariant tests and experiments.
MINER_EXTRA_COLUMNS = (
    "assets_usd",
    "liabilities_usd",
    "revenue_usd",
    "power_cost_usd",
    "ai_noi_usd",
    "share_price_usd",
    "eth_held",  # ETH (treasury)
    "sol_held",  # SOL (treasury)
    "treasury_usd",  # ETH and SOL at the epoch's closing prices, USD
    "eth_usd",  # of which ETH (eth_held x the epoch's closing ETH price), USD
    "sol_usd",  # of which SOL (sol_held x the epoch's closing SOL price), USD
)

#: Actions, most significant first: an agent's ``action`` in an epoch is the first that applies.
ACTIONS = (
    "default",
    "sell_assets",  # a distressed sale of machines, AI halls or sites (the financing waterfall)
    "convert_ai",
    "buy_asics",
    "borrow",
    "issue_equity",
    "sell_btc",
    "mine",
    "idle",
    "defaulted",
)

EPOCH_FLOAT = [
    c
    for c in EPOCH_COLUMNS + EPOCH_EXTRA_COLUMNS
    if c not in ("epoch", "date", "height", "bits", "miners_active", "miners_defaulted")
]
MINER_FLOAT = [
    c
    for c in MINER_COLUMNS + MINER_EXTRA_COLUMNS
    if c not in ("epoch", "date", "miner_id", "name", "kind", "action", "defaulted")
]


class Recorder:
    """Preallocated per-epoch storage; grows by doubling if a run has more epochs than expected."""

    def __init__(self, n_agents: int, expected_epochs: int, names, kinds, ids):
        self.n_agents = n_agents
        self.rows = 0
        self._cap = max(expected_epochs, 4)
        self.names = np.asarray(names, dtype=object)
        self.kinds = np.asarray(kinds, dtype=object)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.epoch_float = {c: np.zeros(self._cap) for c in EPOCH_FLOAT}
        self.epoch_int = {
            c: np.zeros(self._cap, np.int64)
            for c in ("epoch", "height", "bits", "miners_active", "miners_defaulted")
        }
        self.epoch_time_s = np.zeros(self._cap)
        self.miner_float = {c: np.zeros((self._cap, n_agents)) for c in MINER_FLOAT}
        self.action = np.zeros((self._cap, n_agents), np.int8)
        self.defaulted = np.zeros((self._cap, n_agents), bool)

    def new_row(self) -> int:
        """Index of a new row (the storage doubles when full)."""
        if self.rows == self._cap:
            self._grow()
        self.rows += 1
        return self.rows - 1

    def latest(self, column: str) -> float:
        """Most recent value of an epoch column (for Mesa's DataCollector and the UI)."""
        if self.rows == 0:
            return float("nan")
        store = self.epoch_float if column in self.epoch_float else self.epoch_int
        return store[column][self.rows - 1].item()

    def _grow(self) -> None:
        def grow(a):
            out = np.zeros((2 * a.shape[0], *a.shape[1:]), a.dtype)
            out[: a.shape[0]] = a
            return out

        for store in (self.epoch_float, self.epoch_int, self.miner_float):
            for k in store:
                store[k] = grow(store[k])
        self.epoch_time_s = grow(self.epoch_time_s)
        self.action = grow(self.action)
        self.defaulted = grow(self.defaulted)
        self._cap *= 2


ACTION_CODE = {name: code for code, name in enumerate(ACTIONS)}


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0 where the denominator is 0 (e.g. no hashrate ran)."""
    return numerator / denominator if denominator > 0 else 0.0


def record_epoch(params, state, world, scratch) -> None:
    """Write the epoch's network row and every agent's row into ``state.recorder``."""
    rec, b, n = state.recorder, state.books, params.n
    price, next_bits = scratch.p_end, scratch.next_bits
    hashrate_ths, energy_mwh = scratch.hashrate_ths, scratch.energy_mwh
    power_cost, btc_mined, debt = scratch.power_cost_usd, scratch.btc_mined, scratch.debt_usd
    r = rec.new_row()
    e, m = rec.epoch_float, rec.miner_float
    rec.epoch_time_s[r] = scratch.t1
    rec.epoch_int["epoch"][r] = state.epoch
    rec.epoch_int["height"][r] = state.height + scratch.n_mined
    rec.epoch_int["bits"][r] = next_bits
    public = state.is_public
    rec.epoch_int["miners_defaulted"][r] = int(np.count_nonzero(b.defaulted & public))
    rec.epoch_int["miners_active"][r] = int(np.count_nonzero(~b.defaulted & public))
    btc_total = float(btc_mined.sum())
    days = scratch.epoch_s / DAY_S
    total_ths = float(hashrate_ths.sum())
    subsidy_sat, fees_sat = scratch.kernel[4], scratch.kernel[5]
    e["difficulty"][r] = consensus.bits_to_difficulty(next_bits)
    e["hashrate_ehs"][r] = total_ths / 1e6
    e["epoch_days"][r] = days
    e["btc_price_usd"][r] = price
    e["subsidy_btc"][r] = subsidy_sat / consensus.COIN
    e["fees_btc"][r] = fees_sat / consensus.COIN
    e["hashprice_usd_per_ph_day"][r] = ratio(
        float(scratch.revenue_usd.sum()) / days, total_ths / 1e3
    )
    power_mw = float(energy_mwh.sum()) / (days * HOURS_PER_DAY)
    e["network_power_mw"][r] = power_mw
    e["network_efficiency_j_per_th"][r] = ratio(power_mw * 1e6, total_ths)
    e["cost_to_mine_cash_usd"][r] = ratio(float(power_cost.sum()), btc_total)
    e["cost_to_mine_allin_usd"][r] = ratio(
        float((power_cost + scratch.opex_usd + scratch.depreciation_usd).sum()), btc_total
    )
    f = state.fleet
    mining_mw = fleet.per_owner(f, fleet.unit_power_mw(f), n)
    ai_mw = hosting.committed_mw(state.contracts, n)
    e["mining_capacity_mw"][r] = float(mining_mw.sum())
    e["ai_capacity_mw"][r] = float(ai_mw.sum())
    e["total_debt_usd"][r] = float(debt[public].sum())
    e["installed_ehs"][r] = float(f.hashrate_ths.sum()) / 1e6
    e["mothballed_ehs"][r] = float(f.hashrate_ths[f.mothballed].sum()) / 1e6
    e["on_order_ehs"][r] = float(state.fringe.orders.hashrate_ths.sum()) / 1e6
    e["frontier_jth"][r] = state.entry_outlook.frontier_jth
    e["new_machine_usd_per_th"][r] = state.machine_usd_per_w * state.entry_outlook.frontier_jth
    e["machine_usd_per_w"][r] = state.machine_usd_per_w
    day = scratch.day
    e["machine_backlog_years"][r] = world.machines.backlog_years(day)
    e["machine_capacity_mw_per_year"][r] = world.machines.capacity_mw_per_year(day)
    e["machines_produced_mw"][r] = world.machines.produced_mw
    e["power_capacity_mw"][r] = float(state.fringe.capacity_mw.sum())
    e["offline_ehs"][r] = scratch.offline_share * float(f.hashrate_ths[f.exposed].sum()) / 1e6
    e["entry_breakeven_usd_mwh"][r] = state.entry_breakeven_usd_mwh
    e["eth_price_usd"][r] = scratch.eth_end
    e["sol_price_usd"][r] = scratch.sol_end
    m["hashrate_ehs"][r] = hashrate_ths / 1e6
    m["btc_mined"][r] = btc_mined
    m["btc_held"][r] = b.btc_held
    m["cash_usd"][r] = b.cash_usd
    m["debt_usd"][r] = debt
    m["book_equity_usd"][r] = b.equity_usd
    m["market_cap_usd"][r] = scratch.market_cap_usd
    m["mining_mw"][r] = mining_mw
    m["ai_mw"][r] = ai_mw
    m["power_price_usd_mwh"][r] = state.power_usd_mwh
    m["assets_usd"][r] = assets_usd(state, price)
    m["liabilities_usd"][r] = debt
    m["revenue_usd"][r] = scratch.revenue_usd
    m["power_cost_usd"][r] = power_cost
    m["ai_noi_usd"][r] = scratch.flows.noi_usd
    m["share_price_usd"][r] = state.share_price_usd
    m["eth_held"][r] = b.eth_held
    m["sol_held"][r] = b.sol_held
    m["treasury_usd"][r] = treasury_usd(b, scratch.eth_end, scratch.sol_end)
    m["eth_usd"][r] = b.eth_held * scratch.eth_end
    m["sol_usd"][r] = b.sol_held * scratch.sol_end
    rec.action[r] = scratch.action
    rec.defaulted[r] = b.defaulted
