"""The floor for the kernel's speed: the least work that draws the same blocks and winners.

A minimal ``@njit`` loop that, per block, draws an exponential inter-arrival time and a winner by
binary search over the owners' cumulative hashrate, and does nothing else (no days, curtailment,
rewards or accounting). The kernel cannot beat it; ``kernel blocks/s / floor blocks/s`` says how
much its bookkeeping costs.

Other benchmark scripts import :func:`floor_seconds` after putting this folder on ``sys.path``.

Run: ``.venv/bin/python benchmarks/floor.py [--blocks N] [--owners 10 100 ...] [--repeats R]``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from clock import cpu_seconds
from numba import njit

MEAN_INTERVAL_S = 600.0


@njit(cache=True)
def floor_loop(n_blocks, cumulative_ths, mean_interval_s, seed):
    """Draw ``n_blocks`` arrivals (s) and winners; return the last arrival time and wins per owner."""
    np.random.seed(seed)  # noqa: NPY002 (numba's own generator)
    total = cumulative_ths[-1]
    wins = np.zeros(cumulative_ths.size, dtype=np.int64)
    t = 0.0
    for _ in range(n_blocks):
        t += np.random.exponential(mean_interval_s)  # noqa: NPY002
        draw = np.random.random() * total  # noqa: NPY002
        low = 0
        high = cumulative_ths.size - 1
        while low < high:
            mid = (low + high) // 2
            if cumulative_ths[mid] > draw:
                high = mid
            else:
                low = mid + 1
        wins[low] += 1
    return t, wins


def floor_call(n_blocks: int, n_owners: int) -> Callable[[int], object]:
    """``call(seed)``: one ``floor_loop`` of ``n_blocks`` blocks over ``n_owners`` owners with
    random hashrate shares. Its compilation (or cache load) is done here, not in a timed call."""
    hashrate_ths = np.random.default_rng(0).uniform(1.0, 100.0, size=n_owners)
    cumulative_ths = np.cumsum(hashrate_ths)
    floor_loop(1, cumulative_ths, MEAN_INTERVAL_S, 0)
    return lambda seed: floor_loop(n_blocks, cumulative_ths, MEAN_INTERVAL_S, seed)


def floor_seconds(n_blocks: int, n_owners: int, repeats: int = 5) -> float:
    """Best CPU time (s) of ``repeats`` calls of :func:`floor_call` (seeds 0, 1, ...)."""
    call = floor_call(n_blocks, n_owners)
    return min(cpu_seconds(lambda seed=seed: call(seed)) for seed in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=2_000_000, help="blocks per timed loop")
    parser.add_argument("--owners", type=int, nargs="+", default=[10, 100, 1_000, 10_000])
    parser.add_argument("--repeats", type=int, default=5, help="timed loops; the best counts")
    args = parser.parse_args()
    print(f"floor loop, {args.blocks:,} blocks per loop, best CPU time of {args.repeats}\n")
    print("| owners | floor blocks/s |")
    print("|---:|---:|")
    for n_owners in args.owners:
        seconds = floor_seconds(args.blocks, n_owners, args.repeats)
        print(f"| {n_owners:,} | {args.blocks / seconds:,.0f} |")


if __name__ == "__main__":
    main()
