"""ASIC fleets of all agents as one table of fleet units (vintages).

A unit is a batch of identical machines owned by one agent: its hashrate (TH/s), efficiency
(J/TH), cost and book value (USD). Power of a unit: MW = TH/s x J/TH / 1e6. The network kernel
receives the unit columns directly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import libm
from sim.tables import Table, clip, maximum, sum_by_owner
from sim.units import mw_of

#: Initial fleets are split into three vintages around the reported mean efficiency so that
#: curtailment and retirement act on the least efficient machines first. Hashrate shares and
#: efficiency factors keep the hashrate-weighted mean efficiency exactly at the reported value
#: (0.3 x 0.8 + 0.4 x 1.0 + 0.3 x 1.2 = 1.0).
VINTAGE_SHARES = np.array([0.3, 0.4, 0.3])
#: Efficiency and site-price bands of :func:`compact` are clipped to +-BAND_LIMIT.
BAND_LIMIT = 4000
VINTAGE_EFFICIENCY_FACTORS = np.array([0.8, 1.0, 1.2])


def new_fleet_table() -> Table:
    return Table(
        {
            "owner": np.int64,
            "hashrate_ths": np.float64,
            "efficiency_jth": np.float64,
            "cost_usd": np.float64,  # depreciable cost basis
            "book_usd": np.float64,  # cost less accumulated depreciation and write-offs
            "underwater_epochs": np.int64,  # consecutive epochs unable to cover power
            "must_run": np.bool_,  # runs whatever the margin (stranded or prepaid power)
            "site_usd_mwh": np.float64,  # fringe: site power price before the market factor
            "mothballed": np.bool_,  # switched off, site kept (restarts when it pays)
            "mothballed_epochs": np.int64,  # consecutive epochs mothballed
            "exposed": np.bool_,  # installed before the current outage's start (sim.outages)
        },
        capacity=256,
    )


def unit_power_mw(fleet: Table) -> np.ndarray:
    """Power draw of each unit at full hashrate, MW (mothballed units included: they keep
    their site)."""
    return mw_of(fleet.hashrate_ths, fleet.efficiency_jth)


def running_ths(fleet: Table, offline_share: float = 0.0) -> np.ndarray:
    """TH/s of each unit that is not mothballed (0 for mothballed units), less
    ``offline_share`` of it on units exposed to an outage (sim.outages)."""
    if offline_share == 0.0:
        return np.where(fleet.mothballed, 0.0, fleet.hashrate_ths)
    on = np.where(fleet.exposed, 1.0 - offline_share, 1.0)
    return np.where(fleet.mothballed, 0.0, fleet.hashrate_ths * on)


def per_owner(fleet: Table, values: np.ndarray, n_owners: int) -> np.ndarray:
    """Sum a per-unit quantity by owner."""
    return sum_by_owner(fleet.owner, values, n_owners)


def add_units(
    fleet: Table,
    owner: np.ndarray | int,
    hashrate_ths: np.ndarray | float,
    efficiency_jth: np.ndarray | float,
    cost_usd: np.ndarray | float,
    site_usd_mwh: np.ndarray | float,
    must_run: np.ndarray | bool = False,
) -> None:
    """Add new units (bought at ``cost_usd``, their book value), running and never under water."""
    fleet.append(
        owner=owner,
        hashrate_ths=hashrate_ths,
        efficiency_jth=efficiency_jth,
        cost_usd=cost_usd,
        book_usd=cost_usd,
        underwater_epochs=0,
        must_run=must_run,
        site_usd_mwh=site_usd_mwh,
        mothballed=False,
        mothballed_epochs=0,
        exposed=False,
    )


def add_vintages(
    fleet: Table,
    owner: int,
    hashrate_ths: float,
    mean_efficiency_jth: float,
    usd_per_th: np.ndarray,
    site_usd_mwh: float,
    must_run: bool = False,
) -> None:
    """Add an initial fleet split into the three standard vintages.

    ``usd_per_th`` gives the book value per TH/s of each vintage (its resale value at the start);
    ``site_usd_mwh`` the power price of the site, $/MWh before the market factor.
    """
    ths = hashrate_ths * VINTAGE_SHARES
    efficiency = mean_efficiency_jth * VINTAGE_EFFICIENCY_FACTORS
    add_units(fleet, owner, ths, efficiency, ths * usd_per_th, site_usd_mwh, must_run)


def depreciate(fleet: Table, fraction_of_cost: float) -> np.ndarray:
    """Straight-line depreciation of every unit by ``fraction_of_cost`` of its cost; returns USD per unit."""
    charge = np.minimum(fleet.cost_usd * fraction_of_cost, fleet.book_usd)
    fleet.book_usd[:] -= charge
    return charge


def apply_failures(fleet: Table, survival: float) -> np.ndarray:
    """Machines fail: hashrate and book value shrink by ``survival``; returns the written-off USD."""
    lost = fleet.book_usd * (1.0 - survival)
    fleet.hashrate_ths[:] *= survival
    fleet.book_usd[:] -= lost
    fleet.cost_usd[:] *= survival
    return lost


def lose_share(fleet: Table, mask: np.ndarray, share: float, n_owners: int) -> np.ndarray:
    """The units in ``mask`` lose ``share`` of their machines for good (hashrate, cost and book
    value); returns the book value written off per owner, USD."""
    keep = np.where(mask, 1.0 - share, 1.0)
    lost = per_owner(fleet, fleet.book_usd * (1.0 - keep), n_owners)
    fleet.hashrate_ths[:] *= keep
    fleet.cost_usd[:] *= keep
    fleet.book_usd[:] *= keep
    return lost


def retire(fleet: Table, mask: np.ndarray, n_owners: int) -> np.ndarray:
    """Remove the units in ``mask``; returns the book value removed per owner, USD."""
    removed = per_owner(fleet, np.where(mask, fleet.book_usd, 0.0), n_owners)
    fleet.keep(~mask)
    return removed


#: Margin by which each fleet's MW must be under its limit for retire_to_fit to be skipped,
#: relative to its MW plus every fleet's (retire_to_fit sums MW over all units in one running
#: sum): far above the rounding of any order of summing up to a billion units' MW.
FIT_MARGIN = 1e-6


def fits_under(fleet: Table, limit_mw: np.ndarray, n_owners: int) -> bool:
    """True if every owner's fleet (MW) is below ``limit_mw`` by more than FIT_MARGIN x (its MW
    + every fleet's MW): then :func:`retire_to_fit` keeps every unit whole (room for each unit
    after its owner's more efficient ones, in whatever order they are summed) and removes
    nothing. False for NaN, and where a limit is 0 (a unit of 0 MW would be removed)."""
    held = per_owner(fleet, unit_power_mw(fleet), n_owners)
    return bool(np.all(held + FIT_MARGIN * (held + held.sum()) < limit_mw))


def retire_to_fit(fleet: Table, limit_mw: np.ndarray, n_owners: int) -> np.ndarray:
    """Retire each owner's least efficient units until its fleet draws at most ``limit_mw``.

    A unit that straddles the limit is retired in part (its hashrate scaled down). Returns the
    book value removed per owner, USD.
    """
    if fleet.n == 0:
        return np.zeros(n_owners)
    order = np.lexsort((fleet.efficiency_jth, fleet.owner))  # by owner, most efficient first
    keep_fraction = np.empty(fleet.n)
    removed = np.zeros(n_owners)
    _retire_to_fit_sorted(
        order,
        fleet.owner,
        unit_power_mw(fleet),
        np.asarray(limit_mw, dtype=np.float64),
        fleet.hashrate_ths,
        fleet.cost_usd,
        fleet.book_usd,
        keep_fraction,
        removed,
    )
    fleet.keep(keep_fraction > 0)
    return removed


@njit(cache=True)
def _retire_to_fit_sorted(
    order, owner, power_mw, limit_mw, hashrate_ths, cost_usd, book_usd, keep_fraction, removed
):
    """The loops of :func:`retire_to_fit` over units in ``order`` (by owner, most efficient
    first): each unit keeps the share of its MW that fits under its owner's limit after the
    owner's more efficient units; hashrate, cost and book value are scaled in place and the
    book value removed is summed into ``removed`` (per owner, in unit order).

    The arithmetic is numpy's, step for step: a running sum of MW (``np.cumsum``), the MW
    before a unit as (running sum - its MW) - the running sum before its owner's first unit,
    ``np.clip`` of the fraction (NaN kept), and the per-owner sum in unit order
    (``np.bincount``), so results are bit-identical to the array version.
    """
    cum = 0.0
    owner_start = 0.0  # running sum before the current owner's first unit
    for j in range(order.size):
        i = order[j]
        p = power_mw[i]
        if j == 0:
            cum = p
        else:
            if owner[i] != owner[order[j - 1]]:
                owner_start = cum
            cum = cum + p
        before = (cum - p) - owner_start
        room = limit_mw[owner[i]] - before
        keep_fraction[i] = clip(room / maximum(p, 1e-300), 0.0, 1.0)
    for i in range(owner.size):
        fraction = keep_fraction[i]
        removed_book = book_usd[i] * (1.0 - fraction)
        removed[owner[i]] += removed_book
        hashrate_ths[i] *= fraction
        cost_usd[i] *= fraction
        book_usd[i] -= removed_book


def compact(fleet: Table, relative_bucket: float = 0.1) -> None:
    """Merge each owner's units whose efficiencies and site prices lie in the same
    ``relative_bucket`` bands and whose must-run and mothballed states agree.

    Purchases add a unit per buyer per epoch; merging keeps the table (and the kernel's work)
    proportional to the number of agents. A merged unit keeps the total TH/s, power (MW), cost,
    book value and power bill of its parts: its efficiency is the hashrate-weighted mean J/TH and
    its site price the power-weighted mean $/MWh, so network power and power cost are unchanged.
    """
    if fleet.n == 0:
        return
    power_mw = unit_power_mw(fleet)
    key = fleet.owner
    for value in (fleet.efficiency_jth, np.maximum(fleet.site_usd_mwh, 1e-300)):
        band = np.floor(libm.log(value) / np.log1p(relative_bucket))
        # Bands are packed into one integer key per unit; clipping keeps every key inside its
        # owner's range whatever the value (1.1**4000 spans any physical J/TH many times over).
        band = np.clip(band, -BAND_LIMIT, BAND_LIMIT).astype(np.int64) + BAND_LIMIT
        key = key * (2 * BAND_LIMIT + 1) + band
    key = ((key * 2 + fleet.must_run) * 2 + fleet.mothballed) * 2 + fleet.exposed
    unique, first, group = np.unique(key, return_index=True, return_inverse=True)
    k = len(unique)
    if k == fleet.n:
        return

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(group, weights=values, minlength=k)

    ths, mw = total(fleet.hashrate_ths), total(power_mw)
    bill = total(power_mw * fleet.site_usd_mwh)
    cost, book = total(fleet.cost_usd), total(fleet.book_usd)
    owner, must_run, mothballed, exposed = (  # shared by every member of a group
        fleet.owner[first],
        fleet.must_run[first],
        fleet.mothballed[first],
        fleet.exposed[first],
    )
    # a group with no hashrate (a miner listed at 0 EH/s) keeps its parts' mean J/TH and site
    # price, not 0
    members = np.bincount(group, minlength=k)
    efficiency = np.where(
        ths > 0, mw * 1e6 / np.where(ths > 0, ths, 1.0), total(fleet.efficiency_jth) / members
    )
    site = np.where(mw > 0, bill / np.where(mw > 0, mw, 1.0), total(fleet.site_usd_mwh) / members)
    underwater = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(underwater, group, fleet.underwater_epochs)
    idle = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(idle, group, fleet.mothballed_epochs)
    fleet.keep(np.zeros(fleet.n, bool))
    fleet.append(
        owner=owner,
        hashrate_ths=ths,
        efficiency_jth=efficiency,
        cost_usd=cost,
        book_usd=book,
        underwater_epochs=underwater,
        must_run=must_run,
        site_usd_mwh=site,
        mothballed=mothballed,
        mothballed_epochs=idle,
        exposed=exposed,
    )
