"""Units and the formulas that convert between them, defined once.

Time: seconds (s), days, years of 365.25 days. Hashrate: TH/s (1e12 hashes per second).
Efficiency: J/TH. Power: MW. Energy: MWh. Prices: USD, $/MWh, USD per TH/s per day
("hashprice"; x 1,000 for the usual $/PH/day, :data:`HASHPRICE_UNIT`). BTC amounts: BTC or sat (``COIN`` sat per BTC,
from :mod:`sim.consensus`).

The formulas are plain numpy arithmetic and also callable from numba-compiled code
(``register_jitable``), so the kernel and the Python side share one definition.
"""

from __future__ import annotations

from numba.extending import register_jitable

from sim.consensus import COIN

DAY_S = 86_400.0
YEAR_DAYS = 365.25
YEAR_S = YEAR_DAYS * DAY_S
HOURS_PER_DAY = 24.0
HASHES_PER_TH = 1e12
#: Expected hashes to find one block per unit of difficulty (difficulty 1 = 2**32 hashes).
HASHES_PER_DIFFICULTY = 2.0**32
#: J per MWh (3.6e9): energy of a unit, MWh = TH/s x J/TH x seconds / J_PER_MWH.
J_PER_MWH = 3.6e9
#: How hashprice is written wherever it is shown (report, figures, the page): USD per PH/s per day.
HASHPRICE_UNIT = "$/PH/day"

__all__ = [
    "COIN",
    "DAY_S",
    "HASHES_PER_DIFFICULTY",
    "HASHES_PER_TH",
    "HASHPRICE_UNIT",
    "HOURS_PER_DAY",
    "J_PER_MWH",
    "YEAR_DAYS",
    "YEAR_S",
    "energy_mwh",
    "hashprice_usd_per_th_day",
    "mw_of",
    "power_cost_usd_per_th_day",
    "ths_of",
]


@register_jitable
def power_cost_usd_per_th_day(efficiency_jth, power_usd_mwh):
    """Electricity cost of running 1 TH/s for a day, USD: J/TH x 24 h / 1e6 x $/MWh."""
    return efficiency_jth * HOURS_PER_DAY / 1e6 * power_usd_mwh


@register_jitable
def hashprice_usd_per_th_day(btc_price_usd, difficulty, subsidy_btc, fee_btc):
    """Expected revenue of 1 TH/s for one day, USD: blocks per TH/s-day
    ``86,400 x 1e12 / (difficulty x 2**32)`` x reward per block (subsidy + fees, BTC) x BTC
    price (USD). Multiply by 1,000 for $/PH/day."""
    blocks_per_th_day = DAY_S * HASHES_PER_TH / (difficulty * HASHES_PER_DIFFICULTY)
    return blocks_per_th_day * (subsidy_btc + fee_btc) * btc_price_usd


@register_jitable
def energy_mwh(hashrate_ths, efficiency_jth, seconds):
    """Energy used by ``hashrate_ths`` TH/s at ``efficiency_jth`` J/TH over ``seconds``, MWh."""
    return hashrate_ths * efficiency_jth * seconds / J_PER_MWH


@register_jitable
def mw_of(hashrate_ths, efficiency_jth):
    """Power draw of ``hashrate_ths`` TH/s at ``efficiency_jth`` J/TH, MW."""
    return hashrate_ths * efficiency_jth / 1e6


@register_jitable
def ths_of(power_mw, efficiency_jth):
    """Hashrate that ``power_mw`` MW runs at ``efficiency_jth`` J/TH, TH/s (mw_of's inverse)."""
    return power_mw * 1e6 / efficiency_jth
