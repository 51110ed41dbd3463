"""Settling the epoch: the fringe's cash, power contracts, and every agent's valuation.

Each phase is ``phase(params, state, world, scratch)`` (see :mod:`sim.engine.epoch`).
"""

from __future__ import annotations

import numpy as np

from sim import fleet, hosting, valuation
from sim.finance import CONVERTIBLE, debt_by_owner, treasury_usd
from sim.policies import own_ai_capex_usd_per_mw
from sim.tables import sum_by_owner
from sim.units import YEAR_DAYS

#: Term of a power contract signed at renewal, days (an assumption: 3-year PPAs are typical).
POWER_CONTRACT_TERM_DAYS = 3 * YEAR_DAYS


def settle_fringe_cash(params, state, world, scratch) -> None:
    """Fringe agents pay out surplus cash and are recapitalised by new capital: cash stays 0."""
    fringe = ~state.is_public
    b = state.books
    b.equity_usd[fringe] -= b.cash_usd[fringe] + b.btc_held[fringe] * state.prev_btc_price
    b.cash_usd[fringe] = 0.0
    b.btc_held[fringe] = 0.0


def renew_power_contracts(params, state, world, scratch) -> None:
    """Fringe sites follow the market's trailing 30-day mean (a one-day spike must not set a
    whole epoch's price: curtailing the network for an epoch); public contracts that expired
    reprice to the same mean. A fringe agent's recorded price is its fleet's MW-weighted
    site price, $/MWh."""
    m, day = world.markets, scratch.day
    state.power_factor = m.trailing_power_usd_mwh(day) / params.power_base_usd_mwh
    f, agents = state.fleet, state.fringe.agents
    mw = fleet.unit_power_mw(f)
    owner_mw = fleet.per_owner(f, mw, params.n)[agents]
    bill = fleet.per_owner(f, mw * f.site_usd_mwh, params.n)[agents]
    site = np.where(owner_mw > 0, bill / np.maximum(owner_mw, 1e-300), state.fringe.site_usd_mwh)
    state.power_usd_mwh[agents] = site * state.power_factor
    due = state.is_public & (state.contract_end_day <= day)
    if due.any():
        state.power_usd_mwh[due] = m.renewal_price_usd_mwh(day, state.power_basis[due])
        state.contract_end_day[due] = day + POWER_CONTRACT_TERM_DAYS


def value_equity(params, state, world, scratch) -> None:
    """Market capitalisation and share price of every listed miner (sim.valuation), from the
    epoch's mining cash flow at the closing BTC price, its convertibles in the money counted
    as shares (:func:`sim.valuation.if_converted_price_usd`); the fringe is not listed. The market
    values the BTC a miner's hashrate earns on average (its share of the epoch's running
    hashrate x all BTC mined), not its luck in the epoch's draw of blocks."""
    b, n, price = state.books, params.n, scratch.p_end
    scratch.debt_usd = debt = debt_by_owner(state.debt, n)
    running = scratch.hashrate_ths
    share = running / running.sum() if running.sum() > 0 else np.zeros(n)
    expected_btc = share * scratch.btc_mined.sum()
    mining_cf_year = (
        expected_btc * price - scratch.power_cost_usd - scratch.opex_usd
    ) / scratch.years
    value = equity_value(params, state, world, mining_cf_year, debt, price, scratch.day)
    value = value.market_cap_usd
    value[b.defaulted | ~state.is_public] = 0.0  # fringe agents are not listed
    d = state.debt
    converts = d.instrument == CONVERTIBLE
    state.share_price_usd = valuation.if_converted_price_usd(
        value,
        b.shares,
        d.owner[converts],
        d.principal_usd[converts],
        d.conversion_price_usd[converts],
    )
    mcap = state.share_price_usd * b.shares
    world.equity_market.record(state.share_price_usd, b.shares)
    scratch.market_cap_usd = mcap


def lease_value_usd_per_mw(params, world, day: int) -> float:
    """Market value of a MW of site leased to AI today (0 with the AI market off): the rent
    per IT MW over the PUE, less the miner's own fit-out capex per MW of site, USD per MW."""
    if not params.ai_enabled:
        return 0.0
    return valuation.lease_value_usd_per_mw(
        float(world.markets.ai_lease_usd_per_mw_year[day]) / params.ai_pue,
        params.ai_noi_margin,
        params.ai_multiple,
        own_ai_capex_usd_per_mw(params),
    )


def marked_noi_usd_per_year(params, contracts, world, day: int) -> np.ndarray:
    """Each agent's contracted AI NOI with the halls after their terms at today's market lease
    rate (:func:`sim.valuation.marked_lease_noi_usd_per_year`), USD/year."""
    c = contracts
    market = float(world.markets.ai_lease_usd_per_mw_year[day])
    ratio = np.divide(
        market,
        c.signed_market_usd_per_mw_year,
        out=np.ones(c.n),
        where=c.signed_market_usd_per_mw_year > 0,
    )
    noi = c.mw * c.usd_per_mw_year * params.ai_noi_margin
    years_left = (c.end_day - day) / YEAR_DAYS
    marked = valuation.marked_lease_noi_usd_per_year(noi, years_left, ratio, params.ai_multiple)
    return sum_by_owner(c.owner, marked, params.n)


def equity_value(
    params, state, world, mining_cf_usd_per_year, debt_usd, price: float, day: int
) -> valuation.EquityValue:
    """Each agent's equity value at BTC ``price`` (USD) on ``day`` (:mod:`sim.valuation`)."""
    b, n, c = state.books, params.n, state.contracts
    ai_mw = hosting.committed_mw(c, n)
    capacity = np.where(state.is_public, state.capacity_mw, 0.0)  # the fringe's is unbounded
    return valuation.equity_value(
        mining_cf_usd_per_year,
        marked_noi_usd_per_year(params, c, world, day),
        sum_by_owner(c.owner, c.capex_remaining_usd, n),
        params.ai_offer_fraction * capacity - ai_mw,  # what each offers to AI
        capacity - ai_mw,
        lease_value_usd_per_mw(params, world, day),
        b.btc_held * price,
        debt_usd - b.cash_usd,
        params.mining_multiple,
        params.ai_multiple,
        params.ai_option_weight,
        treasury_usd(b, state.prev_eth_price, state.prev_sol_price),
    )


__all__ = [
    "equity_value",
    "lease_value_usd_per_mw",
    "renew_power_contracts",
    "settle_fringe_cash",
    "value_equity",
]
