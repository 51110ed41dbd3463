"""The competitive rest of the network (the fringe): free entry against power supply curves.

Each fringe agent is one slice of a power-cost class. Its **power supply** offers a capacity
(MW; at the start ``supply_headroom`` x its initial fleet's MW) at the agent's power price
``p_a`` ($/MWh, before the power market's daily factor); MW beyond it cost more: the marginal
price of the m-th MW is ``p_a x max(1, m / capacity)^(1 / elasticity)``. Capacity grows by
``supply_growth_per_year`` (exogenous) and is built out toward the MW miners hold beyond it at
``supply_build_per_year`` (power developers answer scarcity prices with a lag). Cheap power is
finite at any time, so the *level* the network can reach (where entry stops paying) and the
*speed* at which it gets there (orders, deliveries, build-out) are set separately.

Every epoch (:meth:`Fringe.order`):

1. **Break-even power price.** The highest $/MWh ``p*`` at which a new frontier machine, bought
   now at its market price (:meth:`sim.hardware.HardwareMarket.new_price_usd_per_th`), housed on
   a new site (its build cost as an annuity over the site's life, plus other operating cost:
   fixed costs it bears whether it runs or not) and energised after ``lead_time_days``, has a
   non-negative net present value over its useful life on the expected hashprice path:
   today's hashprice falling at ``expected_hashprice_decline`` a year (plus, with adaptive
   expectations, ``expected_difficulty_weight`` x the difficulty's trailing growth:
   :meth:`Fringe.expected_decline`), cut at the scheduled halving by ``halving_pass_through``
   of the subsidy's cut (in logs), with ``anticipate_pipeline`` cut by the difficulty the
   machines on order will add (:meth:`Fringe.pipeline_factor`), each day's margin floored at
   zero (a unit curtails rather than mine at a loss), discounted at ``discount_rate``
   (:func:`breakeven_power_usd_mwh`).
2. **Profitable MW.** Each agent's supply offers ``capacity x (p* / p_a)^elasticity`` MW at
   ``p*`` (none if ``p* < p_a``); it orders ``adjustment_per_epoch`` of the gap between that and
   the MW it holds (running, mothballed and on order).
3. **Deliveries.** All orders of an epoch together are capped network-wide (scaled down pro
   rata): manufacturing and logistics limit how fast the network can grow, whatever the
   margins (:meth:`Fringe.delivery_cap_ths`). With ``delivery_cap = "installed"`` the cap is
   ``max_deliveries_per_epoch`` x the installed network TH/s; with ``"power"`` it is
   ``max_deliveries_mw_per_year`` MW of frontier machines a year, whatever the network's size.
4. Orders arrive ``lead_time_days`` later (:meth:`Fringe.deliveries`) at the price they were
   ordered at, sited at the marginal price of the MW they occupy.

At the start the network has machines in transit, ordered in the lead time before it
(:meth:`Fringe.place_in_transit`): without them nothing would arrive for a whole lead time, and
the orders of the first epochs would all arrive together one lead time later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.consensus import RETARGET_INTERVAL, TARGET_SPACING
from sim.tables import Table, sum_by_owner
from sim.units import DAY_S, YEAR_DAYS, mw_of, power_cost_usd_per_th_day, ths_of

if TYPE_CHECKING:
    from sim.input.schema import Fringe as FringeConfig

#: Points of the expected-hashprice path per year of machine life (NPV quadrature).
PATH_POINTS_PER_YEAR = 12
#: Days between two tranches of the machines in transit at the start: one epoch at 600 s blocks.
TRANCHE_DAYS = RETARGET_INTERVAL * TARGET_SPACING / DAY_S


@dataclass(frozen=True)
class EntryOutlook:
    """What an entrant knows when it prices a new frontier machine (scalars, units in names)."""

    hashprice_usd_per_th_day: float  # now, at the coming epoch's difficulty and subsidy
    frontier_jth: float  # best machine on sale
    machine_usd_per_th: float  # its price
    fixed_usd_per_th_day: float  # site and other operating costs it bears whether it runs or not
    expected_decline: float  # annual log rate at which entrants expect hashprice to fall
    days_to_halving: float  # from now to the next halving (600 s blocks)
    halving_factor: float  # expected hashprice after / before the halving
    lead_time_days: float
    life_years: float
    discount_rate: float  # annual
    pipeline_factor: float = 1.0  # expected hashprice once the machines on order run / now


def expected_margin_path(outlook: EntryOutlook) -> tuple[np.ndarray, np.ndarray]:
    """Expected hashprice (USD per TH/s per day) at the midpoints of the machine's life, and the
    discounted days each point stands for (so that NPV = sum(weight x margin) - price)."""
    o = outlook
    n = max(int(np.ceil(o.life_years * PATH_POINTS_PER_YEAR)), 1)
    step_days = o.life_years * YEAR_DAYS / n
    days = o.lead_time_days + step_days * (np.arange(n) + 0.5)
    years = days / YEAR_DAYS
    halving = np.where(days < o.days_to_halving, 1.0, o.halving_factor)
    hashprice = (
        o.hashprice_usd_per_th_day
        * o.pipeline_factor
        * halving
        * libm.exp(-o.expected_decline * years)
    )
    weight = step_days * libm.exp(-o.discount_rate * years)
    return hashprice, weight


def upfront_usd_per_th(outlook: EntryOutlook, weight: np.ndarray) -> float:
    """The machine's price plus the present value of its fixed costs over its life, USD/TH;
    ``weight``: the discounted days of :func:`expected_margin_path`'s points."""
    return outlook.machine_usd_per_th + float(weight.sum()) * outlook.fixed_usd_per_th_day


def entry_npv_usd_per_th(outlook: EntryOutlook, power_usd_mwh: float) -> float:
    """NPV of one TH/s of a new frontier machine at ``power_usd_mwh``, USD."""
    hashprice, weight = expected_margin_path(outlook)
    cost = power_cost_usd_per_th_day(outlook.frontier_jth, power_usd_mwh)
    margin = float(np.sum(weight * np.maximum(hashprice - cost, 0.0)))
    return margin - upfront_usd_per_th(outlook, weight)


def breakeven_power_usd_mwh(outlook: EntryOutlook) -> float:
    """The power price ($/MWh) at which a new frontier machine's NPV is zero; 0 when it does not
    pay even with free power.

    With ``x`` the power cost per TH/s-day, NPV(x) = sum over points with hashprice ``h_i > x``
    of ``w_i (h_i - x)`` minus the upfront cost ``U`` (price and fixed costs,
    :func:`upfront_usd_per_th`): piecewise linear and falling in ``x``. Sorting the points by
    hashprice (highest first) with running sums ``W_k = sum w``, ``S_k = sum w h``, the root on
    the k-th piece is ``x = (S_k - U) / W_k``; it is the one that falls inside its piece.
    """
    hashprice, weight = expected_margin_path(outlook)
    upfront = upfront_usd_per_th(outlook, weight)
    order = np.argsort(-hashprice, kind="stable")
    h, w = hashprice[order], weight[order]
    revenue = np.cumsum(w * h)
    if revenue[-1] <= upfront:
        return 0.0
    cost = (revenue - upfront) / np.cumsum(w)
    below = np.append(h[1:], 0.0)  # lower end of each piece
    k = int(np.flatnonzero((cost >= below) & (cost <= h))[0])
    return float(cost[k]) / power_cost_usd_per_th_day(outlook.frontier_jth, 1.0)


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
    """

    def __init__(
        self,
        config: FringeConfig,
        agents: np.ndarray,
        site_usd_mwh: np.ndarray,
        initial_mw: np.ndarray,
    ):
        self.config = config
        self.agents = np.asarray(agents, dtype=np.int64)
        self.site_usd_mwh = np.asarray(site_usd_mwh, dtype=float)
        self.capacity_mw = config.supply_headroom * np.asarray(initial_mw, dtype=float)
        self.orders = new_order_table()
        self.trend_days, self.trend_log_difficulty = [], []

    # ------------------------------------------------------------------ expectations
    def start_difficulty_trend(self, difficulty: float) -> None:
        """Start the trail of difficulties entrants extrapolate at the run's start
        ``difficulty``: its window before the start is a straight line in log difficulty
        rising at ``prior_difficulty_growth_per_year``."""
        cfg = self.config
        window = cfg.difficulty_trend_days
        log_d = float(np.log(difficulty))
        self.trend_days = [-window, 0.0]
        self.trend_log_difficulty = [
            log_d - cfg.prior_difficulty_growth_per_year * window / YEAR_DAYS,
            log_d,
        ]

    def expected_decline(self, day: float, difficulty: float) -> float:
        """The annual log rate at which entrants expect hashprice to fall, from ``day`` (days
        since the start) when the coming epoch's difficulty is ``difficulty``:
        ``expected_hashprice_decline`` plus ``expected_difficulty_weight`` x the difficulty's
        log growth a year over the last ``difficulty_trend_days`` (adaptive expectations; BTC's
        price is expected flat beyond the constant). Adds the point to the trail (days must not
        decrease from call to call); with no weight, the constant alone (no trail kept)."""
        cfg = self.config
        if cfg.expected_difficulty_weight == 0:
            return cfg.expected_hashprice_decline
        self.trend_days.append(float(day))
        self.trend_log_difficulty.append(float(np.log(difficulty)))
        window = cfg.difficulty_trend_days
        past = np.interp(day - window, self.trend_days, self.trend_log_difficulty)
        growth = (self.trend_log_difficulty[-1] - past) * YEAR_DAYS / window
        return cfg.expected_hashprice_decline + cfg.expected_difficulty_weight * growth

    # ------------------------------------------------------------------ supply
    def grow_capacity(self, held_mw: np.ndarray, years: float) -> None:
        """Advance each agent's capacity (MW) by ``years``: exogenous growth, then build-out of
        a share ``1 - exp(-supply_build_per_year x years)`` of the MW held beyond it."""
        cfg = self.config
        self.capacity_mw *= np.exp(cfg.supply_growth_per_year * years)
        built = -np.expm1(-cfg.supply_build_per_year * years)
        self.capacity_mw += built * np.maximum(held_mw - self.capacity_mw, 0.0)

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
    ) -> None:
        """Orders placed before the start and not yet delivered: ``installed_ths x (exp(g x
        lead_time_days / YEAR_DAYS) - 1)`` TH/s of frontier machines (``g`` =
        ``in_transit_growth_per_year``: the network grew at rate ``g`` over the last lead time),
        split over the agents in proportion to their fleet's MW and arriving in equal tranches,
        one every TRANCHE_DAYS, over the first lead time, at the start's price (USD per TH/s).

        ``fleet_mw``: MW of every model agent's fleet; ``installed_ths``: the network's TH/s.
        """
        cfg = self.config
        growth = cfg.in_transit_growth_per_year * cfg.lead_time_days / YEAR_DAYS
        total_ths = installed_ths * float(np.expm1(growth))
        held = fleet_mw[self.agents]
        if total_ths <= 0.0 or held.sum() <= 0.0:
            return
        tranches = max(int(np.ceil(cfg.lead_time_days / TRANCHE_DAYS)), 1)
        ths = total_ths * held / held.sum() / tranches
        mw = mw_of(ths, frontier_jth)
        for k in range(1, tranches + 1):
            self.orders.append(
                owner=self.agents,
                hashrate_ths=ths,
                efficiency_jth=frontier_jth,
                site_usd_mwh=self.marginal_usd_mwh(held + (k - 0.5) * mw),
                cost_usd=ths * machine_usd_per_th,
                arrival_day=cfg.lead_time_days * k / tranches,
            )

    def pipeline_factor(self, installed_ths: float) -> float:
        """The hashprice entrants expect once the machines on order run, over today's, when the
        network has ``installed_ths`` TH/s: ``installed / (installed + on order)`` with
        ``anticipate_pipeline`` (the difficulty rises with the hashrate the orders add, at the
        same BTC price and fees), else 1."""
        if not self.config.anticipate_pipeline or installed_ths <= 0.0:
            return 1.0
        return installed_ths / (installed_ths + float(self.orders.hashrate_ths.sum()))

    def on_order_mw(self, n: int) -> np.ndarray:
        """MW of machines on order, per model agent (length ``n``)."""
        o = self.orders
        return sum_by_owner(o.owner, mw_of(o.hashrate_ths, o.efficiency_jth), n)

    def delivery_cap_ths(self, installed_ths: float, frontier_jth: float, years: float) -> float:
        """The most TH/s of frontier machines (``frontier_jth`` J/TH) the whole fringe may order
        in an epoch of ``years`` years, when the network has ``installed_ths`` TH/s.

        ``delivery_cap = "installed"``: ``max_deliveries_per_epoch x installed_ths``, a cap that
        grows with the network. ``"power"``: ``max_deliveries_mw_per_year x years`` MW, i.e.
        that x 1e6 / ``frontier_jth`` TH/s. Chip supply (wafer allocation) is bounded in silicon
        area, and a chip's power per area changes little between process nodes, so the MW that
        can be delivered a year is bounded whatever the network's size; in TH/s the cap grows
        as machines get more efficient.
        """
        cfg = self.config
        if cfg.delivery_cap == "power":
            return ths_of(cfg.max_deliveries_mw_per_year * years, frontier_jth)
        return cfg.max_deliveries_per_epoch * installed_ths

    def order(
        self,
        outlook: EntryOutlook,
        fleet_mw: np.ndarray,
        market_factor: float,
        installed_ths: float,
        day: float,
        years: float,
    ) -> float:
        """Place this epoch's orders; returns the break-even power price, $/MWh.

        ``fleet_mw``: MW of every model agent's fleet (running and mothballed); ``market_factor``:
        today's power price over its base level (fringe contracts follow it); ``installed_ths``:
        the network's installed TH/s and ``years`` the epoch's length (they cap deliveries,
        :meth:`delivery_cap_ths`); ``day``: days since the start.
        """
        cfg = self.config
        breakeven = breakeven_power_usd_mwh(outlook)
        held = self.held_mw(fleet_mw)
        wanted_mw = self.supplied_mw(breakeven / max(market_factor, 1e-300))
        order_mw = cfg.adjustment_per_epoch * np.maximum(wanted_mw - held, 0.0)
        order_ths = ths_of(order_mw, outlook.frontier_jth)
        total = float(order_ths.sum())
        cap = self.delivery_cap_ths(installed_ths, outlook.frontier_jth, years)
        if np.isinf(total) and total > cap:
            # unbounded orders (an infinite break-even price) share the cap, as in the limit
            unbounded = np.isinf(order_ths)
            order_ths = np.where(unbounded, cap / np.count_nonzero(unbounded), 0.0)
            order_mw = mw_of(order_ths, outlook.frontier_jth)
        elif total > cap:
            order_ths *= cap / total
            order_mw *= cap / total
        take = order_ths > 0
        if np.any(take):
            site = self.marginal_usd_mwh(held + 0.5 * order_mw)
            self.orders.append(
                owner=self.agents[take],
                hashrate_ths=order_ths[take],
                efficiency_jth=outlook.frontier_jth,
                site_usd_mwh=site[take],
                cost_usd=order_ths[take] * outlook.machine_usd_per_th,
                arrival_day=day + cfg.lead_time_days,
            )
        return breakeven

    def deliveries(self, day: float) -> Table:
        """Remove and return the orders that arrive by ``day`` (a table like the order table)."""
        due = self.orders.arrival_day <= day
        arrived = new_order_table()
        if np.any(due):
            o = self.orders
            arrived.append(**{name: getattr(o, name)[due] for name in o.columns})
            o.keep(~due)
        return arrived
