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

from sim.tables import Table, sum_by_owner
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
    building = c.start_day > day0
    share_spent = np.where(
        building, np.clip((day1 - day0) / np.maximum(c.start_day - day0, 1e-9), 0, 1), 0
    )
    capex = c.capex_remaining_usd * share_spent
    c.capex_remaining_usd[:] -= capex
    c.capex_spent_usd[:] += capex
    leased_days = np.clip(np.minimum(day1, c.end_day) - np.maximum(day0, c.start_day), 0.0, None)
    noi = c.mw * c.usd_per_mw_year * noi_margin * leased_days / YEAR_DAYS
    completes = building & (c.start_day <= day1)
    completed = np.where(completes, c.capex_spent_usd, 0.0)
    c.capex_spent_usd[:] -= completed
    expired = c.end_day <= day1
    if np.any(expired):  # re-lease at today's market rate for another term
        c.usd_per_mw_year[expired] = market_lease_usd_per_mw_year
        c.start_day[expired] = c.end_day[expired]
        c.end_day[expired] += term_days
    return HostingFlows(*(sum_by_owner(c.owner, v, n) for v in (noi, capex, completed)))


def sign_contracts(
    contracts: Table,
    owners: np.ndarray,
    mw: np.ndarray,
    usd_per_mw_year: float,
    day: float,
    lead_time_days: float,
    term_days: float,
    capex_usd_per_mw: float,
) -> None:
    """Sign new leases: halls are built over the lead time, then leased for the term."""
    take = mw > 0
    if not np.any(take):
        return
    contracts.append(
        owner=owners[take],
        mw=mw[take],
        usd_per_mw_year=usd_per_mw_year,
        start_day=day + lead_time_days,
        end_day=day + lead_time_days + term_days,
        capex_remaining_usd=mw[take] * capex_usd_per_mw,
        capex_spent_usd=0.0,
    )
