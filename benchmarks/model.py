"""Speed and memory of whole runs, as ratios measured in one process (these machines are noisy).

Prints Markdown tables:

1. one baseline run (about 100 agents, to 2030, every block simulated): CPU time and peak
   memory, beside the floor loop (benchmarks/floor.py: only draws the same number of blocks and
   winners, in numba) and a plain-Python Mesa model of the same block loop
   (benchmarks/plain_mesa.py). Every side is timed the same way, on the same clock
   (benchmarks/clock.py: CPU time), in alternated rounds: the best of the same number of
   repeats of the whole call (``sim.run`` builds its model, so the plain model's build is timed
   too);
2. scaling: time per run against the number of epochs (horizon) and of agents (fringe agents);
3. start-up: `minersim run demo` end to end in a fresh process, with numba's cache warm and cold;
4. memory of a whole `minersim run baseline` process (peak RSS) and of the imports alone.

It measures the public entry points (``sim.run``, the ``minersim`` command), not internals, so it
keeps working when the engine is rewritten. benchmarks/readme.py prints the README's performance
table from the same functions.

Run: ``.venv/bin/python benchmarks/model.py [--quick]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clock import alternated, child_cpu_seconds, cpu_seconds  # noqa: E402
from floor import floor_call  # noqa: E402
from plain_mesa import run_plain_mesa  # noqa: E402

import sim  # noqa: E402

IMPORTS = "import sim, sim.model, mesa, pandas, numba, scipy"


def timings(fn, repeats: int) -> list[float]:
    """CPU times (s) of ``repeats`` calls of ``fn`` (benchmarks/clock.py)."""
    return [cpu_seconds(fn) for _ in range(repeats)]


def best_of(fn, repeats: int) -> float:
    return min(timings(fn, repeats))


def measure_one_run(repeats: int) -> dict:
    """One baseline run against the floor loop and the plain Mesa loop, best of ``repeats``."""
    scenario = sim.load_scenario("baseline")
    result = sim.run(scenario, seed=0)  # warm-up: numba cache load
    n_epochs, n_agents = len(result.epochs), result.miners["miner_id"].nunique()
    n_blocks = n_epochs * 2016
    run_plain_mesa(n_agents, 1)  # warm-up, as for sim.run
    floor = floor_call(n_blocks, n_agents)
    times = alternated(
        {
            "run": lambda: cpu_seconds(lambda: sim.run(scenario, seed=1)),
            "plain": lambda: cpu_seconds(lambda: run_plain_mesa(n_agents, n_epochs)),
            "floor": lambda: cpu_seconds(lambda: floor(1)),
        },
        repeats,
    )
    run_s, plain_s = times["run"], times["plain"]
    tracemalloc.start()
    sim.run(scenario, seed=1)
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return {
        "agents": n_agents,
        "epochs": n_epochs,
        "blocks": n_blocks,
        "repeats": repeats,
        "run_s": min(run_s),
        "run_median_s": statistics.median(run_s),
        "plain_s": min(plain_s),
        "plain_median_s": statistics.median(plain_s),
        "floor_s": min(times["floor"]),
        "tracemalloc_mb": peak_mb,
    }


def measure_epoch_scaling(repeats: int, years: tuple[int, ...] = (1, 2, 4)) -> list[dict]:
    """Time of a baseline run (best of ``repeats``) against its horizon."""
    start = sim.load_scenario("baseline").config.scenario.start_date
    rows = []
    for n_years in years:
        end = dt.date(start.year + n_years, start.month, start.day).isoformat()
        scenario = sim.load_scenario("baseline", {"scenario.end_date": end})
        epochs = len(sim.run(scenario, seed=0).epochs)
        seconds = best_of(lambda sc=scenario: sim.run(sc, seed=1), repeats)
        rows.append({"years": n_years, "epochs": epochs, "seconds": seconds})
    return rows


def measure_agent_scaling(repeats: int, agent_counts: list[int]) -> list[dict]:
    """Time of a one-year baseline run against the number of agents (fringe agents per class)."""
    base = sim.load_scenario("baseline")
    start = base.config.scenario.start_date
    n_classes = len(base.config.fringe.classes)
    n_public = len(base.miners)
    end = dt.date(start.year + 1, start.month, start.day).isoformat()
    rows = []
    for target in agent_counts:
        per_class = max(1, (target - n_public) // n_classes)
        overrides = {"scenario.end_date": end}
        overrides.update({f"fringe.classes.{k}.agents": per_class for k in range(n_classes)})
        scenario = sim.load_scenario("baseline", overrides)
        result = sim.run(scenario, seed=0)
        agents, epochs = result.miners["miner_id"].nunique(), len(result.epochs)
        seconds = best_of(lambda sc=scenario: sim.run(sc, seed=1), repeats)
        rows.append({"agents": agents, "epochs": epochs, "seconds": seconds})
    return rows


def measure_start_up() -> dict[str, float]:
    """`minersim run demo` end to end in fresh processes: numba cache cold, then warm (CPU s)."""
    exe = Path(sys.executable).with_name("minersim")
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as results:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold", "warm"):
            argv = [str(exe), "run", "demo", "--out", results, "--force"]
            out[label], _ = child_cpu_seconds(argv, env=env)
    return out


PEAK_RSS = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def measure_process_memory() -> dict[str, float]:
    """Peak RSS (MB) of a fresh process that imports the stack, and of one that also runs the
    baseline (``sim.run``, what `minersim run baseline` does before writing its files)."""

    def peak_mb(code: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", f"{code}; {PEAK_RSS}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return int(out.split()[-1]) / 1e3  # ru_maxrss is in KB on Linux

    return {
        "imports_mb": peak_mb(IMPORTS),
        "run_mb": peak_mb(f"{IMPORTS}; sim.run('baseline', seed=1)"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and agent counts")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5

    one = measure_one_run(repeats)
    print(
        f"## One baseline run: {one['agents']} agents, {one['epochs']} epochs, "
        f"{one['blocks']:,} blocks\n"
    )
    print(f"CPU time: best and median of {repeats} calls each, in alternated rounds.\n")
    print("| what | best (s) | median (s) | best / minersim's best |")
    print("|---|---:|---:|---:|")
    print(f"| minersim `sim.run` | {one['run_s']:.3f} | {one['run_median_s']:.3f} | 1.00 |")
    print(
        f"| floor loop (numba, blocks + winners only) | {one['floor_s']:.4f} | | "
        f"{one['floor_s'] / one['run_s']:.3f} |"
    )
    print(
        f"| plain-Python Mesa block loop | {one['plain_s']:.3f} | {one['plain_median_s']:.3f} | "
        f"{one['plain_s'] / one['run_s']:.2f} |"
    )
    print(
        f"\nminersim / floor = {one['run_s'] / one['floor_s']:.1f}x; plain Mesa / minersim = "
        f"{one['plain_s'] / one['run_s']:.1f}x; peak Python memory of one run (tracemalloc) = "
        f"{one['tracemalloc_mb']:.0f} MB\n"
    )

    print("## Scaling with epochs (baseline agents)\n")
    print("| years | epochs | seconds | ms per epoch |")
    print("|---:|---:|---:|---:|")
    for row in measure_epoch_scaling(repeats):
        ms = 1e3 * row["seconds"] / row["epochs"]
        print(f"| {row['years']} | {row['epochs']} | {row['seconds']:.3f} | {ms:.2f} |")
    print("\n## Scaling with agents (one year; fringe agents per class varied)\n")
    print("| agents | seconds | ms per epoch | ms per epoch per 100 agents |")
    print("|---:|---:|---:|---:|")
    counts = [100, 1_000] if args.quick else [100, 1_000, 10_000]
    for row in measure_agent_scaling(max(1, repeats // 2), counts):
        ms = 1e3 * row["seconds"] / row["epochs"]
        print(
            f"| {row['agents']:,} | {row['seconds']:.3f} | {ms:.2f} | "
            f"{100 * ms / row['agents']:.3f} |"
        )

    start = measure_start_up()
    print("\n## `minersim run demo` end to end (fresh process)\n")
    print("| numba cache | CPU seconds |")
    print("|---|---:|")
    print(f"| cold (empty cache) | {start['cold']:.2f} |")
    print(f"| warm (second process) | {start['warm']:.2f} |")

    memory = measure_process_memory()
    print("\n## Peak memory of a process (RSS)\n")
    print("| process | peak RSS |")
    print("|---|---:|")
    print(f"| imports only (`{IMPORTS}`) | {memory['imports_mb']:.0f} MB |")
    print(f"| the same, then `sim.run('baseline')` | {memory['run_mb']:.0f} MB |")
    print()


if __name__ == "__main__":
    main()
