"""Machines' life cycle after each epoch: mothball when under water, restart when it pays, scrap.

Daily curtailment (in the kernel) switches a unit off on the days its power costs more than it
earns. Over longer spans an owner decides at each epoch's end, on the hashprice the coming epoch
offers (USD per TH/s per day):

- a running unit whose hashprice has been below its power cost for ``mothball_after_epochs``
  epochs in a row is **mothballed**: it stops hashing and drawing power but keeps its site;
- a mothballed unit **restarts** when a quarter (RESTART_PAYBACK_DAYS) of its margin at the
  current hashprice covers the restart cost ``restart_cost_usd_per_th``;
- a unit mothballed for ``scrap_after_epochs`` epochs is **scrapped** (sold at resale value).

Must-run units (stranded or prepaid power) are never mothballed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.tables import Table

if TYPE_CHECKING:
    from sim.input.schema import Hardware

#: Days of margin at the current hashprice that must cover a restart's cost.
RESTART_PAYBACK_DAYS = 91.0


@dataclass
class LifecycleStep:
    """What one epoch's review did, per unit (masks over the fleet before any unit is removed)."""

    mothballed: np.ndarray  # switched off this epoch
    restarted: np.ndarray  # switched back on this epoch (their restart cost is due)
    scrapped: np.ndarray  # to be sold at resale value and removed


def review(fleet: Table, margin_usd_per_th_day: np.ndarray, config: Hardware) -> LifecycleStep:
    """Advance every unit's life cycle by one epoch; updates the fleet's state columns in place
    (scrapped units are only flagged: the caller sells and removes them).

    ``margin_usd_per_th_day``: each unit's hashprice minus its power cost at the coming epoch's
    difficulty and today's power price, USD per TH/s per day.
    """
    f = fleet
    under = margin_usd_per_th_day < 0.0
    running = ~f.mothballed
    f.underwater_epochs[:] = np.where(running & under & ~f.must_run, f.underwater_epochs + 1, 0)
    mothballed = running & (f.underwater_epochs >= config.mothball_after_epochs)
    restarted = f.mothballed & (
        margin_usd_per_th_day * RESTART_PAYBACK_DAYS >= config.restart_cost_usd_per_th
    )
    f.mothballed_epochs[:] = np.where(f.mothballed & ~restarted, f.mothballed_epochs + 1, 0)
    scrapped = f.mothballed & ~restarted & (f.mothballed_epochs >= config.scrap_after_epochs)
    f.mothballed[:] = (f.mothballed & ~restarted) | mothballed
    f.underwater_epochs[mothballed | restarted] = 0
    return LifecycleStep(mothballed=mothballed, restarted=restarted, scrapped=scrapped)
