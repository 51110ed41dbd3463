"""Balance sheets, debt instruments and valuation of all agents, as arrays over agents.

Accounting identity kept every epoch, per agent:

    assets      = cash + BTC held x BTC price + fleet book value + AI PP&E + AI construction in progress
    liabilities = principal of all debt instruments
    equity      = tracked separately from the income statement and capital flows:
                  equity += net income + shares issued + debt converted - dividends

so ``assets - liabilities - equity`` is a real check on the bookkeeping (tested), not a plug.
Net income = mining revenue (BTC won at the epoch's mean price) + BTC fair-value gain + AI net
operating income - power - other opex - interest - depreciation - write-offs + gains on sales.
BTC is carried at market (fair value, as under ASU 2023-08).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.tables import Table, sum_by_owner

SECURED = 0
CONVERTIBLE = 1
INSTRUMENT_NAMES = {"senior_secured": SECURED, "convertible": CONVERTIBLE}


def new_debt_table() -> Table:
    return Table(
        {
            "owner": np.int64,
            "instrument": np.int64,  # SECURED or CONVERTIBLE
            "principal_usd": np.float64,
            "coupon": np.float64,  # annual fraction
            "maturity_day": np.float64,  # days since the scenario start
            "conversion_price_usd": np.float64,  # per share; NaN for secured notes
            "amortization_usd_per_year": np.float64,
        },
        capacity=64,
    )


@dataclass
class BalanceSheets:
    """Per-agent balance-sheet arrays (index = agent index). Units: USD unless named."""

    cash_usd: np.ndarray
    btc_held: np.ndarray  # BTC
    ai_ppe_usd: np.ndarray  # AI/HPC halls in service, book value
    cip_usd: np.ndarray  # AI/HPC construction in progress
    shares: np.ndarray  # shares outstanding
    equity_usd: np.ndarray  # tracked book equity
    defaulted: np.ndarray  # bool

    @classmethod
    def zeros(cls, n: int) -> BalanceSheets:
        return cls(*(np.zeros(n) for _ in range(6)), defaulted=np.zeros(n, bool))


@dataclass
class DebtService:
    """Cash flows of one epoch of debt service, per agent (USD; shares as a count)."""

    interest_usd: np.ndarray
    repaid_usd: np.ndarray
    converted_usd: np.ndarray
    new_shares: np.ndarray


def debt_by_owner(debt: Table, n: int) -> np.ndarray:
    """Outstanding principal per agent, USD."""
    return sum_by_owner(debt.owner, debt.principal_usd, n)


def service_debt(
    debt: Table, day_end: float, years: float, share_price_usd: np.ndarray, n: int
) -> DebtService:
    """Accrue and pay coupons, amortise, and settle instruments maturing by ``day_end``.

    A maturing convertible converts into shares when the share price is at or above its
    conversion price; otherwise, like a secured note, its principal is repaid in cash. Settled
    instruments are removed from ``debt``.
    """
    interest = debt.principal_usd * debt.coupon * years
    amortised = np.minimum(debt.principal_usd, debt.amortization_usd_per_year * years)
    debt.principal_usd[:] -= amortised
    matures = debt.maturity_day <= day_end
    converts = (
        matures
        & (debt.instrument == CONVERTIBLE)
        & (share_price_usd[debt.owner] >= debt.conversion_price_usd)
    )
    repaid = amortised + np.where(matures & ~converts, debt.principal_usd, 0.0)
    converted = np.where(converts, debt.principal_usd, 0.0)
    new_shares = np.where(
        converts, converted / np.where(converts, debt.conversion_price_usd, 1.0), 0.0
    )
    result = DebtService(
        *(sum_by_owner(debt.owner, v, n) for v in (interest, repaid, converted, new_shares))
    )
    debt.keep(~matures & (debt.principal_usd > 0))
    return result


def issue_notes(
    debt: Table,
    owners: np.ndarray,
    amounts_usd: np.ndarray,
    instrument: int,
    coupon: np.ndarray | float,
    maturity_day: float,
    conversion_price_usd: np.ndarray | float = np.nan,
) -> None:
    """Add new instruments (bullet repayment) for the agents in ``owners``."""
    take = amounts_usd > 0
    if not np.any(take):
        return
    debt.append(
        owner=owners[take],
        instrument=instrument,
        principal_usd=amounts_usd[take],
        coupon=np.broadcast_to(coupon, owners.shape)[take],
        maturity_day=maturity_day,
        conversion_price_usd=np.broadcast_to(conversion_price_usd, owners.shape)[take],
        amortization_usd_per_year=0.0,
    )


def write_off_debt(debt: Table, owners_mask: np.ndarray) -> None:
    """Remove every instrument of the agents in ``owners_mask`` (after default)."""
    debt.keep(~owners_mask[debt.owner])


def market_cap_usd(
    mining_cash_flow_usd_per_year: np.ndarray,
    ai_noi_usd_per_year: np.ndarray,
    btc_value_usd: np.ndarray,
    net_debt_usd: np.ndarray,
    mining_multiple: float,
    ai_multiple: float,
    floor_usd: float = 1e6,
) -> np.ndarray:
    """Market capitalisation, USD.

    value of mining (a multiple of forward mining cash flow, which moves with BTC)
    + value of AI contracts (contracted net operating income at a higher, steadier multiple)
    + BTC treasury - net debt, floored at ``floor_usd`` (equity keeps an option value).
    """
    value = (
        mining_multiple * np.maximum(mining_cash_flow_usd_per_year, 0.0)
        + ai_multiple * ai_noi_usd_per_year
        + btc_value_usd
        - net_debt_usd
    )
    return np.maximum(value, floor_usd)
