"""The decision phase: the next epoch's difficulty, the signals miners see, and the policies.

Policies are called exactly as registered (sim.policy_registry): ``policy(name).decide(ctx,
idx, decisions)`` for each public miners' policy group, with one :class:`PolicyContext` per
epoch that holds the epoch's signals and positions and the run's ``params`` (not copied). With
``params.explain_decisions`` the context also carries the position the policies report among
their reasons, and the decisions carry those reasons.
"""

from __future__ import annotations

import functools

import numpy as np

from sim import consensus, fleet, hosting, libm
from sim.engine.state import assets_usd, listed
from sim.finance import debt_by_owner, secured_by_owner
from sim.policies import Decisions, PolicyContext
from sim.policy_registry import policy
from sim.units import DAY_S, YEAR_DAYS, hashprice_usd_per_th_day

#: Hours in an average month (8,766 / 12, rounded), for monthly power bills.
HOURS_PER_MONTH = 730.0
#: Points on the planning horizon at which the expected hashprice is averaged.
HORIZON_POINTS = 25


def decide(params, state, world, scratch) -> None:
    """Retarget (exact 256-bit arithmetic in sim.consensus), build the policy context at the
    new difficulty and let each policy decide for its agents; defaulted agents do nothing."""
    scratch.next_bits = consensus.next_bits(state.bits, int(scratch.kernel[0][0]), int(scratch.t1))
    scratch.next_height = state.height + scratch.n_mined
    scratch.day = int(scratch.day_end)
    scratch.ctx = ctx = policy_context(params, state, world, scratch)
    decisions = Decisions.zeros(params.n, explain=params.explain_decisions)
    for name, idx in state.policy_groups.items():
        policy(name, params.policy_modules).decide(ctx, idx, decisions)
    defaulted = state.books.defaulted
    if defaulted.any():
        for field in ("sell_btc", "buy_ths", "convert_mw"):
            getattr(decisions, field)[defaulted] = 0.0
    scratch.decisions = decisions


def policy_context(params, state, world, scratch) -> PolicyContext:
    """Market signals at the coming epoch's difficulty and every agent's position (USD, MW)."""
    m, b, day = world.markets, state.books, scratch.day
    btc_price, fleet_mw = scratch.p_end, scratch.fleet_mw
    difficulty = consensus.bits_to_difficulty(scratch.next_bits)
    fee = float(m.fee_btc_expected[day])
    subsidy = consensus.block_subsidy(scratch.next_height) / consensus.COIN
    hp_now = hashprice_usd_per_th_day(btc_price, difficulty, subsidy, fee)
    expected = expected_hashprice(params, hp_now, scratch.next_height, subsidy, fee)
    frontier = float(world.hardware.frontier_jth(day))
    assets = assets_usd(state, btc_price)
    monthly_costs = (
        state.power_usd_mwh * fleet_mw * HOURS_PER_MONTH
    ) + params.opex_usd_per_mw_year * fleet_mw / 12
    return PolicyContext(
        params=params,
        hashprice_usd_per_th_day=hp_now,
        expected_hashprice_usd_per_th_day=expected,
        frontier_jth=frontier,
        new_usd_per_th=world.hardware.new_price_usd_per_th(hp_now, frontier),
        lease_usd_per_mw_year=float(m.ai_lease_usd_per_mw_year[day]),
        credit_open=bool(m.credit_open[day]),
        power_usd_mwh=state.power_usd_mwh,
        capacity_mw=state.capacity_mw,
        fleet_mw=fleet_mw,
        ai_mw=hosting.committed_mw(state.contracts, params.n),
        btc_mined=scratch.btc_mined,
        cash_usd=b.cash_usd,
        cash_buffer_usd=params.cash_buffer_months * monthly_costs,
        assets_usd=assets,
        debt_usd=debt_by_owner(state.debt, params.n),
        **position_for_reasons(params, state, world, day, monthly_costs, assets),
    )


def position_for_reasons(params, state, world, day: int, monthly_costs, assets) -> dict:
    """PolicyContext fields the policies only report among their reasons (sim.policies), never
    decide on: the fleet's J/TH and book age (years), monthly costs (USD), days to the nearest
    maturity, secured debt / assets and whether equity can be issued. None unless
    ``params.explain_decisions``."""
    if not params.explain_decisions:
        return {}
    f, n = state.fleet, params.n

    def ratio_each(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # NaN where b is 0
        return np.divide(a, b, out=np.full(n, np.nan), where=b > 0)

    ths = fleet.per_owner(f, f.hashrate_ths, n)
    written_off = 1.0 - ratio_each(
        fleet.per_owner(f, f.book_usd, n), fleet.per_owner(f, f.cost_usd, n)
    )
    maturity = np.full(n, np.inf)
    np.minimum.at(maturity, state.debt.owner, state.debt.maturity_day)
    equity = np.where(listed(state), world.equity_market.capacity_usd(state.share_price_usd), 0.0)
    return {
        "fleet_jth": ratio_each(fleet.per_owner(f, f.hashrate_ths * f.efficiency_jth, n), ths),
        "fleet_age_years": written_off * params.useful_life_years,
        "monthly_cost_usd": monthly_costs,
        "days_to_maturity": maturity - day,
        "secured_to_assets": ratio_each(secured_by_owner(state.debt, n), assets),
        "equity_open": equity > 0,
    }


def expected_hashprice(params, hp_now: float, height: int, subsidy: float, fee: float) -> float:
    """Mean hashprice over the planning horizon, USD per TH/s per day: difficulty grows at the
    expected rate and the subsidy halves at the next halving height (600 s blocks assumed for
    its date)."""
    days, growth = _horizon_growth(params.planning_horizon_days, params.expected_difficulty_growth)
    next_halving = (height // consensus.HALVING_INTERVAL + 1) * consensus.HALVING_INTERVAL
    halving_day = (next_halving - height) * consensus.TARGET_SPACING / DAY_S
    reward_factor = np.where(
        days < halving_day, 1.0, (subsidy / 2 + fee) / max(subsidy + fee, 1e-300)
    )
    return float(hp_now * np.mean(reward_factor * growth))


@functools.lru_cache(maxsize=16)
def _horizon_growth(horizon_days: float, difficulty_growth: float) -> tuple[np.ndarray, ...]:
    """The planning horizon's days and the hashprice factor of difficulty growth on each
    (constants of a run: computed once per pair, read-only)."""
    days = np.linspace(0.0, horizon_days, HORIZON_POINTS)
    growth = libm.exp(-np.log1p(difficulty_growth) * days / YEAR_DAYS)
    days.flags.writeable = growth.flags.writeable = False
    return days, growth


__all__ = ["decide", "expected_hashprice", "policy_context", "position_for_reasons"]
