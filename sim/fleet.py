"""ASIC fleets of all agents as one table of fleet units (vintages).

A unit is a batch of identical machines owned by one agent: its hashrate (TH/s), efficiency
(J/TH), cost and book value (USD). Power of a unit: MW = TH/s x J/TH / 1e6. The network kernel
receives the unit columns directly.
"""

from __future__ import annotations

import numpy as np

from sim.tables import Table, sum_by_owner

#: Initial fleets are split into three vintages around the reported mean efficiency so that
#: curtailment and retirement act on the least efficient machines first. Hashrate shares and
#: efficiency factors keep the hashrate-weighted mean efficiency exactly at the reported value
#: (0.3 x 0.8 + 0.4 x 1.0 + 0.3 x 1.2 = 1.0).
VINTAGE_SHARES = np.array([0.3, 0.4, 0.3])
#: Efficiency bands of :func:`compact` are clipped to +-BAND_LIMIT.
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
        },
        capacity=256,
    )


def unit_power_mw(fleet: Table) -> np.ndarray:
    """Power draw of each unit at full hashrate, MW."""
    return fleet.hashrate_ths * fleet.efficiency_jth / 1e6


def per_owner(fleet: Table, values: np.ndarray, n_owners: int) -> np.ndarray:
    """Sum a per-unit quantity by owner."""
    return sum_by_owner(fleet.owner, values, n_owners)


def add_vintages(
    fleet: Table,
    owner: int,
    hashrate_ths: float,
    mean_efficiency_jth: float,
    usd_per_th: np.ndarray,
    must_run: bool = False,
) -> None:
    """Add an initial fleet split into the three standard vintages.

    ``usd_per_th`` gives the book value per TH/s of each vintage (its resale value at the start).
    """
    ths = hashrate_ths * VINTAGE_SHARES
    cost = ths * usd_per_th
    fleet.append(
        owner=owner,
        hashrate_ths=ths,
        efficiency_jth=mean_efficiency_jth * VINTAGE_EFFICIENCY_FACTORS,
        cost_usd=cost,
        book_usd=cost,
        underwater_epochs=0,
        must_run=must_run,
    )


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


def retire(fleet: Table, mask: np.ndarray, n_owners: int) -> np.ndarray:
    """Remove the units in ``mask``; returns the book value removed per owner, USD."""
    removed = per_owner(fleet, np.where(mask, fleet.book_usd, 0.0), n_owners)
    fleet.keep(~mask)
    return removed


def retire_to_fit(fleet: Table, limit_mw: np.ndarray, n_owners: int) -> np.ndarray:
    """Retire each owner's least efficient units until its fleet draws at most ``limit_mw``.

    A unit that straddles the limit is retired in part (its hashrate scaled down). Returns the
    book value removed per owner, USD.
    """
    if fleet.n == 0:
        return np.zeros(n_owners)
    power = unit_power_mw(fleet)
    order = np.lexsort((fleet.efficiency_jth, fleet.owner))  # by owner, most efficient first
    owner_sorted = fleet.owner[order]
    power_sorted = power[order]
    cum = np.cumsum(power_sorted)
    first_of_owner = np.searchsorted(owner_sorted, owner_sorted)
    before = cum - power_sorted - np.concatenate(([0.0], cum))[first_of_owner]
    room = limit_mw[owner_sorted] - before
    fraction_sorted = np.clip(room / np.maximum(power_sorted, 1e-300), 0.0, 1.0)
    keep_fraction = np.empty(fleet.n)
    keep_fraction[order] = fraction_sorted
    removed_book = fleet.book_usd * (1.0 - keep_fraction)
    removed = per_owner(fleet, removed_book, n_owners)
    fleet.hashrate_ths[:] *= keep_fraction
    fleet.cost_usd[:] *= keep_fraction
    fleet.book_usd[:] -= removed_book
    fleet.keep(keep_fraction > 0)
    return removed


def compact(fleet: Table, relative_bucket: float = 0.1) -> None:
    """Merge each owner's units whose efficiencies lie in the same ``relative_bucket`` band.

    Purchases add a unit per buyer per epoch; merging keeps the table (and the kernel's work)
    proportional to the number of agents. A merged unit keeps the total TH/s, power (MW), cost
    and book value of its parts; its efficiency is the hashrate-weighted mean, so network power
    is unchanged. Must-run units are never merged with curtailable ones.
    """
    if fleet.n == 0:
        return
    band = np.floor(np.log(fleet.efficiency_jth) / np.log1p(relative_bucket))
    # Bands are packed into one integer key per unit; clipping keeps every key inside its
    # owner's range whatever the efficiency (1.1**4000 spans any physical J/TH many times over).
    band = np.clip(band, -BAND_LIMIT, BAND_LIMIT).astype(np.int64) + BAND_LIMIT
    key = (fleet.owner * (2 * BAND_LIMIT + 1) + band) * 2 + fleet.must_run
    unique, group = np.unique(key, return_inverse=True)
    k = len(unique)
    if k == fleet.n:
        return
    ths = np.bincount(group, weights=fleet.hashrate_ths, minlength=k)
    power = np.bincount(group, weights=fleet.hashrate_ths * fleet.efficiency_jth, minlength=k)
    cost = np.bincount(group, weights=fleet.cost_usd, minlength=k)
    book = np.bincount(group, weights=fleet.book_usd, minlength=k)
    # a group with no hashrate (a miner listed at 0 EH/s) keeps its parts' mean J/TH, not 0
    mean_jth = np.bincount(group, weights=fleet.efficiency_jth, minlength=k) / np.bincount(group)
    efficiency = np.where(ths > 0, power / np.where(ths > 0, ths, 1.0), mean_jth)
    underwater = np.full(k, np.iinfo(np.int64).max)
    np.minimum.at(underwater, group, fleet.underwater_epochs)
    fleet.keep(np.zeros(fleet.n, bool))
    fleet.append(
        owner=unique // 2 // (2 * BAND_LIMIT + 1),
        hashrate_ths=ths,
        efficiency_jth=efficiency,
        cost_usd=cost,
        book_usd=book,
        underwater_epochs=underwater,
        must_run=(unique % 2).astype(bool),
    )
