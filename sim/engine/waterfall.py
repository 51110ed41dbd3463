"""The financing waterfall: meet what is due and the covenant of secured notes, or default.

A listed miner whose cash is negative after the epoch's bills, capex, interest, amortisation
and maturities raises the gap through the waterfall of :func:`raise_cash`; a miner whose senior
secured principal then exceeds ``market.rates.covenant_secured_to_assets`` x its assets must
repay enough of it (:func:`meet_covenant`). Whoever cannot do either defaults (:func:`default`).
All sales happen at the epoch's closing BTC price (``scratch.p_end``) on its last day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim import fleet, hosting, treasury
from sim.engine.execute import borrow, credit_room_now_usd, sell_btc, sell_units
from sim.engine.record import ACTION_CODE
from sim.engine.settle import lease_value_usd_per_mw
from sim.engine.state import assets_usd, listed
from sim.finance import (
    SECURED,
    covenant_cure_usd,
    debt_by_owner,
    repay_secured,
    secured_by_owner,
    write_off_debt,
)
from sim.tables import maximum, minimum, sum_by_owner
from sim.units import HOURS_PER_DAY, YEAR_DAYS

#: Cash shortfalls and covenant cures below this are rounding, not a default, USD.
CASH_TOL_USD = 1e-6
#: Rounds of raising cash and repaying secured notes to cure a covenant breach: an asset sold
#: below book lowers the assets too, so the cure is recomputed after each round.
COVENANT_ROUNDS = 4


@dataclass
class Offer:
    """What one source of cash in the financing waterfall can raise now, per agent.

    ``book_per_usd`` is the book value of the assets given up per USD raised (1 for BTC, which
    is carried at market; 0 for new shares): it decides how far a USD raised goes towards curing
    a covenant. ``take(usd)`` raises ``usd`` (per agent, at most ``available_usd``).
    """

    available_usd: np.ndarray
    book_per_usd: np.ndarray | float
    take: Callable[[np.ndarray], None]
    action: str


def cover_shortfalls(params, state, world, scratch) -> None:
    """Meet what is due, then the covenant of secured notes; default whoever cannot.

    ``state.default_events`` records why:

    * ``maturity``: the shortfall left is no larger than the principal due at maturity
      this epoch (without that repayment the miner would have met its bills);
    * ``debt_service``: no larger than interest + amortisation + maturities;
    * ``operating``: larger (power, opex and AI capex alone could not be met);
    * ``covenant``: bills met, but the covenant could not be cured.
    """
    b, service = state.books, scratch.service
    live = listed(state)
    need = np.where(live, np.maximum(-b.cash_usd, 0.0), 0.0)
    unmet = raise_cash(params, state, world, scratch, need)
    short = live & (unmet > CASH_TOL_USD)
    cure_left = meet_covenant(params, state, world, scratch, live & ~short)
    failed = short | (cure_left > 0)
    if not failed.any():
        return
    debt_service = service.interest_usd + service.repaid_usd
    cause = np.select(
        [~short, unmet <= service.matured_usd, unmet <= debt_service],
        ["covenant", "maturity", "debt_service"],
        "operating",
    )
    _log_defaults(params, state, world, scratch, failed, cause, np.where(short, unmet, cure_left))
    default(params, state, world, scratch, failed)
    scratch.action[failed] = ACTION_CODE["default"]


def meet_covenant(params, state, world, scratch, tested: np.ndarray) -> np.ndarray:
    """Cure covenant breaches of the miners in ``tested``: raise cash through the waterfall
    (no new debt) and repay secured notes with it. Returns the secured principal each still
    had to repay after every option, USD (0 where the covenant holds)."""
    limit, price, b, n = params.covenant_secured_to_assets, scratch.p_end, state.books, params.n

    def cure_and_limit():
        secured, assets = secured_by_owner(state.debt, n), assets_usd(state, price)
        cure = np.where(tested, covenant_cure_usd(secured, assets, limit), 0.0)
        cure[cure <= CASH_TOL_USD + 1e-9 * secured] = 0.0  # rounding, not a breach
        # Where the assets are below the secured principal all of it is due, whatever is
        # raised: each USD raised then cures one USD (limit 0 in the waterfall's formula).
        linear = (assets > secured) & (limit < 1.0)
        return cure, np.where(linear, limit, 0.0)

    if not tested.any() or not (state.debt.instrument == SECURED).any():
        return np.zeros(n)
    excess = secured_by_owner(state.debt, n) - limit * assets_usd(state, price)
    if not (tested & (excess > 0)).any():  # covenant_cure_usd's own test: nothing to cure
        return np.zeros(n)
    for _ in range(COVENANT_ROUNDS):
        cure, round_limit = cure_and_limit()
        if not (cure > 0).any():
            return cure
        need = np.maximum(cure - b.cash_usd, 0.0)
        raise_cash(params, state, world, scratch, need, round_limit)
        cure, _ = cure_and_limit()
        pay = np.minimum(cure, np.maximum(b.cash_usd, 0.0))
        repay_secured(state.debt, pay, n)
        b.cash_usd -= pay
    return cure_and_limit()[0]


def raise_cash(
    params, state, world, scratch, need: np.ndarray, covenant_limit: np.ndarray | None = None
) -> np.ndarray:
    """Raise ``need`` (USD per agent) through the waterfall, in this order, each agent
    stopping once it has what it needs; returns what is still missing, USD.

    1. sell BTC at the closing price;
       then the ETH/SOL treasury, pro rata, at the closing prices less its trading cost;
    2. draw senior secured credit, only if the credit window is open that day, up to the
       miner's leverage ceiling (debt / assets after the loan; its strategy's, else
       ``policy.max_leverage``) and the covenant (secured / assets after the loan);
    3. issue shares at market (:class:`sim.finance.EquityMarket`: discount, dilution cap);
       the share price falls to the diluted value at once (:func:`diluted_price_usd`);
    4. sell machines at resale value x (1 - ``miners.fire_sale_discount``): the same share
       of every unit, bought by the fringe;
    5. sell AI halls with their leases at ``miners.asset_sale_fraction`` x their market
       value (contracted NOI x ``miners.ai_multiple`` less the capex still to spend);
    6. sell idle powered sites at ``miners.asset_sale_fraction`` x (their mining value,
       :func:`mining_site_usd_per_mw`, + the AI option on the MW the miner can still offer to
       AI), USD per MW.

    With ``covenant_limit`` (per agent) the cash goes to repay secured notes: new debt cures
    nothing, and a USD raised by giving up ``k`` USD of book value lowers the repayment the
    covenant needs by ``(1 - limit k) / (1 - limit)`` USD (:func:`covenant_cure_usd`), so an
    asset sold far below book may not help at all.
    """
    offers = [
        offer_btc,
        offer_treasury,
        offer_credit,
        offer_equity,
        offer_machines,
        offer_halls,
        offer_sites,
    ]
    if covenant_limit is not None:
        offers.remove(offer_credit)
    action = scratch.action
    need = np.array(need, dtype=np.float64)  # updated in place below; the caller's is kept
    has_limit = covenant_limit is not None
    limit = covenant_limit if has_limit else need  # read only where has_limit
    for make_offer in offers:
        if not (need > CASH_TOL_USD).any():
            break
        offer = make_offer(params, state, world, scratch)
        book = offer.book_per_usd
        if np.ndim(book) == 0:
            book = np.full(need.size, book)
        take, usable = np.zeros(need.size), np.zeros(need.size, np.bool_)
        if _take_offer(need, offer.available_usd, book, limit, has_limit, take, usable):
            offer.take(take)
            _settle_offer(
                need, book, limit, has_limit, take, usable, action, ACTION_CODE[offer.action]
            )
    return need


@njit(cache=True, inline="always")
def _gain(book_per_usd, limit, has_limit):
    """USD of need one USD raised meets: 1, or ``(1 - limit k) / (1 - limit)`` for a covenant
    cure (``limit > 0``) that gives up ``k`` USD of book value per USD raised."""
    if has_limit and limit > 0:
        return (1.0 - limit * book_per_usd) / (1.0 - limit)
    return 1.0


@njit(cache=True)
def _take_offer(need, available_usd, book_per_usd, limit, has_limit, take, usable):
    """What each agent takes from one offer of the waterfall (USD, into ``take``):
    ``min(available, need / gain)`` where it needs something, the offer has something and a USD
    raised meets some of the need (``gain > 0``; those agents are marked in ``usable``), else 0.
    True if anyone takes. The arithmetic of the array version, element by element."""
    anyone = False
    for i in range(need.size):
        gain = _gain(book_per_usd[i], limit[i], has_limit)
        if need[i] > 0 and gain > 0 and available_usd[i] > 0:
            take[i] = minimum(available_usd[i], need[i] / gain)
            usable[i] = anyone = True
    return anyone


@njit(cache=True)
def _settle_offer(need, book_per_usd, limit, has_limit, take, usable, action, code):
    """After an offer is taken: each taker's ``action`` becomes the more significant of its own
    and ``code`` (the lower code), and its ``need`` falls by ``take x gain`` (not below 0), in
    place."""
    for i in range(need.size):
        if usable[i]:
            action[i] = min(action[i], code)
            need[i] = maximum(need[i] - take[i] * _gain(book_per_usd[i], limit[i], has_limit), 0.0)


def offer_btc(params, state, world, scratch) -> Offer:
    """All the BTC a listed miner holds, at the closing price."""
    price = scratch.p_end
    held = np.where(listed(state), state.books.btc_held * price, 0.0)
    return Offer(held, 1.0, lambda usd: sell_btc(state, usd / price, price), "sell_btc")


def offer_treasury(params, state, world, scratch) -> Offer:
    """A listed miner's ETH and SOL, sold pro rata at the closing prices less the trading
    cost (sim.treasury); nothing without a treasury rule."""
    rules, eth, sol = params.treasury, scratch.eth_end, scratch.sol_end
    if rules is None:
        return Offer(np.zeros(params.n), 1.0, lambda usd: None, "sell_btc")
    available = np.where(
        listed(state), treasury.sale_proceeds_usd(state.books, rules, eth, sol), 0.0
    )
    book_per_usd = 1.0 / (1.0 - rules.cost)  # cost_bps <= 5,000 (schema)

    def take(usd: np.ndarray) -> None:
        treasury.sell(state.books, rules, usd, eth, sol)

    return Offer(available, book_per_usd, take, "sell_btc")


def offer_credit(params, state, world, scratch) -> Offer:
    """Senior secured credit while the credit window is open, up to the miner's leverage
    ceiling and never beyond the covenant (sim.finance.credit_room_usd): with a ceiling above
    the covenant the covenant binds, so no loan opens a breach the next test must cure."""
    room = credit_room_now_usd(params, state, scratch, secured=True)
    is_open = bool(world.markets.credit_open[scratch.day])
    available = np.where(listed(state) & is_open, room, 0.0)

    def take(usd: np.ndarray) -> None:
        borrow(params, state, world, scratch, usd, params.secured_years)

    return Offer(available, 0.0, take, "borrow")


def offer_equity(params, state, world, scratch) -> Offer:
    """New shares at market, within the equity market's discount and dilution cap."""
    market, b = world.equity_market, state.books
    available = np.where(listed(state), market.capacity_usd(state.share_price_usd), 0.0)

    def take(usd: np.ndarray) -> None:
        new_shares = market.issue(usd, state.share_price_usd)
        state.share_price_usd[:] = diluted_price_usd(
            state.share_price_usd, b.shares, new_shares, usd
        )
        b.shares += new_shares
        b.cash_usd += usd
        b.equity_usd += usd

    return Offer(available, 0.0, take, "issue_equity")


def diluted_price_usd(price_usd, shares, new_shares, raised_usd) -> np.ndarray:
    """Share price after selling ``new_shares`` for ``raised_usd`` (USD), USD per share: the
    market value before plus the cash raised, over the shares after. Shares sold at a discount
    dilute the holders: the price falls by the discount x the new shares' share of the total."""
    after = shares + new_shares
    value = price_usd * shares + raised_usd
    return np.divide(
        value, after, out=np.asarray(price_usd, dtype=np.float64).copy(), where=after > 0
    )


def offer_machines(params, state, world, scratch) -> Offer:
    """The same share of every unit, at resale value less the fire-sale discount."""
    f, n = state.fleet, params.n
    resale = world.machines.resale_usd_per_th(
        f.efficiency_jth, scratch.day, scratch.ctx.frontier_jth
    )
    unit_usd = f.hashrate_ths * resale * (1.0 - params.fire_sale_discount)
    unit_usd = np.where(listed(state)[f.owner], unit_usd, 0.0)
    available = fleet.per_owner(f, unit_usd, n)
    book = fleet.per_owner(f, f.book_usd, n)
    book_per_usd = np.divide(book, available, out=np.full(n, np.inf), where=available > 0)

    def take(usd: np.ndarray) -> None:
        share = np.divide(usd, available, out=np.zeros(n), where=available > 0)
        sell_units(params, state, np.clip(share, 0.0, 1.0)[state.fleet.owner], unit_usd)

    return Offer(available, book_per_usd, take, "sell_assets")


def offer_halls(params, state, world, scratch) -> Offer:
    """AI halls with their leases, at a fraction of their market value."""
    c, b, n = state.contracts, state.books, params.n
    value = params.ai_multiple * c.mw * c.usd_per_mw_year * params.ai_noi_margin
    value = np.maximum(value - c.capex_remaining_usd, 0.0) * params.asset_sale_fraction
    value = np.where(listed(state)[c.owner], value, 0.0)
    available = sum_by_owner(c.owner, value, n)
    book = b.ai_ppe_usd + b.cip_usd
    with np.errstate(over="ignore"):  # book over a near-zero value: inf, as with none
        book_per_usd = np.divide(book, available, out=np.full(n, np.inf), where=available > 0)

    def take(usd: np.ndarray) -> None:
        share = np.clip(np.divide(usd, available, out=np.zeros(n), where=available > 0), 0, 1)
        state.capacity_mw -= share * hosting.committed_mw(c, n)
        kept = 1.0 - share[c.owner]
        for column in (c.mw, c.capex_remaining_usd, c.capex_spent_usd):
            column *= kept
        c.keep(kept > 0)
        b.cash_usd += usd
        b.equity_usd += usd - share * book
        b.ai_ppe_usd *= 1.0 - share
        b.cip_usd *= 1.0 - share

    return Offer(available, book_per_usd, take, "sell_assets")


def mining_site_usd_per_mw(params, state) -> np.ndarray:
    """What a powered site without machines is worth to a miner, USD per MW (per agent): its
    build cost ``miners.site_usd_per_mw`` while a new frontier machine pays at the site's power
    price (the entrant's break-even power price, which counts the site's cost, at or above
    it), less each $/MWh the break-even falls short x the MWh of a year x the site's life
    annuity; never below 0. In a bust that stops entry a mining site fetches little."""
    breakeven = state.entry_breakeven_usd_mwh
    if not np.isfinite(breakeven):  # before the fringe's first order: build cost
        return np.full(params.n, params.site_usd_per_mw)
    shortfall = np.maximum(state.power_usd_mwh - breakeven, 0.0)
    loss = shortfall * HOURS_PER_DAY * YEAR_DAYS * params.site_annuity_years
    return np.maximum(params.site_usd_per_mw - loss, 0.0)


def offer_sites(params, state, world, scratch) -> Offer:
    """Idle powered sites, at a fraction of their mining value (:func:`mining_site_usd_per_mw`)
    plus, on the MW the miner can
    still offer to AI (its ``ai_offer_fraction`` of its capacity less the MW leased, as the
    valuation counts them), the AI option; the same share of each kind is sold."""
    n = params.n
    ai_mw = hosting.committed_mw(state.contracts, n)
    fleet_mw = fleet.per_owner(state.fleet, fleet.unit_power_mw(state.fleet), n)
    capacity = np.where(listed(state), state.capacity_mw, 0.0)
    idle_mw = np.maximum(capacity - fleet_mw - ai_mw, 0.0)
    offered_mw = np.clip(params.ai_offer_fraction * capacity - ai_mw, 0.0, idle_mw)
    lease_value = lease_value_usd_per_mw(params, world, scratch.day)
    option = params.ai_option_weight * max(lease_value, 0.0)
    site = mining_site_usd_per_mw(params, state)
    value = params.asset_sale_fraction * (site * idle_mw + option * offered_mw)
    usd_per_mw = np.divide(value, idle_mw, out=np.zeros(n), where=idle_mw > 0)

    def take(usd: np.ndarray) -> None:
        state.capacity_mw -= np.divide(usd, usd_per_mw, out=np.zeros(n), where=usd_per_mw > 0)
        state.books.cash_usd += usd
        state.books.equity_usd += usd  # sites are not on the books: all of it is a gain

    return Offer(value, 0.0, take, "sell_assets")


def _log_defaults(params, state, world, scratch, failed, cause, unmet_usd) -> None:
    """One record per defaulting miner in ``state.default_events``."""
    day, price = scratch.day, scratch.p_end
    debt = debt_by_owner(state.debt, params.n)
    date = (params.start_date + dt.timedelta(days=day)).isoformat()
    for i in np.flatnonzero(failed):
        state.default_events.append(
            {
                "epoch": state.epoch,
                "date": date,
                "miner": state.names[i],
                "cause": str(cause[i]),
                "unmet_usd": float(unmet_usd[i]),
                "btc_price_usd": float(price),
                "market_cap_usd": float(state.share_price_usd[i] * state.books.shares[i]),
                "debt_usd": float(debt[i]),
                "credit_open": bool(world.markets.credit_open[day]),
            }
        )


def default(params, state, world, scratch, failed: np.ndarray) -> None:
    """Liquidate: machines sold at a discount to resale value, then the books close at zero.

    The buyers are outside the public-miner set (the fringe absorbs the hashrate at the
    same efficiency); creditors take what is recovered and write off the rest.
    """
    f, b = state.fleet, state.books
    units = failed[f.owner]
    if units.any():
        if params.n <= params.n_public:  # no fringe to buy the machines
            fleet.retire(f, units, params.n)
        else:
            buyer = params.n_public
            f.owner[units] = buyer
            resale = world.machines.resale_usd_per_th(
                f.efficiency_jth[units], scratch.day, scratch.ctx.frontier_jth
            )
            price_paid = f.hashrate_ths[units] * resale * params.default_recovery
            f.cost_usd[units] = price_paid
            f.book_usd[units] = price_paid
            b.equity_usd[buyer] += price_paid.sum()  # paid with new capital: cash stays zero
    state.contracts.keep(~failed[state.contracts.owner])
    write_off_debt(state.debt, failed)
    for arr in (
        b.cash_usd,
        b.btc_held,
        b.eth_held,
        b.sol_held,
        b.ai_ppe_usd,
        b.cip_usd,
        b.equity_usd,
    ):
        arr[failed] = 0.0
    b.defaulted |= failed
    state.capacity_mw[failed] = 0.0


__all__ = ["cover_shortfalls", "default", "meet_covenant", "raise_cash"]
