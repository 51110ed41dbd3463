"""Set-up of a run from a validated scenario and a seed: parameters, state and world.

Agents are numbered public miners first (in the miners table's order), then each fringe class's
agents; the opening balance sheet is marked at the first day's BTC price.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

from sim import consensus, fleet, hosting
from sim.compiled import start_compiler
from sim.engine.params import Params, build_params
from sim.engine.record import Recorder
from sim.engine.state import State, assets_usd
from sim.engine.world import World
from sim.expectations import DifficultyTrail
from sim.finance import INSTRUMENT_NAMES, BalanceSheets, EquityMarket, debt_by_owner, new_debt_table
from sim.fringe import Fringe
from sim.hardware import HardwareMarket
from sim.machines import AsicMarket
from sim.markets import Markets
from sim.outages import OutageSchedule
from sim.units import YEAR_DAYS

#: Days of market paths drawn before the first epoch (extended as the run needs).
INITIAL_PATH_DAYS = 64
#: Epochs expected per day of horizon (two-week epochs, with a quarter to spare); the recorder
#: grows beyond it if needed.
EXPECTED_EPOCH_DAYS = 14


def date_to_day(day, start: dt.date) -> float:
    """Days from ``start`` to ``day`` (a date or an ISO date string)."""
    return float((dt.date.fromisoformat(str(day)[:10]) - start).days)


def build(spec, seed: int, explain_decisions: bool = False) -> tuple[Params, State, World]:
    """Parameters, opening state and world of scenario ``spec`` (a validated
    :class:`sim.input.scenario.Scenario`) with root seed ``seed``; ``explain_decisions`` makes
    the policies also return their reasons (sim.policies.Reasons).

    ``numpy.random.SeedSequence(seed)`` is spawned into two streams: the markets' and the
    kernel's, so results depend only on (scenario, seed)."""
    start_compiler()
    cfg = spec.config
    market_seq, kernel_seq = np.random.SeedSequence(seed).spawn(2)
    kernel_rng = np.random.default_rng(kernel_seq)
    start = cfg.scenario.start_date
    markets = Markets(cfg.market, start, market_seq, spec.btc_replay)
    markets.extend_to(INITIAL_PATH_DAYS)
    hardware = HardwareMarket(cfg.hardware, start)
    machines = AsicMarket(cfg.machines, start)
    classes = [(c, k) for c in cfg.fringe.classes for k in range(c.agents)]
    n_public = len(spec.miners)
    params = build_params(
        cfg,
        n_public + len(classes),
        n_public,
        explain_decisions,
        list(spec.miners["name"]),
        spec.miners,
    )
    state = _opening_state(spec, params, classes, markets, hardware, machines)
    equity_market = EquityMarket(cfg.market.rates, state.share_price_usd, state.books.shares)
    outages = OutageSchedule(cfg.fringe.outages, start)
    world = World(markets, hardware, machines, equity_market, kernel_rng, outages)
    return params, state, world


def _opening_state(
    spec, params: Params, classes, markets: Markets, hardware, machines: AsicMarket
) -> State:
    cfg, n, n_public = spec.config, params.n, params.n_public
    start = params.start_date
    public = spec.miners
    names = [*public["name"], *(f"{klass.name}-{k + 1}" for klass, k in classes)]
    policies = [cfg.miners.policies.get(name, cfg.miners.policy) for name in public["name"]]
    policies += ["fringe"] * len(classes)
    books = BalanceSheets.zeros(n)
    books.shares[:] = 1.0
    horizon_days = (cfg.scenario.end_date - start).days
    state = State(
        names=names,
        kinds=["public"] * n_public + ["fringe"] * len(classes),
        policy_names=np.array(policies),
        policy_groups={  # public miners' policies (the fringe follows sim.fringe)
            p: np.flatnonzero(np.array(policies) == p) for p in dict.fromkeys(policies[:n_public])
        },
        is_public=np.arange(n) < n_public,
        books=books,
        capacity_mw=np.full(n, np.inf),
        power_usd_mwh=np.zeros(n),
        power_basis=np.zeros(n),
        contract_end_day=np.full(n, np.inf),
        share_price_usd=np.zeros(n),
        fleet=fleet.new_fleet_table(),
        debt=new_debt_table(),
        scheduled_debt=new_debt_table(),  # instruments issued after the start date
        scheduled_issue_day=[],
        contracts=hosting.new_contract_table(),
        fringe=None,
        bits=cfg.chain.bits or consensus.difficulty_to_bits(cfg.chain.difficulty),
        height=cfg.chain.height // consensus.RETARGET_INTERVAL * consensus.RETARGET_INTERVAL,
        time_s=params.day0_time,
        recorder=Recorder(
            n,
            int(horizon_days / EXPECTED_EPOCH_DAYS * 1.25) + 4,
            names,
            ["public"] * n_public + ["fringe"] * len(classes),
            np.arange(1, n + 1),  # Mesa's agent ids: 1, 2, ... in creation order
        ),
    )
    frontier = float(hardware.frontier_jth(0))
    resale = functools.partial(machines.resale_usd_per_th, day=0, frontier_jth=frontier)
    for i, row in enumerate(public.itertuples(index=False)):
        state.capacity_mw[i] = row.capacity_mw
        state.power_usd_mwh[i] = row.power_price_usd_mwh
        state.contract_end_day[i] = date_to_day(row.contract_end, start)
        books.cash_usd[i] = row.cash_usd
        books.btc_held[i] = row.btc_held
        books.shares[i] = row.shares_outstanding
        state.share_price_usd[i] = row.share_price_usd
        _add_initial_fleet(
            state, resale, i, row.hashrate_ehs * 1e6, row.efficiency_jth, row.power_price_usd_mwh
        )
    fringe_site = _add_fringe(state, cfg, classes, resale)
    fringe_agents = np.arange(n_public, n)
    fleet_mw = fleet.per_owner(state.fleet, fleet.unit_power_mw(state.fleet), n)
    state.fringe = Fringe(
        cfg.fringe,
        fringe_agents,
        fringe_site,
        fleet_mw[fringe_agents],
        start,
        cfg.expectations.anticipate_pipeline,
    )
    x = cfg.expectations
    state.difficulty_trail = DifficultyTrail(
        x.adaptive_weight,
        x.trend_days,
        x.prior_difficulty_growth_per_year,
        consensus.bits_to_difficulty(state.bits),
    )
    _open_machine_market(state, cfg, machines, fleet_mw, frontier)
    state.power_basis = state.power_usd_mwh / params.power_base_usd_mwh
    index = {name: k for k, name in enumerate(public["name"])}
    _add_debt(state, spec, index, start)
    _add_contracts(
        state,
        spec,
        index,
        start,
        params.ai_capex_usd_per_mw,
        float(markets.ai_lease_usd_per_mw_year[0]),
    )
    assets = assets_usd(state, markets.btc_price_usd[0])
    liabilities = debt_by_owner(state.debt, n)
    books.equity_usd[:] = assets - liabilities  # opening balance sheet
    state.prev_btc_price = float(markets.btc_price_usd[0])
    state.prev_eth_price = float(markets.eth_price_usd[0])
    state.prev_sol_price = float(markets.sol_price_usd[0])
    return state


def _add_fringe(state: State, cfg, classes, resale) -> np.ndarray:
    """Each fringe agent's site power price and opening fleet; returns the site prices, $/MWh
    (a class's price x ``fringe.power_price_scale``, its agents spread evenly over
    ``fringe.power_price_spread`` around it)."""
    spread, scale = cfg.fringe.power_price_spread, cfg.fringe.power_price_scale
    n_public = int(np.count_nonzero(state.is_public))
    fringe_site = np.zeros(len(classes))
    for j, (klass, k) in enumerate(classes):
        i = n_public + j
        position = 2 * k / (klass.agents - 1) - 1 if klass.agents > 1 else 0.0  # -1 .. 1
        price = klass.power_price_usd_mwh * scale * (1 + spread * position)
        fringe_site[j] = price
        state.power_usd_mwh[i] = price
        ths = klass.hashrate_ehs * 1e6 / klass.agents
        must_run = cfg.fringe.must_run_fraction
        _add_initial_fleet(state, resale, i, ths * (1 - must_run), klass.efficiency_jth, price)
        if must_run > 0:
            _add_initial_fleet(
                state, resale, i, ths * must_run, klass.efficiency_jth, price, must_run=True
            )
    return fringe_site


def _add_debt(state: State, spec, index: dict[str, int], start: dt.date) -> None:
    """The scenario's debt instruments: outstanding ones, and those issued later (scheduled)."""
    for row in spec.debt.itertuples(index=False):
        maturity = date_to_day(row.maturity, start)
        issue_day = date_to_day(row.issue_date, start)
        table = state.debt if issue_day <= 0 else state.scheduled_debt
        if issue_day > 0:
            state.scheduled_issue_day.append(issue_day)
        table.append(
            owner=index[row.miner],
            instrument=INSTRUMENT_NAMES[row.instrument],
            principal_usd=row.principal_usd,
            coupon=row.coupon,
            maturity_day=maturity,
            conversion_price_usd=row.conversion_price_usd
            if row.instrument == "convertible"
            else np.nan,
            amortization_usd_per_year=row.amortization_per_year * row.principal_usd,
        )


def _add_contracts(
    state: State,
    spec,
    index: dict[str, int],
    start: dt.date,
    ai_capex: float,
    market_usd_per_mw_year: float,
) -> None:
    """The scenario's AI leases; a hall in service is carried at replacement cost (``ai_capex``
    USD per MW) less its age. Each counts as signed at the opening market lease rate
    (``market_usd_per_mw_year``, USD per IT MW-year)."""
    for row in spec.ai_contracts.itertuples(index=False):
        start_day = date_to_day(row.start, start)
        owner = index[row.miner]
        state.contracts.append(
            owner=owner,
            mw=row.mw,
            usd_per_mw_year=row.usd_per_mw_year,
            start_day=start_day,
            end_day=start_day + row.term_years * YEAR_DAYS,
            capex_remaining_usd=row.mw * row.capex_usd_per_mw if start_day > 0 else 0.0,
            capex_spent_usd=0.0,
            signed_market_usd_per_mw_year=market_usd_per_mw_year,
        )
        if start_day <= 0:
            age_years = -start_day / YEAR_DAYS
            life_left = max(0.0, 1.0 - age_years / hosting.HALL_LIFE_YEARS)
            state.books.ai_ppe_usd[owner] += row.mw * ai_capex * life_left


def _open_machine_market(
    state: State, cfg, machines: AsicMarket, fleet_mw: np.ndarray, frontier: float
) -> None:
    """The factories' opening queue (``machines.initial_backlog_years`` of production: it sets
    the opening price and lead time) and the machines in transit, which arrive over that lead
    time at the opening price."""
    backlog_years = cfg.machines.initial_backlog_years
    machines.book(machines.capacity_mw_per_year(0.0) * backlog_years)
    state.fringe.place_in_transit(
        fleet_mw,
        float(state.fleet.hashrate_ths.sum()),
        frontier,
        machines.usd_per_th(0.0, frontier),
        machines.lead_time_days(0.0),
    )
    state.machine_usd_per_w = machines.usd_per_w(0.0)


def _add_initial_fleet(
    state: State,
    resale,
    owner: int,
    ths: float,
    jth: float,
    site_usd_mwh: float,
    must_run: bool = False,
) -> None:
    """An agent's opening machines (TH/s at J/TH), spread over vintages, valued at resale
    (``resale``: USD per TH/s of units of given J/TH on day 0)."""
    usd_per_th = resale(jth * fleet.VINTAGE_EFFICIENCY_FACTORS)
    fleet.add_vintages(state.fleet, owner, ths, jth, usd_per_th, site_usd_mwh, must_run)


__all__ = ["build", "date_to_day"]
