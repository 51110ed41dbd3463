"""Benchmark of the epoch kernel (sim.kernel.simulate_epoch): speed and start-up time.

For 10, 100, 1,000 and 10,000 owners (one unit each) it times full epochs of 2016 blocks with a
realistic mix (80 % of units curtailable, costs around the revenue so units switch on and off
between days, a halving mid-epoch, fees per block), at the curtailment anticipation the bundled
baseline scenario runs at (``miners.curtailment_anticipation``, 0.5), and prints, from the same
run:

* numba blocks/s (best of a few rounds of many epochs, compilation excluded);
* plain-Python blocks/s of the same algorithm, anticipation included (lists, floats, ``random``,
  ``bisect``; fewer epochs, same best-of-rounds statistic); the speed-up is the ratio. The
  plain-Python loop draws the same random numbers (a Mersenne Twister put in the state numba's
  ``np.random.seed`` gives), so the script also checks, for every owner count, that both produce
  bit-identical results (column "identical"; the run fails if one differs);
* the floor (benchmarks/floor.py: only arrivals and winners) and the kernel's share of it.

Then the start-up time of a fresh process with an empty ``NUMBA_CACHE_DIR`` (cold: import and
first call compile) and of a second fresh process reusing that cache (warm).

Run: ``.venv/bin/python benchmarks/kernel.py [--rounds R] [--anticipation A]``
(benchmarks/readme.py prints the README's performance table from the same measurements.)
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clock import child_cpu_seconds, cpu_seconds
from floor import floor_seconds

import sim
from sim.consensus import COIN, HALVING_INTERVAL, RETARGET_INTERVAL, block_subsidy
from sim.kernel import TARGET_SPACING_S, simulate_epoch
from sim.units import (
    DAY_S,
    HASHES_PER_DIFFICULTY,
    HASHES_PER_TH,
    hashprice_usd_per_th_day,
    power_cost_usd_per_th_day,
)

OWNER_COUNTS = (10, 100, 1_000, 10_000)
NETWORK_THS = 6e8  # 600 EH/s installed
DAY0 = 1_713_000_000.0  # unix s, day 0 of the daily paths
N_DAYS = 40

COLD_START_SCRIPT = """
import json, time
start = time.process_time()
from sim.kernel import simulate_epoch
imported = time.process_time()
import sys; sys.path.insert(0, {folder!r})
from kernel import epoch_case
case = epoch_case(100, seed=0)
calling = time.process_time()
simulate_epoch(*case)
called = time.process_time()
print(json.dumps({{"import_s": imported - start, "first_call_s": called - calling}}))
"""


def model_anticipation() -> float:
    """The curtailment anticipation the baseline scenario runs the kernel at."""
    return sim.load_scenario("baseline").config.miners.curtailment_anticipation


def epoch_case(n_owners: int, seed: int, anticipation: float = 0.0) -> tuple:
    """Arguments of simulate_epoch for one epoch of ``n_owners`` owners, one unit each."""
    rng = np.random.default_rng(12345)
    hashrate_ths = rng.lognormal(0.0, 1.0, size=n_owners)
    hashrate_ths *= NETWORK_THS / hashrate_ths.sum()
    btc_price_usd = 60_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.04, size=N_DAYS)))
    return (
        RETARGET_INTERVAL,
        840_000 - 1_000,  # the halving falls mid-epoch
        DAY0 + 0.3 * DAY_S,
        NETWORK_THS * HASHES_PER_TH * TARGET_SPACING_S,
        hashrate_ths,
        rng.uniform(15.0, 35.0, size=n_owners),  # J/TH
        rng.uniform(30.0, 70.0, size=n_owners),  # $/MWh
        np.arange(n_owners, dtype=np.int64),
        rng.random(n_owners) < 0.8,
        n_owners,
        DAY0,
        btc_price_usd,
        np.full(N_DAYS, 0.25),  # expected fees, BTC per block
        rng.integers(0, 50_000_000, size=RETARGET_INTERVAL),  # sat per block
        seed,
        anticipation,
    )


def numba_random(seed: int) -> random.Random:
    """A Python Mersenne Twister in the state numba's ``np.random.seed(seed)`` gives.

    numba seeds like NumPy's legacy RandomState and builds doubles the same way as
    ``random.random`` (53 bits from two 32-bit words), so both streams coincide.
    """
    _, keys, position = np.random.RandomState(seed & 0xFFFFFFFF).get_state()[:3]
    generator = random.Random()
    generator.setstate((3, (*(int(key) for key in keys), int(position)), None))
    return generator


def python_epoch(
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
    """simulate_epoch in plain Python (same algorithm, same random numbers, same results)."""
    rng = numba_random(seed)
    hashrate, owner = unit_hashrate_ths.tolist(), unit_owner.tolist()
    efficiency, power_price = unit_efficiency_jth.tolist(), unit_power_usd_mwh.tolist()
    cost = [power_cost_usd_per_th_day(e, p) for e, p in zip(efficiency, power_price, strict=True)]
    curtailable = unit_curtailable.tolist()
    price, fee_expected = btc_price_usd.tolist(), fee_btc_expected.tolist()
    fees = block_fees_sat.tolist()
    last_day = min(len(price), len(fee_expected)) - 1
    n_units = len(hashrate)
    active_s = [0.0] * n_units
    # anticipation: curtailable units sorted by cost (stable), TH/s of the cheapest i, must-run TH/s
    cheap_first = sorted((j for j in range(n_units) if curtailable[j]), key=lambda j: cost[j])
    sorted_cost = [cost[j] for j in cheap_first]
    prefix_ths = [0.0]
    for j in cheap_first:
        prefix_ths.append(prefix_ths[-1] + hashrate[j])
    must_run_ths = 0.0
    for j in range(n_units):
        if not curtailable[j]:
            must_run_ths += hashrate[j]

    def anticipated(revenue_now, running_ths):
        if running_ths <= 0.0:
            return math.inf
        implied = running_ths * HASHES_PER_TH * TARGET_SPACING_S
        return revenue_now * (hashes_per_block / implied) ** anticipation

    def revenue(day, subsidy):
        """The revenue curtailable units decide on: today's, or the anticipated fixed point."""
        difficulty = hashes_per_block / HASHES_PER_DIFFICULTY  # exact: a power of 2
        now = hashprice_usd_per_th_day(price[day], difficulty, subsidy / COIN, fee_expected[day])
        n = len(sorted_cost)
        if anticipation == 0.0 or n == 0:
            return now
        low, high = 0, n
        while low < high:
            mid = (low + high + 1) // 2
            if sorted_cost[mid - 1] <= anticipated(now, must_run_ths + prefix_ths[mid]):
                low = mid
            else:
                high = mid - 1
        decided = anticipated(now, must_run_ths + prefix_ths[low])
        if low < n:
            decided = min(decided, math.nextafter(sorted_cost[low], -math.inf))
        return decided

    def start_segment(elapsed_s, revenue, on):
        """Credit elapsed_s to the units on, switch units; return (on, cumulative, total TH/s)."""
        by_owner = [0.0] * n_owners
        for j in range(n_units):
            if on[j]:
                active_s[j] += elapsed_s
        on = [revenue >= cost[j] or not curtailable[j] for j in range(n_units)]
        for j in range(n_units):
            if on[j]:
                by_owner[owner[j]] += hashrate[j]
        cumulative, total = [], 0.0
        for value in by_owner:
            total += value
            cumulative.append(total)
        return on, cumulative, total

    block_times = [math.nan] * n_blocks
    sat_won = [0] * n_owners
    height = start_height
    subsidy = block_subsidy(height)
    t = last_block_time = segment_start = start_time
    day = min(max(math.floor((start_time - day0_time) / DAY_S), 0), last_day)
    last_block_day = day
    on, cumulative, active_ths = start_segment(0.0, revenue(day, subsidy), [False] * n_units)
    installed_ths = sum(hashrate)
    n_mined = subsidy_total = fees_total = 0
    while n_mined < n_blocks:
        paths_ended = day >= last_day
        if active_ths <= 0.0 and (paths_ended or installed_ths <= 0.0):
            break
        next_day_start = day0_time + (day + 1) * DAY_S
        if active_ths > 0.0:
            mean_interval_s = hashes_per_block / (active_ths * HASHES_PER_TH)
            arrival = t + -math.log(1.0 - rng.random()) * mean_interval_s
        else:
            arrival = math.inf
        if not paths_ended and arrival >= next_day_start:
            day += 1
            on, cumulative, active_ths = start_segment(
                next_day_start - segment_start, revenue(day, subsidy), on
            )
            t = segment_start = next_day_start
            continue
        t = last_block_time = arrival
        last_block_day = day
        draw = rng.random() * active_ths
        if draw >= active_ths:
            draw = math.nextafter(active_ths, 0.0)
        winner = bisect.bisect_right(cumulative, draw)
        fee = fees[n_mined]
        sat_won[winner] += subsidy + fee
        subsidy_total += subsidy
        fees_total += fee
        block_times[n_mined] = t
        n_mined += 1
        height += 1
        if height % HALVING_INTERVAL == 0:
            subsidy = block_subsidy(height)
            on, cumulative, active_ths = start_segment(t - segment_start, revenue(day, subsidy), on)
            segment_start = t
    if segment_start > last_block_time:
        for d in range(last_block_day, day):  # stall: take back the time past the last block
            day_start = last_block_time if d == last_block_day else day0_time + d * DAY_S
            past_block_s = day0_time + (d + 1) * DAY_S - day_start
            day_revenue = revenue(d, subsidy)
            for j in range(n_units):
                if day_revenue >= cost[j] or not curtailable[j]:
                    active_s[j] -= past_block_s
    else:
        for j in range(n_units):
            if on[j]:
                active_s[j] += last_block_time - segment_start
    return block_times, sat_won, active_s, n_mined, subsidy_total, fees_total


def same_results(numba_result: tuple, python_result: tuple) -> bool:
    """True if both epochs gave bit-identical times, winnings, active seconds and totals."""
    arrays = zip(numba_result[:3], python_result[:3], strict=True)
    same_arrays = all(a.tobytes() == np.asarray(b, dtype=a.dtype).tobytes() for a, b in arrays)
    return same_arrays and tuple(numba_result[3:]) == tuple(python_result[3:])


def best_blocks_per_second(run, case: tuple, epochs: int, rounds: int) -> float:
    """Best blocks/s of ``run(*case)`` over ``rounds`` rounds of ``epochs`` epochs (seeds vary),
    on the benchmarks' clock (CPU time: benchmarks/clock.py)."""
    best = math.inf
    for _ in range(rounds):
        best = min(best, cpu_seconds(lambda: [run(*case[:-1], seed) for seed in range(epochs)]))
    return epochs * RETARGET_INTERVAL / best


def start_up_seconds(cache_dir: str) -> dict[str, float]:
    """Import and first-call CPU times (s) of a fresh process using ``cache_dir`` for numba's
    cache, and the CPU time of the whole process (``process_s``)."""
    script = COLD_START_SCRIPT.format(folder=str(Path(__file__).resolve().parent))
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    process_s, out = child_cpu_seconds([sys.executable, "-c", script], env=env)
    return {**json.loads(out.strip().splitlines()[-1]), "process_s": process_s}


def measure_speed(rounds: int, anticipation: float) -> list[dict]:
    """Per owner count: numba, plain-Python and floor blocks/s and whether results are identical."""
    rows = []
    for n_owners in OWNER_COUNTS:
        case = epoch_case(n_owners, seed=7, anticipation=anticipation)
        numba_result = simulate_epoch(*case)  # compiles or loads the cache: not timed
        identical = same_results(numba_result, python_epoch(*case))
        numba_rate = best_blocks_per_second(simulate_epoch, case, 200, rounds)
        python_rate = best_blocks_per_second(python_epoch, case, 2, rounds)
        floor_rate = RETARGET_INTERVAL / floor_seconds(RETARGET_INTERVAL, n_owners, 200)
        rows.append(
            {
                "owners": n_owners,
                "numba": numba_rate,
                "python": python_rate,
                "identical": identical,
                "floor": floor_rate,
            }
        )
    return rows


def measure_start_up() -> dict[str, dict[str, float]]:
    """Cold (empty numba cache) and warm start-up of a fresh process calling the kernel."""
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache_dir:
        cold = start_up_seconds(cache_dir)
        warm = start_up_seconds(cache_dir)
    return {"cold": cold, "warm": warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds; the best counts")
    parser.add_argument(
        "--anticipation",
        type=float,
        default=None,
        help="curtailment anticipation (default: the baseline scenario's)",
    )
    args = parser.parse_args()
    anticipation = model_anticipation() if args.anticipation is None else args.anticipation

    rows = measure_speed(args.rounds, anticipation)
    print(f"anticipation {anticipation}; best of {args.rounds} rounds on both sides\n")
    print(
        "| owners | numba blocks/s | plain Python blocks/s | speed-up | identical | "
        "floor blocks/s | kernel / floor |"
    )
    print("|---:|---:|---:|---:|:---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['owners']:,} | {row['numba']:,.0f} | {row['python']:,.0f} | "
            f"{row['numba'] / row['python']:,.0f}x | {'yes' if row['identical'] else 'NO'} | "
            f"{row['floor']:,.0f} | {row['numba'] / row['floor']:.0%} |"
        )
    start = measure_start_up()
    print("\n| start | import sim.kernel (s) | first call (s) | whole process (s) |")
    print("|---|---:|---:|---:|")
    for name, key in (("cold (empty NUMBA_CACHE_DIR)", "cold"), ("warm (same cache)", "warm")):
        times = start[key]
        print(
            f"| {name} | {times['import_s']:.2f} | {times['first_call_s']:.2f} | "
            f"{times['process_s']:.2f} |"
        )
    if not all(row["identical"] for row in rows):
        print("kernel.py: the plain-Python loop and the kernel differ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
