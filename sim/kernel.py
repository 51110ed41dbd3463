"""Numba kernel: simulate one difficulty epoch of the Bitcoin network block by block.

The kernel works on plain numpy arrays (one array per field; no Mesa, no pandas). The model calls
the jitted :func:`simulate_epoch` directly on its hot path; :func:`run_epoch` is the same call behind
a pure-Python check of lengths, dtypes and signs, for callers that build the arrays by hand.

Mechanics
---------
* Blocks arrive as a Poisson process: the inter-arrival time is exponential with mean
  ``hashes_per_block / (active TH/s * 1e12)`` seconds.
* The winner of each block is drawn by active-hashrate share of the owners (cumulative TH/s per
  owner, then a binary search for a uniform draw).
* The reward is the subsidy at the block's height (a halving can fall inside an epoch) plus the
  fee of that block (``block_fees_sat``), both in sat.
* Curtailment is decided per day, on the daily paths (day index
  ``floor((t - day0_time) / 86400)``; days past the end of the paths reuse the last day): a
  curtailable unit is off for the day when the day's expected revenue per TH/s,
  ``86400 * 1e12 / hashes_per_block * (subsidy BTC + expected fee BTC) * BTC price`` (USD per
  TH/s per day), is below its power cost, ``J/TH * 24 / 1e6 * $/MWh`` (USD per TH/s per day).
  A unit whose revenue equals its cost stays on. The decision is taken again when a halving
  changes the subsidy of the next block.
* When a day boundary comes before the drawn arrival, the draw is discarded and redone from the
  boundary with the new active hashrate. Arrivals are memoryless, so this is exact for a
  piecewise-constant rate.
* When no hashrate is active and the daily paths have ended (so nothing can change), or no unit
  has any hashrate, the chain stalls: the kernel stops and returns ``n_mined < n_blocks``, with
  NaN block times for the blocks not mined.
* ``unit_active_s`` counts the seconds each unit hashed between ``start_time`` and the last mined
  block (``start_time`` itself when none was mined). The model derives energy from it:
  MWh = TH/s * J/TH * active_s / 3.6e9.

Seeding and reproducibility
---------------------------
numba keeps its own random state (a Mersenne Twister per thread), separate from NumPy's: calling
``np.random.seed`` from ordinary Python does not touch it. :func:`simulate_epoch` therefore calls
``np.random.seed(seed)`` itself, first thing, and every random number of the epoch comes from that
stream. The model owns one ``numpy.random.Generator`` and draws a fresh ``seed`` from it each epoch
(e.g. ``int(rng.integers(2**32))``), so a run is reproducible from the model's seed alone. The
same ``seed`` with the same inputs gives bit-identical outputs in any process, freshly compiled or
loaded from numba's cache. numba uses only the low 32 bits of the seed, so seeds must lie in
``[0, 2**32)`` (:func:`run_epoch` checks this). The kernel is compiled without ``parallel`` or
``fastmath``, both of which change the last digits of results.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.consensus import COIN, HALVING_INTERVAL, INITIAL_SUBSIDY, MAX_HALVINGS, TARGET_SPACING
from sim.units import DAY_S as SECONDS_PER_DAY
from sim.units import HASHES_PER_TH, power_cost_usd_per_th_day

TARGET_SPACING_S = float(TARGET_SPACING)  # the target block interval as numba's float, s
MAX_SEED = 2**32  # numba seeds its Mersenne Twister with the low 32 bits


@njit(cache=True)
def subsidy_sat(height):
    """Block subsidy at ``height`` in sat (int64): 50 BTC halved every 210,000 blocks."""
    halvings = height // HALVING_INTERVAL
    if halvings >= MAX_HALVINGS:
        return np.int64(0)
    return np.int64(INITIAL_SUBSIDY) >> halvings


@njit(cache=True)
def _day_index(t, day0_time, last_day):
    """Index of the day containing unix time ``t`` (s), clamped to the daily paths."""
    day = math.floor((t - day0_time) / SECONDS_PER_DAY)
    return min(max(day, 0), last_day)


@njit(cache=True)
def _revenue_usd_per_ths_day(day, subsidy, hashes_per_block, btc_price_usd, fee_btc_expected):
    """Expected revenue of 1 TH/s over ``day`` (USD) at a block subsidy of ``subsidy`` sat."""
    return (
        SECONDS_PER_DAY
        * HASHES_PER_TH
        / hashes_per_block
        * (subsidy / COIN + fee_btc_expected[day])
        * btc_price_usd[day]
    )


@njit(cache=True)
def _decision_revenue(
    revenue_now, hashes_per_block, anticipation, sorted_cost, prefix_ths, must_run_ths
):
    """Revenue (USD per TH/s per day) against which curtailable units compare their power cost.

    ``anticipation`` = 0: today's revenue at the current difficulty (myopic miners). With
    ``anticipation`` = a in (0, 1], miners expect the difficulty D to move toward the level
    D_hat that the hashrate now running implies at 600 s blocks, and decide on the revenue at
    D^(1-a) * D_hat^a. The running set is then a fixed point: the cheapest curtailable units
    (``sorted_cost`` ascending, ``prefix_ths[i]`` = TH/s of the first i) such that the marginal
    one covers its cost at the difficulty the set itself implies; found by binary search, since
    cost rises and revenue falls along the sorted units. Myopic curtailment lets a fleet full of
    marginal machines switch off and on in alternate epochs (a cobweb); anticipation damps it.
    """
    n = sorted_cost.size
    if anticipation == 0.0 or n == 0:
        return revenue_now
    low, high = 0, n
    while low < high:
        mid = (low + high + 1) // 2
        if sorted_cost[mid - 1] <= _anticipated(
            revenue_now, hashes_per_block, anticipation, must_run_ths + prefix_ths[mid]
        ):
            low = mid
        else:
            high = mid - 1
    # The threshold lies at or above the marginal running unit's cost and below the next one's.
    revenue = _anticipated(
        revenue_now, hashes_per_block, anticipation, must_run_ths + prefix_ths[low]
    )
    if low < n:
        revenue = min(revenue, np.nextafter(sorted_cost[low], -np.inf))
    return revenue


@njit(cache=True)
def _day_decision(
    day,
    subsidy,
    hashes_per_block,
    btc_price_usd,
    fee_btc_expected,
    anticipation,
    sorted_cost,
    prefix_ths,
    must_run_ths,
):
    """The revenue curtailable units decide on for ``day``: today's revenue at the current
    difficulty, adjusted for anticipation (:func:`_decision_revenue`)."""
    revenue_now = _revenue_usd_per_ths_day(
        day, subsidy, hashes_per_block, btc_price_usd, fee_btc_expected
    )
    return _decision_revenue(
        revenue_now, hashes_per_block, anticipation, sorted_cost, prefix_ths, must_run_ths
    )


@njit(cache=True)
def _anticipated(revenue_now, hashes_per_block, anticipation, running_ths):
    """Revenue at the difficulty blend D^(1-a) * D_hat^a, D_hat implied by ``running_ths``."""
    if running_ths <= 0.0:
        return np.inf
    implied_hashes_per_block = running_ths * HASHES_PER_TH * TARGET_SPACING_S
    return revenue_now * (hashes_per_block / implied_hashes_per_block) ** anticipation


@njit(cache=True)
def _runs(revenue_usd_per_ths_day, cost_usd_per_ths_day, curtailable):
    """A unit runs unless it is curtailable and its power costs more than it earns."""
    return revenue_usd_per_ths_day >= cost_usd_per_ths_day or not curtailable


@njit(cache=True)
def _start_segment(
    elapsed_s,
    revenue_usd_per_ths_day,
    on,
    unit_active_s,
    cumulative_ths,
    unit_cost,
    unit_curtailable,
    unit_hashrate_ths,
    unit_owner,
):
    """End a segment of constant active units and start the next, in one pass over the units.

    Credits ``elapsed_s`` (the ending segment's length, s) to the units that were on, switches
    each unit for the new revenue (``unit_cost`` in USD per TH/s per day), fills
    ``cumulative_ths`` with the running sum of active TH/s over owners and returns the total.
    """
    cumulative_ths[:] = 0.0
    for j in range(on.size):
        if on[j]:
            unit_active_s[j] += elapsed_s
        on[j] = _runs(revenue_usd_per_ths_day, unit_cost[j], unit_curtailable[j])
        if on[j]:
            cumulative_ths[unit_owner[j]] += unit_hashrate_ths[j]
    total = 0.0
    for k in range(cumulative_ths.size):
        total += cumulative_ths[k]
        cumulative_ths[k] = total
    return total


@njit(cache=True)
def _pick_owner(cumulative_ths, draw_ths):
    """First owner whose cumulative TH/s exceeds ``draw_ths`` (owners without hashrate never win).

    A draw at or above the total (possible only through rounding) goes to the last owner with
    hashrate.
    """
    low = 0
    high = cumulative_ths.size - 1
    total = cumulative_ths[high]
    if draw_ths >= total:
        draw_ths = np.nextafter(total, 0.0)
    while low < high:
        mid = (low + high) // 2
        if cumulative_ths[mid] > draw_ths:
            high = mid
        else:
            low = mid + 1
    return low


@njit(cache=True)
def _take_back_time_after(
    last_block_time,
    last_block_day,
    stall_day,
    day0_time,
    subsidy,
    hashes_per_block,
    btc_price_usd,
    fee_btc_expected,
    unit_cost,
    unit_curtailable,
    unit_active_s,
    anticipation,
    sorted_cost,
    prefix_ths,
    must_run_ths,
):
    """After a stall, remove the time credited past the last block (days ended without a block).

    Days ``last_block_day .. stall_day - 1`` were credited to their end when they closed. No
    block came since, so the subsidy did not change and each day's decision is replayed exactly.
    """
    for day in range(last_block_day, stall_day):
        revenue = _day_decision(
            day,
            subsidy,
            hashes_per_block,
            btc_price_usd,
            fee_btc_expected,
            anticipation,
            sorted_cost,
            prefix_ths,
            must_run_ths,
        )
        day_start = last_block_time if day == last_block_day else day0_time + day * SECONDS_PER_DAY
        past_block_s = day0_time + (day + 1) * SECONDS_PER_DAY - day_start
        for j in range(unit_cost.size):
            if _runs(revenue, unit_cost[j], unit_curtailable[j]):
                unit_active_s[j] -= past_block_s


@njit(cache=True)
def simulate_epoch(
    n_blocks,
    start_height,
    start_time,
    hashes_per_block,
    unit_hashrate_ths,
    unit_efficiency_jth,
    unit_power_usd_mwh,
    unit_owner,
    unit_curtailable,
    n_owners,
    day0_time,
    btc_price_usd,
    fee_btc_expected,
    block_fees_sat,
    seed,
    anticipation=0.0,
):
    """Simulate up to ``n_blocks`` blocks from ``start_height``, with arrivals after ``start_time``.

    Units: times in unix seconds, ``hashes_per_block`` in hashes (difficulty * 2**32), hashrate in
    TH/s, efficiency in J/TH, power price in $/MWh, BTC price in USD, expected fees in BTC per
    block, block fees in sat. Inputs are not checked (see :func:`run_epoch`).

    Returns ``(block_times, sat_won, unit_active_s, n_mined, subsidy_sat, fees_sat)``: unix seconds
    of each block (NaN if not mined), sat won per owner, seconds each unit hashed, blocks mined,
    total subsidy and total fees paid by the mined blocks (sat).
    """
    # numba's own per-thread generator (see the module docstring), hence the legacy calls.
    np.random.seed(seed)  # noqa: NPY002
    last_day = min(btc_price_usd.size, fee_btc_expected.size) - 1
    unit_cost = power_cost_usd_per_th_day(unit_efficiency_jth, unit_power_usd_mwh)  # USD/TH/day
    installed_ths = unit_hashrate_ths.sum()
    by_cost = np.argsort(unit_cost[unit_curtailable], kind="mergesort")
    sorted_cost = unit_cost[unit_curtailable][by_cost]
    prefix_ths = np.zeros(sorted_cost.size + 1)
    prefix_ths[1:] = np.cumsum(unit_hashrate_ths[unit_curtailable][by_cost])
    must_run_ths = unit_hashrate_ths[~unit_curtailable].sum()

    block_times = np.full(n_blocks, np.nan)
    sat_won = np.zeros(n_owners, dtype=np.int64)
    unit_active_s = np.zeros(unit_hashrate_ths.size)
    on = np.zeros(unit_hashrate_ths.size, dtype=np.bool_)
    cumulative_ths = np.zeros(n_owners)

    height = start_height
    subsidy = subsidy_sat(height)
    t = start_time
    last_block_time = start_time
    segment_start = start_time
    day = _day_index(start_time, day0_time, last_day)
    last_block_day = day
    revenue = _day_decision(
        day,
        subsidy,
        hashes_per_block,
        btc_price_usd,
        fee_btc_expected,
        anticipation,
        sorted_cost,
        prefix_ths,
        must_run_ths,
    )
    active_ths = _start_segment(
        0.0,
        revenue,
        on,
        unit_active_s,
        cumulative_ths,
        unit_cost,
        unit_curtailable,
        unit_hashrate_ths,
        unit_owner,
    )

    n_mined = 0
    subsidy_total = 0
    fees_total = 0
    while n_mined < n_blocks:
        paths_ended = day >= last_day
        if active_ths <= 0.0 and (paths_ended or installed_ths <= 0.0):
            break  # stall: nothing hashes and nothing can change
        next_day_start = day0_time + (day + 1) * SECONDS_PER_DAY
        if active_ths > 0.0:
            mean_interval_s = hashes_per_block / (active_ths * HASHES_PER_TH)
            arrival = t + np.random.exponential(mean_interval_s)  # noqa: NPY002
        else:
            arrival = np.inf
        if not paths_ended and arrival >= next_day_start:
            # New day: new decisions; the arrival is redrawn from the boundary (memoryless).
            day += 1
            revenue = _day_decision(
                day,
                subsidy,
                hashes_per_block,
                btc_price_usd,
                fee_btc_expected,
                anticipation,
                sorted_cost,
                prefix_ths,
                must_run_ths,
            )
            active_ths = _start_segment(
                next_day_start - segment_start,
                revenue,
                on,
                unit_active_s,
                cumulative_ths,
                unit_cost,
                unit_curtailable,
                unit_hashrate_ths,
                unit_owner,
            )
            t = next_day_start
            segment_start = t
            continue

        t = arrival
        last_block_time = t
        last_block_day = day
        winner = _pick_owner(cumulative_ths, np.random.random() * active_ths)  # noqa: NPY002
        fee = block_fees_sat[n_mined]
        sat_won[winner] += subsidy + fee
        subsidy_total += subsidy
        fees_total += fee
        block_times[n_mined] = t
        n_mined += 1
        height += 1

        if height % HALVING_INTERVAL == 0:
            # Halving: the next block pays less, so the curtailment decision is taken again.
            subsidy = subsidy_sat(height)
            revenue = _day_decision(
                day,
                subsidy,
                hashes_per_block,
                btc_price_usd,
                fee_btc_expected,
                anticipation,
                sorted_cost,
                prefix_ths,
                must_run_ths,
            )
            active_ths = _start_segment(
                t - segment_start,
                revenue,
                on,
                unit_active_s,
                cumulative_ths,
                unit_cost,
                unit_curtailable,
                unit_hashrate_ths,
                unit_owner,
            )
            segment_start = t

    if segment_start > last_block_time:
        # Stalled after days that ended without a block: their time past the last block goes.
        _take_back_time_after(
            last_block_time,
            last_block_day,
            day,
            day0_time,
            subsidy,
            hashes_per_block,
            btc_price_usd,
            fee_btc_expected,
            unit_cost,
            unit_curtailable,
            unit_active_s,
            anticipation,
            sorted_cost,
            prefix_ths,
            must_run_ths,
        )
    else:
        for j in range(on.size):
            if on[j]:
                unit_active_s[j] += last_block_time - segment_start
    return block_times, sat_won, unit_active_s, n_mined, subsidy_total, fees_total


def run_epoch(
    n_blocks: int,
    start_height: int,
    start_time: float,
    hashes_per_block: float,
    unit_hashrate_ths: np.ndarray,
    unit_efficiency_jth: np.ndarray,
    unit_power_usd_mwh: np.ndarray,
    unit_owner: np.ndarray,
    unit_curtailable: np.ndarray,
    n_owners: int,
    day0_time: float,
    btc_price_usd: np.ndarray,
    fee_btc_expected: np.ndarray,
    block_fees_sat: np.ndarray,
    seed: int,
    anticipation: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """Check the inputs of :func:`simulate_epoch` (same arguments, same units), then call it.

    Raises ValueError on arrays of the wrong length, kind or dimension, on negative or non-finite
    values, on owner indices outside ``[0, n_owners)``, on a ``start_time`` before ``day0_time``
    and on a seed outside ``[0, 2**32)``. Arrays are converted to the dtypes the kernel is
    compiled for (float64, int64, bool).
    """
    _require(n_blocks >= 0, f"n_blocks must be >= 0, got {n_blocks}")
    _require(start_height >= 0, f"start_height must be >= 0, got {start_height}")
    _require(n_owners >= 1, f"n_owners must be >= 1, got {n_owners}")
    _require(0 <= seed < MAX_SEED, f"seed must lie in [0, 2**32), got {seed}")
    _require(0.0 <= anticipation <= 1.0, f"anticipation must lie in [0, 1], got {anticipation}")
    _require(
        math.isfinite(hashes_per_block) and hashes_per_block > 0,
        f"hashes_per_block must be finite and > 0, got {hashes_per_block}",
    )
    _require(math.isfinite(start_time), f"start_time must be finite, got {start_time}")
    _require(
        math.isfinite(day0_time) and start_time >= day0_time,
        f"start_time ({start_time}) must not come before day0_time ({day0_time})",
    )

    hashrate = _checked_array("unit_hashrate_ths", unit_hashrate_ths, np.float64)
    n_units = hashrate.size
    efficiency = _checked_array("unit_efficiency_jth", unit_efficiency_jth, np.float64, n_units)
    power_price = _checked_array("unit_power_usd_mwh", unit_power_usd_mwh, np.float64, n_units)
    owner = _checked_array("unit_owner", unit_owner, np.int64, n_units)
    curtailable = _checked_array("unit_curtailable", unit_curtailable, np.bool_, n_units)
    _require(
        bool(np.all(owner < n_owners)),
        f"unit_owner holds indices >= n_owners ({n_owners})",
    )
    price = _checked_array("btc_price_usd", btc_price_usd, np.float64)
    _require(price.size >= 1, "btc_price_usd must hold at least one day")
    fee_expected = _checked_array("fee_btc_expected", fee_btc_expected, np.float64, price.size)
    block_fees = _checked_array("block_fees_sat", block_fees_sat, np.int64, n_blocks)

    return simulate_epoch(
        int(n_blocks),
        int(start_height),
        float(start_time),
        float(hashes_per_block),
        hashrate,
        efficiency,
        power_price,
        owner,
        curtailable,
        int(n_owners),
        float(day0_time),
        price,
        fee_expected,
        block_fees,
        int(seed),
        float(anticipation),
    )


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


_KINDS = {np.float64: "fiu", np.int64: "iu", np.bool_: "b"}


def _checked_array(name: str, values, dtype, length: int | None = None) -> np.ndarray:
    """``values`` as a contiguous 1-D array of ``dtype``; finite, >= 0 and of ``length`` if given."""
    array = np.asarray(values)
    _require(array.ndim == 1, f"{name} must be 1-D, got shape {array.shape}")
    _require(
        array.dtype.kind in _KINDS[dtype],
        f"{name} must be of kind {dtype.__name__}, got {array.dtype}",
    )
    if length is not None:
        _require(array.size == length, f"{name} must have length {length}, got {array.size}")
    if dtype is not np.bool_:
        _require(bool(np.all(np.isfinite(array))), f"{name} must be finite")
        _require(bool(np.all(array >= 0)), f"{name} must be >= 0")
    return np.ascontiguousarray(array, dtype=dtype)
