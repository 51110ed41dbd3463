"""The market for new ASICs: production capacity, the order backlog, the clearing price, lead
times and the resale value of used machines.

Quantities of machines are in MW (a machine's power draw at full hashrate: TH/s x J/TH / 1e6):
a chip's power per unit of silicon area changes little between process nodes, so the factories'
output is bounded in MW whatever the machines' efficiency. Days count from the scenario's start.

- **Production capacity** ``K(t)``, MW of machines a year: ``capacity_mw_per_year`` on
  ``capacity_date``, growing at ``capacity_growth_per_year`` (annual log rate) before
  ``capacity_break_date`` and at ``capacity_growth_after_break`` after it, flat after
  ``capacity_flat_after`` if set (:meth:`AsicMarket.capacity_mw_per_year`), times what the
  factories invest: they grow capacity at ``capacity_response_per_backlog_year`` x the backlog
  in years of ``capacity_build_days`` earlier (time to build) and lose it at
  ``capacity_decay_per_year`` x the share of it that stood idle (log rates; endogenous
  capacity; :meth:`AsicMarket.produce`): lines that orders keep busy are kept, so a steady
  flow of replacement orders keeps the capacity it needs and the price near its floor;
  inside a ``capacity_frozen`` period (a foundry shortage) they cannot add any.
- **Backlog.** Orders queue first in, first out. Factories work the backlog off at ``K(t)``; an
  order placed today is produced after the backlog ahead of it and energised ``base_lead_days``
  later (shipping, installation), so the lead time grows with the backlog:
  ``base_lead_days + backlog / K`` (:meth:`AsicMarket.lead_time_days`).
- **Price.** A new frontier machine costs the manufacturing-cost floor ``floor_usd_per_w`` times
  a scarcity markup that rises with the backlog in years of production:
  ``floor x (1 + markup_per_backlog_year x backlog / K)`` USD per W
  (:meth:`AsicMarket.usd_per_w`). The epoch's orders are placed at the price of the backlog
  they leave behind (:meth:`AsicMarket.clear`): in a boom the price, not only the queue, slows
  entry.
- **Resale.** A used machine sells at the new frontier machine's price per TH/s times
  ``(frontier J/TH / its J/TH)^resale_exponent`` (the melting ice cube).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.units import YEAR_DAYS

if TYPE_CHECKING:
    from sim.input.schema import Machines

#: Bisection steps of the clearing: the quantity is found to 2^-40 of its bracket.
CLEARING_STEPS = 40
#: The factories take no orders beyond this many years of production (a bound, an assumption:
#: 2021's queue, the longest on record, was 6-9 months).
MAX_BACKLOG_YEARS = 5.0
#: Production capacity never exceeds this, MW of machines a year (the schema's bound on
#: ``capacity_mw_per_year``): a path or an investment response cannot run away to infinity.
MAX_CAPACITY_MW_PER_YEAR = 1e7


class AsicMarket:
    """The new-machine market of one run (mutable: its backlog moves every epoch).

    Parameters
    ----------
    config:
        The scenario's ``machines`` section.
    start_date:
        The scenario's first day (day 0).
    """

    def __init__(self, config: Machines, start_date: dt.date):
        self.config = config
        self._capacity_day = float((config.capacity_date - start_date).days)
        self._break_day = float((config.capacity_break_date - start_date).days)
        flat = config.capacity_flat_after
        self._flat_day = np.inf if flat is None else float((flat - start_date).days)
        self._frozen_days = [
            (float((f.start - start_date).days), float((f.end - start_date).days))
            for f in config.capacity_frozen
        ]
        self.backlog_mw = 0.0  # ordered, not yet produced
        self.investment_log = 0.0  # log of the capacity the factories added by responding
        self.produced_mw = 0.0  # produced since the start (a record for the shipment check)
        self._trail_days: list[float] = []  # days the backlog was seen on (produce's day_to)
        self._trail_backlog: list[float] = []  # the backlog then, years of production

    # ------------------------------------------------------------------ capacity and queue
    def capacity_mw_per_year(self, day: float) -> float:
        """Production capacity on ``day``, MW of machines a year: log-linear at
        ``capacity_growth_per_year`` before the break date, ``capacity_growth_after_break``
        after it, through ``capacity_mw_per_year`` on ``capacity_date``; flat after
        ``capacity_flat_after``."""
        cfg = self.config
        day = min(day, self._flat_day)

        def log_growth(day_from: float, day_to: float) -> float:
            """Log growth between two days, each rate on its side of the break."""
            lo, hi = min(day_from, day_to), max(day_from, day_to)
            before = max(min(hi, self._break_day) - lo, 0.0)
            after = max(hi - max(lo, self._break_day), 0.0)
            total = (
                cfg.capacity_growth_per_year * before + cfg.capacity_growth_after_break * after
            ) / YEAR_DAYS
            return total if day_to >= day_from else -total

        path = log_growth(self._capacity_day, day) + self.investment_log
        ceiling = math.log(MAX_CAPACITY_MW_PER_YEAR / cfg.capacity_mw_per_year)
        return cfg.capacity_mw_per_year * math.exp(min(path, ceiling))

    def backlog_years(self, day: float, extra_mw: float = 0.0) -> float:
        """Years of production the backlog (plus ``extra_mw`` of new orders) takes at ``day``'s
        capacity."""
        return (self.backlog_mw + extra_mw) / self.capacity_mw_per_year(day)

    def lead_time_days(self, day: float, extra_mw: float = 0.0) -> float:
        """Days from an order placed on ``day`` (behind the backlog and ``extra_mw`` of other
        new orders) to the machines running."""
        return self.config.base_lead_days + self.backlog_years(day, extra_mw) * YEAR_DAYS

    def usd_per_w(self, day: float, extra_mw: float = 0.0) -> float:
        """Price of a new frontier machine, USD per W of its power draw, when the backlog
        (plus ``extra_mw``) stands as it does on ``day``."""
        cfg = self.config
        return cfg.floor_usd_per_w * (
            1.0 + cfg.markup_per_backlog_year * self.backlog_years(day, extra_mw)
        )

    def usd_per_th(self, day: float, frontier_jth: float, extra_mw: float = 0.0) -> float:
        """Price of a new frontier machine of ``frontier_jth`` J/TH, USD per TH/s."""
        return self.usd_per_w(day, extra_mw) * frontier_jth

    def resale_usd_per_th(
        self, unit_jth: np.ndarray, day: float, frontier_jth: float
    ) -> np.ndarray:
        """Used-machine price, USD per TH/s: the new frontier machine's price x (frontier J/TH /
        unit J/TH)^resale_exponent, the ratio capped at 1 (a used machine is never worth more
        than a new one). Older machines lose value as better ones ship: the melting ice cube."""
        ratio = np.minimum(frontier_jth / np.asarray(unit_jth, dtype=float), 1.0)
        return self.usd_per_th(day, frontier_jth) * libm.power(ratio, self.config.resale_exponent)

    # ------------------------------------------------------------------ the epoch's market
    def clear(self, demand_mw: Callable[[float], float], day: float) -> tuple[float, float]:
        """The epoch's orders ``Q`` (MW) and price (USD per W): the ``Q`` at which demand at the
        price of the backlog it leaves behind equals ``Q``, ``Q = demand_mw(usd_per_w(day,
        Q))``. Demand falls with the price and the price rises with ``Q``, so the root is unique
        and bisection finds it. No demand at today's price: no orders, today's price. The
        factories book at most MAX_BACKLOG_YEARS of production (demand beyond it, infinite
        included, is cut there)."""
        price_now = self.usd_per_w(day)
        room = self.capacity_mw_per_year(day) * MAX_BACKLOG_YEARS - self.backlog_mw
        high = min(demand_mw(price_now), room)
        if not high > 0.0:
            return 0.0, price_now
        low = 0.0
        for _ in range(CLEARING_STEPS):
            mid = 0.5 * (low + high)
            if demand_mw(self.usd_per_w(day, mid)) > mid:
                low = mid
            else:
                high = mid
        return low, self.usd_per_w(day, low)

    def from_stock(
        self, wanted_ths: np.ndarray, frontier_jth: float, day: float, years: float
    ) -> np.ndarray:
        """What buyers served at once (public miners) get, TH/s each: all of them together at
        most the factories' output over an epoch of ``years`` at ``day``'s capacity
        (``capacity x years`` MW of ``frontier_jth`` machines), pro rata to ``wanted_ths``."""
        wanted_mw = float(np.sum(wanted_ths)) * frontier_jth / 1e6
        stock_mw = self.capacity_mw_per_year(day) * years
        if wanted_mw <= stock_mw:
            return wanted_ths
        return wanted_ths * (stock_mw / wanted_mw)

    def book(self, mw: float) -> None:
        """Add ``mw`` of new orders to the backlog."""
        self.backlog_mw += mw

    def produce(self, day_from: float, day_to: float) -> float:
        """Work the backlog off from ``day_from`` to ``day_to`` at the capacity of their
        midpoint, then let the factories respond: capacity grows at
        ``capacity_response_per_backlog_year`` x the backlog in years they saw
        ``capacity_build_days`` before ``day_to`` (:meth:`backlog_seen`) less
        ``capacity_decay_per_year`` x the share of the capacity that stood idle (log rates a
        year: factories keep the lines their orders use and shed the rest), no response on a
        day inside a ``capacity_frozen`` period; returns the MW produced."""
        cfg = self.config
        years = max(day_to - day_from, 0.0) / YEAR_DAYS
        can_make = self.capacity_mw_per_year(0.5 * (day_from + day_to)) * years
        made = min(self.backlog_mw, can_make)
        self.backlog_mw -= made
        self.produced_mw += made
        self._trail_days.append(day_to)
        self._trail_backlog.append(self.backlog_years(day_to))
        response = cfg.capacity_response_per_backlog_year * self.backlog_seen(
            day_to - cfg.capacity_build_days
        )
        if self.frozen(day_to):
            response = 0.0
        idle = 1.0 - made / can_make if can_make > 0.0 else 0.0
        self.investment_log += (response - cfg.capacity_decay_per_year * idle) * years
        # no further than the ceiling: a capacity at the ceiling answers a shrinking queue at once
        self.investment_log = min(self.investment_log, math.log(MAX_CAPACITY_MW_PER_YEAR))
        return made

    def frozen(self, day: float) -> bool:
        """Whether ``day`` falls in a ``capacity_frozen`` period (no capacity can be added)."""
        return any(start <= day <= end for start, end in self._frozen_days)

    def backlog_seen(self, day: float) -> float:
        """The backlog in years of production as :meth:`produce` saw it on ``day``, read
        linearly between the days it looked; before the first, the first (the queue before the
        start is taken to be the start's)."""
        return float(np.interp(day, self._trail_days, self._trail_backlog))


__all__ = ["CLEARING_STEPS", "MAX_BACKLOG_YEARS", "MAX_CAPACITY_MW_PER_YEAR", "AsicMarket"]
