"""Decision rules of miners, vectorised over the agents that use each rule.

Every epoch the model builds one :class:`PolicyContext` (market signals and each agent's
position) and asks each policy for the :class:`Decisions` of its own agents (``idx``). Policies
only *propose*; the model checks capacity, AI demand and financing and carries them out.

Adding a policy: subclass :class:`Policy`, implement :meth:`Policy.decide`, and register it in
:data:`POLICIES` under the name scenarios use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.hosting import HALL_LIFE_YEARS
from sim.units import YEAR_DAYS, power_cost_usd_per_th_day


@dataclass
class PolicyContext:
    """What a miner knows when it decides. Arrays are per agent; units in the names."""

    hashprice_usd_per_th_day: float  # now, at the next epoch's difficulty
    expected_hashprice_usd_per_th_day: float  # mean over the planning horizon (growth, halving)
    frontier_jth: float  # best machine on sale
    new_usd_per_th: float  # its price
    lease_usd_per_mw_year: float  # AI lease rate on offer
    ai_enabled: bool
    ai_capex_usd_per_mw: float
    ai_lead_time_days: float
    ai_term_years: float
    ai_noi_margin: float
    credit_open: bool
    hurdle_payback_days: float
    discount_rate: float
    max_leverage: float
    max_ai_fraction: float
    ai_step_fraction: float
    sell_fraction: float
    mining_horizon_years: float
    power_usd_mwh: np.ndarray
    capacity_mw: np.ndarray
    fleet_mw: np.ndarray
    ai_mw: np.ndarray
    btc_mined: np.ndarray  # this epoch, BTC
    cash_usd: np.ndarray
    cash_buffer_usd: np.ndarray
    assets_usd: np.ndarray
    debt_usd: np.ndarray


@dataclass
class Decisions:
    """Proposals, per agent (zero where an agent proposes nothing)."""

    sell_btc: np.ndarray  # BTC to sell at the epoch's closing price
    buy_ths: np.ndarray  # TH/s of frontier machines to buy
    convert_mw: np.ndarray  # MW of capacity to convert to AI hosting
    may_borrow: np.ndarray  # bool: may fund these with new debt

    @classmethod
    def zeros(cls, n: int) -> Decisions:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, bool))


def annuity_factor(rate: float, years: float) -> float:
    """Present value of 1 per year for ``years`` years at annual ``rate`` (continuous)."""
    if rate <= 0:
        return years
    return (1.0 - np.exp(-rate * years)) / rate


def mining_margin_usd_per_mw_year(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """Expected margin of a MW of frontier machines at each agent's power price, USD/MW-year."""
    ths_per_mw = 1e6 / ctx.frontier_jth
    daily = ctx.expected_hashprice_usd_per_th_day - power_cost_usd_per_th_day(
        ctx.frontier_jth, ctx.power_usd_mwh[idx]
    )
    return daily * YEAR_DAYS * ths_per_mw


def frontier_payback_days(ctx: PolicyContext, idx: np.ndarray, hashprice: float) -> np.ndarray:
    """Days for a frontier machine to earn its price back at ``hashprice``; inf if never."""
    margin = hashprice - power_cost_usd_per_th_day(ctx.frontier_jth, ctx.power_usd_mwh[idx])
    return np.divide(
        ctx.new_usd_per_th, margin, out=np.full(margin.shape, np.inf), where=margin > 0
    )


def free_mining_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    return np.maximum(ctx.capacity_mw[idx] - ctx.ai_mw[idx] - ctx.fleet_mw[idx], 0.0)


def asic_purchase_ths(ctx: PolicyContext, idx: np.ndarray, budget_usd: np.ndarray) -> np.ndarray:
    """TH/s to buy: fill free capacity with frontier machines when payback beats the hurdle."""
    payback = frontier_payback_days(ctx, idx, ctx.expected_hashprice_usd_per_th_day)
    fits = free_mining_mw(ctx, idx) * 1e6 / ctx.frontier_jth
    affordable = np.maximum(budget_usd, 0.0) / ctx.new_usd_per_th
    return np.where(payback < ctx.hurdle_payback_days, np.minimum(fits, affordable), 0.0)


def ai_npv_usd_per_mw(ctx: PolicyContext) -> float:
    """NPV of converting one MW to AI hosting: NOI from the end of the lead time over the hall's
    life (the model re-leases a hall when its lease ends), less the build capex."""
    r = ctx.discount_rate
    noi = ctx.lease_usd_per_mw_year * ctx.ai_noi_margin
    delay = np.exp(-r * ctx.ai_lead_time_days / YEAR_DAYS)
    life = max(ctx.ai_term_years, HALL_LIFE_YEARS)
    return noi * annuity_factor(r, life) * delay - ctx.ai_capex_usd_per_mw


def mining_npv_usd_per_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """NPV of keeping one MW mining with frontier machines over the mining horizon."""
    margin = mining_margin_usd_per_mw_year(ctx, idx)
    capex = ctx.new_usd_per_th * 1e6 / ctx.frontier_jth
    return margin * annuity_factor(ctx.discount_rate, ctx.mining_horizon_years) - capex


def ai_room_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """MW an agent may still convert this epoch (step size and overall AI share limits)."""
    cap = ctx.capacity_mw[idx]
    room = ctx.max_ai_fraction * cap - ctx.ai_mw[idx]
    return np.clip(np.minimum(room, ctx.ai_step_fraction * cap), 0.0, None)


def spare_cash_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    return ctx.cash_usd[idx] - ctx.cash_buffer_usd[idx]


def borrowing_room_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """New debt that keeps debt/assets at or below the leverage ceiling (0 if credit is shut)."""
    if not ctx.credit_open:
        return np.zeros(len(idx))
    lev = ctx.max_leverage
    room = (lev * ctx.assets_usd[idx] - ctx.debt_usd[idx]) / max(1.0 - lev, 1e-9)
    return np.maximum(room, 0.0)


class Policy:
    """A decision rule. ``decide`` fills ``out`` at the rows ``idx`` (agents using this rule)."""

    name = "policy"

    def decide(self, ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
        raise NotImplementedError


class Rational(Policy):
    """Compares, per MW, mining on the expected hashprice path (next halving included) with an
    AI lease net of capex and lead time; buys ASICs when payback beats the hurdle; borrows for
    positive-NPV capex within the leverage ceiling; sells ``sell_fraction`` of mined BTC."""

    name = "rational"

    def decide(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.sell_fraction * ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        if ctx.ai_enabled:
            ai_better = ai_npv_usd_per_mw(ctx) > np.maximum(mining_npv_usd_per_mw(ctx, idx), 0.0)
            out.convert_mw[idx] = np.where(ai_better, ai_room_mw(ctx, idx), 0.0)
        budget = spare_cash_usd(ctx, idx) + borrowing_room_usd(ctx, idx)
        out.buy_ths[idx] = np.where(
            out.convert_mw[idx] > 0, 0.0, asic_purchase_ths(ctx, idx, budget)
        )


class Hodl(Policy):
    """Keeps every mined BTC (sells only to avoid default), buys ASICs from spare cash only."""

    name = "hodl"

    def decide(self, ctx, idx, out):
        out.buy_ths[idx] = asic_purchase_ths(ctx, idx, spare_cash_usd(ctx, idx))


class MiningOnly(Policy):
    """Sells what it mines and reinvests in ASICs, borrowing if needed; never converts to AI."""

    name = "mining_only"

    def decide(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        budget = spare_cash_usd(ctx, idx) + borrowing_room_usd(ctx, idx)
        out.buy_ths[idx] = asic_purchase_ths(ctx, idx, budget)


class AiFirst(Policy):
    """Converts capacity to AI whenever a lease has positive NPV; buys no new ASICs."""

    name = "ai_first"

    def decide(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        if ctx.ai_enabled and ai_npv_usd_per_mw(ctx) > 0:
            out.convert_mw[idx] = ai_room_mw(ctx, idx)


POLICIES: dict[str, Policy] = {p.name: p for p in (Rational(), Hodl(), MiningOnly(), AiFirst())}
