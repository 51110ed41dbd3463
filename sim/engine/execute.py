"""Carrying out the epoch's decisions: the machines' life cycle, the fringe's orders, BTC sales,
AI conversions and ASIC purchases, and the borrowing that funds them.

Each phase is ``phase(params, state, world, scratch)`` (see :mod:`sim.engine.epoch`); the
financing waterfall, covenant and default follow in :mod:`sim.engine.waterfall`.
"""

from __future__ import annotations

import numpy as np

from sim import fleet, hosting, libm, lifecycle, treasury
from sim.engine.record import ACTION_CODE
from sim.engine.state import assets_usd, compact_if_grown, listed, unit_power_usd_mwh
from sim.finance import (
    SECURED,
    credit_room_usd,
    debt_by_owner,
    issue_notes,
    secured_by_owner,
)
from sim.fringe import EntryOutlook, weighted_cost_of_capital
from sim.markets import MAX_LEVERAGE
from sim.policies import own_ai_capex_usd_per_mw
from sim.units import YEAR_DAYS, mw_of, power_cost_usd_per_th_day

#: Below this an AI hall is not worth signing, MW.
MIN_HALL_MW = 1.0
#: Fleet columns that scale with the share of a unit sold (the others describe the machines).
EXTENSIVE_FLEET_COLUMNS = ("hashrate_ths", "cost_usd", "book_usd")


def review_lifecycle(params, state, world, scratch) -> None:
    """Mothball units under water, restart those that pay again, scrap long-idle ones
    (sim.lifecycle); restart costs and resale proceeds go through cash and equity."""
    f, b, n = state.fleet, state.books, params.n
    hashprice = scratch.ctx.hashprice_usd_per_th_day
    margin = hashprice - power_cost_usd_per_th_day(f.efficiency_jth, unit_power_usd_mwh(state))
    step = lifecycle.review(f, margin, params)
    if step.restarted.any():  # else the cost is +0.0 for everyone: nothing changes
        restart_cost = fleet.per_owner(
            f, np.where(step.restarted, f.hashrate_ths * params.restart_cost_usd_per_th, 0), n
        )
        b.cash_usd -= restart_cost
        b.equity_usd -= restart_cost
    if step.scrapped.any():
        resale = world.machines.resale_usd_per_th(
            f.efficiency_jth, scratch.day, scratch.ctx.frontier_jth
        )
        proceeds = fleet.per_owner(f, np.where(step.scrapped, f.hashrate_ths * resale, 0.0), n)
        removed = fleet.retire(f, step.scrapped, n)
        b.cash_usd += proceeds
        b.equity_usd += proceeds - removed


def order_fringe_machines(params, state, world, scratch) -> None:
    """Grow the fringe's power supply over the epoch and let its orders clear the machine
    market (sim.fringe, sim.machines); keeps the outlook, the break-even power price of entry
    ($/MWh) and the machines' price (USD per W) for the records."""
    ctx, day, machines = scratch.ctx, scratch.day, world.machines
    f, fringe = state.fleet, state.fringe
    installed_ths = float(f.hashrate_ths.sum())
    financed = params.fringe_financed_share if ctx.credit_open else 0.0
    debt_rate = float(world.markets.borrowing_rate(day, np.array([financed]))[0])
    mw_year_per_th_day = mw_of(1.0, ctx.frontier_jth) / YEAR_DAYS  # USD per MW-year -> TH/s-day
    outlook = EntryOutlook(
        expected=scratch.outlook,
        frontier_jth=ctx.frontier_jth,
        fixed_usd_per_th_day=params.opex_usd_per_mw_year * mw_year_per_th_day,
        lead_time_days=machines.lead_time_days(day),
        life_years=params.useful_life_years,
        discount_rate=weighted_cost_of_capital(params.fringe_equity_rate, debt_rate, financed),
        pipeline_factor=fringe.pipeline_factor(installed_ths),
        site_usd_per_th_day=params.site_usd_per_mw / params.site_annuity_years * mw_year_per_th_day,
    )
    unit_mw = fleet.unit_power_mw(f)
    fleet_mw = fleet.per_owner(f, unit_mw, params.n)
    running_mw = fleet.per_owner(f, np.where(f.mothballed, 0.0, unit_mw), params.n)
    fringe.grow_capacity(fringe.held_mw(fleet_mw), scratch.years, day)
    state.entry_outlook = outlook
    state.entry_breakeven_usd_mwh, state.machine_usd_per_w = fringe.order(
        outlook, machines, running_mw, state.power_factor, day
    )


def sell_decided_btc(params, state, world, scratch) -> None:
    """Sell the BTC the policies decided to sell, at the epoch's closing price."""
    sell_btc(state, scratch.decisions.sell_btc, scratch.p_end, scratch.action)


def sell_btc(state, wanted: np.ndarray, price: float, action: np.ndarray | None = None):
    """Sell up to ``wanted`` BTC per agent at ``price`` (USD/BTC); returns the BTC sold. BTC
    is carried at market, so a sale moves value from BTC to cash and equity is unchanged."""
    b = state.books
    sold = np.clip(wanted, 0.0, b.btc_held)
    b.btc_held -= sold
    b.cash_usd += sold * price
    if action is not None:
        action[sold > 0] = np.minimum(action[sold > 0], ACTION_CODE["sell_btc"])
    return sold


def convert_to_treasury(params, state, world, scratch) -> None:
    """Convert each listed miner's treasury share of its mined BTC (USD at the closing price),
    from BTC held and then cash, and its share of cash above its floor into ETH and SOL at the
    closing prices (sim.treasury.convert); nothing without a treasury rule."""
    rules = params.treasury
    if rules is None:
        return
    prices = (scratch.p_end, scratch.eth_end, scratch.sol_end)
    treasury.convert(state.books, rules, scratch.btc_mined, listed(state), scratch.day, prices)


def convert_to_ai(params, state, world, scratch) -> None:
    """Sign AI leases within this epoch's industry demand (shared pro rata to requests) on the
    MW of site each miner converts, funded by spare cash plus secured project notes sized on
    the lease (:func:`project_loan_usd_per_mw`) within the leverage ceiling and the covenant;
    machines that no longer fit are scrapped."""
    ctx, dec, n = scratch.ctx, scratch.decisions, params.n
    want = dec.convert_mw
    if not params.ai_enabled or not (want > 0).any():
        return
    demand = params.ai_demand_mw_per_year * scratch.years
    want = want * min(1.0, demand / want.sum())
    capex = own_ai_capex_usd_per_mw(params)  # per MW of site
    rent = ctx.lease_usd_per_mw_year / params.ai_pue  # per MW of site
    coupon = world.markets.borrowing_rate(scratch.day, leverage_of(ctx.debt_usd, ctx.assets_usd))
    loan_ok = dec.may_borrow & ctx.credit_open
    per_mw = np.where(loan_ok, project_loan_usd_per_mw(params, rent, capex, coupon), 0.0)
    room = np.where(loan_ok, credit_room_now_usd(params, state, scratch, True), 0.0)
    spare = np.maximum(ctx.cash_usd - ctx.cash_buffer_usd, 0.0)
    mw = np.minimum(want, affordable_mw(spare, room, capex, per_mw))
    mw[mw < MIN_HALL_MW] = 0.0
    if not (mw > 0).any():
        return
    hosting.sign_contracts(
        state.contracts,
        np.arange(n),
        mw,
        rent,
        scratch.day,
        params.ai_lead_time_days,
        params.ai_term_years * YEAR_DAYS,
        capex,
        ctx.lease_usd_per_mw_year,
    )
    borrow(params, state, world, scratch, np.minimum(mw * per_mw, room), params.secured_years)
    scratch.action[mw > 0] = ACTION_CODE["convert_ai"]
    limit = state.capacity_mw - hosting.committed_mw(state.contracts, n)
    if fleet.fits_under(state.fleet, limit, n):
        return  # retire_to_fit would keep every unit whole and remove nothing
    displaced = fleet.retire_to_fit(state.fleet, limit, n)
    state.books.equity_usd -= displaced  # displaced machines are scrapped (a write-off)


def leverage_of(debt_usd: np.ndarray, assets_usd: np.ndarray) -> np.ndarray:
    """Debt / assets per agent (no assets counts as the maximum leverage)."""
    return np.divide(
        debt_usd, assets_usd, out=np.full(debt_usd.shape, MAX_LEVERAGE), where=assets_usd > 0
    )


def project_loan_usd_per_mw(params, rent_usd_per_mw_year, capex_usd_per_mw, coupon):
    """Secured project notes one MW of site leased at ``rent_usd_per_mw_year`` supports, USD
    per MW: the lease's NOI over ``market.rates.project_dscr`` pays a level debt service at
    ``coupon`` over the lease term, capped at ``policy.ai_loan_to_cost`` of the miner's capex
    (the 2025 deals: 76-93% loan-to-cost, 85% at most for Hut 8's River Bend; cal §3.14)."""
    noi = rent_usd_per_mw_year * params.ai_noi_margin
    term = params.ai_term_years
    coupon = np.asarray(coupon, dtype=np.float64)
    annuity = np.where(coupon > 0, -libm.expm1(-coupon * term) / np.maximum(coupon, 1e-12), term)
    return np.minimum(
        noi / params.project_dscr * annuity, params.ai_loan_to_cost * capex_usd_per_mw
    )


def credit_room_now_usd(params, state, scratch, secured: bool) -> np.ndarray:
    """New debt each agent may take now within its leverage ceiling and, for secured debt,
    the covenant (sim.finance.credit_room_usd on the books as they stand), USD."""
    return credit_room_usd(
        debt_by_owner(state.debt, params.n),
        secured_by_owner(state.debt, params.n),
        assets_usd(state, scratch.p_end),
        params.leverage_ceiling,
        params.covenant_secured_to_assets,
        secured=secured,
    )


def affordable_mw(spare_usd, room_usd, capex_usd_per_mw, loan_usd_per_mw) -> np.ndarray:
    """MW of halls each miner can fund: the loan is ``loan_usd_per_mw`` a MW up to ``room_usd``
    in all, the rest of the capex (USD per MW) comes from ``spare_usd``, MW."""
    own = capex_usd_per_mw - loan_usd_per_mw
    with np.errstate(divide="ignore", invalid="ignore"):
        within_room = np.where(own > 0, spare_usd / own, np.inf)  # while the loan fits
        beyond = (spare_usd + room_usd) / capex_usd_per_mw if capex_usd_per_mw > 0 else np.inf
        return np.where(within_room * loan_usd_per_mw <= room_usd, within_room, beyond)


def renew_fleets(params, state, world, scratch) -> None:
    """Replace machines less efficient than each miner's ``replace_above_jth`` with frontier
    machines: the least efficient units first, only as many MW as the miner can pay for new
    (spare cash after the purchases it proposed, plus its borrowing room where it may borrow)
    and the factories can deliver this epoch (:func:`deliverable_mw`: an old machine is
    unplugged only for a replacement that arrives), sold at resale value to the fringe; the
    MW freed are added to its purchase (``buy_ths``)."""
    ctx, dec, f, n = scratch.ctx, scratch.decisions, state.fleet, params.n
    threshold = np.where(listed(state), dec.replace_above_jth, np.inf)
    old = (f.efficiency_jth > threshold[f.owner]) & (f.hashrate_ths > 0)
    if not old.any():
        return
    usd_per_mw = ctx.new_usd_per_th * 1e6 / ctx.frontier_jth
    spare = np.maximum(state.books.cash_usd - ctx.cash_buffer_usd, 0.0)
    room = credit_room_now_usd(params, state, scratch, secured=True)
    budget = spare + np.where(dec.may_borrow & ctx.credit_open, room, 0.0)
    budget = np.maximum(budget - dec.buy_ths * ctx.new_usd_per_th, 0.0)
    limit_mw = deliverable_mw(world, scratch, dec.buy_ths, budget / usd_per_mw)
    fraction = replaced_fraction(f, old, limit_mw, n)
    if not (fraction > 0).any():
        return
    freed_mw = fleet.per_owner(f, fleet.unit_power_mw(f) * fraction, n)
    resale = world.machines.resale_usd_per_th(f.efficiency_jth, scratch.day, ctx.frontier_jth)
    sell_units(params, state, fraction, f.hashrate_ths * resale)
    dec.buy_ths += freed_mw * 1e6 / ctx.frontier_jth


def deliverable_mw(world, scratch, buy_ths: np.ndarray, replace_mw: np.ndarray) -> np.ndarray:
    """Of the replacements each miner wants (``replace_mw``, MW of frontier machines on top of
    its purchase ``buy_ths``, TH/s), the MW the factories deliver this epoch: the machine
    market serves all the public miners' wants together pro rata from one epoch's output
    (:meth:`sim.machines.AsicMarket.from_stock`), MW."""
    ctx = scratch.ctx
    replace_ths = replace_mw * 1e6 / ctx.frontier_jth
    wanted = buy_ths + replace_ths
    served = world.machines.from_stock(wanted, ctx.frontier_jth, scratch.day, scratch.years)
    share = np.divide(served, wanted, out=np.zeros_like(wanted), where=wanted > 0)
    return replace_mw * share


def replaced_fraction(f, old: np.ndarray, limit_mw: np.ndarray, n: int) -> np.ndarray:
    """Share of each unit to replace: the ``old`` units of each owner from the least
    efficient up, until their MW reach the owner's ``limit_mw`` (the last one in part)."""
    mw = np.where(old, fleet.unit_power_mw(f), 0.0)
    units = np.flatnonzero(old)
    order = units[np.lexsort((-f.efficiency_jth[units], f.owner[units]))]  # least efficient first
    before = np.zeros(f.n)  # MW of the owner's less efficient old units
    running = np.zeros(n)
    for k in order:  # a few public miners' old units
        before[k] = running[f.owner[k]]
        running[f.owner[k]] += mw[k]
    room = np.maximum(limit_mw[f.owner] - before, 0.0)
    return np.where(mw > 0, np.clip(room / np.where(mw > 0, mw, 1.0), 0.0, 1.0), 0.0)


def sell_units(params, state, fraction: np.ndarray, unit_usd: np.ndarray) -> None:
    """Sell ``fraction`` of every fleet unit for ``fraction x unit_usd`` (USD). The first
    fringe agent buys the machines with new capital (as in a default) and runs them at its
    power price; with no fringe they leave the network."""
    f, b, n = state.fleet, state.books, params.n
    proceeds = unit_usd * fraction
    sold_book = f.book_usd * fraction
    b.cash_usd += fleet.per_owner(f, proceeds, n)
    b.equity_usd += fleet.per_owner(f, proceeds - sold_book, n)
    sold = fraction > 0
    bought = {column: getattr(f, column)[sold].copy() for column in f.columns}
    for column in EXTENSIVE_FLEET_COLUMNS:
        bought[column] *= fraction[sold]
        getattr(f, column)[:] *= 1.0 - fraction
    f.keep(fraction < 1.0)
    if n > params.n_public:
        buyer = params.n_public
        bought["owner"][:] = buyer
        bought["cost_usd"] = proceeds[sold]
        bought["book_usd"] = proceeds[sold].copy()
        b.equity_usd[buyer] += proceeds[sold].sum()  # paid with new capital: cash stays 0
        f.append(**bought)


def buy_asics(params, state, world, scratch) -> None:
    """Public miners buy frontier machines at the machine market's price from spare cash,
    borrowing the rest where their policy allows and credit is open, with equipment loans
    secured by the machines and repaid in equal instalments over
    ``market.rates.equipment_loan_years`` (the 2021-22 structure, cal §3.14), within the
    leverage ceiling and the covenant. They are
    delivered at once, from stock: all of them together at most the factories' output of the
    epoch (pro rata, :meth:`sim.machines.AsicMarket.from_stock`), and their MW join the backlog."""
    ctx, dec, action = scratch.ctx, scratch.decisions, scratch.action
    buy = world.machines.from_stock(dec.buy_ths, ctx.frontier_jth, scratch.day, scratch.years)
    if not (buy > 0).any():
        return
    b = state.books
    cost = buy * ctx.new_usd_per_th
    spare = np.maximum(b.cash_usd - ctx.cash_buffer_usd, 0.0)
    room = credit_room_now_usd(params, state, scratch, secured=True)
    loan = np.where(dec.may_borrow & ctx.credit_open, np.minimum(cost - spare, room), 0.0)
    loan = np.maximum(loan, 0.0)
    funded = np.minimum(cost, spare + loan)
    loan = np.minimum(loan, funded)
    ths = funded / ctx.new_usd_per_th
    take = ths > 0
    if not take.any():
        return
    borrow(params, state, world, scratch, loan, params.equipment_loan_years, amortising=True)
    world.machines.book(float(mw_of(ths[take], ctx.frontier_jth).sum()))
    fleet.add_units(
        state.fleet,
        np.flatnonzero(take),
        ths[take],
        ctx.frontier_jth,
        funded[take],
        state.power_usd_mwh[take],
    )
    b.cash_usd -= funded
    action[take & (action != ACTION_CODE["convert_ai"])] = ACTION_CODE["buy_asics"]
    compact_if_grown(state)


def borrow(
    params, state, world, scratch, amount: np.ndarray, years: float, amortising: bool = False
) -> None:
    """Issue ``amount`` (USD per agent) of senior secured notes due in ``years`` at the
    market's rate for the agent's leverage (debt / assets before the loan); ``amortising``,
    repaid in equal instalments over those years (equipment loans), else at maturity. The cash
    arrives now."""
    take = amount > 0
    if not take.any():
        return
    ctx, day = scratch.ctx, scratch.day
    owners = np.flatnonzero(take)  # the rate and terms of the borrowers only (elementwise)
    leverage = leverage_of(ctx.debt_usd[owners], ctx.assets_usd[owners])
    coupon = world.markets.borrowing_rate(day, leverage)
    issue_notes(
        state.debt,
        owners,
        amount[owners],
        SECURED,
        coupon,
        day + years * YEAR_DAYS,
        amortization_years=years if amortising else np.inf,
    )
    state.books.cash_usd += amount


__all__ = [
    "borrow",
    "buy_asics",
    "convert_to_ai",
    "convert_to_treasury",
    "order_fringe_machines",
    "renew_fleets",
    "review_lifecycle",
    "sell_btc",
    "sell_decided_btc",
    "sell_units",
]
