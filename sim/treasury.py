"""Treasury strategies: miners that convert part of what they mine, or of their cash, into ETH
and SOL.

A miner's rule (:class:`sim.input.schema.TreasuryRule`, ``[policy.treasury]`` with per-miner
overrides) applies in the epochs its schedule allows (its date window and BTC price condition)
and converts, in this order (:func:`convert`):

1. ``mined_share`` x the BTC it mined that epoch, valued at the closing BTC price: from the BTC
   it still holds first, then from its cash (never below zero);
2. ``cash_share`` x its cash above ``cash_floor_usd`` (what is left after step 1): from cash.

The USD buys ETH (``eth_weight``) and SOL (the rest) at the closing prices, less a trading cost
of ``cost_bps`` on the amount traded; when cash is short the financing waterfall sells the
treasury back pro rata at the same cost (:func:`sell`). The cost is the only thing a conversion
or a sale changes in book equity: the treasury is carried at market.

Units: BTC, ETH, SOL (held), USD, days since the scenario start; arrays are per agent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from sim.finance import BalanceSheets, treasury_usd

BPS = 1e-4  # one basis point, as a fraction


@dataclass(frozen=True)
class TreasuryRules:
    """The rules of all agents (zeros for agents without one, e.g. the fringe)."""

    mined_share: np.ndarray  # of the epoch's mined BTC, converted
    cash_share: np.ndarray  # of the cash above cash_floor_usd, converted
    cash_floor_usd: np.ndarray  # cash the cash rule never converts, USD
    eth_weight: np.ndarray  # ETH's share of purchases (SOL the rest)
    cost: np.ndarray  # trading cost, fraction of the amount traded
    start_day: np.ndarray  # first day it converts (days since the start; -inf: always)
    end_day: np.ndarray  # last day it converts (inf: always)
    min_btc_usd: np.ndarray  # converts only while BTC closes at or above this, USD


def build_rules(policy, public_names: list[str], n: int, start_date: dt.date):
    """Per-agent rules from the scenario's ``policy.treasury`` for the public miners named
    ``public_names`` (agents 0..len-1) of ``n`` agents; None when no miner converts anything
    (the engine then skips the treasury entirely)."""
    rules = [policy.rule_for(name) for name in public_names]
    if not any(rule.mined_share > 0 or rule.cash_share > 0 for rule in rules):
        return None

    def column(values, fill: float) -> np.ndarray:
        out = np.full(n, fill)
        out[: len(values)] = values
        return out

    def day(date: dt.date | None, unset: float) -> float:
        return unset if date is None else float((date - start_date).days)

    return TreasuryRules(
        mined_share=column([r.mined_share for r in rules], 0.0),
        cash_share=column([r.cash_share for r in rules], 0.0),
        cash_floor_usd=column([r.cash_floor_usd for r in rules], np.inf),
        eth_weight=column([r.eth_weight for r in rules], 0.0),
        cost=column([r.cost_bps * BPS for r in rules], 0.0),
        start_day=column([day(r.start_date, -np.inf) for r in rules], np.inf),
        end_day=column([day(r.end_date, np.inf) for r in rules], -np.inf),
        min_btc_usd=column([r.min_btc_usd for r in rules], np.inf),
    )


def scheduled(rules: TreasuryRules, eligible: np.ndarray, day: int, btc_usd: float) -> np.ndarray:
    """Which agents' rules apply this epoch: ``eligible`` (listed, not defaulted), ``day``
    (days since the start) within their date window and BTC's close ``btc_usd`` (USD) at or
    above their price condition."""
    return (
        eligible
        & (rules.start_day <= day)
        & (day <= rules.end_day)
        & (btc_usd >= rules.min_btc_usd)
    )


def conversion_usd(
    rules: TreasuryRules, btc_mined: np.ndarray, eligible: np.ndarray, day: int, btc_usd: float
) -> np.ndarray:
    """USD each agent converts this epoch by the mined-BTC rule: ``mined_share`` x BTC mined x
    the closing price, where the rule applies (:func:`scheduled`)."""
    applies = scheduled(rules, eligible, day, btc_usd)
    return np.where(applies, rules.mined_share * btc_mined * btc_usd, 0.0)


def cash_conversion_usd(
    rules: TreasuryRules, cash_usd: np.ndarray, eligible: np.ndarray, day: int, btc_usd: float
) -> np.ndarray:
    """USD each agent converts this epoch by the cash rule: ``cash_share`` x its cash
    ``cash_usd`` above ``cash_floor_usd`` (0 at or below it), where the rule applies."""
    applies = scheduled(rules, eligible, day, btc_usd)
    above = np.maximum(cash_usd - rules.cash_floor_usd, 0.0)
    return np.where(applies & (rules.cash_share > 0), rules.cash_share * above, 0.0)


def _purchase(
    books: BalanceSheets, rules: TreasuryRules, spent: np.ndarray, eth_usd: float, sol_usd: float
) -> None:
    """Credit the ETH and SOL bought with ``spent`` USD (after the trading cost, which comes out
    of book equity); the caller has already taken ``spent`` from BTC or cash."""
    net = spent * (1.0 - rules.cost)
    books.eth_held += net * rules.eth_weight / eth_usd
    books.sol_held += net * (1.0 - rules.eth_weight) / sol_usd
    books.equity_usd -= spent * rules.cost


def buy(
    books: BalanceSheets,
    rules: TreasuryRules,
    usd: np.ndarray,
    btc_usd: float,
    eth_usd: float,
    sol_usd: float,
) -> np.ndarray:
    """Convert ``usd`` per agent into ETH and SOL: sell BTC held first, then spend cash (not
    below zero); returns the USD actually converted (before the trading cost)."""
    from_btc = np.minimum(usd, books.btc_held * btc_usd)
    from_cash = np.clip(usd - from_btc, 0.0, np.maximum(books.cash_usd, 0.0))
    books.btc_held -= from_btc / btc_usd
    books.cash_usd -= from_cash
    spent = from_btc + from_cash
    _purchase(books, rules, spent, eth_usd, sol_usd)
    return spent


def buy_with_cash(
    books: BalanceSheets, rules: TreasuryRules, usd: np.ndarray, eth_usd: float, sol_usd: float
) -> np.ndarray:
    """Convert ``usd`` of cash per agent (at most its cash, not below zero) into ETH and SOL;
    returns the USD converted (before the trading cost)."""
    spent = np.clip(usd, 0.0, np.maximum(books.cash_usd, 0.0))
    books.cash_usd -= spent
    _purchase(books, rules, spent, eth_usd, sol_usd)
    return spent


def convert(
    books: BalanceSheets,
    rules: TreasuryRules,
    btc_mined: np.ndarray,
    eligible: np.ndarray,
    day: int,
    prices: tuple[float, float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's conversions at the closing ``prices`` (BTC, ETH, SOL; USD): the mined-BTC
    rule, then the cash rule on the cash left; returns the USD each converted, per agent."""
    btc_usd, eth_usd, sol_usd = prices
    mined = buy(books, rules, conversion_usd(rules, btc_mined, eligible, day, btc_usd), *prices)
    usd = cash_conversion_usd(rules, books.cash_usd, eligible, day, btc_usd)
    return mined, buy_with_cash(books, rules, usd, eth_usd, sol_usd)


def sale_proceeds_usd(
    books: BalanceSheets, rules: TreasuryRules, eth_usd: float, sol_usd: float
) -> np.ndarray:
    """Cash each agent would raise by selling its whole treasury now, USD (after the cost)."""
    return treasury_usd(books, eth_usd, sol_usd) * (1.0 - rules.cost)


def sell(
    books: BalanceSheets,
    rules: TreasuryRules,
    usd: np.ndarray,
    eth_usd: float,
    sol_usd: float,
) -> None:
    """Raise ``usd`` of cash per agent (at most :func:`sale_proceeds_usd`) by selling the same
    share of its ETH and SOL; the trading cost comes out of equity."""
    proceeds = sale_proceeds_usd(books, rules, eth_usd, sol_usd)
    share = np.divide(usd, proceeds, out=np.zeros_like(usd), where=proceeds > 0)
    share = np.clip(share, 0.0, 1.0)
    gross = share * treasury_usd(books, eth_usd, sol_usd)
    books.eth_held -= share * books.eth_held
    books.sol_held -= share * books.sol_held
    books.cash_usd += gross * (1.0 - rules.cost)
    books.equity_usd -= gross * rules.cost


__all__ = [
    "TreasuryRules",
    "build_rules",
    "buy",
    "buy_with_cash",
    "cash_conversion_usd",
    "conversion_usd",
    "convert",
    "sale_proceeds_usd",
    "scheduled",
    "sell",
]
