"""The competitive rest of the network (the fringe): free entry against power supply curves.

Each fringe agent is one slice of a power-cost class. Its **power supply** offers a capacity
(MW; at the start ``supply_headroom`` x its initial fleet's MW) at the agent's power price
``p_a`` ($/MWh, before the power market's daily factor); MW beyond it cost more: the marginal
price of the m-th MW is ``p_a x max(1, m / capacity)^(1 / elasticity)``. Capacity grows by
``supply_growth_per_year`` (exogenous) and is built out toward the MW miners hold beyond it at
``supply_build_per_year`` (power developers answer scarcity prices with a lag), at most
``build_mw_per_year`` network-wide; AI data centres may take part of it (``ai_power``). Cheap
power is finite at any time, so the *level* the network can reach (where entry stops paying)
and the *speed* at which it gets there (the machine market, the build-out) are set separately.

Every epoch (:meth:`Fringe.order`):

1. **Break-even power prices.** The highest $/MWh ``p*`` at which a new frontier machine bought
   at price ``P``, housed on a new site (its build cost as an annuity over the site's life, plus
   other operating cost: fixed costs it bears whether it runs or not) and energised after the
   machine market's lead time, has a non-negative net present value over its useful life on
   the expected hashprice path (:mod:`sim.expectations`, the rule every miner uses), each day's
   margin floored at zero (a unit curtails rather than mine at a loss), discounted at the
   entrant's weighted cost of capital (:func:`weighted_cost_of_capital`; the financed share
   falls to 0 when a BTC drawdown closes the credit window) (:class:`BreakevenCurve`); and the
   higher ``p_r`` of the same machine on a site the agent already has (**renewal**: the site's
   cost is sunk, only other operating cost remains).
2. **Profitable MW.** Each agent's supply offers ``capacity x (p / p_a)^elasticity`` MW at a
   power price ``p`` (none if ``p < p_a``). It wants the larger of what the supply offers at
   ``p*`` and, up to the MW of sites it has built (``site_mw``), what it offers at ``p_r``; it
   orders ``adjustment_per_epoch`` of the gap between that and the MW it runs or has on order.
   A mothballed or failed machine's site is thus renewed with a frontier machine when that pays
   on the sunk site; the old machine is sold at resale value when its replacement arrives
   (:func:`sim.engine.operate.deliver_fringe_orders`). Sites lost in an outage are gone
   (:meth:`Fringe.lose_sites`).
3. **The machine market clears** (:meth:`sim.machines.AsicMarket.clear`): the epoch's orders
   queue behind the backlog, and the price rises with the backlog they leave; the orders are
   those the agents place at the price they themselves cause. In a boom the price and the
   queue (the lead time), not a quantity cap, slow entry.
4. Orders arrive when the factories have produced them plus the shipping lead time
   (:meth:`Fringe.deliveries`), at the price they were ordered at, sited at the marginal price
   of the MW they occupy.

At the start the network has machines in transit, ordered in the lead time before it
(:meth:`Fringe.place_in_transit`): without them nothing would arrive for a whole lead time, and
the orders of the first epochs would all arrive together one lead time later.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.consensus import RETARGET_INTERVAL, TARGET_SPACING
from sim.expectations import HashpriceOutlook
from sim.tables import Table, sum_by_owner
from sim.units import DAY_S, YEAR_DAYS, mw_of, power_cost_usd_per_th_day, ths_of

if TYPE_CHECKING:
    from sim.input.schema import Fringe as FringeConfig
    from sim.machines import AsicMarket

#: Points of the expected-hashprice path per year of machine life (NPV quadrature).
PATH_POINTS_PER_YEAR = 12
#: Days between two tranches of the machines in transit at the start: one epoch at 600 s blocks.
TRANCHE_DAYS = RETARGET_INTERVAL * TARGET_SPACING / DAY_S


@dataclass(frozen=True)
class EntryOutlook:
    """What an entrant knows when it values a new frontier machine (units in the names)."""

    expected: HashpriceOutlook  # the expected hashprice path from now (sim.expectations)
    frontier_jth: float  # best machine on sale
    fixed_usd_per_th_day: float  # operating cost it bears whether it runs or not (site excluded)
    lead_time_days: float  # from ordering to running (the machine market's queue included)
    life_years: float
    discount_rate: float  # annual: the entrant's weighted cost of capital
    pipeline_factor: float = 1.0  # expected hashprice once the machines on order run / now
    site_usd_per_th_day: float = 0.0  # a new site's build cost as an annuity over its life


def expected_margin_path(outlook: EntryOutlook) -> tuple[np.ndarray, np.ndarray]:
    """Expected hashprice (USD per TH/s per day) at the midpoints of the machine's life, and the
    discounted days each point stands for (so that NPV = sum(weight x margin) - price)."""
    o = outlook
    n = max(int(np.ceil(o.life_years * PATH_POINTS_PER_YEAR)), 1)
    step_days = o.life_years * YEAR_DAYS / n
    days = o.lead_time_days + step_days * (np.arange(n) + 0.5)
    hashprice = o.expected.at(days) * o.pipeline_factor
    weight = step_days * libm.exp(-o.discount_rate * days / YEAR_DAYS)
    return hashprice, weight


def fixed_usd_per_th_day(outlook: EntryOutlook, new_site: bool) -> float:
    """Fixed costs of one TH/s a day, USD: other operating cost, plus the site's annuity on a
    new site (on a site the agent already has its cost is sunk)."""
    return outlook.fixed_usd_per_th_day + (outlook.site_usd_per_th_day if new_site else 0.0)


def entry_npv_usd_per_th(
    outlook: EntryOutlook, machine_usd_per_th: float, power_usd_mwh: float, new_site: bool = True
) -> float:
    """NPV of one TH/s of a new frontier machine bought at ``machine_usd_per_th`` and run at
    ``power_usd_mwh``, USD: the discounted daily margins ``max(h - c, 0)`` (it curtails rather
    than mine at a loss) less the price and the present value of its fixed costs
    (:func:`fixed_usd_per_th_day`)."""
    hashprice, weight = expected_margin_path(outlook)
    cost = power_cost_usd_per_th_day(outlook.frontier_jth, power_usd_mwh)
    margin = float(np.sum(weight * np.maximum(hashprice - cost, 0.0)))
    fixed = float(weight.sum()) * fixed_usd_per_th_day(outlook, new_site)
    return margin - machine_usd_per_th - fixed


class BreakevenCurve:
    """The break-even power price of entry as a function of the machine's price.

    With ``x`` the power cost per TH/s-day, NPV(x) = sum over points with hashprice ``h_i > x``
    of ``w_i (h_i - x)`` minus the upfront cost ``U`` (price and fixed costs): piecewise linear
    and falling in ``x``. Sorting the points by hashprice (highest first) with running sums
    ``W_k = sum w``, ``S_k = sum w h``, the root on the k-th piece is ``x = (S_k - U) / W_k``; it
    is the one that falls inside its piece: the first whose root is above the piece's lower end
    (on earlier pieces NPV is already negative there), capped at its upper end against rounding.
    The sort does not depend on the price, so it is done
    once per epoch and the machine market's clearing asks for many prices cheaply.
    """

    def __init__(self, outlook: EntryOutlook, new_site: bool = True):
        hashprice, weight = expected_margin_path(outlook)
        order = np.argsort(-hashprice, kind="stable")
        self._h, w = hashprice[order], weight[order]
        self._revenue = np.cumsum(w * self._h)
        self._weight = np.cumsum(w)
        self._below = np.append(self._h[1:], 0.0)  # lower end of each piece
        self._fixed = float(weight.sum()) * fixed_usd_per_th_day(outlook, new_site)
        self._usd_per_th_day_per_usd_mwh = power_cost_usd_per_th_day(outlook.frontier_jth, 1.0)

    def power_usd_mwh(self, machine_usd_per_th: float) -> float:
        """The power price ($/MWh) at which a machine bought at ``machine_usd_per_th`` has a
        zero NPV; 0 when it does not pay even with free power."""
        upfront = machine_usd_per_th + self._fixed
        if self._revenue[-1] <= upfront:
            return 0.0
        cost = (self._revenue - upfront) / self._weight
        k = int(np.argmax(cost >= self._below))
        return min(float(cost[k]), float(self._h[k])) / self._usd_per_th_day_per_usd_mwh


def breakeven_power_usd_mwh(
    outlook: EntryOutlook, machine_usd_per_th: float, new_site: bool = True
) -> float:
    """The power price ($/MWh) at which a new frontier machine bought at ``machine_usd_per_th``
    has a zero NPV (on a new site, or on one the agent has); 0 when it does not pay even with
    free power (:class:`BreakevenCurve`)."""
    return BreakevenCurve(outlook, new_site).power_usd_mwh(machine_usd_per_th)


def weighted_cost_of_capital(equity_rate: float, debt_rate: float, financed_share: float):
    """An entrant's discount rate a year: ``financed_share`` of the price borrowed at
    ``debt_rate``, the rest equity at ``equity_rate``."""
    return financed_share * debt_rate + (1.0 - financed_share) * equity_rate


def new_order_table() -> Table:
    """Machines ordered by fringe agents, not yet delivered."""
    return Table(
        {
            "owner": np.int64,
            "hashrate_ths": np.float64,
            "efficiency_jth": np.float64,
            "site_usd_mwh": np.float64,  # site power price before the market factor
            "cost_usd": np.float64,  # paid on delivery
            "arrival_day": np.float64,  # days since the scenario start
        },
        capacity=64,
    )


class Fringe:
    """Power supply, orders and deliveries of the fringe agents (rows ``agents`` of the model).

    Parameters
    ----------
    config:
        The scenario's ``fringe`` section.
    agents:
        Model indices of the fringe agents.
    site_usd_mwh:
        Each agent's power price, $/MWh before the market factor (its class price, spread).
    initial_mw:
        MW of each agent's initial fleet.
    start_date:
        The scenario's first day (day 0 of ``ai_power``'s dates).
    anticipate_pipeline:
        ``expectations.anticipate_pipeline``: entrants expect the machines on order to raise
        the difficulty (:meth:`pipeline_factor`).
    """

    def __init__(
        self,
        config: FringeConfig,
        agents: np.ndarray,
        site_usd_mwh: np.ndarray,
        initial_mw: np.ndarray,
        start_date: dt.date,
        anticipate_pipeline: bool = False,
    ):
        self.config = config
        self._ai_days = np.array([(d - start_date).days for d, _ in config.ai_power], dtype=float)
        self._ai_mw = np.array([mw for _, mw in config.ai_power], dtype=float)
        self.agents = np.asarray(agents, dtype=np.int64)
        self.site_usd_mwh = np.asarray(site_usd_mwh, dtype=float)
        self.capacity_mw = config.supply_headroom * np.asarray(initial_mw, dtype=float)
        #: MW of sites each agent has built (its initial fleet's, then every order's beyond them)
        self.site_mw = np.array(initial_mw, dtype=float)
        self.anticipate_pipeline = anticipate_pipeline
        self.orders = new_order_table()
        self.ai_taken_mw = 0.0  # MW of the fringe's power capacity AI data centres took so far

    # ------------------------------------------------------------------ supply
    def ai_power_mw(self, day: float) -> float:
        """MW of the fringe's power AI data centres take by ``day`` (``ai_power``, linear
        between its points, flat beyond them; 0 without a path)."""
        if self._ai_days.size == 0:
            return 0.0
        return float(np.interp(day, self._ai_days, self._ai_mw))

    def grow_capacity(self, held_mw: np.ndarray, years: float, day: float) -> None:
        """Advance each agent's capacity (MW) by ``years`` to ``day``: exogenous growth, then
        build-out of a share ``1 - exp(-supply_build_per_year x years)`` of the MW held beyond
        it, all agents together at most ``build_mw_per_year x years`` (pro rata); then AI data
        centres take what their demand grew by since the last epoch (pro rata to capacity)."""
        ai_mw = self.ai_power_mw(day)
        cfg = self.config
        self.capacity_mw *= math.exp(cfg.supply_growth_per_year * years)
        share = -math.expm1(-cfg.supply_build_per_year * years)
        wanted = share * np.maximum(held_mw - self.capacity_mw, 0.0)
        bound = cfg.build_mw_per_year * years
        total = float(wanted.sum())
        self.capacity_mw += wanted * (bound / total) if total > bound else wanted
        taken = ai_mw - self.ai_taken_mw
        if taken > 0.0:
            capacity = float(self.capacity_mw.sum())
            self.capacity_mw *= max(1.0 - taken / capacity, 0.0) if capacity > 0 else 1.0
            self.ai_taken_mw = ai_mw

    def marginal_usd_mwh(self, held_mw: np.ndarray) -> np.ndarray:
        """Price of the next MW for an agent holding ``held_mw``, $/MWh before the market
        factor."""
        excess = np.maximum(held_mw / np.maximum(self.capacity_mw, 1e-300), 1.0)
        return self.site_usd_mwh * libm.power(excess, 1.0 / self.config.supply_elasticity)

    def supplied_mw(self, price_usd_mwh: float) -> np.ndarray:
        """MW each agent's supply offers at ``price_usd_mwh`` (before the market factor)."""
        ratio = price_usd_mwh / self.site_usd_mwh
        with np.errstate(over="ignore"):  # an unbounded price offers unbounded MW (inf)
            offered = self.capacity_mw * libm.power(ratio, self.config.supply_elasticity)
        return np.where(ratio >= 1.0, offered, 0.0)

    def held_mw(self, fleet_mw: np.ndarray) -> np.ndarray:
        """MW each fringe agent holds: its fleet (running or mothballed) and its orders."""
        return (fleet_mw + self.on_order_mw(fleet_mw.size))[self.agents]

    # ------------------------------------------------------------------ orders
    def place_in_transit(
        self,
        fleet_mw: np.ndarray,
        installed_ths: float,
        frontier_jth: float,
        machine_usd_per_th: float,
        lead_time_days: float,
    ) -> None:
        """Orders placed before the start and not yet delivered: ``installed_ths x (exp(g x
        lead_time_days / YEAR_DAYS) - 1)`` TH/s of frontier machines (``g`` =
        ``in_transit_growth_per_year``: the network grew at rate ``g`` over the last lead time),
        split over the agents in proportion to their fleet's MW and arriving in equal tranches,
        one every TRANCHE_DAYS, over the first lead time, at the start's price (USD per TH/s).

        ``fleet_mw``: MW of every model agent's fleet; ``installed_ths``: the network's TH/s.
        """
        cfg = self.config
        growth = cfg.in_transit_growth_per_year * lead_time_days / YEAR_DAYS
        total_ths = installed_ths * math.expm1(growth)
        held = fleet_mw[self.agents]
        if total_ths <= 0.0 or held.sum() <= 0.0:
            return
        tranches = max(int(np.ceil(lead_time_days / TRANCHE_DAYS)), 1)
        ths = total_ths * held / held.sum() / tranches
        mw = mw_of(ths, frontier_jth)
        self.site_mw += tranches * mw  # their sites are built while they ship
        for k in range(1, tranches + 1):
            self.orders.append(
                owner=self.agents,
                hashrate_ths=ths,
                efficiency_jth=frontier_jth,
                site_usd_mwh=self.marginal_usd_mwh(held + (k - 0.5) * mw),
                cost_usd=ths * machine_usd_per_th,
                arrival_day=lead_time_days * k / tranches,
            )

    def pipeline_factor(self, installed_ths: float) -> float:
        """The hashprice entrants expect once the machines on order run, over today's, when the
        network has ``installed_ths`` TH/s: ``installed / (installed + on order)`` with
        ``anticipate_pipeline`` (the difficulty rises with the hashrate the orders add, at the
        same BTC price and fees), else 1."""
        if not self.anticipate_pipeline or installed_ths <= 0.0:
            return 1.0
        return installed_ths / (installed_ths + float(self.orders.hashrate_ths.sum()))

    def on_order_mw(self, n: int) -> np.ndarray:
        """MW of machines on order, per model agent (length ``n``)."""
        o = self.orders
        return sum_by_owner(o.owner, mw_of(o.hashrate_ths, o.efficiency_jth), n)

    def order(
        self,
        outlook: EntryOutlook,
        market: AsicMarket,
        running_mw: np.ndarray,
        market_factor: float,
        day: float,
    ) -> tuple[float, float]:
        """Place this epoch's orders at the machine market's clearing price; returns the
        break-even power price of entry on a new site at that price ($/MWh) and the price (USD
        per W).

        At a machine price ``P`` each agent wants the larger of what its supply offers at the
        new-site break-even ``p*`` and, up to its sites' MW, what it offers at the renewal
        break-even ``p_r`` (:class:`BreakevenCurve`); it orders ``adjustment_per_epoch`` of the
        gap between that and the MW it runs or has on order. The market
        (:meth:`sim.machines.AsicMarket.clear`) finds the ``P`` at which those orders, queued
        behind the backlog, price themselves at ``P``. Orders arrive after the queue ahead of
        them and half of the epoch's own (first in, first out), at the price they were placed
        at, sited at the marginal price of the MW they occupy; the sites an order needs beyond
        the agent's are built (``site_mw``).

        ``running_mw``: MW of every model agent's running units (a mothballed unit's site
        can be renewed); ``market_factor``: today's power price over its base level
        (fringe contracts follow it); ``day``: days since the start.
        """
        cfg, jth = self.config, outlook.frontier_jth
        new_site, own_site = BreakevenCurve(outlook), BreakevenCurve(outlook, new_site=False)
        active = self.held_mw(running_mw)
        factor = max(market_factor, 1e-300)

        def orders_mw(usd_per_w: float) -> np.ndarray:
            price = usd_per_w * jth
            entry = self.supplied_mw(new_site.power_usd_mwh(price) / factor)
            renewal = self.supplied_mw(own_site.power_usd_mwh(price) / factor)
            wanted = np.maximum(entry, np.minimum(renewal, self.site_mw))
            return cfg.adjustment_per_epoch * np.maximum(wanted - active, 0.0)

        total_mw, usd_per_w = market.clear(lambda price: float(orders_mw(price).sum()), day)
        breakeven = new_site.power_usd_mwh(usd_per_w * jth)
        if total_mw <= 0.0:
            return breakeven, usd_per_w
        order_mw = orders_mw(usd_per_w)
        if not np.isfinite(order_mw).all():  # unbounded demand shares what the factories take
            order_mw = np.isinf(order_mw).astype(float)
        order_mw *= total_mw / max(float(order_mw.sum()), 1e-300)  # the bisection's tolerance
        arrival = day + market.lead_time_days(day, 0.5 * total_mw)
        market.book(total_mw)
        take = order_mw > 0
        order_ths = ths_of(order_mw, jth)
        site = self.marginal_usd_mwh(active + 0.5 * order_mw)
        self.site_mw = np.maximum(self.site_mw, active + order_mw)
        self.orders.append(
            owner=self.agents[take],
            hashrate_ths=order_ths[take],
            efficiency_jth=jth,
            site_usd_mwh=site[take],
            cost_usd=order_ths[take] * usd_per_w * jth,
            arrival_day=arrival,
        )
        return breakeven, usd_per_w

    def room_mw(self, n: int) -> np.ndarray:
        """MW of sites each model agent (length ``n``) has for its fleet once the machines
        still on order arrive: its sites less its orders; infinite for public miners."""
        room = np.full(n, np.inf)
        room[self.agents] = self.site_mw - self.on_order_mw(n)[self.agents]
        return room

    def lose_sites(self, lost_mw: np.ndarray) -> None:
        """Sites of ``lost_mw`` MW per model agent are gone (an outage's machines lost for good
        took their sites with them)."""
        self.site_mw = np.maximum(self.site_mw - lost_mw[self.agents], 0.0)

    def deliveries(self, day: float) -> Table:
        """Remove and return the orders that arrive by ``day`` (a table like the order table)."""
        due = self.orders.arrival_day <= day
        arrived = new_order_table()
        if np.any(due):
            o = self.orders
            arrived.append(**{name: getattr(o, name)[due] for name in o.columns})
            o.keep(~due)
        return arrived
