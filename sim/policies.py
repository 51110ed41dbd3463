"""Decision rules of miners, vectorised over the agents that use each rule.

Every epoch the engine builds one :class:`PolicyContext` (market signals, each agent's position
and the run's constants, ``ctx.params``) and asks each policy for the :class:`Decisions` of its
own agents (``idx``). Policies only *propose*; the engine checks capacity, AI demand and
financing and carries them out.
Beside its proposals a policy fills :class:`Reasons` when asked (``Decisions.zeros(n,
explain=True)``): the figures it compared and which branch of its rule each agent took, so the
browser page can say why without recomputing anything. Batch runs do not ask.

Adding a policy: write ``decide(ctx, idx, out)`` (or subclass :class:`Policy` to give reasons
too) and register it under the name scenarios use with :func:`sim.register_policy`, from any
module (:mod:`sim.policy_registry`; docs/policies.md). The built-in rules below are registered
there by reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.finance import credit_room_usd
from sim.hosting import HALL_LIFE_YEARS
from sim.units import YEAR_DAYS, power_cost_usd_per_th_day

if TYPE_CHECKING:
    from collections.abc import Callable

    from sim.engine.params import Params


@dataclass
class PolicyContext:
    """What a miner knows when it decides: this epoch's market signals and every agent's
    position (arrays per agent, indexed by model row), and the run's constants in ``params``
    (the engine's :class:`~sim.engine.params.Params`: hurdle, discount rate, AI terms, ...;
    never copied). Units in the names."""

    params: Params  # the run's constants (read-only)
    hashprice_usd_per_th_day: float  # now, at the next epoch's difficulty
    expected_hashprice_usd_per_th_day: float  # mean over the planning horizon (growth, halving)
    frontier_jth: float  # best machine on sale
    new_usd_per_th: float  # its price
    lease_usd_per_mw_year: float  # AI lease rate on offer
    credit_open: bool  # lenders lend this epoch
    power_usd_mwh: np.ndarray
    capacity_mw: np.ndarray
    fleet_mw: np.ndarray
    ai_mw: np.ndarray
    btc_mined: np.ndarray  # this epoch, BTC
    cash_usd: np.ndarray
    cash_buffer_usd: np.ndarray
    assets_usd: np.ndarray
    debt_usd: np.ndarray
    secured_usd: np.ndarray | None = None  # senior secured principal (None: none), USD
    # The agent's position beyond what the rules use: reported among the reasons only (None when
    # the caller does not know it; the reasons then show NaN).
    fleet_jth: np.ndarray | None = None  # hashrate-weighted mean efficiency of its fleet, J/TH
    fleet_age_years: np.ndarray | None = None  # book age: years of straight-line write-off
    monthly_cost_usd: np.ndarray | None = None  # power and opex of a month at its fleet's draw
    days_to_maturity: np.ndarray | None = None  # to its nearest debt maturity (inf: no debt)
    secured_to_assets: np.ndarray | None = None  # secured principal / assets (the covenant test)
    equity_open: np.ndarray | None = None  # bool: it could issue shares this epoch


#: Most fleets a site is valued with over the hall's life (bounds absurdly short machine lives).
MAX_FLEETS = 1e6

#: What a policy concluded about AI hosting, in the policy code's words ({} are Reasons fields,
#: in USD M per MW for NPVs and margins; ``convert_mw`` is the proposal).
AI_VERDICTS = {
    "fringe": "follows the fringe's own rules (sim.fringe)",
    "ai_off": "AI hosting is off in this scenario",
    "ai_beats_mining": (
        "converts {convert_mw:,.0f} MW to AI: a lease's NPV (USD {ai_npv_musd_per_mw:.2f}M/MW) "
        "beats mining's over the site's life (USD {mining_npv_musd_per_mw:.2f}M/MW) by more "
        "than its hurdle"
    ),
    "ai_beats_mining_no_room": (
        "would convert to AI (lease NPV USD {ai_npv_musd_per_mw:.2f}M/MW beats mining's "
        "USD {mining_npv_musd_per_mw:.2f}M/MW by more than its hurdle) but it offers no more "
        "of its sites to AI"
    ),
    "mining_beats_ai": (
        "keeps mining: a lease's NPV (USD {ai_npv_musd_per_mw:.2f}M/MW) does not beat "
        "mining's over the site's life (USD {mining_npv_musd_per_mw:.2f}M/MW) by its hurdle"
    ),
    "ai_npv_positive": (
        "converts {convert_mw:,.0f} MW to AI: a lease has a positive NPV "
        "(USD {ai_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_npv_not_positive": (
        "converts nothing: a lease's NPV is not positive (USD {ai_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_npv_positive_no_room": (
        "would convert to AI (lease NPV USD {ai_npv_musd_per_mw:.2f}M/MW) but it offers no "
        "more of its sites to AI"
    ),
    "never_converts": "never converts to AI",
    # a registered decide function gives no reasons: its proposal as it stands
    "own_rule_converts": (
        "follows its own rule (no reasons given): converts {convert_mw:,.0f} MW to AI"
    ),
    "own_rule_keeps": "follows its own rule (no reasons given): converts nothing to AI",
}
#: Code of each AI verdict (the int8 stored in Reasons.ai_verdict).
AI = {name: code for code, name in enumerate(AI_VERDICTS)}

#: What a policy concluded about buying frontier ASICs ({} as in :data:`AI_VERDICTS`).
ASIC_VERDICTS = {
    "not_considered": "",
    "buys": (
        "buys {buy_ehs:,.3f} EH/s of {frontier_jth:.1f} J/TH machines: they pay back in "
        "{frontier_payback_days:,.0f} days, inside the {hurdle_payback_days:,.0f}-day hurdle"
    ),
    "misses_hurdle": (
        "buys no machines: they would pay back in {frontier_payback_days:,.0f} days (hurdle "
        "{hurdle_payback_days:,.0f} days), or a MW of them has no positive NPV over their life"
    ),
    "no_free_capacity": (
        "buys no machines: payback ({frontier_payback_days:,.0f} days) beats the hurdle but no "
        "capacity is free"
    ),
    "no_budget": (
        "buys no machines: payback ({frontier_payback_days:,.0f} days) beats the hurdle but "
        "there is no spare cash{budget_words}"
    ),
    "never_buys": "buys no machines",
    "own_rule_buys": "buys {buy_ehs:,.3f} EH/s of {frontier_jth:.1f} J/TH machines",
    "own_rule_buys_none": "buys no machines",
}

#: Code of each ASIC verdict (the int8 stored in Reasons.asic_verdict).
ASIC = {name: code for code, name in enumerate(ASIC_VERDICTS)}


@dataclass
class Reasons:
    """Why each agent proposed what it did: the figures its policy compared (NaN where the policy
    did not use one) and the branch of its rule it took (codes into :data:`AI_VERDICTS`,
    :data:`ASIC_VERDICTS`). Filled by :meth:`Policy.decide` beside the :class:`Decisions`."""

    # mining against AI hosting, per MW
    # (per MW of site: IT MW x PUE)
    mining_margin_usd_per_mw_year: np.ndarray  # frontier machines on the expected hashprice
    ai_noi_usd_per_mw_year: np.ndarray  # lease rate x NOI margin / PUE
    ai_payback_years: np.ndarray  # lead time + own capex / NOI
    mining_npv_usd_per_mw: np.ndarray  # mining's value over the site's life, renewals included
    ai_npv_usd_per_mw: np.ndarray  # a lease's NPV (sim.policies.lease_npv_usd_per_mw)
    # buying machines
    hashprice_usd_per_th_day: np.ndarray  # now
    expected_hashprice_usd_per_th_day: np.ndarray  # over the planning horizon
    breakeven_usd_per_th_day: np.ndarray  # power cost of the agent's own fleet per TH-day
    frontier_payback_days: np.ndarray  # on the expected hashprice
    hurdle_payback_days: np.ndarray
    # the fleet against the frontier
    fleet_jth: np.ndarray
    frontier_jth: np.ndarray
    fleet_age_years: np.ndarray
    # finance
    cash_runway_months: np.ndarray  # cash / a month's power and opex
    leverage: np.ndarray  # debt / assets
    max_leverage: np.ndarray
    days_to_maturity: np.ndarray
    secured_to_assets: np.ndarray
    covenant_limit: np.ndarray
    credit_open: np.ndarray  # bool
    equity_open: np.ndarray  # bool
    may_borrow: np.ndarray  # bool: the policy let it borrow for capex
    sell_fraction: np.ndarray  # of the BTC mined this epoch
    ai_verdict: np.ndarray  # int8 code into AI_VERDICTS
    asic_verdict: np.ndarray  # int8 code into ASIC_VERDICTS

    @classmethod
    def empty(cls, n: int) -> Reasons:
        def blank(f) -> np.ndarray:
            if f.name.endswith("verdict"):
                return np.zeros(n, np.int8)
            if f.name in ("credit_open", "equity_open", "may_borrow"):
                return np.zeros(n, bool)
            return np.full(n, np.nan)

        return cls(**{f.name: blank(f) for f in fields(cls)})

    def of(self, i: int) -> dict[str, float | bool | int]:
        """Agent ``i``'s figures as plain Python values."""
        return {f.name: getattr(self, f.name)[i].item() for f in fields(self)}


@dataclass
class Decisions:
    """Proposals, per agent (zero where an agent proposes nothing), and the reasons for them."""

    sell_btc: np.ndarray  # BTC to sell at the epoch's closing price
    buy_ths: np.ndarray  # TH/s of frontier machines to buy
    convert_mw: np.ndarray  # MW of capacity to convert to AI hosting
    may_borrow: np.ndarray  # bool: may fund these with new debt
    reasons: Reasons | None = None  # filled by the policies when there is room (explain=True)
    #: J/TH: machines less efficient than this are replaced with frontier ones (inf: none)
    replace_above_jth: np.ndarray | None = None

    @classmethod
    def zeros(cls, n: int, explain: bool = False) -> Decisions:
        """No proposals yet; with ``explain``, room for the policies' reasons."""
        reasons = Reasons.empty(n) if explain else None
        return cls(
            np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, bool), reasons, np.full(n, np.inf)
        )

    def explain(self, i: int) -> str:
        """Agent ``i``'s decision in one sentence, in the words of its policy's rule (needs
        ``Decisions.zeros(n, explain=True)``)."""
        if self.reasons is None:
            raise ValueError("these decisions were made without reasons (explain=False)")
        r = self.reasons.of(i)
        words = {
            **r,
            "ai_npv_musd_per_mw": r["ai_npv_usd_per_mw"] / 1e6,
            "mining_npv_musd_per_mw": r["mining_npv_usd_per_mw"] / 1e6,
            "convert_mw": self.convert_mw[i].item(),
            "buy_ehs": self.buy_ths[i].item() / 1e6,
            "budget_words": " or borrowing room" if r["may_borrow"] else "",
        }
        parts = [
            list(AI_VERDICTS.values())[r["ai_verdict"]],
            list(ASIC_VERDICTS.values())[r["asic_verdict"]],
        ]
        if r["ai_verdict"] != AI["fringe"]:
            sold = r["sell_fraction"]
            parts.append(
                "keeps the BTC it mined" if sold == 0 else f"sells {sold:.0%} of the BTC it mined"
            )
        text = "; ".join(part.format(**words) for part in parts if part)
        return text[0].upper() + text[1:] + "."


def annuity_factor(rate: float, years: float) -> float:
    """Present value of 1 per year for ``years`` years at annual ``rate`` (continuous)."""
    if rate <= 0:
        return years
    return (1.0 - math.exp(-rate * years)) / rate


def mining_margin_usd_per_mw_year(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """Expected margin of a MW of frontier machines at each agent's power price, after the
    site's other opex, USD/MW-year."""
    ths_per_mw = 1e6 / ctx.frontier_jth
    daily = ctx.expected_hashprice_usd_per_th_day - power_cost_usd_per_th_day(
        ctx.frontier_jth, ctx.power_usd_mwh[idx]
    )
    return daily * YEAR_DAYS * ths_per_mw - ctx.params.opex_usd_per_mw_year


def frontier_payback_days(ctx: PolicyContext, idx: np.ndarray, hashprice: float) -> np.ndarray:
    """Days for a frontier machine to earn its price back at ``hashprice``; inf if never."""
    margin = hashprice - power_cost_usd_per_th_day(ctx.frontier_jth, ctx.power_usd_mwh[idx])
    return np.divide(
        ctx.new_usd_per_th, margin, out=np.full(margin.shape, np.inf), where=margin > 0
    )


def free_mining_mw(ctx: PolicyContext, idx: np.ndarray, converting_mw=0.0) -> np.ndarray:
    """Site MW neither mining nor reserved for AI (nor being converted now), MW."""
    used = ctx.ai_mw[idx] + ctx.fleet_mw[idx] + converting_mw
    return np.maximum(ctx.capacity_mw[idx] - used, 0.0)


def asic_purchase_ths(
    ctx: PolicyContext, idx: np.ndarray, budget_usd: np.ndarray, converting_mw=0.0
) -> np.ndarray:
    """TH/s to buy: fill the free capacity left beside ``converting_mw`` (MW) with frontier
    machines when their payback beats the hurdle and a MW of them has a positive NPV."""
    fits = free_mining_mw(ctx, idx, converting_mw) * 1e6 / ctx.frontier_jth
    affordable = np.maximum(budget_usd, 0.0) / ctx.new_usd_per_th
    return np.where(frontier_pays(ctx, idx), np.minimum(fits, affordable), 0.0)


def frontier_pays(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """True where frontier machines pay back within the hurdle on the expected hashprice and
    a MW of them has a positive NPV over their life (:func:`mining_cycle_npv`)."""
    payback = frontier_payback_days(ctx, idx, ctx.expected_hashprice_usd_per_th_day)
    return (payback < ctx.params.hurdle_payback_days) & (mining_cycle_npv(ctx, idx) > 0)


def replacement_jth(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """J/TH above which a running machine is worth replacing with a frontier one now (inf where
    frontier machines miss the purchase rule, :func:`frontier_pays`).

    A MW of either draws the same power and opex, so a MW of machines at ``e`` J/TH earns
    ``h x 1e6 / e`` a day of revenue at the expected hashprice ``h`` against a new MW's
    ``h x 1e6 / e_f`` for ``p x 1e6 / e_f`` of capex (price ``p`` per TH). As for a purchase,
    the extra revenue must pay the capex back within the hurdle and over the machines' life
    (annuity ``A`` years): ``e > e_f / (1 - p / (h x D))`` with ``D = min(hurdle days,
    365.25 x A)``; the old machines' resale value, ignored here, only makes it pay sooner."""
    p = ctx.params
    life_days = annuity_factor(p.discount_rate, p.useful_life_years) * YEAR_DAYS
    days = min(p.hurdle_payback_days, life_days)
    share = ctx.new_usd_per_th / max(ctx.expected_hashprice_usd_per_th_day * days, 1e-300)
    threshold = ctx.frontier_jth / (1.0 - share) if share < 1.0 else np.inf
    return np.where(frontier_pays(ctx, idx), threshold, np.inf)


def annuity_between(rate: float, start_years: float, end_years: float) -> float:
    """Present value of 1 per year paid from ``start_years`` to ``end_years`` (continuous
    discounting at annual ``rate``; 0 if the window is empty)."""
    if end_years <= start_years:
        return 0.0
    return annuity_factor(rate, end_years) - annuity_factor(rate, start_years)


def rent_years_factor(params: Params) -> float:
    """Present value at the rent's start of 1 USD a year of rent: the term, then each renewal
    option taken with ``ai_renewal_probability`` (the k-th with its k-th power), within the
    hall's life, discounted at ``lease_discount_rate`` (the cost of the project notes that fund
    the hall) plus the tenant's expected default rate (``1 - ai_backstop_share`` of tenants
    default at ``ai_tenant_default_per_year``), years."""
    p = params
    rate = p.lease_discount_rate + (1.0 - p.ai_backstop_share) * p.ai_tenant_default_per_year
    factor = annuity_between(rate, 0.0, min(p.ai_term_years, HALL_LIFE_YEARS))
    start, odds = p.ai_term_years, 1.0
    while start < HALL_LIFE_YEARS and p.ai_renewal_probability > 0:
        odds *= p.ai_renewal_probability
        end = min(start + p.ai_renewal_years, HALL_LIFE_YEARS)
        factor += odds * annuity_between(rate, start, end)
        start = end
    return factor


def lease_npv_usd_per_mw(params: Params, lease_usd_per_mw_year: float) -> float:
    """NPV of leasing one MW of site to an AI tenant today, USD per MW of site.

    Per MW of IT load (a site MW carries ``1 / ai_pue`` of it): NOI (lease x margin) from
    delivery over :func:`rent_years_factor`; the hall is delivered after the lead time with
    ``ai_delivery_probability``, else ``ai_delivery_delay_days`` later; the miner pays its
    share (``1 - ai_tenant_capex_share``) of the fit-out capex, spent evenly over the build
    (counted at its middle). Delivery and capex are discounted at ``lease_discount_rate``. A
    hall not re-let earns nothing here.
    """
    p, r = params, params.lease_discount_rate
    lead = p.ai_lead_time_days / YEAR_DAYS
    late = lead + p.ai_delivery_delay_days / YEAR_DAYS
    delivery = p.ai_delivery_probability * libm.exp(-r * lead)
    delivery += (1.0 - p.ai_delivery_probability) * libm.exp(-r * late)
    rent = lease_usd_per_mw_year * p.ai_noi_margin * rent_years_factor(p) * delivery
    capex = own_ai_capex_usd_per_mw(p) * p.ai_pue * libm.exp(-r * lead / 2)
    return float((rent - capex) / p.ai_pue)


def own_ai_capex_usd_per_mw(params: Params) -> float:
    """The miner's share of the fit-out capex of one MW of site, USD per MW of site."""
    return params.ai_capex_usd_per_mw * (1.0 - params.ai_tenant_capex_share) / params.ai_pue


def ai_npv_usd_per_mw(ctx: PolicyContext) -> float:
    """:func:`lease_npv_usd_per_mw` at the lease rate on offer, USD per MW of site."""
    return lease_npv_usd_per_mw(ctx.params, ctx.lease_usd_per_mw_year)


def mining_cycle_npv(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """NPV of one MW of frontier machines bought today at today's price over their useful
    life, USD per MW."""
    margin = mining_margin_usd_per_mw_year(ctx, idx)
    capex = ctx.new_usd_per_th * 1e6 / ctx.frontier_jth
    return margin * annuity_factor(ctx.params.discount_rate, ctx.params.useful_life_years) - capex


def mining_npv_usd_per_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """Mining's value of one MW of site over the hall's life (the AI lease's horizon), USD per
    MW: the fleet is renewed at the end of each useful life at today's machine price and
    hashprice, a cycle worth :func:`mining_cycle_npv` (a site whose cycle loses money stays
    idle: 0)."""
    p = ctx.params
    return np.maximum(mining_cycle_npv(ctx, idx), 0.0) * fleets_in_site_life(
        p.discount_rate, p.useful_life_years
    )


def fleets_in_site_life(rate: float, life_years: float) -> float:
    """Present value of one fleet bought now and one at the end of each ``life_years`` while
    the hall's life lasts: ``sum of e^(-rate k life)`` over the ``K = ceil(20 / life)`` starts
    (at most :data:`MAX_FLEETS`; a geometric series, summed in closed form), years."""
    starts = math.ceil(min(HALL_LIFE_YEARS / life_years, MAX_FLEETS))
    step = math.exp(-rate * life_years)
    if step >= 1.0:
        return float(starts)
    return -math.expm1(starts * math.log(step)) / (1.0 - step)


def ai_beats_mining(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """True where a lease's NPV beats mining's value by more than the agent's conversion
    hurdle x its own fit-out capex per MW (both per MW of site)."""
    p = ctx.params
    hurdle = p.conversion_hurdle[idx] * own_ai_capex_usd_per_mw(p)
    return ai_npv_usd_per_mw(ctx) - np.maximum(mining_npv_usd_per_mw(ctx, idx), 0.0) > hurdle


def ai_room_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """MW an agent may still convert this epoch: what it offers to AI (``ai_offer_fraction``
    of its capacity) less what it has converted, at most ``ai_step_fraction`` of capacity."""
    cap, p = ctx.capacity_mw[idx], ctx.params
    room = p.ai_offer_fraction[idx] * cap - ctx.ai_mw[idx]
    return np.clip(np.minimum(room, p.ai_step_fraction * cap), 0.0, None)


def spare_cash_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    return ctx.cash_usd[idx] - ctx.cash_buffer_usd[idx]


def borrowing_room_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """New equipment loans (secured) that keep debt/assets at or below the agent's leverage
    ceiling and secured debt/assets within the covenant (0 if credit is shut), USD."""
    if not ctx.credit_open:
        return np.zeros(len(idx))
    p = ctx.params
    secured = np.zeros(len(idx)) if ctx.secured_usd is None else ctx.secured_usd[idx]
    return credit_room_usd(
        ctx.debt_usd[idx],
        secured,
        ctx.assets_usd[idx],
        p.leverage_ceiling[idx],
        p.covenant_secured_to_assets,
        secured=True,
    )


def _known(values: np.ndarray | None, idx: np.ndarray) -> np.ndarray:
    return np.full(len(idx), np.nan) if values is None else values[idx]


def note_position(ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
    """Reasons every policy reports: hashprice against the fleet's breakeven, the fleet against
    the frontier, cash runway, leverage, the nearest maturity and covenant, open markets."""
    r = out.reasons
    fleet_jth = _known(ctx.fleet_jth, idx)
    r.hashprice_usd_per_th_day[idx] = ctx.hashprice_usd_per_th_day
    r.expected_hashprice_usd_per_th_day[idx] = ctx.expected_hashprice_usd_per_th_day
    r.breakeven_usd_per_th_day[idx] = power_cost_usd_per_th_day(fleet_jth, ctx.power_usd_mwh[idx])
    r.fleet_jth[idx] = fleet_jth
    r.frontier_jth[idx] = ctx.frontier_jth
    r.fleet_age_years[idx] = _known(ctx.fleet_age_years, idx)
    monthly = _known(ctx.monthly_cost_usd, idx)
    r.cash_runway_months[idx] = np.divide(
        ctx.cash_usd[idx], monthly, out=np.full(len(idx), np.inf), where=monthly > 0
    )
    assets = ctx.assets_usd[idx]
    r.leverage[idx] = np.divide(
        ctx.debt_usd[idx], assets, out=np.full(len(idx), np.nan), where=assets > 0
    )
    r.max_leverage[idx] = ctx.params.leverage_ceiling[idx]
    r.days_to_maturity[idx] = _known(ctx.days_to_maturity, idx)
    r.secured_to_assets[idx] = _known(ctx.secured_to_assets, idx)
    r.covenant_limit[idx] = ctx.params.covenant_secured_to_assets
    r.credit_open[idx] = ctx.credit_open
    r.equity_open[idx] = False if ctx.equity_open is None else ctx.equity_open[idx]
    r.may_borrow[idx] = out.may_borrow[idx]
    r.sell_fraction[idx] = np.divide(
        out.sell_btc[idx], ctx.btc_mined[idx], out=np.zeros(len(idx)), where=ctx.btc_mined[idx] > 0
    )


def note_ai_comparison(ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
    """Reasons of a policy that weighs AI hosting: per MW, mining's margin and NPV against a
    lease's NOI, NPV and payback."""
    r, p = out.reasons, ctx.params
    noi = ctx.lease_usd_per_mw_year * p.ai_noi_margin / p.ai_pue
    r.mining_margin_usd_per_mw_year[idx] = mining_margin_usd_per_mw_year(ctx, idx)
    r.mining_npv_usd_per_mw[idx] = mining_npv_usd_per_mw(ctx, idx)
    r.ai_noi_usd_per_mw_year[idx] = noi
    r.ai_npv_usd_per_mw[idx] = ai_npv_usd_per_mw(ctx)
    lead_years = p.ai_lead_time_days / YEAR_DAYS
    own_capex = own_ai_capex_usd_per_mw(p)
    r.ai_payback_years[idx] = lead_years + own_capex / noi if noi > 0 else np.inf


def note_asic_purchase(ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
    """Reasons of :func:`asic_purchase_ths`: payback against the hurdle, then free capacity,
    then budget (after ``out.buy_ths`` and ``out.convert_mw`` are proposed)."""
    r, hurdle = out.reasons, ctx.params.hurdle_payback_days
    payback = frontier_payback_days(ctx, idx, ctx.expected_hashprice_usd_per_th_day)
    r.frontier_payback_days[idx] = payback
    r.hurdle_payback_days[idx] = hurdle
    r.asic_verdict[idx] = np.select(
        [
            out.buy_ths[idx] > 0,
            (payback >= hurdle) | (mining_cycle_npv(ctx, idx) <= 0),
            free_mining_mw(ctx, idx, out.convert_mw[idx]) <= 0,
        ],
        [ASIC["buys"], ASIC["misses_hurdle"], ASIC["no_free_capacity"]],
        default=ASIC["no_budget"],
    )


class Policy:
    """A decision rule. ``decide`` fills ``out`` at the rows ``idx`` (agents using this rule):
    the proposals (:meth:`propose`) and, when ``out`` has room for them, their :class:`Reasons`
    (:meth:`give_reasons`; batch runs skip them)."""

    name = "policy"

    def decide(self, ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
        self.propose(ctx, idx, out)
        if out.reasons is not None:
            self.give_reasons(ctx, idx, out)
            note_position(ctx, idx, out)

    def propose(self, ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
        raise NotImplementedError

    def give_reasons(self, ctx: PolicyContext, idx: np.ndarray, out: Decisions) -> None:
        """The figures the rule compared and the branch each agent took (after :meth:`propose`)."""
        raise NotImplementedError


class Rational(Policy):
    """Compares, per MW of site over the site's life, a lease (term, renewals, tenant credit,
    delivery risk, own fit-out capex; :func:`lease_npv_usd_per_mw`) with mining (fleet renewed
    at today's machine prices; :func:`mining_npv_usd_per_mw`) and converts the MW it offers to
    AI when the lease wins by more than its strategy's hurdle; fills the rest of its capacity
    with machines when they pay back within the hurdle and have a positive NPV; borrows within
    its leverage ceiling; sells ``sell_fraction`` of mined BTC."""

    name = "rational"

    def propose(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.params.sell_fraction * ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        if ctx.params.ai_enabled:
            out.convert_mw[idx] = np.where(ai_beats_mining(ctx, idx), ai_room_mw(ctx, idx), 0.0)
        budget = spare_cash_usd(ctx, idx) + borrowing_room_usd(ctx, idx)
        out.buy_ths[idx] = asic_purchase_ths(ctx, idx, budget, out.convert_mw[idx])
        out.replace_above_jth[idx] = replacement_jth(ctx, idx)

    def give_reasons(self, ctx, idx, out):
        note_ai_comparison(ctx, idx, out)
        if ctx.params.ai_enabled:
            ai_npv, ai_better = ai_npv_usd_per_mw(ctx), ai_beats_mining(ctx, idx)
            out.reasons.ai_verdict[idx] = np.select(
                [ai_better & (out.convert_mw[idx] > 0), ai_better, ai_npv <= 0],
                [AI["ai_beats_mining"], AI["ai_beats_mining_no_room"], AI["ai_npv_not_positive"]],
                AI["mining_beats_ai"],
            )
        else:
            out.reasons.ai_verdict[idx] = AI["ai_off"]
        note_asic_purchase(ctx, idx, out)


class Hodl(Policy):
    """Keeps every mined BTC (sells only to avoid default), buys ASICs from spare cash only."""

    name = "hodl"

    def propose(self, ctx, idx, out):
        out.buy_ths[idx] = asic_purchase_ths(ctx, idx, spare_cash_usd(ctx, idx))
        out.replace_above_jth[idx] = replacement_jth(ctx, idx)

    def give_reasons(self, ctx, idx, out):
        out.reasons.ai_verdict[idx] = AI["never_converts"]
        note_asic_purchase(ctx, idx, out)


class MiningOnly(Policy):
    """Sells what it mines and reinvests in ASICs, borrowing if needed; never converts to AI."""

    name = "mining_only"

    def propose(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        budget = spare_cash_usd(ctx, idx) + borrowing_room_usd(ctx, idx)
        out.buy_ths[idx] = asic_purchase_ths(ctx, idx, budget)
        out.replace_above_jth[idx] = replacement_jth(ctx, idx)

    def give_reasons(self, ctx, idx, out):
        out.reasons.ai_verdict[idx] = AI["never_converts"]
        note_asic_purchase(ctx, idx, out)


class AiFirst(Policy):
    """Converts capacity to AI whenever a lease has positive NPV; buys no new ASICs."""

    name = "ai_first"

    def propose(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        if ctx.params.ai_enabled and ai_npv_usd_per_mw(ctx) > 0:
            out.convert_mw[idx] = ai_room_mw(ctx, idx)

    def give_reasons(self, ctx, idx, out):
        note_ai_comparison(ctx, idx, out)
        if not ctx.params.ai_enabled:
            out.reasons.ai_verdict[idx] = AI["ai_off"]
        elif ai_npv_usd_per_mw(ctx) > 0:
            out.reasons.ai_verdict[idx] = np.where(
                out.convert_mw[idx] > 0, AI["ai_npv_positive"], AI["ai_npv_positive_no_room"]
            )
        else:
            out.reasons.ai_verdict[idx] = AI["ai_npv_not_positive"]
        out.reasons.asic_verdict[idx] = ASIC["never_buys"]


class OwnRule(Policy):
    """A decide function registered by name (:func:`sim.register_policy`): its proposals are
    the function's; its reasons are the position every policy reports and, as verdicts, the
    proposals themselves (the function gives no reasons)."""

    def __init__(self, name: str, decide: Callable[[PolicyContext, np.ndarray, Decisions], None]):
        self.name, self.rule = name, decide

    def propose(self, ctx, idx, out):
        self.rule(ctx, idx, out)

    def give_reasons(self, ctx, idx, out):
        converts, buys = out.convert_mw[idx] > 0, out.buy_ths[idx] > 0
        out.reasons.ai_verdict[idx] = np.where(
            converts, AI["own_rule_converts"], AI["own_rule_keeps"]
        )
        out.reasons.asic_verdict[idx] = np.where(
            buys, ASIC["own_rule_buys"], ASIC["own_rule_buys_none"]
        )


def as_policy(name: str, decide: Policy | Callable) -> Policy:
    """``decide`` as a :class:`Policy`: a Policy as it is, a decide function in an
    :class:`OwnRule` named ``name`` (the registry's resolution, :mod:`sim.policy_registry`)."""
    if isinstance(decide, Policy):
        return decide
    return OwnRule(name, decide if callable(decide) else decide.decide)


#: The built-in rules: :data:`sim.policy_registry.BUILT_IN` registers them by these names.
RATIONAL, HODL, MINING_ONLY, AI_FIRST = Rational(), Hodl(), MiningOnly(), AiFirst()
