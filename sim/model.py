"""MiningModel: one Mesa step = one difficulty epoch of 2016 blocks.

Order within a step (docs/architecture.md has the diagram):

1. markets: make sure the daily paths cover the coming epoch; draw the blocks' fees;
2. kernel: simulate the 2016 blocks (arrivals, winners, subsidy, fees, daily curtailment);
3. accounting: revenue, power, opex, AI hosting, debt service, depreciation, failures;
4. decisions: policies propose; the model retires, sells BTC, converts to AI, buys ASICs and
   finances the rest, then meets what is due and the covenant of secured notes through the
   financing waterfall (sell BTC, draw credit if the window is open, issue equity at market,
   sell machines, sell AI halls, sell sites) or records a default;
5. power contracts that expired reprice to the market; valuation; data collection;
6. ``consensus.next_bits`` gives the next epoch's difficulty exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import mesa
import numpy as np

from sim import consensus, fleet, hosting, lifecycle, valuation
from sim.agents import MinerAgent
from sim.errors import MinersimError
from sim.finance import (
    CONVERTIBLE,
    INSTRUMENT_NAMES,
    SECURED,
    BalanceSheets,
    DebtService,
    EquityMarket,
    covenant_cure_usd,
    debt_by_owner,
    issue_notes,
    new_debt_table,
    repay_secured,
    secured_by_owner,
    service_debt,
    write_off_debt,
)
from sim.fringe import EntryOutlook, Fringe
from sim.hardware import HardwareMarket
from sim.input.scenario import Scenario, load_scenario
from sim.kernel import simulate_epoch
from sim.markets import Markets
from sim.policies import POLICIES, Decisions, PolicyContext
from sim.results import ACTIONS, Recorder, RunResult
from sim.tables import sum_by_owner
from sim.units import (
    DAY_S,
    YEAR_DAYS,
    hashprice_usd_per_th_day,
    mw_of,
    power_cost_usd_per_th_day,
)
from sim.units import energy_mwh as unit_energy_mwh

#: Term of a power contract signed at renewal, days (an assumption: 3-year PPAs are typical).
POWER_CONTRACT_TERM_DAYS = 3 * YEAR_DAYS
ACTION_CODE = {name: code for code, name in enumerate(ACTIONS)}
#: Daily market paths are never extended beyond this many days (~270 years): a chain with no
#: hashrate left that never mines again stops there (the run ends as stalled).
MAX_PATH_DAYS = 100_000
#: An epoch ending this long after the scenario's end date ends the run as stalled.
MAX_OVERRUN_YEARS = 10.0
#: Cash shortfalls and covenant cures below this are rounding, not a default, USD.
CASH_TOL_USD = 1e-6
#: Rounds of raising cash and repaying secured notes to cure a covenant breach: an asset sold
#: below book lowers the assets too, so the cure is recomputed after each round.
COVENANT_ROUNDS = 4
#: Fleet columns that scale with the share of a unit sold (the others describe the machines).
EXTENSIVE_FLEET_COLUMNS = ("hashrate_ths", "cost_usd", "book_usd")


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, or 0 where the denominator is 0 (e.g. no hashrate ran)."""
    return numerator / denominator if denominator > 0 else 0.0


def _unix_seconds(day: dt.date) -> float:
    return float(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _date_to_day(day, start: dt.date) -> float:
    return float((dt.date.fromisoformat(str(day)[:10]) - start).days)


@dataclass
class _Offer:
    """What one source of cash in the financing waterfall can raise now, per agent.

    ``book_per_usd`` is the book value of the assets given up per USD raised (1 for BTC, which
    is carried at market; 0 for new shares): it decides how far a USD raised goes towards curing
    a covenant. ``take(usd)`` raises ``usd`` (per agent, at most ``available_usd``).
    """

    available_usd: np.ndarray
    book_per_usd: np.ndarray | float
    take: Callable[[np.ndarray], None]
    action: str


@dataclass
class EpochOutcome:
    """What one epoch produced: scalars for the network, arrays per agent (units in names)."""

    t1: float  # unix seconds of the last block
    n_mined: int
    next_bits: int
    subsidy_sat: int
    fees_sat: int
    epoch_s: float
    btc_price_usd: float  # on the last day
    hashrate_ths: np.ndarray  # mean active TH/s
    energy_mwh: np.ndarray
    power_cost_usd: np.ndarray
    opex_usd: np.ndarray
    depreciation_usd: np.ndarray
    btc_mined: np.ndarray
    revenue_usd: np.ndarray
    ai_noi_usd: np.ndarray


class MiningModel(mesa.Model):
    """The Bitcoin mining industry, one difficulty epoch per step.

    Parameters
    ----------
    scenario:
        A :class:`sim.input.scenario.Scenario`, a path to a scenario TOML file, or a bundled name;
        kept as ``model.spec`` (Mesa reserves ``model.scenario`` for its own scenario objects).
    seed:
        Root seed (an int >= 0). ``numpy.random.SeedSequence(seed)`` is spawned into independent
        streams for the markets and the kernel, so results depend only on (scenario, seed): the
        same in any process, on any backend. Batches derive each run's int seed from one root
        SeedSequence (see sim.batch).
    overrides:
        Dotted-key overrides applied to the scenario (``{"market.btc.volatility": 0.6}``).
    """

    #: Whether the policies also return their reasons (the browser page asks; batch runs do not).
    explain_decisions = False

    def __init__(
        self, scenario: Scenario | str = "demo", seed: int = 0, overrides: dict | None = None
    ):
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
        super().__init__(rng=int(seed))
        self.spec = load_scenario(scenario, overrides)
        self.seed = int(seed)
        cfg = self.spec.config
        self.cfg = cfg
        market_seq, kernel_seq = np.random.SeedSequence(self.seed).spawn(2)
        self.kernel_rng = np.random.default_rng(kernel_seq)
        self.start_date = cfg.scenario.start_date
        self.day0_time = _unix_seconds(self.start_date)
        self.end_time = _unix_seconds(cfg.scenario.end_date)
        self.time_s = self.day0_time
        self.height = cfg.chain.height // consensus.RETARGET_INTERVAL * consensus.RETARGET_INTERVAL
        self.bits = cfg.chain.bits or consensus.difficulty_to_bits(cfg.chain.difficulty)
        self.markets = Markets(cfg.market, self.start_date, market_seq, self.spec.btc_replay)
        self.markets.extend_to(64)
        self.hardware = HardwareMarket(cfg.hardware, self.start_date)
        self.epoch = 0
        self.stalled = False
        self._compacted_units = 0  # fleet size after the last compaction
        self._build_agents()
        self.equity_market = EquityMarket(cfg.market.rates, self.share_price_usd, self.books.shares)
        #: One record per default: epoch, date, miner, cause ("maturity", "debt_service",
        #: "operating" or "covenant"), the unmet USD, and the market state that day.
        self.default_events: list[dict] = []
        horizon_days = (cfg.scenario.end_date - self.start_date).days
        self.recorder = Recorder(
            self.n,
            int(horizon_days / 14 * 1.25) + 4,
            [a.name for a in self.miner_agents],
            [a.kind for a in self.miner_agents],
            [a.unique_id for a in self.miner_agents],
        )
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "Hashrate (EH/s)": lambda m: m.recorder.latest("hashrate_ehs"),
                "Difficulty (T)": lambda m: m.recorder.latest("difficulty") / 1e12,
                "BTC price (USD)": lambda m: m.recorder.latest("btc_price_usd"),
                "Cost to mine, cash (USD)": lambda m: m.recorder.latest("cost_to_mine_cash_usd"),
                "Cost to mine, all-in (USD)": lambda m: m.recorder.latest("cost_to_mine_allin_usd"),
                "Hashprice (USD/PH/day)": lambda m: m.recorder.latest("hashprice_usd_per_ph_day"),
                "Miner debt (USD bn)": lambda m: m.recorder.latest("total_debt_usd") / 1e9,
                "Mining (MW)": lambda m: m.recorder.latest("mining_capacity_mw"),
                "AI (MW)": lambda m: m.recorder.latest("ai_capacity_mw"),
            }
        )

    # ------------------------------------------------------------------ set-up
    def _build_agents(self) -> None:
        cfg, sc = self.cfg, self.spec
        public = sc.miners
        classes = [(c, k) for c in cfg.fringe.classes for k in range(c.agents)]
        n_public, n = len(public), len(public) + len(classes)
        self.n, self.n_public = n, n_public
        self.is_public = np.arange(n) < n_public
        self.capacity_mw = np.full(n, np.inf)
        self.power_usd_mwh = np.zeros(n)
        self.contract_end_day = np.full(n, np.inf)
        self.books = BalanceSheets.zeros(n)
        self.books.shares[:] = 1.0
        self.fleet = fleet.new_fleet_table()
        self.debt = new_debt_table()
        self.contracts = hosting.new_contract_table()
        self.share_price_usd = np.zeros(n)
        self.power_factor = (
            1.0  # trailing 30-day market power price / its base (fringe sites follow it)
        )
        policies = []
        self.miner_agents: list[MinerAgent] = []
        start = self.start_date
        hp0 = self._hashprice_now(self.markets.btc_price_usd[0])
        for i, row in enumerate(public.itertuples(index=False)):
            policy = cfg.miners.policies.get(row.name, cfg.miners.policy)
            self.miner_agents.append(MinerAgent(self, i, row.name, "public", policy))
            policies.append(policy)
            self.capacity_mw[i] = row.capacity_mw
            self.power_usd_mwh[i] = row.power_price_usd_mwh
            self.contract_end_day[i] = _date_to_day(row.contract_end, start)
            self.books.cash_usd[i] = row.cash_usd
            self.books.btc_held[i] = row.btc_held
            self.books.shares[i] = row.shares_outstanding
            self.share_price_usd[i] = row.share_price_usd
            self._add_initial_fleet(
                i, row.hashrate_ehs * 1e6, row.efficiency_jth, hp0, row.power_price_usd_mwh
            )
        spread = cfg.fringe.power_price_spread
        fringe_site = np.zeros(len(classes))
        for j, (klass, k) in enumerate(classes):
            i = n_public + j
            self.miner_agents.append(
                MinerAgent(self, i, f"{klass.name}-{k + 1}", "fringe", "fringe")
            )
            policies.append("fringe")
            position = 2 * k / (klass.agents - 1) - 1 if klass.agents > 1 else 0.0  # -1 .. 1
            price = klass.power_price_usd_mwh * (1 + spread * position)
            fringe_site[j] = price
            self.power_usd_mwh[i] = price
            ths = klass.hashrate_ehs * 1e6 / klass.agents
            must_run = cfg.fringe.must_run_fraction
            self._add_initial_fleet(i, ths * (1 - must_run), klass.efficiency_jth, hp0, price)
            if must_run > 0:
                self._add_initial_fleet(
                    i, ths * must_run, klass.efficiency_jth, hp0, price, must_run=True
                )
        r, life = cfg.fringe.discount_rate, cfg.fringe.site_life_years
        annuity = r / -np.expm1(-r * life) if r > 0 else 1.0 / life  # per USD built, per year
        # An entrant's fixed costs, USD per MW-year: other opex and its new site's build cost as
        # an annuity over the site's life.
        self._entry_fixed_usd_per_mw_year = (
            cfg.miners.opex_usd_per_mw_year + cfg.miners.site_usd_per_mw * annuity
        )
        fringe_agents = np.arange(n_public, n)
        self.fringe = Fringe(
            cfg.fringe,
            fringe_agents,
            fringe_site,
            fleet.per_owner(self.fleet, fleet.unit_power_mw(self.fleet), n)[fringe_agents],
        )
        self.policy_names = np.array(policies)
        self.policy_groups = {  # public miners' policies (the fringe follows sim.fringe)
            p: np.flatnonzero(self.policy_names == p) for p in dict.fromkeys(policies[:n_public])
        }
        self.power_basis = self.power_usd_mwh / self.cfg.market.power.base_usd_mwh
        index = {name: k for k, name in enumerate(public["name"])}
        self.scheduled_debt = new_debt_table()  # instruments issued after the start date
        self.scheduled_issue_day: list[float] = []
        for row in sc.debt.itertuples(index=False):
            maturity = _date_to_day(row.maturity, start)
            issue_day = _date_to_day(row.issue_date, start)
            table = self.debt if issue_day <= 0 else self.scheduled_debt
            if issue_day > 0:
                self.scheduled_issue_day.append(issue_day)
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
        ai_capex = cfg.market.ai.capex_usd_per_mw
        for row in sc.ai_contracts.itertuples(index=False):
            start_day = _date_to_day(row.start, start)
            owner = index[row.miner]
            self.contracts.append(
                owner=owner,
                mw=row.mw,
                usd_per_mw_year=row.usd_per_mw_year,
                start_day=start_day,
                end_day=start_day + row.term_years * YEAR_DAYS,
                capex_remaining_usd=row.mw * row.capex_usd_per_mw if start_day > 0 else 0.0,
                capex_spent_usd=0.0,
            )
            if start_day <= 0:  # a hall in service: carried at replacement cost less age
                age_years = -start_day / YEAR_DAYS
                life_left = max(0.0, 1.0 - age_years / hosting.HALL_LIFE_YEARS)
                self.books.ai_ppe_usd[owner] += row.mw * ai_capex * life_left
        assets, liabilities = (
            self._assets_usd(self.markets.btc_price_usd[0]),
            debt_by_owner(self.debt, n),
        )
        self.books.equity_usd[:] = assets - liabilities  # opening balance sheet
        self.prev_btc_price = float(self.markets.btc_price_usd[0])

    def _add_initial_fleet(
        self,
        owner: int,
        ths: float,
        jth: float,
        hashprice: float,
        site_usd_mwh: float,
        must_run: bool = False,
    ) -> None:
        usd_per_th = self.hardware.resale_usd_per_th(
            jth * fleet.VINTAGE_EFFICIENCY_FACTORS, 0, hashprice
        )
        fleet.add_vintages(self.fleet, owner, ths, jth, usd_per_th, site_usd_mwh, must_run)

    def _hashprice_now(self, btc_price: float) -> float:
        fee = float(self.markets.fee_btc_expected[0])
        return hashprice_usd_per_th_day(
            btc_price,
            consensus.bits_to_difficulty(self.bits),
            consensus.block_subsidy(self.height) / consensus.COIN,
            fee,
        )

    def _assets_usd(self, btc_price: float) -> np.ndarray:
        b = self.books
        fleet_book = fleet.per_owner(self.fleet, self.fleet.book_usd, self.n)
        return b.cash_usd + b.btc_held * btc_price + fleet_book + b.ai_ppe_usd + b.cip_usd

    # ------------------------------------------------------------------ one epoch
    def step(self) -> None:
        if not self.running:
            return
        n, cfg = self.n, self.cfg
        t0 = self.time_s
        day_start = (t0 - self.day0_time) / DAY_S
        hashes_per_block = consensus.bits_to_difficulty(self.bits) * 2.0**32
        self._deliver_fringe_orders(day_start)
        f = self.fleet
        running = fleet.running_ths(f)
        expected_days = 2016 * hashes_per_block / max(running.sum() * 1e12, 1.0) / DAY_S
        self.markets.extend_to(int(day_start + min(3 * expected_days + 30, 40_000)) + 2)
        unit_price = self._unit_power_usd_mwh()
        times, sat_won, active_s, n_mined, subsidy_sat, fees_sat = self._simulate_blocks(
            t0, day_start, hashes_per_block, running, unit_price
        )
        t1 = float(times[n_mined - 1]) if n_mined else t0
        if n_mined == 0 or self._outran_the_horizon(t1):
            self.stalled, self.running = True, False
            return
        day_end = (t1 - self.day0_time) / DAY_S
        epoch_s = max(t1 - t0, 1.0)
        years = epoch_s / DAY_S / YEAR_DAYS
        prices = self.markets.btc_price_usd[int(day_start) : int(day_end) + 1]
        p_avg, p_end = float(prices.mean()), float(prices[-1])
        b = self.books
        alive = ~b.defaulted

        # ---- operations and accounting
        btc_mined = sat_won / consensus.COIN
        energy_mwh_unit = unit_energy_mwh(running, f.efficiency_jth, active_s)
        energy_mwh = fleet.per_owner(f, energy_mwh_unit, n)
        power_cost = fleet.per_owner(f, energy_mwh_unit * unit_price, n)
        hashrate_ths = fleet.per_owner(f, running * active_s, n) / epoch_s
        fleet_mw = fleet.per_owner(f, fleet.unit_power_mw(f), n)
        opex = cfg.miners.opex_usd_per_mw_year * fleet_mw * years
        ai = cfg.market.ai
        flows = hosting.step_hosting(
            self.contracts,
            day_start,
            day_end,
            ai.noi_margin,
            float(self.markets.ai_lease_usd_per_mw_year[int(day_end)]),
            ai.term_years * YEAR_DAYS,
            n,
        )
        self._issue_scheduled_debt(day_end)
        service = service_debt(self.debt, day_end, years, self.share_price_usd, n)
        depreciation = fleet.per_owner(
            f, fleet.depreciate(f, self.hardware.depreciation_fraction(years * YEAR_DAYS)), n
        )
        failures = fleet.per_owner(
            f, fleet.apply_failures(f, self.hardware.survival_factor(years * YEAR_DAYS)), n
        )
        ai_depreciation = b.ai_ppe_usd * min(1.0, years / hosting.HALL_LIFE_YEARS)
        btc_value_before = b.btc_held * self.prev_btc_price
        b.btc_held += btc_mined
        b.cash_usd += (
            flows.noi_usd
            - power_cost
            - opex
            - flows.capex_usd
            - service.interest_usd
            - service.repaid_usd
        )
        b.cip_usd += flows.capex_usd - flows.completed_usd
        b.ai_ppe_usd += flows.completed_usd - ai_depreciation
        b.shares += service.new_shares
        revenue = btc_mined * p_avg
        btc_gain = b.btc_held * p_end - btc_value_before - revenue
        b.equity_usd += (
            revenue
            + btc_gain
            + flows.noi_usd
            - power_cost
            - opex
            - service.interest_usd
            - depreciation
            - failures
            - ai_depreciation
            + service.converted_usd
        )
        self.prev_btc_price = p_end
        action = np.where(alive, ACTION_CODE["mine"], ACTION_CODE["defaulted"]).astype(np.int8)

        # ---- the next epoch's difficulty, and what miners expect from it
        next_bits = consensus.next_bits(self.bits, int(times[0]), int(t1))
        next_height = self.height + n_mined
        day = int(day_end)
        ctx = self._policy_context(next_bits, next_height, p_end, day, btc_mined, fleet_mw)
        decisions = Decisions.zeros(n, explain=self.explain_decisions)
        for name, idx in self.policy_groups.items():
            POLICIES[name].decide(ctx, idx, decisions)
        for field in ("sell_btc", "buy_ths", "convert_mw"):
            getattr(decisions, field)[~alive] = 0.0
        self.last_context, self.last_decisions = ctx, decisions  # for the page's reasons

        self._review_lifecycle(ctx, day)
        self._order_fringe_machines(ctx, next_height, day, years)
        self._sell_btc(decisions.sell_btc, p_end, action)
        self._convert_to_ai(ctx, decisions, day, years, action)
        self._buy_asics(ctx, decisions, day, action)
        self._cover_shortfalls(ctx, service, p_end, day, action)
        self._settle_fringe_cash()
        self._renew_power_contracts(day)

        # ---- valuation and records
        debt = debt_by_owner(self.debt, n)
        mining_cf_year = (btc_mined * p_end - power_cost - opex) / years
        mcap = self._equity_value(mining_cf_year, debt, p_end, day).market_cap_usd
        mcap[b.defaulted | ~self.is_public] = 0.0  # fringe agents are not listed
        self.share_price_usd = np.where(b.shares > 0, mcap / np.maximum(b.shares, 1e-300), 0.0)
        self.equity_market.record(self.share_price_usd, b.shares)
        self._record(
            EpochOutcome(
                t1,
                n_mined,
                next_bits,
                subsidy_sat,
                fees_sat,
                epoch_s,
                p_end,
                hashrate_ths,
                energy_mwh,
                power_cost,
                opex,
                depreciation,
                btc_mined,
                revenue,
                flows.noi_usd,
            ),
            mcap,
            debt,
            action,
        )
        self.bits, self.height, self.time_s = next_bits, next_height, t1
        self.epoch += 1
        self.datacollector.collect(self)
        if n_mined < consensus.RETARGET_INTERVAL:
            self.stalled, self.running = True, False
        if t1 >= self.end_time:
            self.running = False

    def _simulate_blocks(
        self,
        t0: float,
        day_start: float,
        hashes_per_block: float,
        running_ths: np.ndarray,
        unit_price: np.ndarray,
    ):
        """Run the kernel for one epoch; extend the daily paths and redo it if it outran them.

        ``running_ths``: each unit's TH/s (0 when mothballed); ``unit_price``: its $/MWh."""
        f, cfg = self.fleet, self.cfg
        fees = self.markets.draw_block_fees_sat(consensus.RETARGET_INTERVAL, int(day_start))
        curtailable = ~f.must_run if cfg.miners.curtailment else np.zeros(f.n, bool)
        seed = int(self.kernel_rng.integers(0, 2**32))  # numba seeds with 32 bits
        while True:
            out = simulate_epoch(
                consensus.RETARGET_INTERVAL,
                self.height,
                t0,
                hashes_per_block,
                running_ths,
                f.efficiency_jth,
                unit_price,
                f.owner,
                curtailable,
                self.n,
                self.day0_time,
                self.markets.btc_price_usd,
                self.markets.fee_btc_expected,
                fees,
                seed,
                cfg.miners.curtailment_anticipation,
            )
            times, n_mined = out[0], out[3]
            last = times[n_mined - 1] if n_mined else t0
            outran = (last - self.day0_time) / DAY_S >= self.markets.n_days - 1
            if not outran or self.markets.n_days > MAX_PATH_DAYS:
                return out
            self.markets.extend_to(2 * self.markets.n_days)

    def _outran_the_horizon(self, t1: float) -> bool:
        """An epoch that ends beyond the market paths or years after the horizon: the chain has
        in effect stopped (hashrate far too small for its difficulty)."""
        past_paths = (t1 - self.day0_time) / DAY_S >= self.markets.n_days - 1
        return past_paths or t1 > self.end_time + MAX_OVERRUN_YEARS * YEAR_DAYS * DAY_S

    def _issue_scheduled_debt(self, day: float) -> None:
        """Instruments in the scenario issued after its start: cash arrives on the issue date.
        A miner that has defaulted by then issues nothing (its instruments are dropped)."""
        if not self.scheduled_issue_day:
            return
        due = np.asarray(self.scheduled_issue_day) <= day
        if not due.any():
            return
        s = self.scheduled_debt
        issued = due & ~self.books.defaulted[s.owner]  # a defaulted miner's notes never issue
        self.books.cash_usd += sum_by_owner(s.owner[issued], s.principal_usd[issued], self.n)
        self.debt.append(**{name: getattr(s, name)[issued] for name in s.columns})
        s.keep(~due)
        self.scheduled_issue_day = [d for d in self.scheduled_issue_day if d > day]

    # ------------------------------------------------------------------ decisions
    def _policy_context(
        self, next_bits, next_height, btc_price, day, btc_mined, fleet_mw
    ) -> PolicyContext:
        cfg, m, b = self.cfg, self.markets, self.books
        difficulty = consensus.bits_to_difficulty(next_bits)
        fee = float(m.fee_btc_expected[day])
        subsidy = consensus.block_subsidy(next_height) / consensus.COIN
        hp_now = hashprice_usd_per_th_day(btc_price, difficulty, subsidy, fee)
        expected = self._expected_hashprice(hp_now, next_height, subsidy, fee)
        frontier = float(self.hardware.frontier_jth(day))
        assets = self._assets_usd(btc_price)
        monthly_costs = (
            self.power_usd_mwh * fleet_mw * 730.0
        ) + cfg.miners.opex_usd_per_mw_year * fleet_mw / 12
        p = cfg.policy
        return PolicyContext(
            hashprice_usd_per_th_day=hp_now,
            expected_hashprice_usd_per_th_day=expected,
            frontier_jth=frontier,
            new_usd_per_th=self.hardware.new_price_usd_per_th(hp_now, frontier),
            lease_usd_per_mw_year=float(m.ai_lease_usd_per_mw_year[day]),
            ai_enabled=cfg.market.ai.enabled,
            ai_capex_usd_per_mw=cfg.market.ai.capex_usd_per_mw,
            ai_lead_time_days=cfg.market.ai.lead_time_days,
            ai_term_years=cfg.market.ai.term_years,
            ai_noi_margin=cfg.market.ai.noi_margin,
            credit_open=bool(m.credit_open[day]),
            hurdle_payback_days=p.hurdle_payback_days,
            discount_rate=p.discount_rate,
            max_leverage=p.max_leverage,
            max_ai_fraction=p.max_ai_fraction,
            ai_step_fraction=p.ai_step_fraction,
            sell_fraction=p.sell_fraction,
            mining_horizon_years=cfg.hardware.useful_life_years,
            power_usd_mwh=self.power_usd_mwh,
            capacity_mw=self.capacity_mw,
            fleet_mw=fleet_mw,
            ai_mw=hosting.committed_mw(self.contracts, self.n),
            btc_mined=btc_mined,
            cash_usd=b.cash_usd,
            cash_buffer_usd=p.cash_buffer_months * monthly_costs,
            assets_usd=assets,
            debt_usd=debt_by_owner(self.debt, self.n),
            **self._position_for_reasons(day, monthly_costs, assets),  # reported, not decided on
        )

    def _position_for_reasons(self, day: int, monthly_costs: np.ndarray, assets: np.ndarray):
        """PolicyContext fields the policies only report among their reasons (sim.policies);
        none unless ``explain_decisions``."""
        if not self.explain_decisions:
            return {}
        f, n = self.fleet, self.n

        def ratio_each(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # NaN where b is 0
            return np.divide(a, b, out=np.full(n, np.nan), where=b > 0)

        ths = fleet.per_owner(f, f.hashrate_ths, n)
        written_off = 1.0 - ratio_each(
            fleet.per_owner(f, f.book_usd, n), fleet.per_owner(f, f.cost_usd, n)
        )
        maturity = np.full(n, np.inf)
        np.minimum.at(maturity, self.debt.owner, self.debt.maturity_day)
        equity = np.where(
            self._listed(), self.equity_market.capacity_usd(self.share_price_usd), 0.0
        )
        return {
            "fleet_jth": ratio_each(fleet.per_owner(f, f.hashrate_ths * f.efficiency_jth, n), ths),
            "fleet_age_years": written_off * self.cfg.hardware.useful_life_years,
            "monthly_cost_usd": monthly_costs,
            "days_to_maturity": maturity - day,
            "secured_to_assets": ratio_each(secured_by_owner(self.debt, n), assets),
            "covenant_limit": self.cfg.market.rates.covenant_secured_to_assets,
            "equity_open": equity > 0,
        }

    def _expected_hashprice(self, hp_now: float, height: int, subsidy: float, fee: float) -> float:
        """Mean hashprice over the planning horizon: difficulty grows at the expected rate and
        the subsidy halves at the next halving height (600 s blocks assumed for its date)."""
        p = self.cfg.policy
        days = np.linspace(0.0, p.planning_horizon_days, 25)
        next_halving = (height // consensus.HALVING_INTERVAL + 1) * consensus.HALVING_INTERVAL
        halving_day = (next_halving - height) * consensus.TARGET_SPACING / DAY_S
        reward_factor = np.where(
            days < halving_day, 1.0, (subsidy / 2 + fee) / max(subsidy + fee, 1e-300)
        )
        growth = np.exp(-np.log1p(p.expected_difficulty_growth) * days / YEAR_DAYS)
        return float(hp_now * np.mean(reward_factor * growth))

    def _unit_power_usd_mwh(self) -> np.ndarray:
        """Power price of every fleet unit, $/MWh: a public miner's contract price, or a fringe
        unit's site price times today's market factor."""
        f = self.fleet
        return np.where(
            self.is_public[f.owner],
            self.power_usd_mwh[f.owner],
            f.site_usd_mwh * self.power_factor,
        )

    def _review_lifecycle(self, ctx: PolicyContext, day: int) -> None:
        """Mothball units under water, restart those that pay again, scrap long-idle ones
        (sim.lifecycle); restart costs and resale proceeds go through cash and equity."""
        f, b = self.fleet, self.books
        margin = ctx.hashprice_usd_per_th_day - power_cost_usd_per_th_day(
            f.efficiency_jth, self._unit_power_usd_mwh()
        )
        step = lifecycle.review(f, margin, self.cfg.hardware)
        restart_cost = fleet.per_owner(
            f,
            np.where(step.restarted, f.hashrate_ths * self.cfg.hardware.restart_cost_usd_per_th, 0),
            self.n,
        )
        b.cash_usd -= restart_cost
        b.equity_usd -= restart_cost
        if np.any(step.scrapped):
            resale = self.hardware.resale_usd_per_th(
                f.efficiency_jth, day, ctx.hashprice_usd_per_th_day
            )
            proceeds = fleet.per_owner(
                f, np.where(step.scrapped, f.hashrate_ths * resale, 0.0), self.n
            )
            removed = fleet.retire(f, step.scrapped, self.n)
            b.cash_usd += proceeds
            b.equity_usd += proceeds - removed

    def _order_fringe_machines(
        self, ctx: PolicyContext, next_height: int, day: int, years: float
    ) -> None:
        """Grow the fringe's power supply over the epoch (``years`` long) and place its orders
        (sim.fringe); keeps the outlook and the break-even power price of entry ($/MWh) for the
        records."""
        cfg = self.cfg.fringe
        subsidy = consensus.block_subsidy(next_height) / consensus.COIN
        fee = float(self.markets.fee_btc_expected[day])
        next_halving = (next_height // consensus.HALVING_INTERVAL + 1) * consensus.HALVING_INTERVAL
        reward_ratio = (subsidy / 2 + fee) / max(subsidy + fee, 1e-300)
        outlook = EntryOutlook(
            hashprice_usd_per_th_day=ctx.hashprice_usd_per_th_day,
            frontier_jth=ctx.frontier_jth,
            machine_usd_per_th=ctx.new_usd_per_th,
            fixed_usd_per_th_day=self._entry_fixed_usd_per_mw_year
            * mw_of(1.0, ctx.frontier_jth)
            / YEAR_DAYS,
            expected_decline=cfg.expected_hashprice_decline,
            days_to_halving=(next_halving - next_height) * consensus.TARGET_SPACING / DAY_S,
            halving_factor=reward_ratio**cfg.halving_pass_through,
            lead_time_days=cfg.lead_time_days,
            life_years=self.cfg.hardware.useful_life_years,
            discount_rate=cfg.discount_rate,
        )
        f = self.fleet
        fleet_mw = fleet.per_owner(f, fleet.unit_power_mw(f), self.n)
        self.fringe.grow_capacity(self.fringe.held_mw(fleet_mw), years)
        self.entry_outlook = outlook
        self.entry_breakeven_usd_mwh = self.fringe.order(
            outlook,
            fleet_mw,
            self.power_factor,
            float(f.hashrate_ths.sum()),
            day,
        )

    def _deliver_fringe_orders(self, day: float) -> None:
        """Fringe machines ordered earlier and due by ``day`` join the fleet, paid for now."""
        arrived = self.fringe.deliveries(day)
        if arrived.n == 0:
            return
        fleet.add_units(
            self.fleet,
            arrived.owner,
            arrived.hashrate_ths,
            arrived.efficiency_jth,
            arrived.cost_usd,
            arrived.site_usd_mwh,
        )
        self.books.cash_usd -= sum_by_owner(arrived.owner, arrived.cost_usd, self.n)
        self._compact_if_grown()

    def _sell_btc(
        self, wanted: np.ndarray, price: float, action: np.ndarray | None = None
    ) -> np.ndarray:
        """Sell up to ``wanted`` BTC per agent at ``price`` (USD/BTC); returns the BTC sold. BTC
        is carried at market, so a sale moves value from BTC to cash and equity is unchanged."""
        b = self.books
        sold = np.clip(wanted, 0.0, b.btc_held)
        b.btc_held -= sold
        b.cash_usd += sold * price
        if action is not None:
            action[sold > 0] = np.minimum(action[sold > 0], ACTION_CODE["sell_btc"])
        return sold

    def _convert_to_ai(
        self, ctx: PolicyContext, dec: Decisions, day: int, years: float, action: np.ndarray
    ) -> None:
        """Sign AI leases within this epoch's industry demand (shared pro rata to requests),
        funded by spare cash plus secured project notes; displaced machines are scrapped."""
        ai = self.cfg.market.ai
        want = dec.convert_mw
        if not ai.enabled or not np.any(want > 0):
            return
        demand = ai.demand_mw_per_year * years
        want = want * min(1.0, demand / want.sum())
        ltc = self.cfg.policy.ai_loan_to_cost
        loan_ok = dec.may_borrow & ctx.credit_open
        own_share = np.where(loan_ok, 1.0 - ltc, 1.0)
        spare = np.maximum(ctx.cash_usd - ctx.cash_buffer_usd, 0.0)
        own_cost_per_mw = own_share * ai.capex_usd_per_mw
        affordable_mw = np.divide(
            spare, own_cost_per_mw, out=np.full(self.n, np.inf), where=own_cost_per_mw > 0
        )
        mw = np.minimum(want, affordable_mw)
        mw[mw < 1.0] = 0.0  # below 1 MW a hall is not worth signing
        if not np.any(mw > 0):
            return
        owners = np.arange(self.n)
        hosting.sign_contracts(
            self.contracts,
            owners,
            mw,
            ctx.lease_usd_per_mw_year,
            day,
            ai.lead_time_days,
            ai.term_years * YEAR_DAYS,
            ai.capex_usd_per_mw,
        )
        loan = np.where(loan_ok, mw * ai.capex_usd_per_mw * ltc, 0.0)
        self._borrow(loan, SECURED, day, ctx)
        action[mw > 0] = ACTION_CODE["convert_ai"]
        limit = self.capacity_mw - hosting.committed_mw(self.contracts, self.n)
        displaced = fleet.retire_to_fit(self.fleet, limit, self.n)
        self.books.equity_usd -= displaced  # displaced machines are scrapped (a write-off)

    def _buy_asics(self, ctx: PolicyContext, dec: Decisions, day: int, action: np.ndarray) -> None:
        """Public miners buy frontier machines (delivered at once) from spare cash, borrowing the
        rest in converts where their policy allows and credit is open."""
        buy = dec.buy_ths
        if not np.any(buy > 0):
            return
        b = self.books
        cost = buy * ctx.new_usd_per_th
        spare = np.maximum(b.cash_usd - ctx.cash_buffer_usd, 0.0)
        loan = np.where(dec.may_borrow & ctx.credit_open, np.maximum(cost - spare, 0.0), 0.0)
        funded = np.minimum(cost, spare + loan)
        loan = np.minimum(loan, funded)
        ths = funded / ctx.new_usd_per_th
        take = ths > 0
        if not np.any(take):
            return
        self._borrow(loan, CONVERTIBLE, day, ctx)
        owners = np.flatnonzero(take)
        fleet.add_units(
            self.fleet,
            owners,
            ths[take],
            ctx.frontier_jth,
            funded[take],
            self.power_usd_mwh[take],
        )
        b.cash_usd -= funded
        action[take & (action != ACTION_CODE["convert_ai"])] = ACTION_CODE["buy_asics"]
        self._compact_if_grown()

    def _compact_if_grown(self) -> None:
        """Merge similar units (fleet.compact) once the unit table has doubled since the last
        merge, so the kernel's work stays proportional to the number of agents."""
        if self.fleet.n > 2 * self._compacted_units:
            fleet.compact(self.fleet)
            self._compacted_units = max(self.fleet.n, 4 * self.n)

    def _borrow(self, amount: np.ndarray, instrument: int, day: int, ctx: PolicyContext) -> None:
        if not np.any(amount > 0):
            return
        r = self.cfg.market.rates
        owners = np.arange(self.n)
        leverage = np.divide(  # debt / assets; no assets counts as the maximum, 5
            ctx.debt_usd, ctx.assets_usd, out=np.full(self.n, 5.0), where=ctx.assets_usd > 0
        )
        if instrument == SECURED:
            coupon = self.markets.borrowing_rate(day, leverage)
            issue_notes(
                self.debt, owners, amount, SECURED, coupon, day + r.secured_years * YEAR_DAYS
            )
        else:
            conversion = np.maximum(self.share_price_usd, 1e-6) * (1 + r.convertible_premium)
            issue_notes(
                self.debt,
                owners,
                amount,
                CONVERTIBLE,
                r.convertible_coupon,
                day + r.convertible_years * YEAR_DAYS,
                conversion,
            )
        self.books.cash_usd += amount

    # ------------------------------------------------------------------ financing waterfall
    def _cover_shortfalls(
        self,
        ctx: PolicyContext,
        service: DebtService,
        price: float,
        day: int,
        action: np.ndarray,
    ) -> None:
        """Meet what is due, then the covenant of secured notes; default whoever cannot.

        A listed miner whose cash is negative after the epoch's bills, capex, interest,
        amortisation and maturities (a maturity the miner cannot refinance must be repaid)
        raises the gap through the waterfall of :meth:`_raise_cash`. A miner whose senior secured
        principal then exceeds ``market.rates.covenant_secured_to_assets`` x its assets must
        repay enough of it (:meth:`_meet_covenant`). Whoever cannot do either after every option
        defaults; :attr:`default_events` records why:

        * ``maturity``: the shortfall left is no larger than the principal due at maturity
          this epoch (without that repayment the miner would have met its bills);
        * ``debt_service``: no larger than interest + amortisation + maturities;
        * ``operating``: larger (power, opex and AI capex alone could not be met);
        * ``covenant``: bills met, but the covenant could not be cured.
        """
        b = self.books
        live = self.is_public & ~b.defaulted
        need = np.where(live, np.maximum(-b.cash_usd, 0.0), 0.0)
        unmet = self._raise_cash(need, ctx, price, day, action)
        short = live & (unmet > CASH_TOL_USD)
        cure_left = self._meet_covenant(live & ~short, ctx, price, day, action)
        failed = short | (cure_left > 0)
        if not np.any(failed):
            return
        debt_service = service.interest_usd + service.repaid_usd
        cause = np.select(
            [~short, unmet <= service.matured_usd, unmet <= debt_service],
            ["covenant", "maturity", "debt_service"],
            "operating",
        )
        self._log_defaults(failed, cause, np.where(short, unmet, cure_left), price, day)
        self._default(failed, ctx, day, price)
        action[failed] = ACTION_CODE["default"]

    def _meet_covenant(
        self, tested: np.ndarray, ctx: PolicyContext, price: float, day: int, action: np.ndarray
    ) -> np.ndarray:
        """Cure covenant breaches of the miners in ``tested``: raise cash through the waterfall
        (no new debt) and repay secured notes with it. Returns the secured principal each still
        had to repay after every option, USD (0 where the covenant holds)."""
        limit = self.cfg.market.rates.covenant_secured_to_assets
        b = self.books

        def cure_and_limit():
            secured, assets = secured_by_owner(self.debt, self.n), self._assets_usd(price)
            cure = np.where(tested, covenant_cure_usd(secured, assets, limit), 0.0)
            cure[cure <= CASH_TOL_USD + 1e-9 * secured] = 0.0  # rounding, not a breach
            # Where the assets are below the secured principal all of it is due, whatever is
            # raised: each USD raised then cures one USD (limit 0 in the waterfall's formula).
            linear = (assets > secured) & (limit < 1.0)
            return cure, np.where(linear, limit, 0.0)

        if not np.any(tested) or not np.any(self.debt.instrument == SECURED):
            return np.zeros(self.n)
        for _ in range(COVENANT_ROUNDS):
            cure, round_limit = cure_and_limit()
            if not np.any(cure > 0):
                return cure
            self._raise_cash(
                np.maximum(cure - b.cash_usd, 0.0), ctx, price, day, action, round_limit
            )
            cure, _ = cure_and_limit()
            pay = np.minimum(cure, np.maximum(b.cash_usd, 0.0))
            repay_secured(self.debt, pay, self.n)
            b.cash_usd -= pay
        return cure_and_limit()[0]

    def _raise_cash(
        self,
        need: np.ndarray,
        ctx: PolicyContext,
        price: float,
        day: int,
        action: np.ndarray,
        covenant_limit: np.ndarray | None = None,
    ) -> np.ndarray:
        """Raise ``need`` (USD per agent) through the waterfall, in this order, each agent
        stopping once it has what it needs; returns what is still missing, USD.

        1. sell BTC at ``price``;
        2. draw senior secured credit, only if the credit window is open that day, up to the
           leverage ceiling ``policy.max_leverage`` (debt / assets after the loan);
        3. issue shares at market (:class:`sim.finance.EquityMarket`: discount, dilution cap);
        4. sell machines at resale value x (1 - ``miners.fire_sale_discount``): the same share
           of every unit, bought by the fringe;
        5. sell AI halls with their leases at ``miners.asset_sale_fraction`` x their market
           value (contracted NOI x ``miners.ai_multiple`` less the capex still to spend);
        6. sell idle powered sites at ``miners.asset_sale_fraction`` x (``miners.site_usd_per_mw``
           + the AI option on the MW), USD per MW.

        With ``covenant_limit`` (per agent) the cash goes to repay secured notes: new debt cures
        nothing, and a USD raised by giving up ``k`` USD of book value lowers the repayment the
        covenant needs by ``(1 - limit k) / (1 - limit)`` USD (:func:`covenant_cure_usd`), so an
        asset sold far below book may not help at all.
        """
        offers = [self._offer_btc, self._offer_credit, self._offer_equity]
        offers += [self._offer_machines, self._offer_halls, self._offer_sites]
        if covenant_limit is not None:
            offers.remove(self._offer_credit)
        for make_offer in offers:
            if not np.any(need > CASH_TOL_USD):
                break
            offer = make_offer(ctx, price, day)
            gain = np.ones(self.n)
            if covenant_limit is not None:
                binding = covenant_limit > 0
                book = np.broadcast_to(offer.book_per_usd, gain.shape)[binding]
                limit = covenant_limit[binding]
                gain[binding] = (1.0 - limit * book) / (1.0 - limit)
            usable = (need > 0) & (gain > 0) & (offer.available_usd > 0)
            take = np.zeros(self.n)
            take[usable] = np.minimum(offer.available_usd[usable], need[usable] / gain[usable])
            if np.any(usable):
                offer.take(take)
                action[usable] = np.minimum(action[usable], ACTION_CODE[offer.action])
                need = np.where(
                    usable, np.maximum(need - take * np.where(usable, gain, 0), 0), need
                )
        return need

    def _listed(self) -> np.ndarray:
        """Public miners that have not defaulted (the only agents that raise cash)."""
        return self.is_public & ~self.books.defaulted

    def _offer_btc(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        held = np.where(self._listed(), self.books.btc_held * price, 0.0)
        return _Offer(held, 1.0, lambda usd: self._sell_btc(usd / price, price), "sell_btc")

    def _offer_credit(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        lev = self.cfg.policy.max_leverage
        room = np.maximum(lev * self._assets_usd(price) - debt_by_owner(self.debt, self.n), 0.0)
        room = room / max(1.0 - lev, 1e-9)  # debt and assets both grow by the loan
        is_open = bool(self.markets.credit_open[day])
        available = np.where(self._listed() & is_open, room, 0.0)
        return _Offer(available, 0.0, lambda usd: self._borrow(usd, SECURED, day, ctx), "borrow")

    def _offer_equity(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        market, b = self.equity_market, self.books
        available = np.where(self._listed(), market.capacity_usd(self.share_price_usd), 0.0)

        def take(usd: np.ndarray) -> None:
            b.shares += market.issue(usd, self.share_price_usd)
            b.cash_usd += usd
            b.equity_usd += usd

        return _Offer(available, 0.0, take, "issue_equity")

    def _offer_machines(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        f = self.fleet
        resale = self.hardware.resale_usd_per_th(
            f.efficiency_jth, day, ctx.hashprice_usd_per_th_day
        )
        unit_usd = f.hashrate_ths * resale * (1.0 - self.cfg.miners.fire_sale_discount)
        unit_usd = np.where(self._listed()[f.owner], unit_usd, 0.0)
        available = fleet.per_owner(f, unit_usd, self.n)
        book = fleet.per_owner(f, f.book_usd, self.n)
        book_per_usd = np.divide(book, available, out=np.full(self.n, np.inf), where=available > 0)

        def take(usd: np.ndarray) -> None:
            share = np.divide(usd, available, out=np.zeros(self.n), where=available > 0)
            self._sell_units(np.clip(share, 0.0, 1.0)[self.fleet.owner], unit_usd)

        return _Offer(available, book_per_usd, take, "sell_assets")

    def _sell_units(self, fraction: np.ndarray, unit_usd: np.ndarray) -> None:
        """Sell ``fraction`` of every fleet unit for ``fraction x unit_usd`` (USD). The first
        fringe agent buys the machines with new capital (as in a default) and runs them at its
        power price; with no fringe they leave the network."""
        f, b = self.fleet, self.books
        proceeds = unit_usd * fraction
        sold_book = f.book_usd * fraction
        b.cash_usd += fleet.per_owner(f, proceeds, self.n)
        b.equity_usd += fleet.per_owner(f, proceeds - sold_book, self.n)
        sold = fraction > 0
        bought = {column: getattr(f, column)[sold].copy() for column in f.columns}
        for column in EXTENSIVE_FLEET_COLUMNS:
            bought[column] *= fraction[sold]
            getattr(f, column)[:] *= 1.0 - fraction
        f.keep(fraction < 1.0)
        if self.n > self.n_public:
            buyer = self.n_public
            bought["owner"][:] = buyer
            bought["cost_usd"] = proceeds[sold]
            bought["book_usd"] = proceeds[sold].copy()
            b.equity_usd[buyer] += proceeds[sold].sum()  # paid with new capital: cash stays 0
            f.append(**bought)

    def _offer_halls(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        c, b, cfg = self.contracts, self.books, self.cfg
        value = cfg.miners.ai_multiple * c.mw * c.usd_per_mw_year * cfg.market.ai.noi_margin
        value = np.maximum(value - c.capex_remaining_usd, 0.0) * cfg.miners.asset_sale_fraction
        value = np.where(self._listed()[c.owner], value, 0.0)
        available = sum_by_owner(c.owner, value, self.n)
        book = b.ai_ppe_usd + b.cip_usd
        book_per_usd = np.divide(book, available, out=np.full(self.n, np.inf), where=available > 0)

        def take(usd: np.ndarray) -> None:
            share = np.clip(
                np.divide(usd, available, out=np.zeros(self.n), where=available > 0), 0, 1
            )
            self.capacity_mw -= share * hosting.committed_mw(c, self.n)
            kept = 1.0 - share[c.owner]
            for column in (c.mw, c.capex_remaining_usd, c.capex_spent_usd):
                column *= kept
            c.keep(kept > 0)
            b.cash_usd += usd
            b.equity_usd += usd - share * book
            b.ai_ppe_usd *= 1.0 - share
            b.cip_usd *= 1.0 - share

        return _Offer(available, book_per_usd, take, "sell_assets")

    def _offer_sites(self, ctx: PolicyContext, price: float, day: int) -> _Offer:
        cfg, n = self.cfg, self.n
        fleet_mw = fleet.per_owner(self.fleet, fleet.unit_power_mw(self.fleet), n)
        used = fleet_mw + hosting.committed_mw(self.contracts, n)
        idle_mw = np.maximum(np.where(self._listed(), self.capacity_mw, 0.0) - used, 0.0)
        option = cfg.miners.ai_option_weight * max(self._lease_value_usd_per_mw(day), 0.0)
        usd_per_mw = cfg.miners.asset_sale_fraction * (cfg.miners.site_usd_per_mw + option)

        def take(usd: np.ndarray) -> None:
            self.capacity_mw -= usd / usd_per_mw
            self.books.cash_usd += usd
            self.books.equity_usd += usd  # sites are not on the books: all of it is a gain

        return _Offer(idle_mw * usd_per_mw, 0.0, take, "sell_assets")

    def _log_defaults(
        self, failed: np.ndarray, cause: np.ndarray, unmet_usd: np.ndarray, price: float, day: int
    ) -> None:
        debt = debt_by_owner(self.debt, self.n)
        date = (self.start_date + dt.timedelta(days=day)).isoformat()
        for i in np.flatnonzero(failed):
            self.default_events.append(
                {
                    "epoch": self.epoch,
                    "date": date,
                    "miner": self.miner_agents[i].name,
                    "cause": str(cause[i]),
                    "unmet_usd": float(unmet_usd[i]),
                    "btc_price_usd": float(price),
                    "market_cap_usd": float(self.share_price_usd[i] * self.books.shares[i]),
                    "debt_usd": float(debt[i]),
                    "credit_open": bool(self.markets.credit_open[day]),
                }
            )

    def _default(self, failed: np.ndarray, ctx: PolicyContext, day: int, price: float) -> None:
        """Liquidate: machines sold at a discount to resale value, then the books close at zero.

        The buyers are outside the public-miner set (the fringe absorbs the hashrate at the
        same efficiency); creditors take what is recovered and write off the rest.
        """
        f, b = self.fleet, self.books
        units = failed[f.owner]
        if np.any(units):
            buyer = self.n_public if self.n > self.n_public else None
            if buyer is None:
                fleet.retire(f, units, self.n)
            else:
                f.owner[units] = buyer
                resale = self.hardware.resale_usd_per_th(
                    f.efficiency_jth[units], day, ctx.hashprice_usd_per_th_day
                )
                price_paid = f.hashrate_ths[units] * resale * self.cfg.miners.default_recovery
                f.cost_usd[units] = price_paid
                f.book_usd[units] = price_paid
                b.equity_usd[buyer] += price_paid.sum()  # paid with new capital: cash stays zero
        self.contracts.keep(~failed[self.contracts.owner])
        write_off_debt(self.debt, failed)
        for arr in (b.cash_usd, b.btc_held, b.ai_ppe_usd, b.cip_usd, b.equity_usd):
            arr[failed] = 0.0
        b.defaulted |= failed
        self.capacity_mw[failed] = 0.0

    # ------------------------------------------------------------------ valuation
    def _lease_value_usd_per_mw(self, day: int) -> float:
        """Market value of a MW leased to AI today (0 with the AI market off), USD per MW."""
        ai = self.cfg.market.ai
        if not ai.enabled:
            return 0.0
        return valuation.lease_value_usd_per_mw(
            float(self.markets.ai_lease_usd_per_mw_year[day]),
            ai.noi_margin,
            self.cfg.miners.ai_multiple,
            ai.capex_usd_per_mw,
        )

    def _equity_value(
        self, mining_cf_usd_per_year: np.ndarray, debt_usd: np.ndarray, price: float, day: int
    ) -> valuation.EquityValue:
        """Each agent's equity value at BTC ``price`` on ``day`` (:mod:`sim.valuation`)."""
        cfg, b, n = self.cfg, self.books, self.n
        ai_mw = hosting.committed_mw(self.contracts, n)
        capacity = np.where(self.is_public, self.capacity_mw, 0.0)  # the fringe's is unbounded
        return valuation.equity_value(
            mining_cf_usd_per_year,
            hosting.contracted_noi_per_year(self.contracts, cfg.market.ai.noi_margin, n),
            sum_by_owner(self.contracts.owner, self.contracts.capex_remaining_usd, n),
            cfg.policy.max_ai_fraction * capacity - ai_mw,
            capacity - ai_mw,
            self._lease_value_usd_per_mw(day),
            b.btc_held * price,
            debt_usd - b.cash_usd,
            cfg.miners.mining_multiple,
            cfg.miners.ai_multiple,
            cfg.miners.ai_option_weight,
        )

    def _settle_fringe_cash(self) -> None:
        """Fringe agents pay out surplus cash and are recapitalised by new capital: cash stays 0."""
        fringe = ~self.is_public
        b = self.books
        b.equity_usd[fringe] -= b.cash_usd[fringe] + b.btc_held[fringe] * self.prev_btc_price
        b.cash_usd[fringe] = 0.0
        b.btc_held[fringe] = 0.0

    def _renew_power_contracts(self, day: int) -> None:
        """Fringe sites follow the market's trailing 30-day mean (a one-day spike must not set a
        whole epoch's price: curtailing the network for an epoch); public contracts that expired
        reprice to the same mean. A fringe agent's recorded price is its fleet's MW-weighted
        site price."""
        m = self.markets
        self.power_factor = m.trailing_power_usd_mwh(day) / self.cfg.market.power.base_usd_mwh
        f, agents = self.fleet, self.fringe.agents
        mw = fleet.unit_power_mw(f)
        owner_mw = fleet.per_owner(f, mw, self.n)[agents]
        bill = fleet.per_owner(f, mw * f.site_usd_mwh, self.n)[agents]
        site = np.where(owner_mw > 0, bill / np.maximum(owner_mw, 1e-300), self.fringe.site_usd_mwh)
        self.power_usd_mwh[agents] = site * self.power_factor
        due = self.is_public & (self.contract_end_day <= day)
        if np.any(due):
            self.power_usd_mwh[due] = m.renewal_price_usd_mwh(day, self.power_basis[due])
            self.contract_end_day[due] = day + POWER_CONTRACT_TERM_DAYS

    # ------------------------------------------------------------------ records
    def _record(self, o: EpochOutcome, mcap, debt, action) -> None:
        rec, b, n = self.recorder, self.books, self.n
        t1, n_mined, next_bits, price = o.t1, o.n_mined, o.next_bits, o.btc_price_usd
        hashrate_ths, energy_mwh, power_cost, btc_mined = (
            o.hashrate_ths,
            o.energy_mwh,
            o.power_cost_usd,
            o.btc_mined,
        )
        r = rec.new_row()
        e, m = rec.epoch_float, rec.miner_float
        rec.epoch_time_s[r] = t1
        rec.epoch_int["epoch"][r] = self.epoch
        rec.epoch_int["height"][r] = self.height + n_mined
        rec.epoch_int["bits"][r] = next_bits
        public = self.is_public
        rec.epoch_int["miners_defaulted"][r] = int(np.count_nonzero(b.defaulted & public))
        rec.epoch_int["miners_active"][r] = int(np.count_nonzero(~b.defaulted & public))
        btc_total = float(btc_mined.sum())
        days = o.epoch_s / DAY_S
        total_ths = float(hashrate_ths.sum())
        e["difficulty"][r] = consensus.bits_to_difficulty(next_bits)
        e["hashrate_ehs"][r] = total_ths / 1e6
        e["epoch_days"][r] = days
        e["btc_price_usd"][r] = price
        e["subsidy_btc"][r] = o.subsidy_sat / consensus.COIN
        e["fees_btc"][r] = o.fees_sat / consensus.COIN
        e["hashprice_usd_per_ph_day"][r] = _ratio(
            float(o.revenue_usd.sum()) / days, total_ths / 1e3
        )
        power_mw = float(energy_mwh.sum()) / (days * 24)
        e["network_power_mw"][r] = power_mw
        e["network_efficiency_j_per_th"][r] = _ratio(power_mw * 1e6, total_ths)
        e["cost_to_mine_cash_usd"][r] = _ratio(float(power_cost.sum()), btc_total)
        e["cost_to_mine_allin_usd"][r] = _ratio(
            float((power_cost + o.opex_usd + o.depreciation_usd).sum()), btc_total
        )
        mining_mw = fleet.per_owner(self.fleet, fleet.unit_power_mw(self.fleet), n)
        ai_mw = hosting.committed_mw(self.contracts, n)
        e["mining_capacity_mw"][r] = float(mining_mw.sum())
        e["ai_capacity_mw"][r] = float(ai_mw.sum())
        e["total_debt_usd"][r] = float(debt[public].sum())
        f = self.fleet
        e["installed_ehs"][r] = float(f.hashrate_ths.sum()) / 1e6
        e["mothballed_ehs"][r] = float(f.hashrate_ths[f.mothballed].sum()) / 1e6
        e["on_order_ehs"][r] = float(self.fringe.orders.hashrate_ths.sum()) / 1e6
        e["frontier_jth"][r] = self.entry_outlook.frontier_jth
        e["new_machine_usd_per_th"][r] = self.entry_outlook.machine_usd_per_th
        e["entry_breakeven_usd_mwh"][r] = self.entry_breakeven_usd_mwh
        assets = self._assets_usd(price)
        m["hashrate_ehs"][r] = hashrate_ths / 1e6
        m["btc_mined"][r] = btc_mined
        m["btc_held"][r] = b.btc_held
        m["cash_usd"][r] = b.cash_usd
        m["debt_usd"][r] = debt
        m["book_equity_usd"][r] = b.equity_usd
        m["market_cap_usd"][r] = mcap
        m["mining_mw"][r] = mining_mw
        m["ai_mw"][r] = ai_mw
        m["power_price_usd_mwh"][r] = self.power_usd_mwh
        m["assets_usd"][r] = assets
        m["liabilities_usd"][r] = debt
        m["revenue_usd"][r] = o.revenue_usd
        m["power_cost_usd"][r] = power_cost
        m["ai_noi_usd"][r] = o.ai_noi_usd
        m["share_price_usd"][r] = self.share_price_usd
        rec.action[r] = action
        rec.defaulted[r] = b.defaulted

    def result(self) -> RunResult:
        return RunResult(
            epochs=self.recorder.epochs_frame(),
            miners=self.recorder.miners_frame(),
            scenario_name=self.spec.name,
            seed=self.seed,
            scenario_hash=self.spec.content_hash,
            meta={"stalled": self.stalled, "defaults": list(self.default_events)},
        )


def run(scenario: Scenario | str, seed: int = 0, overrides: dict | None = None) -> RunResult:
    """Run a scenario to its horizon and return its epoch and miner tables."""
    model = MiningModel(scenario, seed=seed, overrides=overrides)
    while model.running:
        model.step()
    return model.result()


__all__ = ["MiningModel", "run"]
