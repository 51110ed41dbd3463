"""The engine's speed targets (issue 12), measured in one run through the public entry points.

Every figure goes through what a user calls (``sim.run``, the ``minersim`` command), so the
script keeps measuring the same things whatever the engine looks like inside. Ratios are taken
within one run of this script (the machines are shared and noisy):

(a) one baseline run (best of ``--repeats``) against the floor loop (benchmarks/floor.py) over
    the same blocks and owners: target <= 2x;
(b) a ``--runs``-run baseline Monte Carlo on 2 local workers, end to end (``minersim mc``:
    start-up, workers, Parquet), against the ideal of ``--runs`` floor runs split over 2 cores:
    target <= 3x;
(c) a warm ``minersim run demo`` (caches filled by an untimed first call; best of
    ``--repeats``) against ``python -c "import numpy, numba"``: target <= 3x;
(d) runs per second of one-year baseline runs at 10, 100, 1,000 and 10,000 agents (fringe
    agents per class set by overrides), the time per agent-epoch, and how the time per epoch
    grows between the two largest counts (linear: no faster than the agents);
(e) peak memory: of a process that runs the baseline once, and of Monte Carlo batches of
    ``--runs / 4`` and ``--runs`` runs (the largest sum of the RSS of ``minersim mc`` and its
    worker processes, sampled every 0.1 s): flat when the two batches match.

Prints a Markdown table (the README's performance section holds one such table).

Run: ``.venv/bin/python benchmarks/engine.py [--runs 200] [--repeats 5] [--quick]``
(``--quick``: 50 runs, 3 repeats, agents up to 1,000; for a loaded machine).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch import ChildMemory  # noqa: E402
from floor import floor_seconds  # noqa: E402
from model import measure_agent_scaling, timings  # noqa: E402

import sim  # noqa: E402
from sim.consensus import RETARGET_INTERVAL  # noqa: E402

WORKERS = 2
AGENTS = (10, 100, 1_000, 10_000)
MINERSIM = str(Path(sys.executable).with_name("minersim"))
PEAK_RSS = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def one_run(repeats: int) -> dict:
    """(a) One baseline run (s) and the floor loop over its blocks and owners (s)."""
    scenario = sim.load_scenario("baseline")
    result = sim.run(scenario, seed=0)  # warm-up: numba cache load
    blocks = len(result.epochs) * RETARGET_INTERVAL
    agents = int(result.miners["miner_id"].nunique())
    run_s = min(timings(lambda: sim.run(scenario, seed=1), repeats))
    floor_s = floor_seconds(blocks, agents, repeats)
    return {"agents": agents, "blocks": blocks, "run_s": run_s, "floor_s": floor_s}


def monte_carlo(runs: int, out: Path) -> dict:
    """(b, e) ``minersim mc baseline --runs RUNS --workers 2`` end to end: wall time (s) and the
    peak of the summed RSS of the command and its workers (MB)."""
    import psutil

    command = [MINERSIM, "mc", "baseline", "--runs", str(runs), "--seed", "0"]
    command += ["--workers", str(WORKERS), "--out", str(out)]
    memory = ChildMemory(psutil.Process())
    memory.start()
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    memory.stop()
    return {"runs": runs, "wall_s": wall, "peak_mb": memory.peak_total / 2**20}


def warm_start(repeats: int, out: Path) -> dict:
    """(c) A warm ``minersim run demo`` and ``python -c "import numpy, numba"`` (best, s)."""
    command = [MINERSIM, "run", "demo", "--out", str(out), "--force"]
    subprocess.run(command, check=True, capture_output=True)  # fills the caches
    run_s = min(timings(lambda: subprocess.run(command, check=True, capture_output=True), repeats))
    imports = [sys.executable, "-c", "import numpy, numba"]
    import_s = min(timings(lambda: subprocess.run(imports, check=True), repeats))
    return {"run_s": run_s, "import_s": import_s}


def agent_scaling(counts: tuple[int, ...], repeats: int) -> list[dict]:
    """(d) One-year baseline runs against the number of agents: runs/s and s per agent-epoch."""
    rows = []
    for count in counts:
        (row,) = measure_agent_scaling(repeats if count < 10_000 else 1, [count])
        row["runs_per_s"] = 1.0 / row["seconds"]
        row["us_per_agent_epoch"] = 1e6 * row["seconds"] / (row["agents"] * row["epochs"])
        rows.append(row)
    return rows


def run_memory_mb() -> float:
    """(e) Peak RSS (MB) of a fresh process that runs the baseline once (``sim.run``)."""
    code = f"import sim; sim.run('baseline', seed=1); {PEAK_RSS}"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1e3  # ru_maxrss is in KB on Linux


def table(args, a, batches, c, d, run_mb) -> str:
    small, large = batches
    ideal_s = large["runs"] * a["floor_s"] / WORKERS
    before, last = d[-2], d[-1]
    growth = (last["seconds"] / last["epochs"]) / (before["seconds"] / before["epochs"])
    scaling = ", ".join(
        f"{r['agents']:,} agents: {r['runs_per_s']:.2f} runs/s ({r['us_per_agent_epoch']:.1f} "
        "us per agent-epoch)"
        for r in d
    )
    rows = [
        (
            "(a) one baseline run vs the floor loop (target <= 2x)",
            f"{a['run_s'] * 1e3:.0f} ms vs {a['floor_s'] * 1e3:.1f} ms "
            f"({a['agents']} agents, {a['blocks']:,} blocks): "
            f"**{a['run_s'] / a['floor_s']:.1f}x**",
        ),
        (
            f"(b) {large['runs']}-run baseline Monte Carlo, {WORKERS} local workers, end to end "
            f"with Parquet, vs {large['runs']} floor runs / {WORKERS} (target <= 3x)",
            f"{large['wall_s']:.1f} s ({large['runs'] / large['wall_s']:.1f} runs/s) vs "
            f"{ideal_s:.2f} s: **{large['wall_s'] / ideal_s:.0f}x**",
        ),
        (
            "(c) warm `minersim run demo` vs `python -c 'import numpy, numba'` (target <= 3x)",
            f"{c['run_s']:.2f} s vs {c['import_s']:.2f} s: **{c['run_s'] / c['import_s']:.1f}x**",
        ),
        (
            "(d) one-year baseline runs against agents (linear: us per agent-epoch flat)",
            f"{scaling}; from {before['agents']:,} to {last['agents']:,} agents "
            f"(x{last['agents'] / before['agents']:.1f}) the time per epoch grows "
            f"x{growth:.1f} (linear: as much as the agents, or less)",
        ),
        (
            f"(e) peak memory: one run; batches of {small['runs']} and {large['runs']} runs "
            f"(flat in runs)",
            f"one run {run_mb:.0f} MB; batches {small['peak_mb']:.0f} MB and "
            f"{large['peak_mb']:.0f} MB (command and workers summed)",
        ),
    ]
    load = os.getloadavg()[0]
    command = " ".join([".venv/bin/python benchmarks/engine.py", *args])
    head = [
        f"Measured by `{command}` on {platform.machine()} ({os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {load:.1f} at the end).",
        "",
        "| what | measured |",
        "|---|---|",
    ]
    return "\n".join(head + [f"| {what} | {value} |" for what, value in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="runs of the large batch")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats; the best counts")
    parser.add_argument("--quick", action="store_true", help="50 runs, 3 repeats, <= 1,000 agents")
    args = parser.parse_args()
    runs, repeats, counts = args.runs, args.repeats, AGENTS
    if args.quick:
        runs, repeats, counts = 50, 3, AGENTS[:3]
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        say("(a) one run vs the floor loop")
        a = one_run(repeats)
        say("(c) warm minersim run demo")
        c = warm_start(repeats, Path(tmp) / "demo")
        say("(d) agents")
        d = agent_scaling(counts, repeats)
        say("(e) one run's memory")
        run_mb = run_memory_mb()
        batches = []
        for n in (max(1, runs // 4), runs):
            say(f"(b, e) Monte Carlo of {n} runs")
            batches.append(monte_carlo(n, Path(tmp) / f"mc{n}"))
    print(table(sys.argv[1:], a, batches, c, d, run_mb))


if __name__ == "__main__":
    main()
