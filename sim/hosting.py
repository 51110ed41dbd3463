"""AI/HPC hosting: capacity converted from mining, its build-out and its lease contracts.

A contract reserves ``mw`` of a site's capacity from signing on. Until ``start_day`` the hall
is being built: ``capex_remaining_usd`` is spent evenly over the time left (construction in
progress). From ``start_day`` to ``end_day`` the tenant pays ``usd_per_mw_year``; the miner
keeps the net operating income (lease x NOI margin). At expiry the hall is re-leased at the
market rate for another term (halls outlive their first tenant).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.tables import Table, clip, maximum, minimum, sum_by_owner
from sim.units import YEAR_DAYS

#: Book life of AI/HPC halls for straight-line depreciation, years (an assumption: shells and
#: power/cooling plant last well beyond a 10-15 year lease; servers are the tenant's).
HALL_LIFE_YEARS = 20.0


def new_contract_table() -> Table:
    return Table(
        {
            "owner": np.int64,
            "mw": np.float64,
            "usd_per_mw_year": np.float64,
            "start_day": np.float64,  # lease revenue starts (days since scenario start)
            "end_day": np.float64,
            "capex_remaining_usd": np.float64,
            "capex_spent_usd": np.float64,  # in construction in progress until start_day
            # the market lease rate (USD per IT MW-year) the day the lease was signed or last
            # re-let: the market values the hall after the term at today's rate relative to it
            "signed_market_usd_per_mw_year": np.float64,
        },
        capacity=32,
    )


@dataclass
class HostingFlows:
    """One epoch of AI hosting, per agent: USD."""

    noi_usd: np.ndarray  # net operating income received
    capex_usd: np.ndarray  # spent on halls under construction
    completed_usd: np.ndarray  # construction cost moved from CIP into PP&E


def committed_mw(contracts: Table, n: int) -> np.ndarray:
    """MW of site capacity reserved for AI (built or building), per agent."""
    return sum_by_owner(contracts.owner, contracts.mw, n)


def contracted_noi_per_year(contracts: Table, noi_margin: float, n: int) -> np.ndarray:
    """Annual net operating income of all signed contracts, per agent, USD/year."""
    return sum_by_owner(contracts.owner, contracts.mw * contracts.usd_per_mw_year * noi_margin, n)


def step_hosting(
    contracts: Table,
    day0: float,
    day1: float,
    noi_margin: float,
    market_lease_usd_per_mw_year: float,
    term_days: float,
    n: int,
) -> HostingFlows:
    """Advance every contract from ``day0`` to ``day1`` (days since the scenario start)."""
    c = contracts
    flows = HostingFlows(np.zeros(n), np.zeros(n), np.zeros(n))
    _step_contracts(
        c.owner,
        c.mw,
        c.usd_per_mw_year,
        c.start_day,
        c.end_day,
        c.capex_remaining_usd,
        c.capex_spent_usd,
        float(day0),
        float(day1),
        float(noi_margin),
        float(market_lease_usd_per_mw_year),
        float(term_days),
        flows.noi_usd,
        flows.capex_usd,
        flows.completed_usd,
    )
    return flows


@njit(cache=True)
def _step_contracts(
    owner,
    mw,
    usd_per_mw_year,
    start_day,
    end_day,
    capex_remaining_usd,
    capex_spent_usd,
    day0,
    day1,
    noi_margin,
    market_lease_usd_per_mw_year,
    term_days,
    noi_usd,
    capex_usd,
    completed_usd,
):
    """The loop of :func:`step_hosting` over contracts: capex spent evenly over the time left to
    ``start_day``, NOI over the leased days, halls completed, expired leases renewed at the
    market rate; the per-owner sums go into ``noi_usd``, ``capex_usd``, ``completed_usd`` (in
    contract order, as ``np.bincount`` sums). Each value is computed with numpy's operations in
    numpy's order (``np.clip`` and ``np.maximum``/``np.minimum`` with NaN kept), so the results
    are bit-identical to the array version."""
    epoch_days = day1 - day0
    for i in range(owner.size):
        building = start_day[i] > day0
        share = 0.0
        if building:
            share = epoch_days / maximum(start_day[i] - day0, 1e-9)
            share = clip(share, 0.0, 1.0)
        capex = capex_remaining_usd[i] * share
        capex_remaining_usd[i] -= capex
        capex_spent_usd[i] += capex
        leased_days = minimum(day1, end_day[i]) - maximum(day0, start_day[i])
        leased_days = maximum(leased_days, 0.0)
        noi = mw[i] * usd_per_mw_year[i] * noi_margin * leased_days / YEAR_DAYS
        completed = capex_spent_usd[i] if (building and start_day[i] <= day1) else 0.0
        capex_spent_usd[i] -= completed
        if end_day[i] <= day1:  # re-lease at today's market rate for another term
            usd_per_mw_year[i] = market_lease_usd_per_mw_year
            start_day[i] = end_day[i]
            end_day[i] += term_days
        noi_usd[owner[i]] += noi
        capex_usd[owner[i]] += capex
        completed_usd[owner[i]] += completed


def sign_contracts(
    contracts: Table,
    owners: np.ndarray,
    mw: np.ndarray,
    usd_per_mw_year: float,
    day: float,
    lead_time_days: float,
    term_days: float,
    capex_usd_per_mw: float,
    market_usd_per_mw_year: float,
) -> None:
    """Sign new leases: halls are built over the lead time, then leased for the term; the
    market's lease rate that day (USD per IT MW-year) is kept for the valuation."""
    take = mw > 0
    if not take.any():
        return
    contracts.append(
        owner=owners[take],
        mw=mw[take],
        usd_per_mw_year=usd_per_mw_year,
        start_day=day + lead_time_days,
        end_day=day + lead_time_days + term_days,
        capex_remaining_usd=mw[take] * capex_usd_per_mw,
        capex_spent_usd=0.0,
        signed_market_usd_per_mw_year=market_usd_per_mw_year,
    )
