"""Time of each engine phase in baseline runs, measured in one process.

Builds a run with ``sim.engine.build.build`` and steps it with the phases of
``sim.engine.epoch.PHASES``, timing every phase call with the thread's CPU clock
(``time.thread_time``: on a loaded machine the wall clock also counts the time other processes
hold the core; ``--wall`` uses ``time.perf_counter`` instead). Each of the
``--repeats`` runs (same scenario and seed, after one warm-up run that loads numba's cache) gives
a per-phase total; a phase's time is the best (minimum) of its totals over the runs, so one noisy
run does not count against the phase. Prints a Markdown table: ms per epoch and share of the sum
of the phases, the set-up (``build``), and the best whole run (build + epochs) beside it.

With ``--against REF`` (a git commit) it compares this tree (or ``--after REF2``) with REF under
the same load: a commit's ``sim/`` is exported to a temporary folder (``git archive``; its
``scenarios/`` and ``data/`` are this tree's), and ``--rounds`` rounds run one child process per
tree, in alternating order (``python -S`` with only that tree and site-packages on the path). Each phase's time is its best over all rounds;
the table gives ms/epoch before (REF) and after (this tree) and their ratio.

Run: ``.venv/bin/python benchmarks/phases.py [--repeats N] [--scenario NAME] [--seed S]
[--against REF [--rounds R]]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from sim.engine.build import build
from sim.engine.epoch import PHASES
from sim.engine.world import Scratch
from sim.input.scenario import load_scenario

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


def timed_run(
    spec, seed: int, clock=time.thread_time
) -> tuple[dict[str, float], float, float, int]:
    """One run of ``spec``: seconds per phase (summed over epochs), build seconds, whole-run
    seconds and the number of epochs run, on ``clock``."""
    totals = {phase.__name__: 0.0 for phase in PHASES}
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


def measure(scenario: str, seed: int, repeats: int, clock: str = "cpu") -> dict:
    """Best-of-``repeats`` phase times of ``scenario`` at ``seed`` (after one warm-up run)."""
    spec = load_scenario(scenario)
    timed_run(spec, seed, CLOCKS[clock])  # warm-up: numba cache load, first-call costs
    runs = [timed_run(spec, seed, CLOCKS[clock]) for _ in range(repeats)]
    epochs = runs[0][3]
    best = {name: min(r[0][name] for r in runs) for name in runs[0][0]}
    return {
        "epochs": epochs,
        "phase_s": best,
        "build_s": min(r[1] for r in runs),
        "run_s": min(r[2] for r in runs),
        "repeats": repeats,
        "clock": clock,
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
        f"{m['epochs']} epochs, {m['clock']} time, best of {m['repeats']}: phases {total:.3f} s, "
        f"build {m['build_s']:.3f} s, whole run (build + epochs) {m['run_s']:.3f} s"
    )
    return "\n".join(lines)


REPO = Path(__file__).resolve().parent.parent


def export_tree(ref: str, folder: Path) -> Path:
    """``sim/`` of git commit ``ref`` in ``folder``, with this tree's scenarios and data linked
    in as ``sim.scenarios`` and ``sim.data`` (what the editable install maps them to)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "sim"], check=True, capture_output=True
    ).stdout
    folder.mkdir()
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    for name in ("scenarios", "data"):
        (folder / "sim" / name).symlink_to(REPO / name)
    return folder


def measure_in(tree: Path | None, args) -> dict:
    """:func:`measure` in a child process: importing ``sim`` from ``tree`` only (``python -S``,
    no editable install on the path), or from this tree's install when ``tree`` is None."""
    cmd = [__file__, "--json", "--scenario", args.scenario, "--seed", str(args.seed)]
    cmd += ["--repeats", str(args.repeats)] + (["--wall"] if args.wall else [])
    if tree is None:
        cmd, env, cwd = [sys.executable, *cmd], None, REPO
    else:
        cmd, cwd = [sys.executable, "-S", *cmd], tree
        env = {"PYTHONPATH": f"{tree}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def best_of_rounds(results: list[dict]) -> dict:
    """Each phase's (and the build's and whole run's) best over several measurements."""
    out = dict(results[0])
    out["phase_s"] = {k: min(r["phase_s"][k] for r in results) for k in results[0]["phase_s"]}
    for key in ("build_s", "run_s"):
        out[key] = min(r[key] for r in results)
    out["repeats"] = sum(r["repeats"] for r in results)
    return out


def compare_table(before: dict, after: dict) -> str:
    """Markdown table: ms/epoch before and after, and after / before, slowest first (before)."""
    ms = {}
    for label, m in (("before", before), ("after", after)):
        ms[label] = {k: 1e3 * s / m["epochs"] for k, s in m["phase_s"].items()}
        ms[label]["**sum of phases**"] = sum(ms[label].values())
    lines = [
        "| phase | before ms/epoch | after ms/epoch | after / before |",
        "|---|---:|---:|---:|",
    ]
    for name in sorted(ms["before"], key=lambda k: -ms["before"][k]):
        b, a = ms["before"][name], ms["after"].get(name, float("nan"))
        lines.append(f"| {name} | {b:.3f} | {a:.3f} | {a / b:.2f} |")
    lines.append("")
    for label, m in (("before", before), ("after", after)):
        lines.append(
            f"{label}: {m['epochs']} epochs, {m['clock']} time, best of {m['repeats']}: build {m['build_s']:.3f} s, "
            f"whole run (build + epochs, phases timed) {m['run_s']:.3f} s"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--against", metavar="REF", help="git commit to compare with")
    parser.add_argument("--after", metavar="REF", help="git commit to compare (default: this tree)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--wall", action="store_true", help="wall clock, not CPU time")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clock = "wall" if args.wall else "cpu"
    if args.json:
        print(json.dumps(measure(args.scenario, args.seed, args.repeats, clock)))
    elif args.against:
        with tempfile.TemporaryDirectory() as tmp:
            base = export_tree(args.against, Path(tmp) / "before")
            new = export_tree(args.after, Path(tmp) / "after") if args.after else None
            before, after = [], []
            for k in range(args.rounds):  # alternate which tree runs first
                pair = [(before, base), (after, new)]
                for results, tree in pair if k % 2 == 0 else pair[::-1]:
                    results.append(measure_in(tree, args))
        print(f"before = {args.against}, after = {args.after or 'this tree'}")
        print(compare_table(best_of_rounds(before), best_of_rounds(after)))
    else:
        print(table(measure(args.scenario, args.seed, args.repeats, clock)))


if __name__ == "__main__":
    main()
