"""Tests of the epoch kernel (sim/kernel.py), with bounds derived from the distributions.

Every random test uses a fixed seed, so it is deterministic; the bounds say how far a correct
kernel can stray (k standard deviations of the statistic), so a wrong mechanism fails them.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from sim.consensus import (
    COIN,
    HALVING_INTERVAL,
    TARGET_TIMESPAN,
    block_subsidy,
    difficulty_to_bits,
    expected_hashes,
    next_bits,
)
from sim.kernel import _pick_owner, run_epoch, simulate_epoch, subsidy_sat

T0 = 1_700_000_000.0  # unix seconds, start of the test epochs and day 0 of the daily paths
DAY = 86400.0
SPACING = 600.0  # s, target block interval
BLOCKS_PER_DAY = DAY / SPACING  # 144 blocks per day at equilibrium


def epoch_inputs(
    hashrate_ths,
    *,
    efficiency_jth=None,
    power_usd_mwh=None,
    owner=None,
    curtailable=None,
    n_owners=None,
    n_blocks=2016,
    start_height=0,
    start_time=T0,
    spacing_s=SPACING,
    btc_price_usd=(60_000.0,),
    fee_btc_expected=None,
    block_fees_sat=None,
    seed=1,
):
    """Keyword arguments of run_epoch; by default one owner per unit, none curtailable, no fees,
    and a difficulty at which the installed hashrate finds a block every ``spacing_s`` seconds."""
    hashrate = np.asarray(hashrate_ths, dtype=np.float64)
    n_units = hashrate.size
    price = np.asarray(btc_price_usd, dtype=np.float64)
    owner = np.arange(n_units) if owner is None else np.asarray(owner)
    return dict(
        n_blocks=n_blocks,
        start_height=start_height,
        start_time=start_time,
        hashes_per_block=hashrate.sum() * 1e12 * spacing_s,
        unit_hashrate_ths=hashrate,
        unit_efficiency_jth=np.full(n_units, 20.0) if efficiency_jth is None else efficiency_jth,
        unit_power_usd_mwh=np.full(n_units, 50.0) if power_usd_mwh is None else power_usd_mwh,
        unit_owner=owner.astype(np.int64),
        unit_curtailable=np.zeros(n_units, bool) if curtailable is None else curtailable,
        n_owners=int(owner.max()) + 1 if n_owners is None else n_owners,
        day0_time=T0,
        btc_price_usd=price,
        fee_btc_expected=np.zeros(price.size) if fee_btc_expected is None else fee_btc_expected,
        block_fees_sat=np.zeros(n_blocks, np.int64) if block_fees_sat is None else block_fees_sat,
        seed=seed,
    )


def poisson_within(count, mean, k=5.0):
    """True if ``count`` lies within k standard deviations (sqrt(mean)) of a Poisson mean."""
    return abs(count - mean) <= k * math.sqrt(mean)


def blocks_in(block_times, start, end):
    return int(np.count_nonzero((block_times >= start) & (block_times < end)))


# --- subsidy ----------------------------------------------------------------------------------


def test_subsidy_equals_consensus_block_subsidy():
    boundaries = [k * HALVING_INTERVAL + d for k in range(70) for d in (-2, -1, 0, 1)]
    others = np.random.default_rng(3).integers(0, 2**40, size=2000).tolist()
    for height in [h for h in boundaries if h >= 0] + others:
        assert subsidy_sat(height) == block_subsidy(height), height


# --- arrivals ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def equilibrium_intervals():
    """Block intervals (s) of 500 chained epochs at a fixed difficulty: hashrate * 600 s equals
    hashes_per_block. Daily paths cover the whole run, so every day boundary redraws an arrival."""
    n_epochs = 500
    seeds = np.random.default_rng(11).integers(2**32, size=n_epochs)
    start_time, height, intervals = T0, 0, []
    for seed in seeds:
        kw = epoch_inputs([4e8, 3e8, 2e8, 1e8], start_time=start_time, start_height=height)
        kw.update(btc_price_usd=np.full(8000, 60_000.0), fee_btc_expected=np.zeros(8000))
        block_times = run_epoch(**{**kw, "seed": int(seed)})[0]
        intervals.append(np.diff(block_times, prepend=start_time))
        start_time, height = block_times[-1], height + 2016
    return np.concatenate(intervals)


def test_mean_block_interval_at_equilibrium_is_600_s(equilibrium_intervals):
    # Intervals are iid Exp(mean 600 s): the mean of N of them has sd 600/sqrt(N) (0.6 s for
    # N ~ 1e6). 5 sd = 3 s detects a 0.5 % error in the rate.
    n = equilibrium_intervals.size
    assert abs(equilibrium_intervals.mean() - SPACING) <= 5 * SPACING / math.sqrt(n)


def test_block_intervals_are_exponential(equilibrium_intervals):
    # Kolmogorov-Smirnov against Exp(600 s): a correct kernel gives p < 1e-4 with probability
    # 1e-4; another law of the same mean (e.g. gamma, uniform, lost time at day boundaries) fails.
    p_value = stats.kstest(equilibrium_intervals / SPACING, "expon").pvalue
    assert p_value > 1e-4


def test_retarget_fixed_point_is_2016_over_2015_of_600_s():
    # Bitcoin measures a period from its first to its last block: 2015 intervals, not 2016.
    # Feeding next_bits the expected span 2015 * mu gives mu' = 1,209,600 / 2015 = 600.298 s
    # whatever mu was, up to compact-bits truncation of the target (it can only raise the
    # interval, by less than 2**-15 relative = 0.018 s). So the fixed point is 600 * 2016/2015,
    # 0.298 s away from 600, and the bound below tells the two apart.
    hashrate_hs = 5e8 * 1e12
    bits = difficulty_to_bits(hashrate_hs * 450.0 / 2**32)  # start far off: 450 s per block
    for _ in range(3):
        mu = expected_hashes(bits) / hashrate_hs
        bits = next_bits(bits, 0, round(2015 * mu))
    mu = expected_hashes(bits) / hashrate_hs
    assert 0.0 <= mu - SPACING * 2016 / 2015 <= SPACING * 2016 / 2015 * 2**-15 + 1e-3


def test_long_run_interval_with_retargeting():
    # Kernel + next_bits over K epochs at constant hashrate. After one retarget the expected
    # interval is mu = T / G with T = 1,209,600 s and G ~ Gamma(2015, 1) (the measured span over
    # mu), independent of the previous mu, so E[mu] = T / 2014 = 600.596 s: the off-by-one
    # (2016/2015) plus the bias of the 1/span estimator (2015/2014). The realised mean interval
    # of an epoch is mu * Gamma(2016)/2016, with sd ~ 600.6 * sqrt(1/2014 + 1/2016) = 18.9 s;
    # adjacent epochs are negatively correlated, so sd(mean of K) <= 18.9 / sqrt(K). With
    # K = 2000 a 5-sd bound is 2.1 s: this checks the kernel and the retarget wired together
    # (starting 2x off target), not the 0.3 s off-by-one (that needs ~1e8 blocks; see the
    # exact fixed-point test above).
    n_epochs = 2000
    hashrate_ths = 5e8
    bits = difficulty_to_bits(hashrate_ths * 1e12 * 300.0 / 2**32)  # 300 s per block at first
    seeds = np.random.default_rng(12).integers(2**32, size=n_epochs)
    start_time, height, durations = T0, 0, []
    for seed in seeds:
        kw = epoch_inputs([hashrate_ths], start_time=start_time, start_height=height)
        kw.update(hashes_per_block=expected_hashes(bits), seed=int(seed))
        block_times = run_epoch(**kw)[0]
        durations.append(block_times[-1] - start_time)
        bits = next_bits(bits, int(block_times[0]), int(block_times[-1]))
        start_time, height = block_times[-1], height + 2016
    mean_interval = np.sum(durations[1:]) / (2016 * (n_epochs - 1))  # first epoch: burn-in
    expected = TARGET_TIMESPAN / 2014
    sd = expected * math.sqrt(1 / 2014 + 1 / 2016) / math.sqrt(n_epochs - 1)
    assert abs(mean_interval - expected) <= 5 * sd


# --- winners and rewards ----------------------------------------------------------------------


def test_blocks_won_proportional_to_hashrate_share():
    # Each block goes to owner k with probability p_k = share of active TH/s, so owner k's count
    # of N blocks is Binomial(N, p_k): within 4 sd sqrt(N p (1-p)) (false alarm ~6e-5 each).
    # Owners hold several units, listed out of order; owner 4 has no hashrate and never wins.
    hashrate = [25.0, 30.0, 10.0, 15.0, 10.0, 10.0, 0.0]
    owner = [0, 1, 2, 0, 2, 3, 4]
    shares = np.array([40.0, 30.0, 20.0, 10.0, 0.0]) / 100.0
    n_blocks = 40_320
    kw = epoch_inputs(hashrate, owner=owner, n_blocks=n_blocks)
    _, sat_won, _, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == n_blocks
    assert np.all(sat_won % (50 * COIN) == 0)
    won = sat_won // (50 * COIN)
    assert won.sum() == n_blocks
    assert won[4] == 0
    sd = np.sqrt(n_blocks * shares * (1 - shares))
    assert np.all(np.abs(won - n_blocks * shares) <= 4 * sd + 1e-9), won


def test_mid_epoch_halving_pays_6_25_then_3_125_btc():
    # Heights 839,000..839,999 pay 6.25 BTC, 840,000..841,015 pay 3.125 BTC (exact sat).
    fees = np.random.default_rng(5).integers(0, 50_000_000, size=2016)
    kw = epoch_inputs([1e8, 2e8], start_height=840_000 - 1000, block_fees_sat=fees)
    _, sat_won, _, n_mined, subsidy, fees_paid = run_epoch(**kw)
    assert n_mined == 2016
    assert subsidy == 1000 * 625_000_000 + 1016 * 312_500_000
    assert fees_paid == int(fees.sum())
    assert int(sat_won.sum()) == subsidy + fees_paid


def test_halving_retakes_the_curtailment_decision():
    # Unit 1 covers its power cost at 6.25 BTC per block but not at 3.125 BTC: it must hash
    # until the last pre-halving block (block 999) and not after. At 600 s per block and 1 TH/s
    # the revenue is 144 blocks/day * subsidy * price / total TH/s.
    hashrate = [1e8, 1e8]
    total = sum(hashrate)
    price = 60_000.0
    revenue_before = BLOCKS_PER_DAY * 6.25 * price / total  # USD per TH/s per day
    power = np.array([50.0, 0.75 * revenue_before / (40.0 * 24 / 1e6)])  # unit 1: 75% of it
    kw = epoch_inputs(
        hashrate,
        efficiency_jth=np.array([20.0, 40.0]),
        power_usd_mwh=power,
        curtailable=np.array([True, True]),
        start_height=840_000 - 1000,
        btc_price_usd=[price],
    )
    block_times, _, active_s, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == 2016
    assert active_s[0] == pytest.approx(block_times[-1] - T0, abs=1e-6)
    assert active_s[1] == pytest.approx(block_times[999] - T0, abs=1e-6)


def test_won_sat_sum_to_subsidy_plus_fees():
    # BTC conservation in exact integers, with fees, a halving and curtailment days mixed in.
    rng = np.random.default_rng(9)
    n_units = 50
    fees = rng.integers(0, 100_000_000, size=2016)
    prices = rng.uniform(5_000.0, 80_000.0, size=20)
    kw = epoch_inputs(
        rng.uniform(1e5, 1e7, size=n_units),
        efficiency_jth=rng.uniform(15.0, 40.0, size=n_units),
        power_usd_mwh=rng.uniform(20.0, 80.0, size=n_units),
        owner=rng.integers(0, 7, size=n_units),
        curtailable=rng.random(n_units) < 0.7,
        n_owners=7,
        start_height=840_000 - 500,
        btc_price_usd=prices,
        block_fees_sat=fees,
    )
    _, sat_won, _, n_mined, subsidy, fees_paid = run_epoch(**kw)
    heights = range(840_000 - 500, 840_000 - 500 + n_mined)
    assert subsidy == sum(block_subsidy(h) for h in heights)
    assert fees_paid == int(fees[:n_mined].sum())
    assert int(sat_won.sum()) == subsidy + fees_paid


# --- curtailment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def price_drop_epoch():
    """Units of 15, 20 and 30 J/TH (curtailable) and a small 40 J/TH unit on a fixed contract.

    Costs at $50/MWh: 0.018, 0.024, 0.036 and 0.048 USD per TH/s per day. Revenue is
    144 * 3.125 BTC * price / 3e8 TH/s = 1.5e-6 * price: $60,000 (0.09) pays everyone, day 1
    at $20,000 (0.030) only stops the 30 J/TH unit, day 2 at $14,000 (0.021) stops 20 and 30.
    """
    hashrate = [0.75e8, 0.75e8, 1.5e8, 1e-9]
    kw = epoch_inputs(
        hashrate,
        efficiency_jth=np.array([15.0, 20.0, 30.0, 40.0]),
        curtailable=np.array([True, True, True, False]),
        start_height=840_000,
        btc_price_usd=[60_000.0, 20_000.0, 14_000.0, 60_000.0],
    )
    # hashes_per_block as if all 3e8 TH/s hash every 600 s
    kw["hashes_per_block"] = 3e8 * 1e12 * SPACING
    return run_epoch(**kw)


def test_price_drop_switches_least_efficient_units_off_first(price_drop_epoch):
    block_times, _, active_s, n_mined, _, _ = price_drop_epoch
    assert n_mined == 2016
    duration = block_times[-1] - T0
    assert duration > 4 * DAY
    assert active_s[0] == pytest.approx(duration, abs=1e-6)  # 15 J/TH: always on
    assert active_s[1] == pytest.approx(duration - DAY, abs=1e-6)  # 20 J/TH: off on day 2
    assert active_s[2] == pytest.approx(duration - 2 * DAY, abs=1e-6)  # 30 J/TH: days 1 and 2
    assert active_s[3] == pytest.approx(duration, abs=1e-6)  # fixed contract: runs at a loss


def test_block_rate_follows_the_active_hashrate_each_day(price_drop_epoch):
    # Blocks in a day are Poisson with mean 86400 s * active H/s / hashes_per_block: 144 with
    # all units on, 72 on day 1 (half the TH/s off), 36 on day 2 (a quarter left). The 4-sd
    # bounds ([96, 192], [38, 106], [12, 60]; false alarm 6e-5 each) exclude the neighbouring
    # means, so the rate must change at the day boundaries.
    block_times = price_drop_epoch[0]
    for day, expected in ((0, 144.0), (1, 72.0), (2, 36.0), (3, 144.0)):
        count = blocks_in(block_times, T0 + day * DAY, T0 + (day + 1) * DAY)
        assert poisson_within(count, expected, k=4.0), (day, count)


@pytest.mark.parametrize("anticipation", [0.5, 1.0])
def test_anticipating_miners_run_the_fixed_point_set(anticipation):
    # Same fleet as price_drop_epoch, but one day at $14,000 (myopic revenue 0.021 USD per
    # TH/s-day: only the 15 J/TH unit, cost 0.018, runs). With full anticipation (a = 1) miners
    # decide on the revenue at the difficulty the running set implies at 600 s blocks:
    # revenue(set) = 0.021 * 3e8 / running TH/s. The 15+20 J/TH set (1.5e8 TH/s) earns 0.042,
    # covering the 20 J/TH cost (0.024); adding the 30 J/TH unit (3e8 TH/s) earns 0.021 < 0.036.
    # So exactly 15 and 20 J/TH run: the marginal unit covers its cost, the next one would not.
    # With a = 0.5 the blend is revenue * (3e8 / running TH/s) ** 0.5: 0.021 * sqrt(2) = 0.0297
    # still covers 0.024, and the whole fleet's 0.021 still does not cover 0.036: the same set.
    kw = epoch_inputs(
        [0.75e8, 0.75e8, 1.5e8],
        efficiency_jth=np.array([15.0, 20.0, 30.0]),
        curtailable=np.ones(3, bool),
        start_height=840_000,
        btc_price_usd=[14_000.0],
        n_blocks=200,
    )
    kw["hashes_per_block"] = 3e8 * 1e12 * SPACING
    myopic = run_epoch(**kw)
    anticipating = run_epoch(**kw, anticipation=anticipation)
    duration = anticipating[0][-1] - T0
    assert myopic[2][0] > 0 and myopic[2][1] == 0 and myopic[2][2] == 0
    assert anticipating[2][0] == pytest.approx(duration)
    assert anticipating[2][1] == pytest.approx(duration)
    assert anticipating[2][2] == 0.0
    # Half the installed hashrate runs, so blocks come every ~1200 s (mean of 200 intervals,
    # sd 1200/sqrt(200) = 85 s; 5 sd bounds).
    assert abs(duration / 200 - 1200.0) < 5 * 85


def test_unit_whose_revenue_equals_its_cost_stays_on():
    # Numbers exact in binary: revenue = 86400 * 1e12 / 8.64e16 * 3.125 BTC * $0.75 = 2.34375 and
    # cost = 62,500 J/TH * 24 / 1e6 * $1.5625/MWh = 2.34375 USD per TH/s per day. At equality the
    # unit runs; one ulp more on the power price and it never does (the chain stalls).
    kw = epoch_inputs(
        [144.0],
        efficiency_jth=np.array([62_500.0]),
        power_usd_mwh=np.array([1.5625]),
        curtailable=np.array([True]),
        n_blocks=100,
        start_height=840_000,
        btc_price_usd=[0.75],
    )
    assert kw["hashes_per_block"] == 8.64e16
    block_times, _, active_s, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == 100
    assert active_s[0] == pytest.approx(block_times[-1] - T0, abs=1e-6)
    kw["unit_power_usd_mwh"] = np.nextafter(kw["unit_power_usd_mwh"], 2.0)
    assert run_epoch(**kw)[3] == 0


def test_days_past_the_paths_reuse_the_last_day():
    # Only day 0 is given, at the day-1 price of the test above: the 30 J/TH unit stays off for
    # the whole epoch (about 3 weeks), the others run throughout.
    kw = epoch_inputs(
        [0.75e8, 0.75e8, 1.5e8],
        efficiency_jth=np.array([15.0, 20.0, 30.0]),
        curtailable=np.ones(3, bool),
        btc_price_usd=[20_000.0],
        start_height=840_000,
    )
    kw["hashes_per_block"] = 3e8 * 1e12 * SPACING
    block_times, _, active_s, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == 2016
    duration = block_times[-1] - T0
    np.testing.assert_allclose(active_s, [duration, duration, 0.0], atol=1e-6)


def test_a_fully_curtailed_day_pauses_the_chain():
    # Day 1 at price 0: nothing hashes, no block is found that day, mining resumes on day 2.
    kw = epoch_inputs(
        [1e8, 2e8], curtailable=np.ones(2, bool), btc_price_usd=[60_000.0, 0.0, 60_000.0]
    )
    block_times, _, active_s, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == 2016
    assert blocks_in(block_times, T0 + DAY, T0 + 2 * DAY) == 0
    np.testing.assert_allclose(active_s, block_times[-1] - T0 - DAY, atol=1e-6)


def test_arrival_is_redrawn_at_the_new_rate_after_a_day_boundary():
    # Rate alternates by day: all 8 units' worth on even days (600 s per block), 1/8 on odd days
    # (4800 s; the big unit is curtailed). Arrivals are memoryless, so the wait from a boundary
    # to the next block is Exp with the new day's mean. Keeping a draw made at the old rate would
    # give the old day's mean instead. Over n ~ 120 boundaries of each kind the mean wait has
    # sd mean/sqrt(n): 5-sd bounds ~ [330, 870] s and ~ [2600, 7000] s exclude the swapped means.
    n_days = 400
    kw = epoch_inputs(
        [7e8, 1e8],
        efficiency_jth=np.array([30.0, 30.0]),
        curtailable=np.array([True, False]),
        n_blocks=20_000,
        btc_price_usd=np.where(np.arange(n_days) % 2 == 0, 200_000.0, 1_000.0),
        start_height=840_000,
    )
    block_times, _, _, n_mined, _, _ = run_epoch(**kw)
    assert n_mined == 20_000
    boundaries = T0 + DAY * np.arange(1, int((block_times[-1] - T0) // DAY) + 1)
    waits = block_times[np.searchsorted(block_times, boundaries)] - boundaries
    for parity, mean in ((0, SPACING), (1, 8 * SPACING)):  # boundary into day d: d % 2
        day_waits = waits[(np.arange(1, boundaries.size + 1) % 2) == parity]
        assert abs(day_waits.mean() - mean) <= 5 * mean / math.sqrt(day_waits.size), parity


# --- stalls -----------------------------------------------------------------------------------


def test_stall_when_every_unit_is_unprofitable_every_day():
    kw = epoch_inputs([1e8, 2e8], curtailable=np.ones(2, bool), btc_price_usd=[0.0] * 5)
    block_times, sat_won, active_s, n_mined, subsidy, fees = run_epoch(**kw)
    assert n_mined == 0
    assert np.all(np.isnan(block_times))
    assert not sat_won.any() and not active_s.any()
    assert subsidy == 0 and fees == 0


def test_stall_after_the_paths_end_counts_time_to_the_last_block_only():
    # Profitable on days 0-1, unprofitable from day 2 to the end of the paths: the chain stops
    # after about 288 blocks (Poisson, 5 sd = 85). Units hashed until the last block, not to
    # the day boundary after it.
    kw = epoch_inputs([1e8, 2e8], curtailable=np.ones(2, bool), btc_price_usd=[6e4, 6e4, 0.0])
    block_times, sat_won, active_s, n_mined, subsidy, fees = run_epoch(**kw)
    assert 0 < n_mined < 2016
    assert poisson_within(n_mined, 2 * BLOCKS_PER_DAY)
    assert np.all(block_times[:n_mined] < T0 + 2 * DAY)
    assert np.all(np.isnan(block_times[n_mined:]))
    np.testing.assert_allclose(active_s, block_times[n_mined - 1] - T0, atol=1e-6)
    assert subsidy == n_mined * 50 * COIN
    assert int(sat_won.sum()) == subsidy + fees


def test_multi_day_stall_with_anticipation_takes_back_every_day_past_the_last_block():
    # Blocks every ~1.5 days on average (hashes_per_block set for 1.5-day spacing). Myopic
    # revenue (0.0067 USD per TH/s-day) is below the cost (0.024), but anticipating miners
    # (a = 0.5) expect 0.0067 * sqrt(216) = 0.098 at the difficulty their hashrate implies, so
    # both units run on days 0-3; on the last day (price 0) they stop and the chain stalls.
    # Days that closed after the last block were credited in full when they closed; the kernel
    # must take them back (replaying each day's anticipated decision), so every unit hashed
    # exactly until the last block. Seed 5: the last block comes on day 0.
    kw = epoch_inputs(
        [1e8, 2e8],
        curtailable=np.ones(2, bool),
        btc_price_usd=[6e4, 6e4, 6e4, 6e4, 0.0],
        spacing_s=1.5 * DAY,
        seed=5,
    )
    block_times, _, active_s, n_mined, _, _ = run_epoch(**kw, anticipation=0.5)
    last = block_times[n_mined - 1]
    assert 0 < n_mined < 2016
    assert last < T0 + DAY  # days 1, 2 and 3 closed without a block
    np.testing.assert_allclose(active_s, last - T0, atol=1e-6)


def test_pick_owner_never_gives_a_block_to_an_owner_without_hashrate():
    # a draw at the total (possible through rounding) goes to the last owner with hashrate,
    # not to the trailing owner whose cumulative TH/s equals the total
    cumulative = np.array([1.0, 3.0, 3.0])
    assert _pick_owner(cumulative, 3.0) == 1
    assert _pick_owner(cumulative, 2.999) == 1
    assert _pick_owner(cumulative, 0.5) == 0
    assert _pick_owner(np.array([2.0]), 2.0) == 0


def test_stall_when_no_unit_has_hashrate():
    kw = epoch_inputs([0.0, 0.0])
    kw["hashes_per_block"] = 1e20
    result = run_epoch(**kw)
    assert result[3] == 0 and np.all(np.isnan(result[0]))


# --- reproducibility --------------------------------------------------------------------------


def reproducibility_digest(seed=2024):
    """SHA-256 of the output arrays of one mixed epoch (fees, curtailment, a halving)."""
    rng = np.random.default_rng(4)
    kw = epoch_inputs(
        rng.uniform(1e5, 1e7, size=30),
        efficiency_jth=rng.uniform(15.0, 40.0, size=30),
        curtailable=rng.random(30) < 0.5,
        owner=rng.integers(0, 5, size=30),
        n_owners=5,
        start_height=840_000 - 700,
        btc_price_usd=rng.uniform(20_000.0, 60_000.0, size=20),
        block_fees_sat=rng.integers(0, 10**8, size=2016),
        seed=seed,
    )
    block_times, sat_won, active_s, *totals = run_epoch(**kw)
    digest = hashlib.sha256()
    for array in (block_times, sat_won, active_s, np.array(totals, dtype=np.int64)):
        digest.update(array.tobytes())
    return digest.hexdigest()


def test_same_seed_gives_identical_arrays_different_seeds_differ():
    kw = epoch_inputs([1e8, 2e8, 3e8], start_height=839_000, seed=77)
    first, second = run_epoch(**kw), run_epoch(**kw)
    for a, b in zip(first[:3], second[:3], strict=True):
        assert a.tobytes() == b.tobytes()
    assert first[3:] == second[3:]
    other = run_epoch(**(kw | {"seed": 78}))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.slow  # a fresh interpreter imports the whole sim package (Mesa, SciPy): 3-10 s
def test_same_seed_gives_identical_arrays_in_another_process():
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "import test_kernel; print(test_kernel.reproducibility_digest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip() == reproducibility_digest()


def test_run_epoch_returns_what_the_kernel_returns():
    kw = epoch_inputs([1e8, 2e8], curtailable=np.ones(2, bool), btc_price_usd=[6e4, 2e4, 6e4])
    wrapped = run_epoch(**kw)
    direct = simulate_epoch(*kw.values())
    for a, b in zip(wrapped[:3], direct[:3], strict=True):
        assert a.tobytes() == b.tobytes()
    assert wrapped[3:] == direct[3:]


# --- input checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"unit_efficiency_jth": np.array([20.0])},
        {"unit_curtailable": np.zeros(3, bool)},
        {"block_fees_sat": np.zeros(10, np.int64)},
        {"fee_btc_expected": np.zeros(2)},
        {"unit_hashrate_ths": np.array([1e8, -1.0])},
        {"unit_power_usd_mwh": np.array([50.0, np.nan])},
        {"btc_price_usd": np.array([-1.0])},
        {"block_fees_sat": np.full(2016, -1, np.int64)},
        {"unit_owner": np.array([0, 2])},
        {"unit_owner": np.array([0.0, 1.0])},
        {"hashes_per_block": 0.0},
        {"n_blocks": -1},
        {"start_height": -1},
        {"seed": 2**32},
        {"seed": -1},
        {"start_time": T0 - 1.0},
    ],
)
def test_run_epoch_rejects_bad_inputs(change):
    with pytest.raises(ValueError):
        run_epoch(**(epoch_inputs([1e8, 2e8]) | change))
