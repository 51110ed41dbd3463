"""Speed and memory of whole runs, as ratios measured in one process (these machines are noisy).

Prints Markdown tables:

1. one baseline run (about 100 agents, to 2030, every block simulated): wall time and peak
   memory, beside the floor loop (benchmarks/floor.py: only draws the same number of blocks and
   winners, in numba) and a plain-Python Mesa model of the same block loop
   (benchmarks/plain_mesa.py);
2. scaling: time per run against the number of epochs (horizon) and of agents (fringe agents);
3. start-up: `minersim run demo` end to end in a fresh process, with numba's cache warm and cold.

Run: ``.venv/bin/python benchmarks/model.py [--quick]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from floor import floor_seconds  # noqa: E402
from plain_mesa import plain_mesa_seconds  # noqa: E402

import sim  # noqa: E402


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def one_run(repeats: int) -> None:
    scenario = sim.load_scenario("baseline")
    result = sim.run(scenario, seed=0)  # warm-up: numba cache load
    n_epochs, n_agents = len(result.epochs), result.miners["miner_id"].nunique()
    n_blocks = n_epochs * 2016
    run_s = best_of(lambda: sim.run(scenario, seed=1), repeats)
    tracemalloc.start()
    sim.run(scenario, seed=1)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    floor_s = floor_seconds(n_blocks, n_agents, repeats)
    plain_s = plain_mesa_seconds(n_agents, n_epochs)
    print(f"## One baseline run: {n_agents} agents, {n_epochs} epochs, {n_blocks:,} blocks\n")
    print("| what | seconds | ratio to minersim |")
    print("|---|---:|---:|")
    print(f"| minersim `sim.run` (best of {repeats}) | {run_s:.3f} | 1.00 |")
    print(f"| floor loop (numba, blocks + winners only) | {floor_s:.4f} | {floor_s / run_s:.3f} |")
    print(f"| plain-Python Mesa block loop | {plain_s:.3f} | {plain_s / run_s:.2f} |")
    print(
        f"\nminersim / floor = {run_s / floor_s:.1f}x; plain Mesa / minersim = {plain_s / run_s:.1f}x; "
        f"peak Python memory of one run (tracemalloc) = {peak_mb:.0f} MB\n"
    )


def scaling(repeats: int, agent_counts: list[int]) -> None:
    base = sim.load_scenario("baseline")
    start = base.config.scenario.start_date
    print("## Scaling with epochs (baseline agents)\n")
    print("| years | epochs | seconds | ms per epoch |")
    print("|---:|---:|---:|---:|")
    for years in (1, 2, 4):
        end = dt.date(start.year + years, start.month, start.day).isoformat()
        sc = sim.load_scenario("baseline", {"scenario.end_date": end})
        epochs = len(sim.run(sc, seed=0).epochs)
        s = best_of(lambda sc=sc: sim.run(sc, seed=1), repeats)
        print(f"| {years} | {epochs} | {s:.3f} | {1e3 * s / epochs:.2f} |")
    print("\n## Scaling with agents (one year; fringe agents per class varied)\n")
    print("| agents | seconds | ms per epoch | ms per epoch per 100 agents |")
    print("|---:|---:|---:|---:|")
    n_classes = len(base.config.fringe.classes)
    n_public = len(base.miners)
    end = dt.date(start.year + 1, start.month, start.day).isoformat()
    for target in agent_counts:
        per_class = max(1, (target - n_public) // n_classes)
        overrides = {"scenario.end_date": end}
        overrides.update({f"fringe.classes.{k}.agents": per_class for k in range(n_classes)})
        sc = sim.load_scenario("baseline", overrides)
        result = sim.run(sc, seed=0)
        agents, epochs = result.miners["miner_id"].nunique(), len(result.epochs)
        s = best_of(lambda sc=sc: sim.run(sc, seed=1), max(1, repeats // 2))
        print(
            f"| {agents:,} | {s:.3f} | {1e3 * s / epochs:.2f} | {1e5 * s / epochs / agents:.3f} |"
        )
    print()


def startup() -> None:
    exe = Path(sys.executable).with_name("minersim")
    print("## `minersim run demo` end to end (fresh process)\n")
    print("| numba cache | seconds |")
    print("|---|---:|")
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty cache)", "warm (second process)"):
            start = time.perf_counter()
            subprocess.run(
                [str(exe), "run", "demo", "--out", out], env=env, check=True, capture_output=True
            )
            print(f"| {label} | {time.perf_counter() - start:.2f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and agent counts")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    one_run(repeats)
    scaling(repeats, [100, 1_000] if args.quick else [100, 1_000, 10_000])
    startup()


if __name__ == "__main__":
    main()
