"""One rule for the hashprice miners expect: entrants and public miners alike.

Hashprice (USD per TH/s per day) is BTC's price x the reward per block / the difficulty. Miners
expect, from today's hashprice ``h0``:

- the **difficulty** to grow at the frontier's expected improvement (a log rate: more TH/s per
  MW as better machines ship, at the same power) plus, optionally, ``adaptive_weight`` x the
  simulated difficulty's log growth over the last ``trend_days`` (adaptive expectations);
- **BTC's price** to drift at ``btc_drift`` (annual log; by default the scenario's own BTC
  drift for a stochastic process, 0 for a replayed or piecewise path);
- the **subsidy** to halve at the scheduled height (``halving_pass_through`` of the cut, in
  logs; 1 = the whole cut).

So ``h(t) = h0 x halving(t) x exp(-(frontier_rate + adaptive - btc_drift) x years)``
(:class:`HashpriceOutlook`). A scenario that changes BTC's drift or the frontier's pace changes
what every miner expects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import consensus, libm
from sim.units import DAY_S, YEAR_DAYS

if TYPE_CHECKING:
    from sim.input.schema import ScenarioConfig

#: BTC processes whose ``drift`` parameter is the expected annual log drift.
DRIFT_PROCESSES = ("gbm", "jump_diffusion", "regime_switching")


@dataclass(frozen=True)
class HashpriceOutlook:
    """The expected hashprice path from now (scalars; units in the names)."""

    hashprice_usd_per_th_day: float  # now, at the coming epoch's difficulty and subsidy
    decline_per_year: float  # annual log rate at which hashprice is expected to fall
    days_to_halving: float  # from now to the next halving (600 s blocks)
    halving_factor: float  # expected hashprice just after / just before the halving

    def at(self, days: np.ndarray) -> np.ndarray:
        """Expected hashprice ``days`` from now, USD per TH/s per day."""
        days = np.asarray(days, dtype=float)
        halving = np.where(days < self.days_to_halving, 1.0, self.halving_factor)
        return (
            self.hashprice_usd_per_th_day
            * halving
            * libm.exp(-self.decline_per_year * days / YEAR_DAYS)
        )


def expected_btc_drift(config: ScenarioConfig) -> float:
    """The annual log drift of BTC's price miners expect: ``expectations.btc_drift`` when set,
    else the BTC process's ``drift`` (gbm, jump diffusion, regime switching), else 0 (a
    replayed or piecewise path: miners cannot see it coming)."""
    explicit = config.expectations.btc_drift
    if explicit is not None:
        return explicit
    btc = config.market.btc
    return btc.drift if btc.process in DRIFT_PROCESSES else 0.0


def reward_ratio_after_halving(subsidy_btc: float, fee_btc: float) -> float:
    """Reward per block just after the next halving over just before it (fees unchanged)."""
    return (subsidy_btc / 2 + fee_btc) / max(subsidy_btc + fee_btc, 1e-300)


def days_to_next_halving(height: int) -> float:
    """Days from ``height`` to the next halving height at 600 s blocks."""
    next_halving = (height // consensus.HALVING_INTERVAL + 1) * consensus.HALVING_INTERVAL
    return (next_halving - height) * consensus.TARGET_SPACING / DAY_S


class DifficultyTrail:
    """The simulated difficulty's recent path, for adaptive expectations (days since the
    start, log difficulty). Kept only when ``adaptive_weight`` > 0."""

    def __init__(self, weight: float, window_days: float, prior_growth: float, difficulty: float):
        self.weight, self.window = weight, window_days
        log_d = math.log(difficulty)
        # Before the start: a straight line in log difficulty at ``prior_growth`` a year.
        self.days = [-window_days, 0.0]
        self.log_difficulty = [log_d - prior_growth * window_days / YEAR_DAYS, log_d]

    def adaptive_growth(self, day: float, difficulty: float) -> float:
        """``weight`` x the log growth a year of the difficulty over the last ``window`` days,
        with ``difficulty`` on ``day`` added to the trail (days must not decrease from call to
        call); 0 without a weight (no trail kept)."""
        if self.weight == 0:
            return 0.0
        self.days.append(float(day))
        self.log_difficulty.append(math.log(difficulty))
        past = np.interp(day - self.window, self.days, self.log_difficulty)
        return self.weight * (self.log_difficulty[-1] - past) * YEAR_DAYS / self.window


def outlook(
    hashprice_usd_per_th_day: float,
    height: int,
    subsidy_btc: float,
    fee_btc: float,
    frontier_log_rate: float,
    btc_drift: float,
    adaptive_growth: float,
    halving_pass_through: float,
) -> HashpriceOutlook:
    """The rule: today's hashprice at ``height`` (next block's subsidy ``subsidy_btc``, fees
    ``fee_btc`` a block) expected to fall at ``frontier_log_rate + adaptive_growth -
    btc_drift`` a year (annual log rates) and cut at the next halving by
    ``halving_pass_through`` of the reward's cut (in logs)."""
    return HashpriceOutlook(
        hashprice_usd_per_th_day=hashprice_usd_per_th_day,
        decline_per_year=frontier_log_rate + adaptive_growth - btc_drift,
        days_to_halving=days_to_next_halving(height),
        halving_factor=reward_ratio_after_halving(subsidy_btc, fee_btc) ** halving_pass_through,
    )


__all__ = [
    "DRIFT_PROCESSES",
    "DifficultyTrail",
    "HashpriceOutlook",
    "days_to_next_halving",
    "expected_btc_drift",
    "outlook",
    "reward_ratio_after_halving",
]
