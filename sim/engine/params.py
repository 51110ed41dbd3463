"""The scenario's constants, built once per run into one flat, typed bundle.

Everything an epoch reads from the validated scenario lives here, so the phases never reach
into the scenario's nested configuration (and nothing is copied again each epoch). Units are
in the names: USD, $/MWh, MW, days, years; fractions are plain numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.expectations import expected_btc_drift
from sim.treasury import TreasuryRules, build_rules

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class Params:
    """One run's scenario constants (read-only during the run)."""

    n: int  # agents: public miners first, then fringe agents
    n_public: int
    start_date: dt.date
    day0_time: float  # unix seconds of the start date
    end_time: float  # unix seconds of the end date
    # miners: operating costs and what their assets fetch
    opex_usd_per_mw_year: float
    curtailment: bool
    curtailment_anticipation: float
    fire_sale_discount: float
    asset_sale_fraction: float
    site_usd_per_mw: float
    default_recovery: float
    mining_multiple: float
    ai_multiple: float
    ai_option_weight: float
    #: Present value of 1 USD a year over a site's life at the fringe's discount rate, years.
    site_annuity_years: float
    # the AI/HPC market
    ai_enabled: bool
    ai_capex_usd_per_mw: float
    ai_lead_time_days: float
    ai_term_years: float
    ai_noi_margin: float
    ai_demand_mw_per_year: float
    ai_pue: float  # site MW per IT MW
    ai_renewal_probability: float
    ai_renewal_years: float
    ai_backstop_share: float
    ai_tenant_default_per_year: float
    ai_delivery_probability: float
    ai_delivery_delay_days: float
    ai_tenant_capex_share: float
    # the policies' shared settings
    policy_modules: tuple[str, ...]  # modules that register the scenario's own policies
    hurdle_payback_days: float
    discount_rate: float
    max_leverage: float
    max_ai_fraction: float
    ai_step_fraction: float
    ai_loan_to_cost: float
    #: Per agent (the fringe's are the policy's own): the stated strategy's conversion hurdle
    #: (x own fit-out capex per MW), share of capacity offered to AI, leverage ceiling.
    conversion_hurdle: np.ndarray
    lease_discount_rate: float
    ai_offer_fraction: np.ndarray
    leverage_ceiling: np.ndarray
    sell_fraction: float
    cash_buffer_months: float
    planning_horizon_days: float
    # what every miner expects of the hashprice (sim.expectations)
    expected_btc_drift: float  # annual log drift of BTC's price
    halving_pass_through: float
    # hardware life cycle (the names sim.lifecycle.review reads)
    useful_life_years: float
    restart_cost_usd_per_th: float
    mothball_after_epochs: int
    scrap_after_epochs: int
    # the fringe's entry decision: its cost of capital
    fringe_equity_rate: float
    fringe_financed_share: float
    # credit and power markets
    secured_years: float
    equipment_loan_years: float
    covenant_secured_to_assets: float
    project_dscr: float
    power_base_usd_mwh: float
    #: A run option, not a scenario constant: the policies also return their reasons (the
    #: browser page asks for them; runs and batches do not).
    explain_decisions: bool = False
    #: Each agent's treasury rule (sim.treasury); None when no miner converts anything.
    treasury: TreasuryRules | None = None


def unix_seconds(day: dt.date) -> float:
    """Unix seconds of midnight UTC on ``day``."""
    return float(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def annuity_years(r: float, life: float) -> float:
    """Present value of 1 USD a year for ``life`` years, discounted continuously at the annual
    rate ``r``, years."""
    return -math.expm1(-r * life) / r if r > 0 else life


def strategy_arrays(policy, miners: pd.DataFrame | None, n: int) -> dict[str, np.ndarray]:
    """Per agent: conversion hurdle, share of capacity offered to AI and leverage ceiling.

    A public miner with a ``strategy`` in the miners CSV takes that strategy's parameters
    (``policy.strategies``), its own ``ai_offer_fraction`` cell where given; every other agent
    (no strategy, the fringe) takes the policy's ``conversion_hurdle``, ``max_ai_fraction`` and
    ``max_leverage``.
    """
    hurdle = np.full(n, policy.conversion_hurdle)
    offer = np.full(n, policy.max_ai_fraction)
    ceiling = np.full(n, policy.max_leverage)
    if miners is not None and "strategy" in miners:
        for i, row in enumerate(miners.itertuples(index=False)):
            if row.strategy:
                chosen = getattr(policy.strategies, row.strategy)
                hurdle[i], offer[i] = chosen.conversion_hurdle, chosen.ai_offer_fraction
                ceiling[i] = chosen.max_leverage
            if np.isfinite(row.ai_offer_fraction):
                offer[i] = row.ai_offer_fraction
    for values in (hurdle, offer, ceiling):
        values.flags.writeable = False
    return {"conversion_hurdle": hurdle, "ai_offer_fraction": offer, "leverage_ceiling": ceiling}


def build_params(
    config,
    n: int,
    n_public: int,
    explain_decisions: bool = False,
    public_names: list[str] | None = None,
    miner_rows: pd.DataFrame | None = None,
) -> Params:
    """The flat bundle of a validated scenario's ``config`` for ``n`` agents (the first
    ``n_public`` of them the public miners ``public_names``, which the treasury rules need,
    with the rows of the miners CSV ``miner_rows``, which give their strategies)."""
    scenario, miners, ai = config.scenario, config.miners, config.market.ai
    policy, hardware, fringe, rates = (
        config.policy,
        config.hardware,
        config.fringe,
        config.market.rates,
    )
    return Params(
        n=n,
        n_public=n_public,
        start_date=scenario.start_date,
        day0_time=unix_seconds(scenario.start_date),
        end_time=unix_seconds(scenario.end_date),
        opex_usd_per_mw_year=miners.opex_usd_per_mw_year,
        curtailment=miners.curtailment,
        curtailment_anticipation=miners.curtailment_anticipation,
        fire_sale_discount=miners.fire_sale_discount,
        asset_sale_fraction=miners.asset_sale_fraction,
        site_usd_per_mw=miners.site_usd_per_mw,
        default_recovery=miners.default_recovery,
        mining_multiple=miners.mining_multiple,
        ai_multiple=miners.ai_multiple,
        ai_option_weight=miners.ai_option_weight,
        site_annuity_years=annuity_years(fringe.discount_rate, fringe.site_life_years),
        ai_enabled=ai.enabled,
        ai_capex_usd_per_mw=ai.capex_usd_per_mw,
        ai_lead_time_days=ai.lead_time_days,
        ai_term_years=ai.term_years,
        ai_noi_margin=ai.noi_margin,
        ai_demand_mw_per_year=ai.demand_mw_per_year,
        ai_pue=ai.pue,
        ai_renewal_probability=ai.renewal_probability,
        ai_renewal_years=ai.renewal_years,
        ai_backstop_share=ai.backstop_share,
        ai_tenant_default_per_year=ai.tenant_default_per_year,
        ai_delivery_probability=ai.delivery_probability,
        ai_delivery_delay_days=float(ai.delivery_delay_days),
        ai_tenant_capex_share=ai.tenant_capex_share,
        policy_modules=tuple(config.miners.policy_modules),
        hurdle_payback_days=policy.hurdle_payback_days,
        discount_rate=policy.discount_rate,
        max_leverage=policy.max_leverage,
        max_ai_fraction=policy.max_ai_fraction,
        ai_step_fraction=policy.ai_step_fraction,
        ai_loan_to_cost=policy.ai_loan_to_cost,
        **strategy_arrays(policy, miner_rows, n),
        lease_discount_rate=policy.lease_discount_rate,
        sell_fraction=policy.sell_fraction,
        cash_buffer_months=policy.cash_buffer_months,
        planning_horizon_days=policy.planning_horizon_days,
        expected_btc_drift=expected_btc_drift(config),
        halving_pass_through=config.expectations.halving_pass_through,
        useful_life_years=hardware.useful_life_years,
        restart_cost_usd_per_th=hardware.restart_cost_usd_per_th,
        mothball_after_epochs=hardware.mothball_after_epochs,
        scrap_after_epochs=hardware.scrap_after_epochs,
        fringe_equity_rate=fringe.discount_rate,
        fringe_financed_share=fringe.financed_share,
        secured_years=rates.secured_years,
        equipment_loan_years=rates.equipment_loan_years,
        covenant_secured_to_assets=rates.covenant_secured_to_assets,
        project_dscr=rates.project_dscr,
        power_base_usd_mwh=config.market.power.base_usd_mwh,
        explain_decisions=explain_decisions,
        treasury=build_rules(policy.treasury, public_names or [], n, scenario.start_date),
    )


__all__ = ["Params", "build_params", "strategy_arrays", "unix_seconds"]
