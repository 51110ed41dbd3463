"""Balance sheets, debt instruments, the covenant of secured notes and at-the-market equity
issuance of all agents, as arrays over agents (valuation is in :mod:`sim.valuation`).

Accounting identity kept every epoch, per agent:

    assets      = cash + BTC held x BTC price + ETH held x ETH price + SOL held x SOL price
                  + fleet book value + AI PP&E + AI construction in progress
    liabilities = principal of all debt instruments
    equity      = tracked separately from the income statement and capital flows:
                  equity += net income + shares issued + debt converted - dividends

so ``assets - liabilities - equity`` is a real check on the bookkeeping (tested), not a plug.
Net income = mining revenue (BTC won at the epoch's mean price) + BTC fair-value gain + AI net
operating income - power - other opex - interest - depreciation - write-offs + gains on sales
+ the treasury's (ETH, SOL) fair-value gain. BTC, ETH and SOL are carried at market (fair
value, as under ASU 2023-08).

Senior secured notes carry a maintenance covenant: secured principal <= ``limit`` x total
assets (book), tested every epoch (:func:`covenant_cure_usd`). Equity is issued at the market
through :class:`EquityMarket`, priced off each agent's own share price and open whatever the
credit window does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

from sim.tables import Table, minimum, sum_by_owner

if TYPE_CHECKING:
    from sim.input.schema import RatesMarket

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
    eth_held: np.ndarray  # ETH (treasury, sim.treasury)
    sol_held: np.ndarray  # SOL (treasury)
    ai_ppe_usd: np.ndarray  # AI/HPC halls in service, book value
    cip_usd: np.ndarray  # AI/HPC construction in progress
    shares: np.ndarray  # shares outstanding
    equity_usd: np.ndarray  # tracked book equity
    defaulted: np.ndarray  # bool

    @classmethod
    def zeros(cls, n: int) -> BalanceSheets:
        return cls(*(np.zeros(n) for _ in range(8)), defaulted=np.zeros(n, bool))


def treasury_usd(books: BalanceSheets, eth_usd: float, sol_usd: float) -> np.ndarray:
    """Each agent's ETH and SOL at ``eth_usd`` and ``sol_usd`` (USD per unit), USD; exactly 0
    for an agent that holds neither (whatever the prices)."""
    value = np.where(books.eth_held != 0, books.eth_held * eth_usd, 0.0)
    return value + np.where(books.sol_held != 0, books.sol_held * sol_usd, 0.0)


@dataclass
class DebtService:
    """Cash flows of one epoch of debt service, per agent (USD; shares as a count)."""

    interest_usd: np.ndarray
    repaid_usd: np.ndarray  # amortisation plus principal repaid at maturity
    matured_usd: np.ndarray  # of which principal repaid at maturity (not converted)
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
    result = DebtService(*(np.zeros(n) for _ in range(5)))
    kept = np.empty(debt.n, np.bool_)
    _service_instruments(
        debt.owner,
        debt.instrument,
        debt.principal_usd,
        debt.coupon,
        debt.maturity_day,
        debt.conversion_price_usd,
        debt.amortization_usd_per_year,
        np.asarray(share_price_usd, dtype=np.float64),
        float(day_end),
        float(years),
        result.interest_usd,
        result.repaid_usd,
        result.matured_usd,
        result.converted_usd,
        result.new_shares,
        kept,
    )
    debt.keep(kept)
    return result


@njit(cache=True)
def _service_instruments(
    owner,
    instrument,
    principal_usd,
    coupon,
    maturity_day,
    conversion_price_usd,
    amortization_usd_per_year,
    share_price_usd,
    day_end,
    years,
    interest_usd,
    repaid_usd,
    matured_usd,
    converted_usd,
    new_shares,
    kept,
):
    """The loop of :func:`service_debt` over instruments: the per-owner sums go into the five
    output arrays (in instrument order, as ``np.bincount`` sums), ``kept`` marks the
    instruments still outstanding. Each value is computed with numpy's operations in numpy's
    order, so the results are bit-identical to the array version."""
    for i in range(owner.size):
        o = owner[i]
        interest = principal_usd[i] * coupon[i] * years
        amortised = minimum(principal_usd[i], amortization_usd_per_year[i] * years)
        principal_usd[i] -= amortised
        matures = maturity_day[i] <= day_end
        converts = (
            matures
            and instrument[i] == CONVERTIBLE
            and share_price_usd[o] >= conversion_price_usd[i]
        )
        principal = principal_usd[i]
        matured = principal if (matures and not converts) else 0.0
        converted = principal if converts else 0.0
        interest_usd[o] += interest
        repaid_usd[o] += amortised + matured
        matured_usd[o] += matured
        converted_usd[o] += converted
        new_shares[o] += converted / conversion_price_usd[i] if converts else 0.0
        kept[i] = not matures and principal > 0


def issue_notes(
    debt: Table,
    owners: np.ndarray,
    amounts_usd: np.ndarray,
    instrument: int,
    coupon: np.ndarray | float,
    maturity_day: float,
    conversion_price_usd: np.ndarray | float = np.nan,
    amortization_years: float = np.inf,
) -> None:
    """Add new instruments for the agents in ``owners``, due at ``maturity_day`` (days since
    the start): repaid in equal instalments over ``amortization_years`` (principal / years,
    USD a year), or all at maturity (the default, ``inf``)."""
    take = amounts_usd > 0
    if not take.any():
        return
    debt.append(
        owner=owners[take],
        instrument=instrument,
        principal_usd=amounts_usd[take],
        coupon=np.broadcast_to(coupon, owners.shape)[take],
        maturity_day=maturity_day,
        conversion_price_usd=np.broadcast_to(conversion_price_usd, owners.shape)[take],
        amortization_usd_per_year=amounts_usd[take] / amortization_years,
    )


def write_off_debt(debt: Table, owners_mask: np.ndarray) -> None:
    """Remove every instrument of the agents in ``owners_mask`` (after default)."""
    debt.keep(~owners_mask[debt.owner])


def secured_by_owner(debt: Table, n: int) -> np.ndarray:
    """Outstanding principal of senior secured notes per agent, USD."""
    secured = debt.instrument == SECURED
    return sum_by_owner(debt.owner[secured], debt.principal_usd[secured], n)


def covenant_cure_usd(secured_usd: np.ndarray, assets_usd: np.ndarray, limit: float) -> np.ndarray:
    """Secured principal each agent must repay from its cash to meet the maintenance covenant
    ``secured <= limit x assets``, USD.

    Repaying ``x`` from cash lowers both sides by ``x``, so ``x = (S - limit A) / (1 - limit)``,
    clipped to ``[0, S]`` (with no secured notes left there is no covenant). ``limit = 1`` is
    met unless the assets fall below the secured principal; then all of it is due.
    """
    excess = secured_usd - limit * assets_usd
    if limit >= 1.0:
        return np.where(excess > 0, secured_usd, 0.0)
    return np.clip(excess / (1.0 - limit), 0.0, secured_usd)


def credit_room_usd(
    debt_usd: np.ndarray,
    secured_usd: np.ndarray,
    assets_usd: np.ndarray,
    max_leverage: np.ndarray | float,
    covenant: float,
    secured: bool = True,
) -> np.ndarray:
    """New debt each agent may take, USD: after the loan (whose cash adds to the assets) debt
    stays at most ``max_leverage`` x assets and, for a secured loan, secured principal at most
    ``covenant`` x assets, so the leverage ceiling binds and no loan opens a covenant breach:

        (D + x) / (A + x) <= L   <=>   x <= (L A - D) / (1 - L)
        (S + x) / (A + x) <= c   <=>   x <= (c A - S) / (1 - c)

    0 where either is already exceeded (a ceiling of 1 only needs positive assets).
    """
    lev = np.asarray(max_leverage, dtype=np.float64)

    def room(limit, owed):
        gap = limit * assets_usd - owed
        unbounded = np.where(gap >= 0, np.inf, 0.0)
        return np.where(limit < 1.0, gap / np.maximum(1.0 - limit, 1e-12), unbounded)

    out = room(lev, debt_usd)
    if secured:
        out = np.minimum(out, room(np.asarray(covenant, dtype=np.float64), secured_usd))
    return np.maximum(out, 0.0)


def repay_secured(debt: Table, amount_usd: np.ndarray, n: int) -> None:
    """Repay ``amount_usd`` (per agent, at most its secured principal) pro rata across each
    agent's senior secured notes; notes repaid in full are removed."""
    secured = debt.instrument == SECURED
    total = sum_by_owner(debt.owner[secured], debt.principal_usd[secured], n)
    share = np.divide(amount_usd, total, out=np.zeros(n), where=total > 0)
    debt.principal_usd[:] *= np.where(secured, 1.0 - np.clip(share[debt.owner], 0.0, 1.0), 1.0)
    debt.keep(debt.principal_usd > 0)


class EquityMarket:
    """At-the-market share issuance by listed agents, priced off their own share price.

    An agent sells new shares at ``price x (1 - discount)``, the discount widening as the share
    falls below its trailing high (the highest price of the last ``equity_high_window_epochs``
    recorded epochs): ``discount = min(equity_discount + equity_discount_per_drawdown x
    drawdown, equity_max_discount)``. At most ``equity_max_dilution_per_epoch`` x the shares
    outstanding at the last record may be sold per epoch, and none while the share trades below
    ``equity_min_share_price_usd`` or more than ``equity_close_drawdown`` below its trailing
    high (a collapsed miner finds no buyers, as Argo's failed raise in Oct 2022). Otherwise the
    market is open whatever the credit window does.

    Parameters
    ----------
    rates:
        The scenario's ``market.rates`` section.
    share_price_usd, shares:
        Opening share prices (USD) and shares outstanding, one per agent (0 where not listed).
    """

    def __init__(self, rates: RatesMarket, share_price_usd: np.ndarray, shares: np.ndarray):
        self._rates = rates
        self._history = np.full((rates.equity_high_window_epochs, share_price_usd.size), np.nan)
        self._row = 0
        self.record(share_price_usd, shares)

    def record(self, share_price_usd: np.ndarray, shares: np.ndarray) -> None:
        """Close an epoch: remember its share prices (USD) and reset the dilution allowance to
        ``equity_max_dilution_per_epoch`` x ``shares``."""
        self._history[self._row % self._history.shape[0]] = share_price_usd
        self._row += 1
        self._allowance = self._rates.equity_max_dilution_per_epoch * np.asarray(shares, float)

    def trailing_high_usd(self) -> np.ndarray:
        """Highest recorded share price in the window, USD per share (0 if never positive)."""
        filled = self._history[: min(self._row, self._history.shape[0])]
        return np.maximum(filled.max(axis=0), 0.0)

    def drawdown(self, share_price_usd: np.ndarray) -> np.ndarray:
        """Each share's fall from its trailing high, 0-1 (1 where it never traded above 0)."""
        high = self.trailing_high_usd()
        return np.clip(
            1.0 - np.divide(share_price_usd, high, out=np.ones_like(high), where=high > 0), 0, 1
        )

    def issue_price_usd(self, share_price_usd: np.ndarray) -> np.ndarray:
        """Price new shares sell at, USD per share: the share price less the discount."""
        r = self._rates
        drawdown = self.drawdown(share_price_usd)
        discount = np.minimum(
            r.equity_discount + r.equity_discount_per_drawdown * drawdown, r.equity_max_discount
        )
        return share_price_usd * (1.0 - discount)

    def capacity_usd(self, share_price_usd: np.ndarray) -> np.ndarray:
        """Cash each agent can still raise this epoch, USD (0 below the minimum share price or
        more than ``equity_close_drawdown`` below the trailing high: no buyers)."""
        r = self._rates
        is_open = (
            (share_price_usd >= r.equity_min_share_price_usd)
            & (share_price_usd > 0)
            & (self.drawdown(share_price_usd) <= r.equity_close_drawdown)
        )
        return np.where(is_open, self._allowance * self.issue_price_usd(share_price_usd), 0.0)

    def issue(self, amount_usd: np.ndarray, share_price_usd: np.ndarray) -> np.ndarray:
        """Sell shares for ``amount_usd`` (per agent, within :meth:`capacity_usd`); returns the
        new shares per agent."""
        price = self.issue_price_usd(share_price_usd)
        new_shares = np.divide(amount_usd, price, out=np.zeros_like(price), where=amount_usd > 0)
        self._allowance = np.maximum(self._allowance - new_shares, 0.0)
        return new_shares
