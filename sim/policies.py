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

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

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
    # The agent's position beyond what the rules use: reported among the reasons only (None when
    # the caller does not know it; the reasons then show NaN).
    fleet_jth: np.ndarray | None = None  # hashrate-weighted mean efficiency of its fleet, J/TH
    fleet_age_years: np.ndarray | None = None  # book age: years of straight-line write-off
    monthly_cost_usd: np.ndarray | None = None  # power and opex of a month at its fleet's draw
    days_to_maturity: np.ndarray | None = None  # to its nearest debt maturity (inf: no debt)
    secured_to_assets: np.ndarray | None = None  # secured principal / assets (the covenant test)
    equity_open: np.ndarray | None = None  # bool: it could issue shares this epoch


#: What a policy concluded about AI hosting, in the policy code's words ({} are Reasons fields,
#: in USD M per MW for NPVs and margins; ``convert_mw`` is the proposal).
AI_VERDICTS = {
    "fringe": "follows the fringe's own rules (sim.fringe)",
    "ai_off": "AI hosting is off in this scenario",
    "ai_beats_mining": (
        "converts {convert_mw:,.0f} MW to AI: a lease's NPV (USD {ai_npv_musd_per_mw:.2f}M/MW) "
        "beats mining's (USD {mining_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_beats_mining_no_room": (
        "would convert to AI (lease NPV USD {ai_npv_musd_per_mw:.2f}M/MW beats mining's "
        "USD {mining_npv_musd_per_mw:.2f}M/MW) but the AI share ceiling leaves no room"
    ),
    "mining_beats_ai": (
        "keeps mining: mining's NPV (USD {mining_npv_musd_per_mw:.2f}M/MW) is at least a "
        "lease's (USD {ai_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_npv_positive": (
        "converts {convert_mw:,.0f} MW to AI: a lease has a positive NPV "
        "(USD {ai_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_npv_not_positive": (
        "converts nothing: a lease's NPV is not positive (USD {ai_npv_musd_per_mw:.2f}M/MW)"
    ),
    "ai_npv_positive_no_room": (
        "would convert to AI (lease NPV USD {ai_npv_musd_per_mw:.2f}M/MW) but the AI share "
        "ceiling leaves no room"
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
        "buys no machines: they would pay back in {frontier_payback_days:,.0f} days, beyond "
        "the {hurdle_payback_days:,.0f}-day hurdle"
    ),
    "no_free_capacity": (
        "buys no machines: payback ({frontier_payback_days:,.0f} days) beats the hurdle but no "
        "capacity is free"
    ),
    "no_budget": (
        "buys no machines: payback ({frontier_payback_days:,.0f} days) beats the hurdle but "
        "there is no spare cash{budget_words}"
    ),
    "converting": "buys no machines while converting to AI",
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
    mining_margin_usd_per_mw_year: np.ndarray  # frontier machines on the expected hashprice
    ai_noi_usd_per_mw_year: np.ndarray  # lease rate x NOI margin
    ai_payback_years: np.ndarray  # lead time + capex / NOI
    mining_npv_usd_per_mw: np.ndarray
    ai_npv_usd_per_mw: np.ndarray
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

    @classmethod
    def zeros(cls, n: int, explain: bool = False) -> Decisions:
        """No proposals yet; with ``explain``, room for the policies' reasons."""
        reasons = Reasons.empty(n) if explain else None
        return cls(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, bool), reasons)

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
    return np.where(payback < ctx.params.hurdle_payback_days, np.minimum(fits, affordable), 0.0)


def ai_npv_usd_per_mw(ctx: PolicyContext) -> float:
    """NPV of converting one MW to AI hosting: NOI from the end of the lead time over the hall's
    life (the model re-leases a hall when its lease ends), less the build capex."""
    p = ctx.params
    r = p.discount_rate
    noi = ctx.lease_usd_per_mw_year * p.ai_noi_margin
    delay = np.exp(-r * p.ai_lead_time_days / YEAR_DAYS)
    life = max(p.ai_term_years, HALL_LIFE_YEARS)
    return noi * annuity_factor(r, life) * delay - p.ai_capex_usd_per_mw


def mining_npv_usd_per_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """NPV of keeping one MW mining with frontier machines over the mining horizon (the
    machines' useful life)."""
    margin = mining_margin_usd_per_mw_year(ctx, idx)
    capex = ctx.new_usd_per_th * 1e6 / ctx.frontier_jth
    p = ctx.params
    return margin * annuity_factor(p.discount_rate, p.useful_life_years) - capex


def ai_room_mw(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """MW an agent may still convert this epoch (step size and overall AI share limits)."""
    cap, p = ctx.capacity_mw[idx], ctx.params
    room = p.max_ai_fraction * cap - ctx.ai_mw[idx]
    return np.clip(np.minimum(room, p.ai_step_fraction * cap), 0.0, None)


def spare_cash_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    return ctx.cash_usd[idx] - ctx.cash_buffer_usd[idx]


def borrowing_room_usd(ctx: PolicyContext, idx: np.ndarray) -> np.ndarray:
    """New debt that keeps debt/assets at or below the leverage ceiling (0 if credit is shut)."""
    if not ctx.credit_open:
        return np.zeros(len(idx))
    lev = ctx.params.max_leverage
    room = (lev * ctx.assets_usd[idx] - ctx.debt_usd[idx]) / max(1.0 - lev, 1e-9)
    return np.maximum(room, 0.0)


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
    r.max_leverage[idx] = ctx.params.max_leverage
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
    noi = ctx.lease_usd_per_mw_year * p.ai_noi_margin
    r.mining_margin_usd_per_mw_year[idx] = mining_margin_usd_per_mw_year(ctx, idx)
    r.mining_npv_usd_per_mw[idx] = mining_npv_usd_per_mw(ctx, idx)
    r.ai_noi_usd_per_mw_year[idx] = noi
    r.ai_npv_usd_per_mw[idx] = ai_npv_usd_per_mw(ctx)
    lead_years = p.ai_lead_time_days / YEAR_DAYS
    r.ai_payback_years[idx] = lead_years + p.ai_capex_usd_per_mw / noi if noi > 0 else np.inf


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
            out.convert_mw[idx] > 0,
            payback >= hurdle,
            free_mining_mw(ctx, idx) <= 0,
        ],
        [ASIC["buys"], ASIC["converting"], ASIC["misses_hurdle"], ASIC["no_free_capacity"]],
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
    """Compares, per MW, mining on the expected hashprice path (next halving included) with an
    AI lease net of capex and lead time; buys ASICs when payback beats the hurdle; borrows for
    positive-NPV capex within the leverage ceiling; sells ``sell_fraction`` of mined BTC."""

    name = "rational"

    def propose(self, ctx, idx, out):
        out.sell_btc[idx] = ctx.params.sell_fraction * ctx.btc_mined[idx]
        out.may_borrow[idx] = True
        if ctx.params.ai_enabled:
            ai_better = ai_npv_usd_per_mw(ctx) > np.maximum(mining_npv_usd_per_mw(ctx, idx), 0.0)
            out.convert_mw[idx] = np.where(ai_better, ai_room_mw(ctx, idx), 0.0)
        budget = spare_cash_usd(ctx, idx) + borrowing_room_usd(ctx, idx)
        out.buy_ths[idx] = np.where(
            out.convert_mw[idx] > 0, 0.0, asic_purchase_ths(ctx, idx, budget)
        )

    def give_reasons(self, ctx, idx, out):
        note_ai_comparison(ctx, idx, out)
        if ctx.params.ai_enabled:
            ai_npv, mining_npv = ai_npv_usd_per_mw(ctx), mining_npv_usd_per_mw(ctx, idx)
            ai_better = ai_npv > np.maximum(mining_npv, 0.0)
            out.reasons.ai_verdict[idx] = np.select(
                [ai_better & (out.convert_mw[idx] > 0), ai_better, ai_npv > mining_npv],
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
