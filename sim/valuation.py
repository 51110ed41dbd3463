"""Equity valuation of listed miners: how the market prices mining, AI leases and AI potential.

Market capitalisation, per agent (USD):

    mining      = mining_multiple x max(forward mining cash flow, 0)     (moves with BTC)
  + AI leases   = ai_multiple x contracted AI NOI - capex still to spend on the halls
                  (the halls after their terms at today's market lease rate:
                  :func:`marked_lease_noi_usd_per_year`)
  + AI option   = ai_option_weight x convertible MW x max(lease value per MW - mining value per MW, 0)
  + BTC + the ETH/SOL treasury (at market) - net debt

floored at a small positive value (equity keeps an option value). The AI option is what the
market pays for power capacity that could still be leased to AI/HPC tenants: "AI potential",
not only signed contracts. A MW signed today at the market lease rate would be worth
:func:`lease_value_usd_per_mw` (its NOI at the AI multiple less the hall's capex, the same
terms the AI-leases line gives a signed contract); converting it gives up what the MW earns
mining, so the option is the positive part of the difference, weighted by the market's odds
that the MW will sign (``miners.ai_option_weight``). Convertible MW are the capacity a miner
still offers to AI: its strategy's share of its sites (the miners CSV's ``ai_offer_fraction``,
else the strategy's, else ``policy.max_ai_fraction``) less what it has converted; so a
mining-first miner offers little, and its market value moves with mining cash flow and BTC
(a levered BTC proxy), while signed leases, valued off BTC, lower its beta. With the AI market switched
off the option is worth nothing, and signing a lease turns ``weight x value`` into the full
value (the market's doubt resolved), not a jump from nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import libm

#: Market capitalisation never falls below this, USD: a listed shell keeps some option value.
MARKET_CAP_FLOOR_USD = 1e6


def lease_value_usd_per_mw(
    lease_usd_per_mw_year: float, noi_margin: float, ai_multiple: float, capex_usd_per_mw: float
) -> float:
    """Market value of one MW leased today at ``lease_usd_per_mw_year``, USD per MW: its annual
    NOI (lease x margin) at ``ai_multiple`` less the capex of building the hall (may be < 0)."""
    return ai_multiple * lease_usd_per_mw_year * noi_margin - capex_usd_per_mw


def marked_lease_noi_usd_per_year(
    noi_usd_per_year: np.ndarray,
    years_left: np.ndarray,
    market_ratio: np.ndarray,
    ai_multiple: float,
) -> np.ndarray:
    """Contracted NOI (USD/year, per lease) restated so that ``ai_multiple`` x it is the lease's
    market value with the hall after the term at today's market rate, USD/year.

    At the multiple's yield ``y = 1 / ai_multiple`` a lease with ``T`` years left is worth
    ``NOI / y x (1 - e^-yT)`` for its term and ``NOI x ratio / y x e^-yT`` after it, where
    ``ratio`` is today's market lease rate over the rate when it was signed: with the market
    unchanged the value is ``ai_multiple x NOI`` (the plain multiple), and the part after the
    term moves with the AI lease market, not with BTC.
    """
    if ai_multiple <= 0:
        return np.zeros_like(noi_usd_per_year)
    with np.errstate(over="ignore"):  # a near-zero multiple: no tail (e^-inf = 0)
        tail = libm.exp(-np.maximum(years_left, 0.0) / ai_multiple)
    return noi_usd_per_year * (1.0 - tail + market_ratio * tail)


@dataclass
class EquityValue:
    """The parts of each agent's market capitalisation, USD (arrays over agents)."""

    mining_usd: np.ndarray
    ai_leases_usd: np.ndarray
    ai_option_usd: np.ndarray
    btc_usd: np.ndarray
    net_debt_usd: np.ndarray
    treasury_usd: np.ndarray | float = 0.0  # ETH and SOL held at market

    @property
    def market_cap_usd(self) -> np.ndarray:
        """Sum of the parts less net debt, floored at :data:`MARKET_CAP_FLOOR_USD`."""
        value = (
            (self.mining_usd + self.ai_leases_usd + self.ai_option_usd + self.btc_usd)
            + self.treasury_usd
            - self.net_debt_usd
        )
        return np.maximum(value, MARKET_CAP_FLOOR_USD)


def if_converted_price_usd(
    value_usd: np.ndarray,
    shares: np.ndarray,
    owner: np.ndarray,
    principal_usd: np.ndarray,
    conversion_price_usd: np.ndarray,
) -> np.ndarray:
    """Share price of each agent with its convertibles in the money counted as shares (the
    if-converted method), USD per share.

    ``value_usd`` is the equity value with every convertible counted as debt at its principal
    (one per agent); ``owner``, ``principal_usd`` and ``conversion_price_usd`` list the
    convertibles. A note converts when the price with it converted is at or above its
    conversion price ``k``: its principal ``P`` leaves the debt and ``P / k`` shares join, so
    the price ``(V + P) / (N + P / k)`` lies between ``V / N`` and ``k``, continuous at
    ``V / N = k``. Notes are taken from the lowest conversion price up while the price stays
    at or above the next one: above its conversion price a convert's holders share the upside,
    so a rise in the miner's value lifts its share price less than with fixed debt.
    """
    value = np.asarray(value_usd, dtype=np.float64).copy()
    count = np.asarray(shares, dtype=np.float64).copy()
    price = np.divide(value, count, out=np.zeros_like(value), where=count > 0)
    for k in np.argsort(conversion_price_usd, kind="stable"):
        o = owner[k]
        if count[o] <= 0 or price[o] < conversion_price_usd[k]:
            continue
        value[o] += principal_usd[k]
        count[o] += principal_usd[k] / conversion_price_usd[k]
        price[o] = value[o] / count[o]
    return price


def equity_value(
    mining_cash_flow_usd_per_year: np.ndarray,
    ai_noi_usd_per_year: np.ndarray,
    ai_capex_remaining_usd: np.ndarray,
    convertible_mw: np.ndarray,
    non_ai_mw: np.ndarray,
    lease_value_usd_per_mw: float,
    btc_value_usd: np.ndarray,
    net_debt_usd: np.ndarray,
    mining_multiple: float,
    ai_multiple: float,
    ai_option_weight: float,
    treasury_value_usd: np.ndarray | float = 0.0,
) -> EquityValue:
    """Value each agent's equity (see the module docstring).

    Parameters
    ----------
    mining_cash_flow_usd_per_year:
        Forward mining cash flow (revenue - power - other opex), USD/year.
    ai_noi_usd_per_year, ai_capex_remaining_usd:
        Contracted AI net operating income, USD/year, and the capex still to be spent on halls
        being built for those contracts, USD.
    convertible_mw, non_ai_mw:
        Capacity that may still be converted to AI, MW, and capacity not reserved for AI (the
        MW the mining value is spread over), MW.
    lease_value_usd_per_mw:
        :func:`lease_value_usd_per_mw` at today's lease rate; pass 0 when the AI market is off.
    btc_value_usd, net_debt_usd:
        BTC held at market, USD; debt principal less cash, USD.
    mining_multiple, ai_multiple, ai_option_weight:
        Market value / mining cash flow, market value / contracted NOI, and the market's weight
        on unsigned convertible capacity (0-1).
    treasury_value_usd:
        ETH and SOL held at market, USD (sim.treasury), valued like BTC at 1 USD per USD.
    """
    mining = mining_multiple * np.maximum(mining_cash_flow_usd_per_year, 0.0)
    mining_per_mw = np.divide(mining, non_ai_mw, out=np.zeros_like(mining), where=non_ai_mw > 0)
    option_per_mw = np.maximum(lease_value_usd_per_mw - mining_per_mw, 0.0)
    return EquityValue(
        mining_usd=mining,
        ai_leases_usd=ai_multiple * ai_noi_usd_per_year - ai_capex_remaining_usd,
        ai_option_usd=ai_option_weight * np.maximum(convertible_mw, 0.0) * option_per_mw,
        btc_usd=btc_value_usd,
        net_debt_usd=net_debt_usd,
        treasury_usd=treasury_value_usd,
    )
