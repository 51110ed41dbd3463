"""Time of each engine phase in baseline runs, measured in one process.

Builds a run with ``sim.engine.build.build`` and steps it with the phases of
``sim.engine.epoch.PHASES``, timing every phase call with ``time.perf_counter``. Each of the
``--repeats`` runs (same scenario and seed, after one warm-up run that loads numba's cache) gives
a per-phase total; a phase's time is the best (minimum) of its totals over the runs, so one noisy
run does not count against the phase. Prints a Markdown table: ms per epoch and share of the sum
of the phases, the set-up (``build``), and the best whole run (build + epochs) beside it.

Run: ``.venv/bin/python benchmarks/phases.py [--repeats N] [--scenario NAME] [--seed S]``
"""

from __future__ import annotations

import argparse
import time

from sim.engine.build import build
from sim.engine.epoch import PHASES
from sim.engine.world import Scratch
from sim.input.scenario import load_scenario


def timed_run(spec, seed: int) -> tuple[dict[str, float], float, float, int]:
    """One run of ``spec``: seconds per phase (summed over epochs), build seconds, whole-run
    seconds and the number of epochs run."""
    totals = {phase.__name__: 0.0 for phase in PHASES}
    clock = time.perf_counter
    start = clock()
    params, state, world = build(spec, seed)
    build_s = clock() - start
    epochs = 0
    while state.running:
        scratch = Scratch()
        for phase in PHASES:
            t = clock()
            phase(params, state, world, scratch)
            totals[phase.__name__] += clock() - t
            if scratch.halted:
                break
        epochs += 1
    return totals, build_s, clock() - start, epochs


def measure(scenario: str, seed: int, repeats: int) -> dict:
    """Best-of-``repeats`` phase times of ``scenario`` at ``seed`` (after one warm-up run)."""
    spec = load_scenario(scenario)
    timed_run(spec, seed)  # warm-up: numba cache load, first-call costs
    runs = [timed_run(spec, seed) for _ in range(repeats)]
    epochs = runs[0][3]
    best = {name: min(r[0][name] for r in runs) for name in runs[0][0]}
    return {
        "epochs": epochs,
        "phase_s": best,
        "build_s": min(r[1] for r in runs),
        "run_s": min(r[2] for r in runs),
        "repeats": repeats,
    }


def table(m: dict) -> str:
    """Markdown table of the phases, slowest first."""
    total = sum(m["phase_s"].values())
    rows = sorted(m["phase_s"].items(), key=lambda kv: -kv[1])
    lines = ["| phase | ms/epoch | share |", "|---|---:|---:|"]
    for name, s in rows:
        lines.append(f"| {name} | {1e3 * s / m['epochs']:.3f} | {100 * s / total:.1f}% |")
    lines.append(f"| **sum of phases** | {1e3 * total / m['epochs']:.3f} | 100% |")
    lines.append("")
    lines.append(
        f"{m['epochs']} epochs; best of {m['repeats']}: phases {total:.3f} s, "
        f"build {m['build_s']:.3f} s, whole run (build + epochs) {m['run_s']:.3f} s"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(table(measure(args.scenario, args.seed, args.repeats)))


if __name__ == "__main__":
    main()
