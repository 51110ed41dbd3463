"""Exogenous market processes on a daily grid (day 0 = the scenario start date).

Paths: BTC price (USD), ETH and SOL prices correlated with it (USD), wholesale power ($/MWh), AI/HPC colocation lease rate (USD per MW-year),
base interest rate (annual), credit windows (open or closed) and expected fees per block (BTC).
Per-block fees are drawn on demand by :meth:`Markets.draw_block_fees_sat`.

Randomness. The model passes one ``numpy.random.SeedSequence``; :class:`Markets` spawns one child
per process (BTC, power, AI lease, credit windows, fees), so changing one process's parameters
never changes another's path. Credit windows draw nothing: they follow the BTC path (closed
in deep drawdowns), so only BTC's parameters move them. Paths are generated in fixed blocks of :data:`BLOCK_DAYS` days, each
block drawing the same variates in the same order from its process's generator, so a path is the
same whatever order or chunk sizes it is extended in (extending to 100 days then to 300 gives
exactly the arrays of extending to 300 at once). Per-block fee draws come from their own child
generator in call order.

Time step: ``dt = 1 / 365`` year per day. Annual rates and intensities are converted with it.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING

import numpy as np

from sim import libm
from sim.errors import ScenarioError
from sim.units import YEAR_DAYS

if TYPE_CHECKING:
    import pandas as pd

    from sim.input.schema import BtcMarket, Market, PowerMarket, RatesMarket

DT_YEARS = 1.0 / YEAR_DAYS  # one step of the daily paths, years
BLOCK_DAYS = 64  # paths grow by whole blocks of this many days (the unit of chunk invariance)
MAX_LEVERAGE = 5.0  # debt / assets is clipped to [0, MAX_LEVERAGE] when pricing credit
RENEWAL_WINDOW_DAYS = 30  # contract renewals reprice to the trailing mean market price
SAT_PER_BTC = 100_000_000
MAX_BLOCK_FEES_SAT = 21_000_000 * SAT_PER_BTC  # a block cannot pay more fees than all BTC

#: ETH and SOL log prices are kept in these bounds (USD 1e-9 to 1e12: numerical guards, not
#: meant to bind), a sticky barrier as BTC's floor and cap.
ALT_LOG_BOUNDS = (math.log(1e-9), math.log(1e12))
#: Children spawned from the seed sequence: btc, power, ai, credit (unused: the credit window
#: follows BTC), fees; then eth, sol (spawned after them: the first five streams are unchanged).
#: Keep the order: each child's stream depends on its position.
_N_PROCESSES = 5
_N_ALT_PROCESSES = 2


def _generator(seed: np.random.SeedSequence) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _switch_probability(per_year: float) -> float:
    """Probability per day that a Poisson event of intensity ``per_year`` (1/year) happens."""
    return -math.expm1(-per_year * DT_YEARS)


def _clipped_walk(start: float, steps: np.ndarray, low: float, high: float) -> np.ndarray:
    """Random walk ``x_i = clip(x_{i-1} + steps_i, low, high)`` from ``x_{-1} = start``."""
    path = start + np.cumsum(steps)
    if path.size == 0 or (path.min() >= low and path.max() <= high):
        return path
    out = np.empty_like(steps)
    x = start
    for i, step in enumerate(steps):
        x = min(max(x + step, low), high)
        out[i] = x
    return out


def _two_state_chain(start: bool, uniforms: np.ndarray, p_leave_false: float, p_leave_true: float):
    """Boolean Markov chain: day i leaves its state when ``uniforms[i]`` is below the state's
    leaving probability. ``start`` is the state of the day before ``uniforms[0]``."""
    out = np.empty(uniforms.size, dtype=bool)
    state = start
    for i, u in enumerate(uniforms):
        if u < (p_leave_true if state else p_leave_false):
            state = not state
        out[i] = state
    return out


def _ar1(a: float, x0: float, shocks: np.ndarray) -> np.ndarray:
    """x[t] = a * x[t-1] + shocks[t] with x[-1] = x0 (a plain loop: a 64-day block costs
    microseconds, while importing scipy.signal.lfilter for it cost about a second per process)."""
    out = np.empty_like(shocks)
    x = x0
    for t, shock in enumerate(shocks.tolist()):
        x = a * x + shock
        out[t] = x
    return out


def _day_offset(day: dt.date, start_date: dt.date) -> int:
    return (day - start_date).days


class _LogOU:
    """Ornstein-Uhlenbeck log factor ``x`` (x = 0 on day 0) with exact daily discretisation:
    ``x_t = a x_{t-1} + e_t``, ``a = exp(-kappa dt)``, ``sd(e) = sigma sqrt((1 - a^2) / (2 kappa))``
    (``sigma sqrt(dt)`` when kappa = 0: a random walk). The median of ``exp(x)`` stays at 1."""

    def __init__(self, rng: np.random.Generator, reversion_per_year: float, volatility: float):
        self._rng = rng
        self._a = math.exp(-reversion_per_year * DT_YEARS)
        if reversion_per_year > 0:
            variance = -math.expm1(-2 * reversion_per_year * DT_YEARS) / (2 * reversion_per_year)
        else:
            variance = DT_YEARS
        self._shock_sd = volatility * math.sqrt(variance)
        self._x = 0.0

    def block(self, first_day: int, n: int) -> np.ndarray:
        shocks = self._shock_sd * self._rng.standard_normal(n)
        if first_day == 0:
            shocks[0] = 0.0
        x = _ar1(self._a, self._x, shocks)
        self._x = float(x[-1])
        return x


class _BtcProcess:
    """BTC-USD on the daily grid for every ``BtcMarket.process``.

    * gbm: ``log P_t = log P_{t-1} + drift dt + volatility sqrt(dt) Z`` (drift is the annual *log*
      drift: no -sigma^2/2 correction); day 0 = initial_usd.
    * jump_diffusion: gbm plus the sum of ``N ~ Poisson(jump_intensity dt)`` log jumps, each
      ``Normal(jump_mean, jump_std)`` (drawn as ``N jump_mean + sqrt(N) jump_std Z'``).
    * regime_switching: a bull/bear Markov chain (day 0 bull; switches with probability
      ``1 - exp(-intensity dt)`` a day); the return into day t uses day t's regime: drift/volatility
      in bull, bear_drift/bear_volatility in bear.
    * replay: the replayed daily series from the start date; after its
      last date, gbm with drift/volatility from the last price. initial_usd is not used.
    * piecewise: log-linear between the points, flat before the first and after the last; the
      points are the median path. With volatility > 0 the log price adds a driftless Brownian
      deviation ``volatility W_t`` (W_0 = 0, not mean-reverting); with volatility 0 the path is
      deterministic. drift and initial_usd are not used.

    The price is kept in [floor_usd, cap_usd]: the random walk state is clipped (a sticky
    barrier), so a path that hits the floor restarts from it; piecewise clips its output.
    """

    def __init__(
        self,
        cfg: BtcMarket,
        start_date: dt.date,
        rng: np.random.Generator,
        replay: pd.Series | None,
    ):
        self._cfg = cfg
        self._rng = rng
        self._log_low = math.log(cfg.floor_usd)
        self._log_high = math.log(cfg.cap_usd)
        self._log_price = min(max(math.log(cfg.initial_usd), self._log_low), self._log_high)
        self._bear = False
        self._noise = 0.0  # piecewise: Brownian log deviation from the points
        #: The last block's standard normal diffusion shocks (on replayed days: the replayed log
        #: return standardised by drift and volatility) and log jumps, per day: what ETH and SOL
        #: are correlated with (:class:`_AltProcesses`).
        self.shocks = np.empty(0)
        self.jumps = np.empty(0)
        self._replay_log = np.empty(0)
        if cfg.process == "replay":
            if replay is None:
                raise ValueError("process 'replay' needs the loaded replay series (btc_replay)")
            self._replay_log = _replay_log_prices(replay, start_date, cfg.path_csv)
        if cfg.process == "piecewise":
            self._point_days, self._point_logs = _piecewise_points(cfg.points, start_date)

    def block(self, first_day: int, n: int) -> np.ndarray:
        """Prices (USD) of days ``[first_day, first_day + n)``; blocks must come in order."""
        previous_log = self._log_price
        steps = self._log_steps(first_day, n)
        days = np.arange(first_day, first_day + n)
        if self._cfg.process == "piecewise":
            log_price = self._piecewise_log(days, steps)
        else:
            log_price = self._walk(days, steps)
        self._standardise_replayed(days, log_price, previous_log)
        with np.errstate(over="ignore"):
            return np.clip(libm.exp(log_price), self._cfg.floor_usd, self._cfg.cap_usd)

    def _log_steps(self, first_day: int, n: int) -> np.ndarray:
        """Log-price changes into each day of the block (0 into day 0)."""
        cfg, rng = self._cfg, self._rng
        z = rng.standard_normal(n)
        self.shocks = z.copy()
        self.jumps = np.zeros(n)
        if cfg.process == "regime_switching":
            steps = self._regime_steps(first_day, z)
        elif cfg.process == "piecewise":
            steps = cfg.volatility * math.sqrt(DT_YEARS) * z
        else:
            steps = cfg.drift * DT_YEARS + cfg.volatility * math.sqrt(DT_YEARS) * z
        if cfg.process == "jump_diffusion":
            jumps = rng.poisson(cfg.jump_intensity * DT_YEARS, n)
            jump_z = rng.standard_normal(n)
            self.jumps = jumps * cfg.jump_mean + np.sqrt(jumps) * cfg.jump_std * jump_z
            steps += self.jumps
        if first_day == 0:
            steps[0] = 0.0
            self.shocks[0] = 0.0
            self.jumps[0] = 0.0
        return steps

    def _standardise_replayed(
        self, days: np.ndarray, log_price: np.ndarray, previous_log: float
    ) -> None:
        """On replayed days the shocks are the replayed log returns, standardised (drift and
        volatility of the scenario; 0 with volatility 0), and there are no separate jumps."""
        n_replayed = int(np.count_nonzero(days < self._replay_log.size))
        if not n_replayed:
            return
        returns = np.diff(log_price[:n_replayed], prepend=previous_log)
        if days[0] == 0:
            returns[0] = 0.0
        scale = self._cfg.volatility * math.sqrt(DT_YEARS)
        standardised = (
            (returns - self._cfg.drift * DT_YEARS) / scale if scale > 0 else 0.0 * returns
        )
        self.shocks[:n_replayed] = standardised
        self.jumps[:n_replayed] = 0.0

    def _regime_steps(self, first_day: int, z: np.ndarray) -> np.ndarray:
        cfg = self._cfg
        uniforms = self._rng.random(z.size)
        if first_day == 0:
            uniforms[0] = 1.0  # day 0 is bull
        bear = _two_state_chain(
            self._bear,
            uniforms,
            _switch_probability(cfg.bull_to_bear_per_year),
            _switch_probability(cfg.bear_to_bull_per_year),
        )
        self._bear = bool(bear[-1])
        drift = np.where(bear, cfg.bear_drift, cfg.drift)
        volatility = np.where(bear, cfg.bear_volatility, cfg.volatility)
        return drift * DT_YEARS + volatility * math.sqrt(DT_YEARS) * z

    def _walk(self, days: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """Clipped log-price walk; replayed days (if any) override it and reset its state."""
        n_replayed = int(np.count_nonzero(days < self._replay_log.size))
        head = np.clip(self._replay_log[days[:n_replayed]], self._log_low, self._log_high)
        if n_replayed:
            self._log_price = float(head[-1])
        tail = _clipped_walk(self._log_price, steps[n_replayed:], self._log_low, self._log_high)
        if tail.size:
            self._log_price = float(tail[-1])
        return np.concatenate([head, tail])

    def _piecewise_log(self, days: np.ndarray, steps: np.ndarray) -> np.ndarray:
        noise = self._noise + np.cumsum(steps)
        self._noise = float(noise[-1])
        anchor = np.interp(days, self._point_days, self._point_logs)
        return np.clip(anchor + noise, self._log_low, self._log_high)


class _AltProcesses:
    """ETH and SOL USD prices, jointly with BTC (:class:`sim.input.schema.AltMarket`).

    The daily shocks of (BTC, ETH, SOL) are ``L (z_btc, e_eth, e_sol)``, ``L`` the Cholesky factor
    of their correlation matrix, ``z_btc`` BTC's own shocks (:attr:`_BtcProcess.shocks`, so BTC's
    stream is not touched) and ``e_eth``, ``e_sol`` independent normals from the two new
    generators. ``log P_t = log P_{t-1} + drift dt + volatility sqrt(dt) Z_t + J_t``, ``J_t`` =
    BTC's log jump that day x volatility / BTC's volatility (1 when BTC's is 0); day 0 = initial.
    Log prices stay within :data:`ALT_LOG_BOUNDS` (a sticky barrier, as BTC's floor and cap).
    """

    def __init__(self, config: Market, eth_rng: np.random.Generator, sol_rng: np.random.Generator):
        self._eth, self._sol = config.eth, config.sol
        self._btc_volatility = config.btc.volatility
        r_be, r_bs, r_es = (
            self._eth.correlation_btc,
            self._sol.correlation_btc,
            self._sol.correlation_eth,
        )
        # Cholesky of [[1, r_be, r_bs], [r_be, 1, r_es], [r_bs, r_es, 1]] by hand (a semidefinite
        # matrix, which numpy.linalg.cholesky rejects, gets zero diagonal terms)
        eth_own = math.sqrt(max(1.0 - r_be**2, 0.0))
        sol_eth = (r_es - r_be * r_bs) / eth_own if eth_own > 0 else 0.0
        self._weights = (
            r_be,
            eth_own,
            r_bs,
            sol_eth,
            math.sqrt(max(1.0 - r_bs**2 - sol_eth**2, 0.0)),
        )
        self._rngs = (eth_rng, sol_rng)
        self._log = [math.log(self._eth.initial_usd), math.log(self._sol.initial_usd)]

    def block(self, first_day: int, btc_shocks: np.ndarray, btc_jumps: np.ndarray):
        """ETH and SOL prices (USD) of the block's days, given BTC's shocks and jumps."""
        n = btc_shocks.size
        e_eth, e_sol = (rng.standard_normal(n) for rng in self._rngs)
        r_be, eth_own, r_bs, sol_eth, sol_own = self._weights
        z_eth = r_be * btc_shocks + eth_own * e_eth
        z_sol = r_bs * btc_shocks + sol_eth * e_eth + sol_own * e_sol
        prices = []
        jumped = btc_jumps != 0
        for i, (cfg, z) in enumerate(((self._eth, z_eth), (self._sol, z_sol))):
            steps = cfg.drift * DT_YEARS + cfg.volatility * math.sqrt(DT_YEARS) * z
            if jumped.any():
                with np.errstate(over="ignore", divide="ignore"):
                    scale = cfg.volatility / self._btc_volatility if self._btc_volatility else 1.0
                    steps[jumped] += scale * btc_jumps[jumped]
            if first_day == 0:
                steps[0] = 0.0
            log_price = _clipped_walk(self._log[i], steps, *ALT_LOG_BOUNDS)
            self._log[i] = float(log_price[-1])
            prices.append(libm.exp(log_price))
        return prices


#: Published ETH/SOL volatility and correlation figures, one row per (figure, window), with
#: what each measured and its address (data/sources.md §3.13).
ALT_FIGURES_FILE = "eth_sol_published.csv"


def published_alt_figures(path=None) -> dict[str, float]:
    """The defaults of ``market.eth`` and ``market.sol`` derived from the published figures:
    for each figure (``eth.volatility``: annual, of the daily log price; ``*.correlation_*``:
    of daily returns), the mean of its published values over the windows listed, rounded half
    up to two decimals. ``path``: the CSV (default: :data:`ALT_FIGURES_FILE` in ``sim.data``).
    Rows whose figure is ``btc.*`` cross-check the publisher's method and are included too."""
    import csv
    import io
    from decimal import ROUND_HALF_UP, Decimal

    from sim.input.files import MAX_TABLE_BYTES, read_text

    if path is None:
        from sim.paths import DATA_DIR

        path = DATA_DIR / ALT_FIGURES_FILE
    values: dict[str, list[Decimal]] = {}
    for row in csv.DictReader(io.StringIO(read_text(path, MAX_TABLE_BYTES), newline="")):
        values.setdefault(row["figure"], []).append(Decimal(row["value"]))
    return {
        figure: float((sum(vals) / len(vals)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        for figure, vals in values.items()
    }


def _replay_log_prices(series: pd.Series, start_date: dt.date, path: str | None) -> np.ndarray:
    """Log USD prices for days 0..last date of ``series`` (positive prices indexed by date, as the
    scenario loader gives them); any gaps are filled log-linearly."""
    import pandas as pd  # only a replayed path needs it (its dates are a pandas index)

    offsets = (pd.to_datetime(series.index).normalize() - pd.Timestamp(start_date)).days
    log_prices = pd.Series(libm.log(series.to_numpy(dtype=float)), index=np.asarray(offsets))
    log_prices = log_prices.sort_index()
    first, last = int(log_prices.index[0]), int(log_prices.index[-1])
    if first > 0 or last < 0:
        raise ScenarioError(
            f"replay prices ({first:+d} to {last:+d} days from the start date) do not cover "
            f"the start date {start_date}",
            file=path,
            key="market.btc.path_csv",
        )
    return np.interp(np.arange(last + 1), log_prices.index, log_prices.to_numpy())


def _piecewise_points(
    points: list[tuple[dt.date, float]], start_date: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """Day offsets and log prices of the piecewise points (dates strictly increasing: schema)."""
    days = np.array([_day_offset(day, start_date) for day, _ in points], dtype=float)
    return days, libm.log(np.array([usd for _, usd in points], dtype=float))


class _PowerProcess:
    """``base x shock_multiplier x exp(OU log factor) x spike``, $/MWh. A spike day (probability
    spike_probability_per_day, independent across days) multiplies that day only."""

    def __init__(self, cfg: PowerMarket, rng: np.random.Generator):
        self._cfg = cfg
        self._rng = rng
        self._log_factor = _LogOU(rng, cfg.mean_reversion_per_year, cfg.volatility)

    def block(self, first_day: int, n: int) -> np.ndarray:
        factor = libm.exp(self._log_factor.block(first_day, n))
        spikes = self._rng.random(n) < self._cfg.spike_probability_per_day
        level = self._cfg.base_usd_mwh * self._cfg.shock_multiplier
        return level * factor * np.where(spikes, self._cfg.spike_multiplier, 1.0)


def trailing_high(prices: np.ndarray, window_days: int, history: np.ndarray) -> np.ndarray:
    """Highest price of the ``window_days`` days ending on each day of ``prices`` (the day itself
    included). ``history`` holds the days before ``prices[0]``, oldest first (any length: only its
    last ``window_days - 1`` count); days before it do not exist."""
    past = history[history.size - min(history.size, window_days - 1) :]
    padded = np.concatenate([np.full(window_days - 1 - past.size, -np.inf), past, prices])
    return np.lib.stride_tricks.sliding_window_view(padded, window_days).max(axis=1)


def drawdown_windows(
    drawdown: np.ndarray, close_drawdown: float, reopen_drawdown: float, start_open: bool
) -> np.ndarray:
    """Open (True) / closed days from a drawdown series (fraction below the trailing high):
    an open window closes on a day the drawdown exceeds ``close_drawdown``; a closed one reopens
    on the first day it is below ``reopen_drawdown``. ``start_open`` is the state of the day
    before ``drawdown[0]``."""
    out = np.empty(drawdown.size, dtype=bool)
    state = start_open
    for i, dd in enumerate(drawdown.tolist()):
        if state and dd > close_drawdown:
            state = False
        elif not state and dd < reopen_drawdown:
            state = True
        out[i] = state
    return out


class _CreditProcess:
    """Credit window open (True) or closed, driven by BTC: it closes on a day BTC ends more than
    ``credit_close_drawdown`` below its trailing high (the highest close of the last
    ``credit_high_window_days`` days, day 0 onwards: the path has no earlier history) and reopens
    on the first day it is less than ``credit_reopen_drawdown`` below it; open on day 0. Days
    inside any ``closed_periods`` (both end dates included) are forced closed; the drawdown rule
    runs on beneath a forced closure. No random draws: the windows are a function of the BTC
    path, so they close in the BTC crashes that hurt miners, not on independent coin flips."""

    def __init__(self, rates: RatesMarket, start_date: dt.date):
        self._rates = rates
        self._open = True
        self._history = np.empty(0)  # the last window - 1 days of BTC before the next block
        self._closed_days = [
            (_day_offset(first, start_date), _day_offset(last, start_date))
            for first, last in rates.closed_periods
        ]

    def block(self, first_day: int, btc_usd: np.ndarray) -> np.ndarray:
        """Open/closed for the days ``[first_day, first_day + len(btc_usd))`` given their BTC
        prices (USD); blocks must come in order."""
        r = self._rates
        high = trailing_high(btc_usd, r.credit_high_window_days, self._history)
        is_open = drawdown_windows(
            1.0 - btc_usd / high, r.credit_close_drawdown, r.credit_reopen_drawdown, self._open
        )
        self._open = bool(is_open[-1])
        self._history = np.concatenate([self._history, btc_usd])
        self._history = self._history[self._history.size - (r.credit_high_window_days - 1) :]
        days = np.arange(first_day, first_day + btc_usd.size)
        for first, last in self._closed_days:
            is_open[(days >= first) & (days <= last)] = False
        return is_open


class Markets:
    """All exogenous market paths of one run, extended on demand.

    ``config``: the scenario's ``market`` section; ``start_date``: day 0; ``seed_seq``: the run's
    seed sequence (this spawns 5 + 2 children from it); ``btc_replay``: daily USD prices indexed by
    date, needed when ``config.btc.process == "replay"``.

    Scalar parameters (base_rate, expected fees) are constant over time: the schema has no field
    for a path of them.
    """

    def __init__(
        self,
        config: Market,
        start_date: dt.date,
        seed_seq: np.random.SeedSequence,
        btc_replay: pd.Series | None = None,
    ):
        self.config = config
        self.start_date = start_date
        # The credit window draws nothing (it follows BTC), but its child is still spawned so
        # that the fee stream, spawned after it, is the same as before.
        btc_seed, power_seed, ai_seed, _credit_seed, fee_seed = seed_seq.spawn(_N_PROCESSES)
        self._btc = _BtcProcess(config.btc, start_date, _generator(btc_seed), btc_replay)
        self._power = _PowerProcess(config.power, _generator(power_seed))
        self._ai = _LogOU(
            _generator(ai_seed), config.ai.mean_reversion_per_year, config.ai.volatility
        )
        self._credit = _CreditProcess(config.rates, start_date)
        self._fee_rng = _generator(fee_seed)
        eth_seed, sol_seed = seed_seq.spawn(_N_ALT_PROCESSES)
        self._alt = _AltProcesses(config, _generator(eth_seed), _generator(sol_seed))
        self._filled = 0
        self._paths: dict[str, np.ndarray] = {
            "btc": np.empty(0),
            "eth": np.empty(0),
            "sol": np.empty(0),
            "power": np.empty(0),
            "ai": np.empty(0),
            "base_rate": np.empty(0),
            "credit_open": np.empty(0, dtype=bool),
            "fee": np.empty(0),
        }

    # ----------------------------------------------------------------- extension
    def extend_to(self, n_days: int) -> None:
        """Make every path cover days ``[0, n_days)``. Capacity grows geometrically (at least
        doubling, in whole blocks), so repeated small extensions are cheap."""
        if n_days <= self._filled:
            return
        target = max(n_days, 2 * self._filled)
        target = -(-target // BLOCK_DAYS) * BLOCK_DAYS
        for name, old in self._paths.items():
            grown = np.empty(target, dtype=old.dtype)
            grown[: self._filled] = old[: self._filled]
            self._paths[name] = grown
        for first in range(self._filled, target, BLOCK_DAYS):
            self._fill_block(first)
        self._filled = target

    def _fill_block(self, first: int) -> None:
        days = slice(first, first + BLOCK_DAYS)
        paths = self._paths
        paths["btc"][days] = self._btc.block(first, BLOCK_DAYS)
        paths["eth"][days], paths["sol"][days] = self._alt.block(
            first, self._btc.shocks, self._btc.jumps
        )
        paths["power"][days] = self._power.block(first, BLOCK_DAYS)
        paths["ai"][days] = self.config.ai.lease_usd_per_mw_year * libm.exp(
            self._ai.block(first, BLOCK_DAYS)
        )
        paths["base_rate"][days] = self.config.rates.base_rate
        paths["credit_open"][days] = self._credit.block(first, paths["btc"][days])
        fees = self.config.fees
        paths["fee"][days] = fees.mean_btc_per_block + fees.burst_probability * fees.burst_btc

    def _view(self, name: str) -> np.ndarray:
        view = self._paths[name][: self._filled]
        view.flags.writeable = False
        return view

    def _check_day(self, day: int) -> None:
        if day < 0:
            raise ValueError(f"day must be >= 0, got {day}")
        self.extend_to(day + 1)

    # ----------------------------------------------------------------- paths (read-only views)
    @property
    def n_days(self) -> int:
        """Days currently covered (>= the largest ``n_days`` asked for)."""
        return self._filled

    @property
    def btc_price_usd(self) -> np.ndarray:
        """BTC price, USD per BTC, one value per day."""
        return self._view("btc")

    @property
    def eth_price_usd(self) -> np.ndarray:
        """ETH price, USD per ETH, one value per day (correlated with BTC)."""
        return self._view("eth")

    @property
    def sol_price_usd(self) -> np.ndarray:
        """SOL price, USD per SOL, one value per day (correlated with BTC and ETH)."""
        return self._view("sol")

    @property
    def power_usd_mwh(self) -> np.ndarray:
        """Wholesale power price, $/MWh."""
        return self._view("power")

    @property
    def ai_lease_usd_per_mw_year(self) -> np.ndarray:
        """AI/HPC colocation lease rate, USD per MW(IT)-year (computed even when AI is disabled)."""
        return self._view("ai")

    @property
    def ai_enabled(self) -> bool:
        return self.config.ai.enabled

    @property
    def base_rate(self) -> np.ndarray:
        """Base interest rate, annual (constant: market.rates.base_rate)."""
        return self._view("base_rate")

    @property
    def credit_open(self) -> np.ndarray:
        """True where the credit window is open that day."""
        return self._view("credit_open")

    @property
    def fee_btc_expected(self) -> np.ndarray:
        """Expected fees per block, BTC: mean_btc_per_block + burst_probability x burst_btc."""
        return self._view("fee")

    # ----------------------------------------------------------------- fees and credit
    def draw_block_fees_sat(self, n_blocks: int, day: int) -> np.ndarray:
        """Fees of ``n_blocks`` blocks mined on ``day``, sat (int64, >= 0).

        Each block: ``mean_btc_per_block x exp(lumpiness Z - lumpiness^2 / 2)`` (a mean-one
        lognormal multiplier) plus, with probability burst_probability, an exponential burst of
        mean burst_btc. Capped at 21 million BTC per block (binds only for absurd parameters) and
        rounded to whole sat. Draws come from the fee generator in call order.
        """
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        self._check_day(day)
        fees, rng = self.config.fees, self._fee_rng
        sigma = fees.lumpiness
        btc = fees.mean_btc_per_block * libm.exp(
            sigma * rng.standard_normal(n_blocks) - sigma**2 / 2
        )
        bursts = rng.random(n_blocks) < fees.burst_probability
        btc[bursts] += rng.exponential(fees.burst_btc, int(np.count_nonzero(bursts)))
        sat = np.minimum(btc * SAT_PER_BTC, MAX_BLOCK_FEES_SAT)
        return np.rint(sat).astype(np.int64)

    def credit_spread(self, leverage: np.ndarray) -> np.ndarray:
        """Annual credit spread: spread_base + spread_per_leverage x leverage, leverage
        (debt / assets) clipped to [0, 5]; NaN leverage (no assets) counts as 5."""
        rates = self.config.rates
        clipped = np.clip(
            np.nan_to_num(np.asarray(leverage, dtype=float), nan=MAX_LEVERAGE), 0, MAX_LEVERAGE
        )
        return rates.spread_base + rates.spread_per_leverage * clipped

    def borrowing_rate(self, day: int, leverage: np.ndarray) -> np.ndarray:
        """Annual rate on new debt: base_rate[day] + credit_spread(leverage)."""
        self._check_day(day)
        return self.base_rate[day] + self.credit_spread(leverage)

    def renewal_price_usd_mwh(self, day: int, basis: np.ndarray) -> np.ndarray:
        """Contract price, $/MWh, for contracts renewing on ``day``: the mean market price of the
        30 days ending on ``day`` (fewer near day 0) x basis x (1 + renewal_shock). ``basis`` =
        a site's contract price / the market price at the start."""
        shock = 1.0 + self.config.power.renewal_shock
        return self.trailing_power_usd_mwh(day) * np.asarray(basis, dtype=float) * shock

    def trailing_power_usd_mwh(self, day: int) -> float:
        """Mean market price, $/MWh, of the RENEWAL_WINDOW_DAYS days ending on ``day`` (fewer
        near day 0): what a renewed contract and a fringe site's epoch price are set from, so
        that a one-day spike raises the month's mean instead of a whole epoch's price."""
        self._check_day(day)
        window = self.power_usd_mwh[max(0, day - RENEWAL_WINDOW_DAYS + 1) : day + 1]
        return float(window.mean())
