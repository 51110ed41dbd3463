"""Operating phases: the epoch's blocks, and what running the fleet and the halls earned and
cost (revenue, power, opex, AI hosting, debt service, depreciation, failures).

Each phase is ``phase(params, state, world, scratch)`` (see :mod:`sim.engine.epoch`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import consensus, fleet, hosting
from sim.engine.record import ACTION_CODE
from sim.engine.state import compact_if_grown, unit_power_usd_mwh
from sim.finance import service_debt
from sim.kernel import simulate_epoch
from sim.tables import sum_by_owner
from sim.units import DAY_S, HASHES_PER_DIFFICULTY, HASHES_PER_TH, YEAR_DAYS
from sim.units import energy_mwh as unit_energy_mwh

#: Daily market paths are never extended beyond this many days (~270 years): a chain with no
#: hashrate left that never mines again stops there (the run ends as stalled).
MAX_PATH_DAYS = 100_000
#: An epoch ending this long after the scenario's end date ends the run as stalled.
MAX_OVERRUN_YEARS = 10.0


def deliver_fringe_orders(params, state, world, scratch) -> None:
    """Fringe machines ordered earlier and due by the epoch's start join the fleet, paid now;
    the machines they renew (an agent's least efficient, beyond its sites) are sold."""
    scratch.t0 = state.time_s
    day = scratch.day_start = (scratch.t0 - params.day0_time) / DAY_S
    arrived = state.fringe.deliveries(day)
    if arrived.n == 0:
        return
    fleet.add_units(
        state.fleet,
        arrived.owner,
        arrived.hashrate_ths,
        arrived.efficiency_jth,
        arrived.cost_usd,
        arrived.site_usd_mwh,
    )
    state.books.cash_usd -= sum_by_owner(arrived.owner, arrived.cost_usd, params.n)
    sell_renewed_machines(params, state, world, day)
    compact_if_grown(state)


def sell_renewed_machines(params, state, world, day: float) -> None:
    """Each fringe agent's fleet fits its sites (:meth:`sim.fringe.Fringe.room_mw`): a delivery
    that renews a mothballed or failed machine's site displaces the agent's least efficient
    units, sold at resale value (USD) on ``day``."""
    f, n = state.fleet, params.n
    room = state.fringe.room_mw(n)
    if fleet.fits_under(f, room, n):
        return
    frontier_jth = float(world.hardware.frontier_jth(day))

    def resale_value_usd() -> np.ndarray:
        """Each owner's fleet at resale value on ``day``, USD."""
        resale = world.machines.resale_usd_per_th(f.efficiency_jth, day, frontier_jth)
        return fleet.per_owner(f, f.hashrate_ths * resale, n)

    value_before = resale_value_usd()
    removed = fleet.retire_to_fit(f, room, n)
    proceeds = value_before - resale_value_usd()
    state.books.cash_usd += proceeds
    state.books.equity_usd += proceeds - removed


def apply_outages(params, state, world, scratch) -> None:
    """The share of exposed machines an outage keeps off this epoch (sim.outages); when the
    outage ends, the share lost for good is written off the exposed units' books."""
    f = state.fleet
    scratch.offline_share, lost = world.outages.step(f, scratch.day_start)
    if lost > 0.0:
        mw_before = fleet.per_owner(f, fleet.unit_power_mw(f), params.n)
        state.books.equity_usd -= fleet.lose_share(f, f.exposed, lost, params.n)
        state.fringe.lose_sites(mw_before - fleet.per_owner(f, fleet.unit_power_mw(f), params.n))
        f.exposed[:] = False


def mine_blocks(params, state, world, scratch) -> None:
    """Simulate the epoch's 2016 blocks (sim.kernel); extend the daily market paths first far
    enough for the expected epoch length. Halts the run as stalled if no block was found or the
    epoch outran the paths or the horizon."""
    t0, day_start = scratch.t0, scratch.day_start
    scratch.hashes_per_block = consensus.bits_to_difficulty(state.bits) * HASHES_PER_DIFFICULTY
    running = fleet.running_ths(state.fleet, scratch.offline_share)
    expected_days = (
        consensus.RETARGET_INTERVAL
        * scratch.hashes_per_block
        / max(running.sum() * HASHES_PER_TH, 1.0)
        / DAY_S
    )
    world.markets.extend_to(int(day_start + min(3 * expected_days + 30, 40_000)) + 2)
    scratch.running_ths, scratch.unit_price = running, unit_power_usd_mwh(state)
    scratch.kernel = _simulate_blocks(params, state, world, scratch)
    times, n_mined = scratch.kernel[0], scratch.kernel[3]
    t1 = float(times[n_mined - 1]) if n_mined else t0
    if n_mined == 0 or _outran_the_horizon(params, world, t1):
        state.stalled, state.running, scratch.halted = True, False, True
        return
    scratch.t1, scratch.n_mined = t1, n_mined
    scratch.day_end = (t1 - params.day0_time) / DAY_S
    scratch.epoch_s = max(t1 - t0, 1.0)
    scratch.years = scratch.epoch_s / DAY_S / YEAR_DAYS
    prices = world.markets.btc_price_usd[int(day_start) : int(scratch.day_end) + 1]
    scratch.p_avg, scratch.p_end = float(prices.mean()), float(prices[-1])
    last_day = int(scratch.day_end)
    scratch.eth_end = float(world.markets.eth_price_usd[last_day])
    scratch.sol_end = float(world.markets.sol_price_usd[last_day])


def _simulate_blocks(params, state, world, scratch) -> tuple:
    """Run the kernel for one epoch; extend the daily paths and redo it if it outran them."""
    f, markets = state.fleet, world.markets
    fees = markets.draw_block_fees_sat(consensus.RETARGET_INTERVAL, int(scratch.day_start))
    curtailable = ~f.must_run if params.curtailment else np.zeros(f.n, bool)
    seed = int(world.kernel_rng.integers(0, 2**32))  # numba seeds with 32 bits
    while True:
        out = simulate_epoch(
            consensus.RETARGET_INTERVAL,
            state.height,
            scratch.t0,
            scratch.hashes_per_block,
            scratch.running_ths,
            f.efficiency_jth,
            scratch.unit_price,
            f.owner,
            curtailable,
            params.n,
            params.day0_time,
            markets.btc_price_usd,
            markets.fee_btc_expected,
            fees,
            seed,
            params.curtailment_anticipation,
        )
        times, n_mined = out[0], out[3]
        last = times[n_mined - 1] if n_mined else scratch.t0
        outran = (last - params.day0_time) / DAY_S >= markets.n_days - 1
        if not outran or markets.n_days > MAX_PATH_DAYS:
            return out
        markets.extend_to(2 * markets.n_days)


def _outran_the_horizon(params, world, t1: float) -> bool:
    """An epoch that ends beyond the market paths or years after the horizon: the chain has
    in effect stopped (hashrate far too small for its difficulty)."""
    past_paths = (t1 - params.day0_time) / DAY_S >= world.markets.n_days - 1
    return past_paths or t1 > params.end_time + MAX_OVERRUN_YEARS * YEAR_DAYS * DAY_S


def produce_machines(params, state, world, scratch) -> None:
    """The factories work the machine market's backlog off over the epoch (sim.machines)."""
    world.machines.produce(scratch.day_start, scratch.day_end)


def run_fleet(params, state, world, scratch) -> None:
    """BTC mined, energy (MWh), power cost and other opex (USD) and mean hashrate (TH/s) of
    each agent over the epoch."""
    f, n = state.fleet, params.n
    sat_won, active_s = scratch.kernel[1], scratch.kernel[2]
    running, unit_price = scratch.running_ths, scratch.unit_price
    scratch.btc_mined = sat_won / consensus.COIN
    energy_mwh_unit = unit_energy_mwh(running, f.efficiency_jth, active_s)
    scratch.energy_mwh = fleet.per_owner(f, energy_mwh_unit, n)
    scratch.power_cost_usd = fleet.per_owner(f, energy_mwh_unit * unit_price, n)
    scratch.hashrate_ths = fleet.per_owner(f, running * active_s, n) / scratch.epoch_s
    scratch.fleet_mw = fleet.per_owner(f, fleet.unit_power_mw(f), n)
    scratch.opex_usd = params.opex_usd_per_mw_year * scratch.fleet_mw * scratch.years


def host_ai(params, state, world, scratch) -> None:
    """AI/HPC leases over the epoch: NOI received, capex spent, halls completed (USD). Halls
    re-let at the market rate per IT MW over the PUE (contracts are per MW of site), which
    they then remember as their signing rate."""
    c = state.contracts
    market = float(world.markets.ai_lease_usd_per_mw_year[int(scratch.day_end)])
    relet = c.end_day <= scratch.day_end
    scratch.flows = hosting.step_hosting(
        c,
        scratch.day_start,
        scratch.day_end,
        params.ai_noi_margin,
        market / params.ai_pue,
        params.ai_term_years * YEAR_DAYS,
        params.n,
    )
    c.signed_market_usd_per_mw_year[relet] = market


def serve_debt(params, state, world, scratch) -> None:
    """Scheduled instruments due by the epoch's end are issued; then coupons, amortisation and
    maturities (sim.finance.service_debt)."""
    _issue_scheduled_debt(params, state, scratch.day_end)
    scratch.service = service_debt(
        state.debt, scratch.day_end, scratch.years, state.share_price_usd, params.n
    )


def _issue_scheduled_debt(params, state, day: float) -> None:
    """Instruments in the scenario issued after its start: cash arrives on the issue date.
    A miner that has defaulted by then issues nothing (its instruments are dropped)."""
    if not state.scheduled_issue_day:
        return
    due = np.asarray(state.scheduled_issue_day) <= day
    if not due.any():
        return
    s = state.scheduled_debt
    issued = due & ~state.books.defaulted[s.owner]  # a defaulted miner's notes never issue
    state.books.cash_usd += sum_by_owner(s.owner[issued], s.principal_usd[issued], params.n)
    state.debt.append(**{name: getattr(s, name)[issued] for name in s.columns})
    s.keep(~due)
    state.scheduled_issue_day = [d for d in state.scheduled_issue_day if d > day]


def wear_machines(params, state, world, scratch) -> None:
    """Depreciate the fleet's book value and remove the machines that failed (USD per agent)."""
    f, hardware, days = state.fleet, world.hardware, scratch.years * YEAR_DAYS
    depreciated = fleet.depreciate(f, hardware.depreciation_fraction(days))
    scratch.depreciation_usd = fleet.per_owner(f, depreciated, params.n)
    scratch.failures_usd = fleet.per_owner(
        f, fleet.apply_failures(f, hardware.survival_factor(days)), params.n
    )


def book_epoch(params, state, world, scratch) -> None:
    """The epoch's flows into cash, BTC, AI assets, shares and book equity (BTC, ETH and SOL
    marked from the last epoch's prices to this one's); every live agent starts the epoch's
    action at mine."""
    b, flows, service = state.books, scratch.flows, scratch.service
    scratch.revenue_usd = np.empty(params.n)
    _book_agents(
        b.cash_usd,
        b.btc_held,
        b.cip_usd,
        b.ai_ppe_usd,
        b.shares,
        b.equity_usd,
        b.eth_held,
        b.sol_held,
        scratch.btc_mined,
        flows.noi_usd,
        flows.capex_usd,
        flows.completed_usd,
        scratch.power_cost_usd,
        scratch.opex_usd,
        service.interest_usd,
        service.repaid_usd,
        service.new_shares,
        service.converted_usd,
        scratch.depreciation_usd,
        scratch.failures_usd,
        min(1.0, scratch.years / hosting.HALL_LIFE_YEARS),
        np.array(
            [
                state.prev_btc_price,
                scratch.p_avg,
                scratch.p_end,
                state.prev_eth_price,
                state.prev_sol_price,
                scratch.eth_end,
                scratch.sol_end,
            ]
        ),
        scratch.revenue_usd,
    )
    state.prev_btc_price = scratch.p_end
    state.prev_eth_price, state.prev_sol_price = scratch.eth_end, scratch.sol_end
    alive = ~b.defaulted
    scratch.action = np.where(alive, ACTION_CODE["mine"], ACTION_CODE["defaulted"]).astype(np.int8)


@njit(cache=True)
def _book_agents(
    cash_usd,
    btc_held,
    cip_usd,
    ai_ppe_usd,
    shares,
    equity_usd,
    eth_held,
    sol_held,
    btc_mined,
    noi_usd,
    capex_usd,
    completed_usd,
    power_cost_usd,
    opex_usd,
    interest_usd,
    repaid_usd,
    new_shares,
    converted_usd,
    depreciation_usd,
    failures_usd,
    ai_depreciation_share,
    prices,
    revenue_usd,
):
    """The loop of :func:`book_epoch` over agents, books changed in place (USD, BTC, shares).

    ``prices``: the BTC price the books last marked, the epoch's mean and closing BTC prices,
    the ETH and SOL prices last marked and the closing ones (USD). Each value is computed with
    the array version's operations in its order (sums left to right; ETH/SOL valued as
    :func:`sim.finance.treasury_usd` does: exactly 0 for none held), so the books are
    bit-identical to it; the revenue (mined BTC at the mean price) goes into ``revenue_usd``."""
    btc_before, p_avg, p_end = prices[0], prices[1], prices[2]
    eth_before, sol_before, eth_end, sol_end = prices[3], prices[4], prices[5], prices[6]
    for i in range(cash_usd.size):
        ai_depreciation = ai_ppe_usd[i] * ai_depreciation_share
        btc_value_before = btc_held[i] * btc_before
        btc_held[i] += btc_mined[i]
        cash_usd[i] += (
            noi_usd[i]
            - power_cost_usd[i]
            - opex_usd[i]
            - capex_usd[i]
            - interest_usd[i]
            - repaid_usd[i]
        )
        cip_usd[i] += capex_usd[i] - completed_usd[i]
        ai_ppe_usd[i] += completed_usd[i] - ai_depreciation
        shares[i] += new_shares[i]
        revenue = btc_mined[i] * p_avg
        revenue_usd[i] = revenue
        btc_gain = btc_held[i] * p_end - btc_value_before - revenue
        equity_usd[i] += (
            revenue
            + btc_gain
            + noi_usd[i]
            - power_cost_usd[i]
            - opex_usd[i]
            - interest_usd[i]
            - depreciation_usd[i]
            - failures_usd[i]
            - ai_depreciation
            + converted_usd[i]
        )
        eth, sol = eth_held[i], sol_held[i]
        now = (eth * eth_end if eth != 0 else 0.0) + (sol * sol_end if sol != 0 else 0.0)
        before = (eth * eth_before if eth != 0 else 0.0) + (sol * sol_before if sol != 0 else 0.0)
        equity_usd[i] += now - before


__all__ = [
    "apply_outages",
    "book_epoch",
    "deliver_fringe_orders",
    "host_ai",
    "mine_blocks",
    "produce_machines",
    "run_fleet",
    "serve_debt",
    "wear_machines",
]
