"""ASIC catalogue, efficiency frontier, new and used machine prices, failures and depreciation.

Units: TH/s per machine (``ths``), J/TH (``jth``), USD per TH/s (``usd_per_th``), days.
Figures come from data/sources.md (section numbers in each ``source``); figures
not in that README are marked ``[estimate]`` with their basis.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.units import YEAR_DAYS

if TYPE_CHECKING:
    from sim.input.schema import Hardware

MIN_FRONTIER_JTH = 1e-3  # numerical floor: keeps J/TH positive when improvement is ~100%/yr


@dataclass(frozen=True)
class AsicModel:
    """One ASIC model: release (first availability), hashrate TH/s, efficiency J/TH, price at
    release USD per TH/s, and where each figure comes from."""

    name: str
    release: dt.date
    ths: float
    jth: float
    usd_per_th: float
    source: str


CATALOGUE: tuple[AsicModel, ...] = (
    AsicModel(
        "Antminer S9",
        dt.date(2017, 2, 1),
        13.5,
        98.0,
        126.0,
        "README 3.5: 'Antminer S9 | 13.5 TH, 1,323 W (~98 J/TH), Feb 2017 | Glassnode ASIC fleet "
        "chart notes'. Price not in README [estimate]: $1,699 per unit / 13.5 TH (hashnest.com "
        "S9 listing, undated)",
    ),
    AsicModel(
        "Antminer S17",
        dt.date(2019, 4, 1),
        56.0,
        45.0,
        40.0,
        "README 3.5: 'Antminer S17 | 56 TH, 2,520 W (45 J/TH), Apr 2019 | same'. Price not in "
        "README [estimate]: $40/TH, above the $21/TH list price of the later S17+ in early 2020 "
        "($1,567 per 73 TH unit, coindesk via stupen.com)",
    ),
    AsicModel(
        "Antminer S19 Pro",
        dt.date(2020, 5, 1),
        110.0,
        29.5,
        22.0,
        "README 3.5: 'Antminer S19 Pro | 110 TH, 3,250 W (29.5 J/TH), May 2020 | same; Luxor RFQ "
        "Jun-2023 lists S19 Pro 104T at 29.5 J/TH'. Price at release not in README [estimate]: "
        "$22/TH (about $2,400 per 110 TH unit; the README's Jun-2023 RFQ price is $13.25/TH)",
    ),
    AsicModel(
        "Antminer S19j Pro+",
        dt.date(2022, 9, 1),
        120.0,
        27.5,
        15.0,
        "README 3.5: 'S19j Pro+ / M50S / M50S+ | 27.5 / 26.0 / 24.0 J/TH | Luxor RFQ June 2023'. "
        "Release date and 120 TH not in README [estimate]. Price: README 3.6 'Jun 2023 RFQ: ... "
        "S19j Pro+ $15.00' (a 2023 price, not at release)",
    ),
    AsicModel(
        "Antminer S19 XP",
        dt.date(2022, 10, 1),
        141.0,
        21.5,
        60.0,
        "README 3.5: 'S19 XP (air) | 141 TH at 21.5 J/TH | Luxor RFQ Jun-2023'; release: README "
        "3.6 'under 25 J/TH tier added starting in October when S19 XP deliveries began (year "
        "inferred as 2022)'. Price: README 3.6 '<=25 J/TH rigs $20/TH, down from $60 in Jul 2022 "
        "(coindesk 2023-07-26)'",
    ),
    AsicModel(
        "Antminer S21",
        dt.date(2023, 9, 1),
        200.0,
        17.5,
        14.0,
        "README 3.5: 'Antminer S21 | 200 TH at 17.5 J/TH (2023 launch) | hackernoon review'. "
        "Month and price not in README [estimate]: launched September 2023, pre-orders at $14/TH "
        "(theminermag.com 2023-10-11, CleanSpark and Iris Energy orders)",
    ),
    AsicModel(
        "Antminer S21+ Hydro",
        dt.date(2024, 10, 1),
        319.0,
        15.0,
        17.0,
        "README 3.5: 'S21+ / S21+ Hydro | 216 TH / 319 TH at 4,785 W (15.0 J/TH) | "
        "btcminermarketplace.com; top-crypto-mining-asics.com'. Release date and price not in "
        "README [estimate]: late 2024, $17/TH",
    ),
    AsicModel(
        "Antminer S21 XP",
        dt.date(2024, 12, 1),
        270.0,
        13.5,
        25.7,
        "README 3.5: 'Antminer S21 XP | 270 TH at 13.5 J/TH | btcminermarketplace.com'. Release "
        "date not in README [estimate]: late 2024. Price: README 3.6 'S21 XP $25.70/TH "
        "(Hashrate Index roundup 2025-11-03)' (a 2025 price, not at release)",
    ),
    AsicModel(
        "Antminer S23 Hydro",
        dt.date(2026, 1, 1),
        580.0,
        9.7,
        8.35,
        "README 3.5: 'Antminer S23 Hydro | 9.7 J/TH, 580 TH; shipping early 2026 (announced WDMS "
        "2025)'. Price not in README [estimate]: 240 days x Jan-2026 hashprice $34.8/PH/day "
        "(README 3.4), the rule of HardwareMarket.new_price_usd_per_th",
    ),
)


#: The efficiency frontier to 2021 (J/TH of the most efficient machine on sale), from the day
#: each level first appears in CBECI's lower-bound fleet efficiency (data/history/
#: cbeci_efficiency_jth.csv; CBECI's lower bound assumes the whole network runs the best
#: machine available). Later machines come from CATALOGUE; tests/test_hardware.py rederives
#: these steps from the data file.
HISTORICAL_FRONTIER: tuple[tuple[dt.date, float], ...] = (
    (dt.date(2014, 1, 1), 2000.0),
    (dt.date(2014, 9, 1), 765.69),
    (dt.date(2015, 2, 1), 510.82),
    (dt.date(2015, 11, 1), 273.36),
    (dt.date(2016, 8, 1), 98.0),
    (dt.date(2017, 4, 1), 97.13),
    (dt.date(2018, 6, 1), 94.85),
    (dt.date(2018, 7, 1), 94.29),
    (dt.date(2018, 10, 1), 93.1),
    (dt.date(2018, 11, 1), 63.64),
    (dt.date(2019, 2, 1), 57.0),
    (dt.date(2019, 6, 1), 39.5),
    (dt.date(2020, 6, 1), 38.0),
    (dt.date(2020, 7, 1), 29.55),
    (dt.date(2021, 9, 1), 29.5),
)


class HardwareMarket:
    """Frontier efficiency and machine prices seen from a scenario (day 0 = ``start_date``)."""

    def __init__(self, config: Hardware, start_date: dt.date):
        self.config = config
        self.start_date = start_date
        steps = sorted(
            [(m.release, m.jth) for m in CATALOGUE] + list(HISTORICAL_FRONTIER),
            key=lambda step: step[0],
        )
        self._release_days = np.array([(day - start_date).days for day, _ in steps], dtype=float)
        self._best_jth = np.minimum.accumulate([jth for _, jth in steps])

    def frontier_jth(self, day: int | np.ndarray) -> float | np.ndarray:
        """Best J/TH on sale on ``day``: the best of HISTORICAL_FRONTIER and the catalogue models
        available by then (the earliest step before any); after the last release it keeps
        falling at the log rate :meth:`frontier_log_rate`, which slows with the half-life
        ``frontier_slowdown_half_life_years``."""
        days = np.asarray(day, dtype=float)
        index = np.searchsorted(self._release_days, days, side="right") - 1
        jth = self._best_jth[np.clip(index, 0, None)]
        years_after_last = np.maximum(days - self._release_days[-1], 0.0) / YEAR_DAYS
        jth = np.maximum(jth * libm.exp(-self._log_improvement(years_after_last)), MIN_FRONTIER_JTH)
        return float(jth) if jth.ndim == 0 else jth

    def _log_improvement(self, years: np.ndarray) -> np.ndarray:
        """Log fall of the frontier's J/TH over ``years`` after the last release: the integral
        of :meth:`frontier_log_rate` (``r0 x h / ln 2 x (1 - 2^(-t / h))``, or ``r0 x t`` with
        no slowdown)."""
        rate, half_life = self._initial_log_rate, self.config.frontier_slowdown_half_life_years
        if half_life is None:
            return rate * years
        return rate * half_life / math.log(2.0) * -libm.expm1(-math.log(2.0) * years / half_life)

    @property
    def _initial_log_rate(self) -> float:
        """The frontier's log rate of improvement after the last release, a year."""
        return -math.log1p(-self.config.frontier_improvement_per_year)

    def frontier_log_rate(self, day: float) -> float:
        """The log rate a year at which the frontier's J/TH is expected to fall on ``day``:
        ``-ln(1 - frontier_improvement_per_year)`` up to the last release, then halving every
        ``frontier_slowdown_half_life_years`` (constant without a half-life)."""
        half_life = self.config.frontier_slowdown_half_life_years
        years_after_last = max(float(day) - self._release_days[-1], 0.0) / YEAR_DAYS
        if half_life is None:
            return self._initial_log_rate
        return self._initial_log_rate * 0.5 ** (years_after_last / half_life)

    def survival_factor(self, days: float) -> float:
        """Fraction of hashrate still working after ``days``: ``(1 - annual_failure_rate)^years``
        (exponential failures; annual_failure_rate is the fraction failing in a year)."""
        _check_non_negative(days)
        return libm.power(
            1.0 - self.config.annual_failure_rate, np.asarray(days, dtype=float) / YEAR_DAYS
        )

    def depreciation_fraction(self, days: float) -> float:
        """Straight-line fraction of purchase cost written off over an interval of ``days``:
        days / (useful_life_years x 365), capped at 1 (the caller stops once fully written off)."""
        _check_non_negative(days)
        life_days = self.config.useful_life_years * YEAR_DAYS
        return np.minimum(np.asarray(days) / life_days, 1.0)


def _check_non_negative(days: float | np.ndarray) -> None:
    if np.any(np.asarray(days) < 0):
        raise ValueError(f"days must be >= 0, got {days}")


#: The start of the catalogue's recent rate: the S19 Pro's release (HISTORICAL_FRONTIER).
RECENT_RATE_SINCE = dt.date(2020, 7, 1)


def catalogue_improvement_per_year(since: dt.date = RECENT_RATE_SINCE) -> float:
    """The frontier's mean improvement a year (a fraction) from ``since`` to the last catalogue
    release, from the best J/TH on sale at each end: ``1 - (J_last / J_since)^(1 / years)``
    (the default of ``hardware.frontier_improvement_per_year``)."""
    steps = sorted([(m.release, m.jth) for m in CATALOGUE] + list(HISTORICAL_FRONTIER))
    best_then = min(jth for day, jth in steps if day <= since)
    last_day, best_last = steps[-1][0], min(jth for _, jth in steps)
    years = (last_day - since).days / YEAR_DAYS
    return 1.0 - (best_last / best_then) ** (1.0 / years)
