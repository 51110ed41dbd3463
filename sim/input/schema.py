"""Typed scenario schema (pydantic): every section of a scenario TOML file.

Each field states its unit. Unknown keys are rejected (``extra="forbid"``) so that a typo never
silently falls back to a default. Types are strict (``strict=True``): a boolean is not a number,
text is neither a number nor a boolean, a float is not an integer, and a date is a date (not a
date-time; text ``YYYY-MM-DD`` is read as a date), so ``volatility = true`` or ``curtailment = "yes"`` is an error rather than
1.0 or True. An integer is accepted where a float is expected. Loading, overrides and hashing live in :mod:`sim.input.scenario`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from sim import consensus, policy_registry
from sim.errors import MinersimError


def _unsigned_zero(value: float) -> float:
    """-0.0 read as 0.0: it passes ``ge=0`` but NumPy's samplers refuse a scale whose sign bit
    is set ("scale < 0")."""
    return 0.0 if value == 0 else value


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_unsigned_zero)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), AfterValidator(_unsigned_zero)]
Real = Annotated[float, Field(allow_inf_nan=False)]
#: Dates as text: YYYY-MM-DD exactly (fromisoformat alone also takes 20251001 and 2025-W40-3).
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    """Text ``YYYY-MM-DD`` (Python overrides, quoted TOML) read as a date; a date-time stays
    as it is and fails: a date has no time of day and no time zone."""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


#: A calendar date: a TOML date, a ``datetime.date`` or text ``YYYY-MM-DD``.
Date = Annotated[dt.date, BeforeValidator(_iso_date)]


def _list_as_tuple(value: object) -> object:
    """TOML writes pairs as arrays; strict validation takes a tuple only as a tuple."""
    return tuple(value) if isinstance(value, list) else value


#: ``[date, usd]`` pairs (TOML arrays).
DatedValue = Annotated[tuple[Date, PositiveFloat], BeforeValidator(_list_as_tuple)]
#: ``[date, amount]`` pairs with amounts that may be 0 (TOML arrays).
DatedAmount = Annotated[tuple[Date, NonNegFloat], BeforeValidator(_list_as_tuple)]
#: ``[first, last]`` date pairs (TOML arrays).
DateRange = Annotated[tuple[Date, Date], BeforeValidator(_list_as_tuple)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


GENESIS_DATE = dt.date(2009, 1, 3)
#: Dates are carried as nanosecond timestamps in the output tables (pandas), so runs end here.
LATEST_END_DATE = dt.date(2200, 1, 1)
#: Difficulty 1 is the proof-of-work limit; the largest is the one whose target is 1.
MIN_DIFFICULTY = 1.0
MAX_DIFFICULTY = float(consensus.DIFF1_TARGET)


class ScenarioInfo(Strict):
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\\x00-\x1f]+$",
        description="also the default results folder name: printable, no slashes, no spaces at "
        "either end",
    )
    description: str = ""
    start_date: Date
    end_date: Date

    @field_validator("name")
    @classmethod
    def _not_a_relative_folder(cls, name: str) -> str:
        if name.strip(".") == "":
            raise ValueError(f"name {name!r} cannot be a folder name")
        if not name.isprintable() or name != name.strip():
            raise ValueError(
                f"name {name!a} must be printable text without direction controls or "
                "spaces at either end"
            )
        return name

    @model_validator(mode="after")
    def _dates_ordered(self) -> ScenarioInfo:
        if self.end_date <= self.start_date:
            raise ValueError(f"end_date {self.end_date} must be after start_date {self.start_date}")
        if (self.end_date - self.start_date).days > 366 * 30:
            raise ValueError("horizon longer than 30 years is not supported")
        if self.start_date < GENESIS_DATE:
            raise ValueError(
                f"start_date {self.start_date} is before Bitcoin's genesis block ({GENESIS_DATE})"
            )
        if self.end_date > LATEST_END_DATE:
            raise ValueError(
                f"end_date {self.end_date} is after {LATEST_END_DATE}, the latest supported"
            )
        return self


class Chain(Strict):
    """Network state at the start date."""

    height: int = Field(
        ge=0, le=6_929_999, description="block height; rounded down to a retarget boundary"
    )
    bits: int | None = Field(default=None, ge=1, le=0x1D00FFFF, description="compact nBits")
    difficulty: PositiveFloat | None = Field(default=None, description="used when bits is absent")

    @field_validator("bits")
    @classmethod
    def _bits_is_a_valid_target(cls, bits: int | None) -> int | None:
        if bits is not None:
            consensus.bits_to_target(bits)  # ValueError: negative, overflow, zero, too easy
        return bits

    @field_validator("difficulty")
    @classmethod
    def _difficulty_in_range(cls, difficulty: float | None) -> float | None:
        if difficulty is not None and not MIN_DIFFICULTY <= difficulty <= MAX_DIFFICULTY:
            raise ValueError(
                f"difficulty {difficulty:g} is outside the range mainnet can encode "
                f"[{MIN_DIFFICULTY:g}, {MAX_DIFFICULTY:g}]"
            )
        return difficulty

    @model_validator(mode="after")
    def _one_of_bits_or_difficulty(self) -> Chain:
        if (self.bits is None) == (self.difficulty is None):
            raise ValueError("give exactly one of chain.bits or chain.difficulty")
        return self


class BtcMarket(Strict):
    """BTC-USD price process on a daily grid."""

    process: Literal["gbm", "jump_diffusion", "regime_switching", "replay", "piecewise"] = "gbm"
    initial_usd: PositiveFloat = 100_000.0
    drift: Real = Field(default=0.0, ge=-5, le=5, description="annual log drift")
    volatility: NonNegFloat = Field(default=0.5, le=5, description="annual")
    jump_intensity: NonNegFloat = Field(default=0.0, le=365, description="jumps per year")
    jump_mean: Real = Field(default=0.0, ge=-5, le=5, description="mean log jump size")
    jump_std: NonNegFloat = Field(default=0.0, le=5, description="std of log jump size")
    bear_drift: Real = Field(
        default=-0.6, ge=-5, le=5, description="regime_switching: annual drift in the bear regime"
    )
    bear_volatility: NonNegFloat = Field(default=0.8, le=5)
    bull_to_bear_per_year: NonNegFloat = Field(
        default=0.5, le=365, description="regime switching intensity"
    )
    bear_to_bull_per_year: NonNegFloat = Field(default=1.0, le=365)
    path_csv: str | None = Field(default=None, description="replay: CSV with columns date, price")
    points: list[DatedValue] | None = Field(
        default=None, description="piecewise: [[date, usd], ...], log-linear between points"
    )
    floor_usd: PositiveFloat = Field(default=1.0, description="price never falls below this")
    cap_usd: PositiveFloat = Field(default=1e9, description="price never rises above this")

    @model_validator(mode="after")
    def _process_inputs(self) -> BtcMarket:
        if self.process == "replay" and not self.path_csv:
            raise ValueError("process 'replay' needs path_csv")
        if self.process == "piecewise" and not self.points:
            raise ValueError("process 'piecewise' needs points")
        if self.floor_usd >= self.cap_usd:
            raise ValueError("floor_usd must be below cap_usd")
        days = [day for day, _ in self.points or ()]
        if any(later <= earlier for earlier, later in itertools.pairwise(days)):
            raise ValueError("points dates must be strictly increasing")
        return self


class FeeMarket(Strict):
    """Transaction fees per block (lumpy)."""

    mean_btc_per_block: NonNegFloat = Field(default=0.036, le=1000)
    lumpiness: NonNegFloat = Field(
        default=1.0, le=5, description="sigma of the lognormal per-block multiplier"
    )
    burst_probability: Fraction = Field(
        default=0.0005, description="chance per block of a fee burst"
    )
    burst_btc: NonNegFloat = Field(
        default=5.0, le=10_000, description="mean extra fees of a burst block, BTC"
    )


class PowerMarket(Strict):
    """Wholesale power: mean-reverting log price with spikes; site contracts reprice to it."""

    base_usd_mwh: PositiveFloat = Field(
        default=45.0,
        le=10_000,
        description="the market's reference level, $/MWh: sites keep their own prices (miners "
        "and fringe files) and move with path / base, so this alone changes no run; scale the "
        "path with shock_multiplier",
    )
    mean_reversion_per_year: NonNegFloat = Field(default=2.0, le=365)
    volatility: NonNegFloat = Field(default=0.3, le=5, description="annual, of log price")
    spike_probability_per_day: Fraction = 0.01
    spike_multiplier: PositiveFloat = Field(default=3.0, le=100)
    renewal_shock: Real = Field(
        default=0.0,
        ge=-0.99,
        le=100,
        description="contract renewals priced at market x (1 + shock)",
    )
    shock_multiplier: PositiveFloat = Field(
        default=1.0, le=100, description="scales the market price path"
    )


class AiMarket(Strict):
    """AI/HPC colocation leases."""

    enabled: bool = True
    lease_usd_per_mw_year: PositiveFloat = Field(default=1.8e6, le=1e8)
    mean_reversion_per_year: NonNegFloat = Field(default=0.5, le=365)
    volatility: NonNegFloat = Field(default=0.2, le=5)
    demand_mw_per_year: NonNegFloat = Field(
        default=3000.0, le=1e6, description="new lease MW tenants sign per year, industry-wide"
    )
    capex_usd_per_mw: PositiveFloat = Field(default=10e6, le=1e9)
    lead_time_days: int = Field(default=365, ge=0, le=3650)
    term_years: PositiveFloat = Field(default=10.0, le=50)
    noi_margin: Fraction = 0.85
    pue: float = Field(
        default=1.35,
        ge=1.0,
        le=3.0,
        allow_inf_nan=False,
        description="site MW per MW of IT load: leases and fit-out capex are per IT MW, a site "
        "converts gross MW (cal §3.14: 1.21-1.5 across the 2025 deals, Hut 8 1.35)",
    )
    renewal_probability: Fraction = Field(
        default=0.5,
        description="chance the tenant takes each renewal option when a lease ends "
        "(assumption: the 2025 leases carry 2-3 five-year options, none exercised yet)",
    )
    renewal_years: float = Field(
        default=5.0,
        ge=0.25,
        le=50,
        allow_inf_nan=False,
        description="length of a renewal option, years (cal §3.14)",
    )
    backstop_share: Fraction = Field(
        default=0.7,
        description="share of new leases with an investment-grade tenant or guarantor (Google "
        "backstops, AWS, AMD); the rest carry tenant_default_per_year (cal §3.14: ~0.69 of "
        "the IT MW signed in 2024-25)",
    )
    tenant_default_per_year: Fraction = Field(
        default=0.04,
        description="annual default rate of a tenant without a backstop (a neocloud), applied "
        "to its rent as a hazard (assumption: a single-B issuer's default rate)",
    )
    delivery_probability: Fraction = Field(
        default=0.5,
        description="chance a hall is delivered by its lead time; otherwise rent starts "
        "delivery_delay_days later (assumption: VanEck counts ~25% of leased capacity "
        "delivered, cal §3.14; on-time rates are not published)",
    )
    delivery_delay_days: int = Field(
        default=270,
        ge=0,
        le=3650,
        description="delay of a hall delivered late, days (assumption: 'several months' of "
        "slippage at Core Scientific's Denton build, cal §3.14)",
    )
    tenant_capex_share: Fraction = Field(
        default=0.0,
        description="share of the fit-out capex the tenant pays (cal §3.14: Cipher, TeraWulf "
        "and Hut 8 fund their halls; CoreWeave paid ~80% of Core Scientific's)",
    )


class RatesMarket(Strict):
    """Interest rates, credit windows, equity issuance and the covenant of secured notes.

    Credit windows follow BTC (a drawdown rule with hysteresis, see :mod:`sim.markets`); the
    equity market is separate and priced off each miner's own share price (:mod:`sim.finance`).
    """

    base_rate: Real = Field(default=0.04, ge=-0.05, le=1)
    spread_base: NonNegFloat = Field(default=0.03, le=1)
    spread_per_leverage: NonNegFloat = Field(
        default=0.10, le=10, description="added spread per unit of debt/assets"
    )
    secured_years: PositiveFloat = Field(default=5.0, le=30)
    equipment_loan_years: PositiveFloat = Field(
        default=2.0,
        le=30,
        description="machines bought on credit are financed with equipment loans secured by "
        "them, at the secured rate, repaid in equal instalments over this many years "
        "([derived] cal §3.14: Iris Energy paid ~$7M a month on $107.8M of equipment loans in "
        "Nov 2022, 78% a year, about 12 points of interest (Core Scientific's 9.7-13.1%) and "
        "~66% of principal: ~1.5 years left; 2 years a round figure)",
    )
    credit_close_drawdown: Fraction = Field(
        default=0.5,
        description="credit windows close on a day BTC ends more than this fraction below its "
        "trailing high (assumption; on the 2015-2021 BTC closes the rule shuts credit "
        "2018-02-01 to 2019-05-10, 2020-03-12 to 2020-05-06 and 2021-06-21 to 2021-08-07: "
        "docs/architecture.md, Finance)",
    )
    credit_reopen_drawdown: Fraction = Field(
        default=0.3,
        description="a closed window reopens on the first day BTC is less than this fraction "
        "below its trailing high (assumption; at most credit_close_drawdown)",
    )
    credit_high_window_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="days of BTC closes the trailing high is taken over, the day itself "
        "included (assumption: a year)",
    )
    closed_periods: list[DateRange] = Field(
        default_factory=list, description="forced closures of the credit window"
    )
    project_dscr: float = Field(
        default=1.3,
        ge=1.0,
        le=10.0,
        allow_inf_nan=False,
        description="AI project notes are sized so the lease's contracted NOI covers their "
        "level debt service this many times (the loan is also capped at "
        "policy.ai_loan_to_cost of the capex; assumption: a usual project-finance floor)",
    )
    covenant_secured_to_assets: Fraction = Field(
        default=0.85,
        description="maintenance covenant of senior secured notes: secured principal <= this x "
        "total assets (book), tested every epoch; a breach is cured by repaying secured notes "
        "or ends in default (assumption: above every baseline miner's ratio once its notes "
        "are issued, the highest being TeraWulf's ~0.76)",
    )
    equity_discount: Fraction = Field(
        default=0.05,
        description="at-the-market issuance: new shares sold at price x (1 - discount) when the "
        "share is at its trailing high (assumption: ATM commissions and market impact)",
    )
    equity_discount_per_drawdown: NonNegFloat = Field(
        default=0.5,
        le=10,
        description="the discount widens by this x the share's drawdown from its trailing high "
        "(assumption: a share 60% below its high sells 30 points cheaper)",
    )
    equity_max_discount: Fraction = Field(
        default=0.5, description="the issue discount never exceeds this (assumption)"
    )
    equity_max_dilution_per_epoch: Fraction = Field(
        default=0.10,
        description="new shares issued in one epoch, at most this fraction of those outstanding "
        "(assumption: what an at-the-market programme places in two weeks)",
    )
    equity_min_share_price_usd: NonNegFloat = Field(
        default=1.0,
        le=1e6,
        description="no issuance while the share trades below this, USD (assumption: Nasdaq's "
        "USD 1 minimum bid price, Listing Rule 5550(a)(2))",
    )
    equity_close_drawdown: Fraction = Field(
        default=0.8,
        description="no issuance while the share is more than this fraction below its trailing "
        "high (assumption, set by 2022: miner shares fell 91% on average from their 52-week "
        "highs, Core Scientific's market cap to $78M from $4.3B, and Argo's GBP 24M raise "
        "failed, cal §3.14)",
    )
    equity_high_window_epochs: int = Field(
        default=26,
        ge=1,
        le=1000,
        description="epochs of share prices the trailing high is taken over (assumption: about "
        "a year)",
    )

    @model_validator(mode="after")
    def _periods_ordered(self) -> RatesMarket:
        for first, last in self.closed_periods:
            if last < first:
                raise ValueError(f"closed period {first} to {last} ends before it starts")
        if self.credit_reopen_drawdown > self.credit_close_drawdown:
            raise ValueError(
                f"credit_reopen_drawdown {self.credit_reopen_drawdown} must be at most "
                f"credit_close_drawdown {self.credit_close_drawdown}"
            )
        if self.equity_discount > self.equity_max_discount:
            raise ValueError(
                f"equity_discount {self.equity_discount} must be at most "
                f"equity_max_discount {self.equity_max_discount}"
            )
        return self


class AltMarket(Strict):
    """A treasury asset's USD price (ETH, SOL), simulated jointly with BTC: daily log returns
    ``drift dt + volatility sqrt(dt) Z`` whose normal shocks ``Z`` are correlated with BTC's
    (and with the other asset's), plus BTC's jump on BTC's jump days scaled by
    ``volatility / btc.volatility``. The volatility and correlation defaults are the published
    2024-2025 figures of data/eth_sol_published.csv (sim.markets.published_alt_figures; sources
    and windows in data/sources.md §3.13)."""

    initial_usd: PositiveFloat
    drift: Real = Field(default=0.0, ge=-5, le=5, description="annual log drift")
    volatility: NonNegFloat = Field(le=5, description="annual, of the log price")
    correlation_btc: Real = Field(ge=-1, le=1, description="of the daily shocks with BTC's")


class EthMarket(AltMarket):
    initial_usd: PositiveFloat = 4_350.0  # cal §3.13: ETH close near 2025-10-01, rounded
    volatility: NonNegFloat = Field(
        default=0.70, le=5, description="annual (cal §3.13: 64.7% in 2024, 75.4% in 2025)"
    )
    correlation_btc: Real = Field(
        default=0.80, ge=-1, le=1, description="cal §3.13: 0.79 in 2024, 0.81 in 2025"
    )


class SolMarket(AltMarket):
    initial_usd: PositiveFloat = 220.0  # cal §3.13: SOL close near 2025-10-01, rounded
    volatility: NonNegFloat = Field(
        default=0.84, le=5, description="annual (cal §3.13: 82.1% in 2024, 86.1% in 2025)"
    )
    correlation_btc: Real = Field(
        default=0.75, ge=-1, le=1, description="cal §3.13: 0.79 in 2025, ~0.7 to early 2025"
    )
    correlation_eth: Real = Field(
        default=0.70,
        ge=-1,
        le=1,
        description="of the daily shocks with ETH's (cal §3.13: 0.70 in 2024, ~0.7 in 2025)",
    )


class Market(Strict):
    btc: BtcMarket = BtcMarket()
    eth: EthMarket = EthMarket()
    sol: SolMarket = SolMarket()
    fees: FeeMarket = FeeMarket()
    power: PowerMarket = PowerMarket()
    ai: AiMarket = AiMarket()
    rates: RatesMarket = RatesMarket()

    @model_validator(mode="after")
    def _correlations_consistent(self) -> Market:
        r_be, r_bs, r_es = (
            self.eth.correlation_btc,
            self.sol.correlation_btc,
            self.sol.correlation_eth,
        )
        # the 3x3 correlation matrix of (BTC, ETH, SOL) shocks must be positive semi-definite
        det = 1 + 2 * r_be * r_bs * r_es - r_be**2 - r_bs**2 - r_es**2
        if det < -1e-12:
            raise ValueError(
                f"market.eth/sol correlations (btc-eth {r_be}, btc-sol {r_bs}, eth-sol {r_es}) "
                "are inconsistent: no joint distribution has them"
            )
        return self


class Hardware(Strict):
    """The efficiency frontier and machines' life cycle (every agent's fleet)."""

    frontier_improvement_per_year: Fraction = Field(
        default=0.183,
        lt=1,
        description="J/TH falls by this fraction a year after the catalogue's last release "
        "(before it: what miners expect of the frontier's pace); default: the catalogue's rate "
        "from 2020-07 to its last release (sim.hardware.catalogue_improvement_per_year)",
    )
    frontier_slowdown_half_life_years: PositiveFloat | None = Field(
        default=4.3,
        le=1000,
        description="after the last release the frontier's log rate of improvement halves "
        "every this many years (none: a constant rate)",
    )
    annual_failure_rate: Fraction = 0.05
    useful_life_years: PositiveFloat = Field(
        default=4.0,
        le=30,
        description="straight-line depreciation life, and the economic life "
        "entrants value a new machine over",
    )
    mothball_after_epochs: int = Field(
        default=2,
        ge=1,
        le=100,
        description="epochs a unit must be under water (hashprice below its power cost) before "
        "it is mothballed (switched off, site kept)",
    )
    scrap_after_epochs: int = Field(
        default=13,
        ge=1,
        le=1000,
        description="epochs a unit may stay mothballed before it is scrapped (sold for resale)",
    )
    restart_cost_usd_per_th: NonNegFloat = Field(
        default=0.5,
        le=1000,
        description="cost of bringing a mothballed unit back, USD per TH/s; a unit restarts when "
        "a quarter's margin at the current hashprice covers it",
    )


class CapacityFreeze(Strict):
    """A period in which the ASIC factories cannot add production capacity (sim/machines.py)."""

    start: Date = Field(description="first day no capacity can be added")
    end: Date = Field(description="last day no capacity can be added")

    @model_validator(mode="after")
    def _dates_in_order(self) -> CapacityFreeze:
        if not self.start <= self.end:
            raise ValueError("a capacity freeze must satisfy start <= end")
        return self


class Machines(Strict):
    """The market for new ASICs: production capacity, backlog, price and lead time
    (sim/machines.py)."""

    floor_usd_per_w: PositiveFloat = Field(
        default=0.775,
        le=100,
        description="manufacturing-cost floor: a new frontier machine's price with no backlog, "
        "USD per W of its power draw ($/TH = floor x J/TH)",
    )
    markup_per_backlog_year: NonNegFloat = Field(
        default=6.271,
        le=1000,
        description="scarcity markup: the price is floor x (1 + this x the backlog in years "
        "of production capacity)",
    )
    base_lead_days: NonNegFloat = Field(
        default=30.0,
        le=3650,
        description="days from a machine leaving the factory to running (shipping, "
        "installation); the backlog's queue adds to it",
    )
    capacity_mw_per_year: PositiveFloat = Field(
        default=6000.0,
        le=1e7,
        description="the factories' output on capacity_date, MW of machines a year",
    )
    capacity_date: Date = Field(
        default=dt.date(2025, 10, 1), description="the date capacity_mw_per_year applies to"
    )
    capacity_growth_per_year: Real = Field(
        default=0.0,
        ge=-5,
        le=5,
        description="annual log growth of production capacity before capacity_break_date",
    )
    capacity_break_date: Date = Field(
        default=dt.date(2020, 1, 1),
        description="from this date capacity grows at capacity_growth_after_break",
    )
    capacity_growth_after_break: Real = Field(
        default=0.0,
        ge=-5,
        le=5,
        description="annual log growth of production capacity after capacity_break_date",
    )
    capacity_response_per_backlog_year: NonNegFloat = Field(
        default=3.551,
        le=100,
        description="endogenous capacity: the factories grow capacity at this x the backlog in "
        "years of production a year (log rate; they invest while orders queue)",
    )
    capacity_decay_per_year: NonNegFloat = Field(
        default=0.9497,
        le=10,
        description="endogenous capacity: it shrinks at this log rate a year times the share of "
        "it that stood idle (lines orders leave idle are retired or switched to other chips), "
        "less the response to the backlog",
    )
    capacity_build_days: NonNegFloat = Field(
        default=7.589,
        le=3650,
        description="endogenous capacity's time to build: the factories' investment answers "
        "the backlog of this many days earlier (new lines, foundry allocation); 0: at once",
    )
    capacity_frozen: list[CapacityFreeze] = Field(
        default_factory=list,
        description="periods in which the factories cannot add capacity whatever the backlog "
        "(foundry allocation fixed: 2020-Q4..2021's chip shortage, data/sources.md §6.3); the "
        "investment response is 0 inside them",
    )
    capacity_flat_after: Date | None = Field(
        default=None,
        description="production capacity stays at its level of this date afterwards (a "
        "backtest: no later information moves it); none: the path goes on",
    )
    initial_backlog_years: NonNegFloat = Field(
        default=0.0,
        le=10,
        description="the order backlog at the start, years of production: machines in transit "
        "(the network's recent growth over the lead time) arrive over base_lead_days plus it",
    )
    resale_exponent: NonNegFloat = Field(
        default=2.0, le=20, description="resale $/TH ~ (frontier J/TH / unit J/TH)^exponent"
    )


class Expectations(Strict):
    """How every miner forms the expected hashprice path (sim/expectations.py)."""

    btc_drift: Real | None = Field(
        default=None,
        ge=-5,
        le=5,
        description="annual log drift of BTC's price miners expect; none: the BTC process's "
        "drift (gbm, jump_diffusion, regime_switching), 0 for replay and piecewise paths",
    )
    halving_pass_through: Fraction = Field(
        default=1.0,
        description="share of the scheduled halving's cut (in logs) miners expect hashprice "
        "to keep: 1 = the full halving, 0 = difficulty and price offset it",
    )
    anticipate_pipeline: bool = Field(
        default=False,
        description="entrants expect the machines already on order to raise the difficulty: "
        "the hashprice they expect is today's x installed / (installed + on order) TH/s",
    )
    adaptive_weight: NonNegFloat = Field(
        default=0.0,
        le=10,
        description="adaptive expectations: miners add this x the simulated difficulty's "
        "trailing log growth a year (over trend_days) to the expected decline; 0 = off",
    )
    trend_days: PositiveFloat = Field(
        default=180.0,
        le=3650,
        description="window of the trailing difficulty growth (adaptive_weight), days",
    )
    prior_difficulty_growth_per_year: Real = Field(
        default=0.0,
        ge=-20,
        le=20,
        description="the difficulty's log growth a year over the trend_days before the start "
        "(a straight line in log difficulty to the start's)",
    )


class Outage(Strict):
    """An exogenous outage of the hashrate installed before it (a ban, a disaster): a share of
    every unit switched off, ramping in, then partly relocated back; the rest is scrapped."""

    start: Date = Field(description="first day machines go off")
    full: Date = Field(description="the whole share is off from this day")
    share: Fraction = Field(description="share of the hashrate installed at start that goes off")
    return_start: Date = Field(description="relocated machines start coming back")
    return_end: Date = Field(description="the last relocated machines are back; the rest scrapped")
    return_share: Fraction = Field(description="share of the switched-off hashrate that returns")

    @model_validator(mode="after")
    def _dates_in_order(self) -> Outage:
        if not self.start <= self.full <= self.return_start <= self.return_end:
            raise ValueError(
                "outage dates must satisfy start <= full <= return_start <= return_end"
            )
        return self


class FringeClass(Strict):
    """A class of non-public miners with one power cost."""

    name: str = Field(min_length=1)
    hashrate_ehs: PositiveFloat = Field(le=1e6)
    efficiency_jth: PositiveFloat = Field(le=10_000)
    power_price_usd_mwh: PositiveFloat = Field(le=10_000)
    agents: int = Field(default=1, ge=1, le=10_000)


class Fringe(Strict):
    """The competitive rest of the network: free entry against power supply curves.

    Each agent of a class has a power supply: capacity (``supply_headroom`` x its initial MW at
    the start, growing at ``supply_growth_per_year`` and built out toward the MW held beyond it at
    ``supply_build_per_year``, at most ``build_mw_per_year`` network-wide, less the MW AI data
    centres take) at the agent's power price; MW beyond it cost more, rising with elasticity
    ``supply_elasticity``. Machines enter while a new frontier machine's NPV at the marginal power
    price is positive at the machine market's clearing price (sim/fringe.py, sim/machines.py).
    """

    classes: list[FringeClass] = Field(default_factory=list)
    must_run_fraction: Fraction = Field(
        default=0.05,
        description="share of fringe hashrate that runs whatever the margin (stranded or prepaid "
        "power, hobbyists): keeps blocks coming when price collapses (an assumption)",
    )
    power_price_scale: PositiveFloat = Field(
        default=1.0,
        le=10,
        description="every class's power price x this (1: the classes' prices as given; the "
        "history scenarios fit their level)",
    )
    power_price_spread: Fraction = Field(
        default=0.3,
        description="agents of a class pay prices spread evenly over +-spread around the class "
        "price (mean kept): a smooth supply curve instead of a whole class switching at once",
    )
    supply_elasticity: PositiveFloat = Field(
        default=0.6901,
        le=100,
        description="% more MW per % higher power price beyond an agent's capacity",
    )
    supply_growth_per_year: Real = Field(
        default=0.0,
        ge=-0.9,
        le=5,
        description="exogenous annual log growth of each agent's power capacity",
    )
    supply_build_per_year: NonNegFloat = Field(
        default=3.126,
        le=100,
        description="rate at which capacity is built out toward the MW held beyond it, per year "
        "(1 / the power build-out's mean lag in years)",
    )
    supply_headroom: PositiveFloat = Field(
        default=1.0, le=100, description="power capacity at the start / the initial fleet's MW"
    )
    build_mw_per_year: PositiveFloat = Field(
        default=519.5,
        le=1e7,
        description="network-wide bound on the power capacity built out for mining, MW a year "
        "(interconnections, substations); shared pro rata among the agents that want it",
    )
    ai_power: list[DatedAmount] = Field(
        default_factory=list,
        description="AI/HPC data centres competing for the same power: [[date, MW]] taken from "
        "the fringe's power capacity (pro rata), linear between points; empty: none",
    )
    adjustment_per_epoch: Fraction = Field(
        default=0.507,
        description="share of the gap between the profitable and the held MW ordered per epoch",
    )
    in_transit_growth_per_year: NonNegFloat = Field(
        default=0.0,
        le=20,
        description="machines on order at the start, as the network's recent growth (log rate a "
        "year): installed TH/s x (exp(rate x lead time / 365.25) - 1) arrive evenly over the "
        "first lead time (machines.base_lead_days + machines.initial_backlog_years)",
    )
    discount_rate: NonNegFloat = Field(
        default=0.20,
        le=5,
        description="entrants' cost of equity, a year; with the financed share they borrow at "
        "the rates market's secured rate (a weighted cost of capital)",
    )
    financed_share: Fraction = Field(
        default=0.5,
        description="share of a new machine's price entrants borrow while the credit window is "
        "open (market.rates); 0 while it is closed (a BTC drawdown)",
    )
    site_life_years: PositiveFloat = Field(
        default=10.0,
        le=100,
        description="life over which an entrant spreads a new site's build cost "
        "(miners.site_usd_per_mw), years",
    )
    outages: list[Outage] = Field(
        default_factory=list,
        description="exogenous outages of the installed hashrate (e.g. China's 2021 ban)",
    )

    @model_validator(mode="after")
    def _names_unique(self) -> Fringe:
        names = [c.name for c in self.classes]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"fringe class names must be unique (repeated: {', '.join(repeated)})")
        return self


#: A policy's name: built in or registered (sim.policy_registry), checked when validated.
PolicyName = Annotated[str, AfterValidator(policy_registry.check_policy_name)]


class Miners(Strict):
    csv: str | None = Field(
        default=None, description="public miners CSV, relative to the scenario file"
    )
    debt_csv: str | None = None
    ai_contracts_csv: str | None = None
    # policy_modules comes before the names: pydantic checks fields in this order, so the
    # modules have registered their policies by the time the names are checked.
    policy_modules: list[str] = Field(
        default_factory=list,
        description="modules (dotted names, importable: installed or on PYTHONPATH) that "
        "register policies with sim.register_policy; imported when the scenario is loaded and "
        "by every process that runs it (docs/policies.md)",
    )
    policy: PolicyName = "rational"
    policies: dict[str, PolicyName] = Field(
        default_factory=dict, description="per-miner policy by name"
    )
    opex_usd_per_mw_year: NonNegFloat = Field(
        default=80_000.0, le=1e8, description="non-power operating cost"
    )
    mining_multiple: NonNegFloat = Field(
        default=4.0, le=100, description="market value / forward mining cash flow (assumption)"
    )
    ai_multiple: NonNegFloat = Field(
        default=12.0,
        le=100,
        description="market value / contracted AI NOI, before the capex still to spend "
        "(assumption)",
    )

    @field_validator("policy_modules")
    @classmethod
    def _import_policy_modules(cls, modules: list[str]) -> list[str]:
        """Import the modules (they register their policies) before the names are checked."""
        try:
            policy_registry.import_policy_modules(modules)
        except MinersimError as exc:
            raise ValueError(str(exc)) from None
        return modules

    ai_option_weight: Fraction = Field(
        default=0.5,
        description="market weight on capacity that could still be leased to AI: the option "
        "on it is worth this x convertible MW x the positive part of (lease value - mining "
        "value) per MW; 0 when the AI market is off (assumption: even odds; sim/valuation.py)",
    )
    default_recovery: Fraction = Field(
        default=0.5,
        description="in a default, the fleet is sold at this fraction of resale value (assumption)",
    )
    fire_sale_discount: Fraction = Field(
        default=0.3,
        description="machines a distressed miner sells before defaulting fetch resale value x "
        "(1 - this) (assumption; the resale value already falls with hashprice, as ASIC prices "
        "fell 82-87% in 2022, cal §4.8)",
    )
    asset_sale_fraction: Fraction = Field(
        default=0.7,
        description="AI halls (with their leases) and powered sites a distressed miner sells "
        "fetch this fraction of their market value (assumption)",
    )
    site_usd_per_mw: NonNegFloat = Field(
        default=0.85e6,
        le=1e8,
        description="market value of a powered mining site without machines, USD per MW, before "
        "its AI option (cal §3.9: mining build-out $0.7-1.0M/MW, CoinShares)",
    )
    curtailment: bool = Field(
        default=True, description="switch machines off on days their margin is negative"
    )
    curtailment_anticipation: Fraction = Field(
        default=0.5,
        description="0: curtail on today's difficulty (myopic); a > 0: on the difficulty the "
        "running hashrate will bring, blended as D^(1-a) D_hat^a (damps on/off cobwebs; an "
        "assumption)",
    )


class TreasuryRule(Strict):
    """What one miner converts into ETH/SOL each epoch (sim/treasury.py), while the date is
    within [start_date, end_date] and BTC closes at or above min_btc_usd (the schedule):

    * the mined-BTC rule: ``mined_share`` of the BTC it mined, valued at the closing price,
      taken from its BTC held and then its cash;
    * the cash rule: ``cash_share`` of its cash above ``cash_floor_usd`` (after the mined-BTC
      rule), taken from cash.

    Both pay ``cost_bps`` on the amount traded and buy ETH (``eth_weight``) and SOL (the rest)."""

    mined_share: Fraction = Field(
        default=0.0, description="share of the epoch's mined BTC converted (0: no treasury)"
    )
    cash_share: Fraction = Field(
        default=0.0,
        description="share of the cash above cash_floor_usd converted each epoch (0: none)",
    )
    cash_floor_usd: NonNegFloat = Field(
        default=0.0, le=1e12, description="cash the cash rule never converts, USD"
    )
    eth_weight: Fraction = Field(default=0.5, description="ETH's share of purchases; SOL the rest")
    cost_bps: NonNegFloat = Field(
        default=30.0, le=5_000, description="trading cost on each conversion or sale, bps"
    )
    start_date: Date | None = Field(default=None, description="first date it converts")
    end_date: Date | None = Field(default=None, description="last date it converts")
    min_btc_usd: NonNegFloat = Field(
        default=0.0, description="converts only while BTC closes at or above this, USD"
    )

    @model_validator(mode="after")
    def _window_ordered(self) -> TreasuryRule:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError(
                f"treasury end_date {self.end_date} is before its start_date {self.start_date}"
            )
        return self


class TreasuryPolicy(TreasuryRule):
    """``[policy.treasury]``: the rule for every public miner, and per-miner overrides
    (``[policy.treasury.miners.NAME]``: the fields given replace the defaults above)."""

    miners: dict[str, TreasuryRule] = Field(
        default_factory=dict, description="per-miner overrides by name"
    )

    @model_validator(mode="after")
    def _overrides_valid(self) -> TreasuryPolicy:
        for name in self.miners:  # an override's dates must also fit the defaults' dates
            rule = self.rule_for(name)
            if rule.start_date and rule.end_date and rule.end_date < rule.start_date:
                raise ValueError(
                    f"miner {name}: treasury end_date {rule.end_date} is before its "
                    f"start_date {rule.start_date}"
                )
        return self

    def rule_for(self, name: str) -> TreasuryRule:
        """The rule of miner ``name``: the defaults with its override's fields set on top."""
        base = TreasuryRule(**{k: getattr(self, k) for k in TreasuryRule.model_fields})
        override = self.miners.get(name)
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_unset=True))


class Strategy(Strict):
    """Policy parameters of a stated 2025 strategy (the ``strategy`` column of the miners CSV);
    each strategy below gives its own defaults (docs/economics.md, Public miners)."""

    conversion_hurdle: NonNegFloat = Field(
        le=10,
        description="a lease's NPV must beat mining's by this x the miner's own fit-out capex "
        "per MW before it converts",
    )
    ai_offer_fraction: Fraction = Field(
        description="share of its site capacity a miner offers to AI tenants (a miners CSV "
        "ai_offer_fraction cell replaces it)"
    )
    max_leverage: Fraction = Field(description="debt / assets ceiling for new borrowing")


def _strategy(name: str, hurdle: float, offer: float, leverage: float) -> type[Strategy]:
    """A :class:`Strategy` whose fields default to these values."""
    fields = Strategy.model_fields
    return create_model(
        name,
        __base__=Strategy,
        __doc__=f"{Strategy.__doc__.splitlines()[0]} ({name}).",
        conversion_hurdle=(
            NonNegFloat,
            Field(default=hurdle, le=10, description=fields["conversion_hurdle"].description),
        ),
        ai_offer_fraction=(
            Fraction,
            Field(default=offer, description=fields["ai_offer_fraction"].description),
        ),
        max_leverage=(
            Fraction,
            Field(default=leverage, description=fields["max_leverage"].description),
        ),
    )


MiningFirst = _strategy("MiningFirst", hurdle=0.5, offer=0.1, leverage=0.35)
Balanced = _strategy("Balanced", hurdle=0.2, offer=0.4, leverage=0.5)
AiFirst = _strategy("AiFirst", hurdle=0.0, offer=0.8, leverage=0.75)


class Strategies(Strict):
    """The three stated strategies of public miners in 2025."""

    mining_first: MiningFirst = MiningFirst()
    balanced: Balanced = Balanced()
    ai_first: AiFirst = AiFirst()


STRATEGY_NAMES = tuple(Strategies.model_fields)


class PolicyParams(Strict):
    hurdle_payback_days: PositiveFloat = Field(default=900.0, le=10_000)
    max_leverage: Fraction = Field(
        default=0.5,
        description="debt / assets ceiling for new borrowing (miners without a stated strategy)",
    )
    discount_rate: NonNegFloat = Field(
        default=0.10, le=5, description="annual, for NPV comparisons"
    )
    cash_buffer_months: NonNegFloat = Field(default=3.0, le=120)
    max_ai_fraction: Fraction = Field(
        default=0.8,
        description="share of site capacity a miner without a stated strategy offers to AI",
    )
    sell_fraction: Fraction = Field(
        default=1.0, description="share of mined BTC sold each epoch (non-hodl)"
    )
    planning_horizon_days: PositiveFloat = Field(
        default=730.0, le=10_000, description="horizon of the hashprice projection"
    )
    ai_step_fraction: Fraction = Field(
        default=0.1, description="share of site capacity converted to AI per epoch at most"
    )
    ai_loan_to_cost: Fraction = Field(
        default=0.85,
        description="most of the AI capex secured project notes may finance (the lease's NOI "
        "over market.rates.project_dscr may allow less)",
    )
    conversion_hurdle: NonNegFloat = Field(
        default=0.0,
        le=10,
        description="a lease's NPV must beat mining's by this x the miner's own fit-out capex "
        "per MW before it converts (miners without a strategy)",
    )
    lease_discount_rate: NonNegFloat = Field(
        default=0.075,
        le=5,
        description="annual rate a lease's rent is discounted at, before the tenant's default "
        "hazard is added (mining's cash flows use discount_rate): the cost of the secured "
        "project notes that fund the halls",
    )
    strategies: Strategies = Strategies()
    treasury: TreasuryPolicy = TreasuryPolicy()


class Outputs(Strict):
    miners_table: bool = True


class ScenarioConfig(Strict):
    """A complete, validated scenario file (the TOML part; tables are loaded by sim.input.scenario)."""

    scenario: ScenarioInfo
    chain: Chain
    market: Market = Market()
    hardware: Hardware = Hardware()
    machines: Machines = Machines()
    expectations: Expectations = Expectations()
    miners: Miners = Miners()
    fringe: Fringe = Fringe()
    policy: PolicyParams = PolicyParams()
    outputs: Outputs = Outputs()
