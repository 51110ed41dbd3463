"""Time of each engine phase in baseline runs, measured in one process.

Builds a run with ``sim.engine.build.build`` and steps it with the phases of
``sim.engine.epoch.PHASES``, timing every phase call with the thread's CPU clock
(``time.thread_time``: on a loaded machine the wall clock also counts the time other processes
hold the core; ``--wall`` uses ``time.perf_counter`` instead). Each of the
``--repeats`` runs (same scenario and seed, after one warm-up run that loads numba's cache) gives
a per-phase total; a phase's time is the best (minimum) of its totals over the runs, so one noisy
run does not count against the phase. Prints a Markdown table: ms per epoch and share of the sum
of the phases, the set-up (``build``), and the best whole run beside it (what ``sim.run`` does:
the scenario check, ``build``, the epochs and the result tables).

With ``--compiled`` every numba dispatcher that Python reaches through a name in a loaded
``sim`` module is wrapped (after the warm-up run, so nothing compiles while wrapped) to add the
time spent inside it to the phase that called it: the table then splits each phase into
compiled and Python ms per epoch and counts its Python-to-numba calls per epoch (a wrapper's own
two clock reads, under a microsecond a call, count as Python). It also times what ``sim.run``
does around the epochs (checking the scenario, turning the recorder into pandas tables) and the
floor loop (benchmarks/floor.py) over the run's blocks and owners, per epoch, beside the
target of issue 12 (a whole run within 2x the floor loop).

With ``--against REF`` (a git commit) it compares this tree (or ``--after REF2``) with REF under
the same load: a commit's ``sim/`` is exported to a temporary folder (``git archive``; its
``scenarios/`` and ``data/`` are this tree's), and ``--rounds`` rounds run one child process per
tree, in alternating order (``python -S`` with only that tree and site-packages on the path). Each phase's time is its best over all rounds;
the table gives ms/epoch before (REF) and after (this tree) and their ratio.

Run: ``.venv/bin/python benchmarks/phases.py [--repeats N] [--scenario NAME] [--seed S]
[--compiled] [--against REF [--rounds R]]``
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

from numba.core.dispatcher import Dispatcher

from sim.engine.build import build
from sim.engine.epoch import PHASES
from sim.engine.world import Scratch
from sim.input.scenario import load_scenario
from sim.runner import result_of

CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


class CompiledTime:
    """Seconds spent inside numba-compiled functions called from Python, and the number of
    such calls, summed since the counters were last read (:meth:`take`).

    :meth:`wrap` rebinds every numba dispatcher named in a loaded ``sim`` module to a timing
    wrapper (one per dispatcher, whatever the names it goes by); :meth:`unwrap` restores them.
    Compiled code calls compiled code directly, so only the calls from Python are timed.
    """

    def __init__(self, clock):
        self.clock, self.seconds, self.calls, self.names = clock, 0.0, 0, set()
        self._bound: list[tuple[object, str, Dispatcher]] = []

    def wrap(self) -> None:
        wrappers = {}
        for module_name, module in list(sys.modules.items()):
            if module_name != "sim" and not module_name.startswith("sim."):
                continue
            for attr, value in list(vars(module).items()):
                if isinstance(value, Dispatcher):
                    if id(value) not in wrappers:
                        wrappers[id(value)] = self._timed(value)
                    self._bound.append((module, attr, value))
                    setattr(module, attr, wrappers[id(value)])

    def unwrap(self) -> None:
        for module, attr, dispatcher in self._bound:
            setattr(module, attr, dispatcher)
        self._bound.clear()

    def take(self) -> tuple[float, int]:
        """(seconds, calls) since the last take, and the counters reset."""
        out = self.seconds, self.calls
        self.seconds, self.calls = 0.0, 0
        return out

    def _timed(self, dispatcher: Dispatcher):
        clock, name = self.clock, dispatcher.py_func.__qualname__

        def timed(*args, **kwargs):
            start = clock()
            try:
                return dispatcher(*args, **kwargs)
            finally:
                self.seconds += clock() - start
                self.calls += 1
                self.names.add(f"{dispatcher.py_func.__module__}.{name}")

        return timed


def timed_run(
    spec, seed: int, clock=time.thread_time, compiled: CompiledTime | None = None
) -> dict:
    """One run of ``spec`` as ``sim.run`` does it, on ``clock``: seconds per phase (summed over
    epochs) and, with ``compiled``, the compiled seconds and Python-to-numba calls per phase;
    the seconds of checking the scenario, of ``build`` and of the result tables; the whole run;
    and the number of epochs run."""
    names = [phase.__name__ for phase in PHASES]
    totals, inside, calls = (
        dict.fromkeys(names, 0.0),
        dict.fromkeys(names, 0.0),
        dict.fromkeys(names, 0),
    )
    start = clock()
    spec = load_scenario(spec)  # what sim.run does with a Scenario: check it is unchanged
    checked = clock()
    params, state, world = build(spec, seed)
    built = clock()
    epochs = 0
    if compiled:
        compiled.take()
    while state.running:
        scratch = Scratch()
        for phase, name in zip(PHASES, names, strict=True):
            t = clock()
            phase(params, state, world, scratch)
            totals[name] += clock() - t
            if compiled:
                seconds, count = compiled.take()
                inside[name] += seconds
                calls[name] += count
            if scratch.halted:
                break
        epochs += 1
    stepped = clock()
    result_of(spec, seed, state)
    end = clock()
    return {
        "phase_s": totals,
        "compiled_s": inside,
        "calls": calls,
        "check_s": checked - start,
        "build_s": built - checked,
        "results_s": end - stepped,
        "run_s": end - start,
        "epochs": epochs,
        "agents": state.n,
    }


def measure(
    scenario: str, seed: int, repeats: int, clock: str = "cpu", compiled: bool = False
) -> dict:
    """Best-of-``repeats`` phase times of ``scenario`` at ``seed`` (after one warm-up run); with
    ``compiled``, each phase's compiled seconds (best of the runs too), its Python-to-numba calls
    and the floor loop over the run's blocks and owners."""
    spec = load_scenario(scenario)
    timed_run(spec, seed, CLOCKS[clock])  # warm-up: numba cache load, first-call costs
    timer = CompiledTime(CLOCKS[clock]) if compiled else None
    if timer:
        timer.wrap()
    try:
        runs = [timed_run(spec, seed, CLOCKS[clock], timer) for _ in range(repeats)]
    finally:
        if timer:
            timer.unwrap()
    out = {key: min(r[key] for r in runs) for key in ("check_s", "build_s", "results_s", "run_s")}
    for key in ("phase_s", "compiled_s", "calls"):
        out[key] = {name: min(r[key][name] for r in runs) for name in runs[0][key]}
    out.update(epochs=runs[0]["epochs"], agents=runs[0]["agents"], repeats=repeats, clock=clock)
    if compiled:
        from floor import floor_seconds  # benchmarks/floor.py, beside this script

        from sim.consensus import RETARGET_INTERVAL

        blocks = out["epochs"] * RETARGET_INTERVAL
        out["floor_s"] = floor_seconds(blocks, out["agents"], repeats)
        out["blocks"] = blocks
        out["dispatchers"] = sorted(timer.names)
    return out


def table(m: dict) -> str:
    """Markdown table of the phases, slowest first; with compiled times, split into compiled
    and Python and followed by what ``sim.run`` spends around the epochs and the floor loop."""
    split = "floor_s" in m
    total = sum(m["phase_s"].values())
    rows = sorted(m["phase_s"].items(), key=lambda kv: -kv[1])
    per_epoch = lambda s: 1e3 * s / m["epochs"]  # noqa: E731  (s -> ms per epoch)
    if split:
        lines = [
            "| phase | ms/epoch | share | compiled ms/epoch | Python ms/epoch "
            "| numba calls/epoch |",
            "|---|---:|---:|---:|---:|---:|",
        ]
    else:
        lines = ["| phase | ms/epoch | share |", "|---|---:|---:|"]
    for name, s in rows:
        line = f"| {name} | {per_epoch(s):.3f} | {100 * s / total:.1f}% |"
        if split:
            inside = min(m["compiled_s"][name], s)
            line += (
                f" {per_epoch(inside):.3f} | {per_epoch(s - inside):.3f} "
                f"| {m['calls'][name] / m['epochs']:.1f} |"
            )
        lines.append(line)
    line = f"| **sum of phases** | {per_epoch(total):.3f} | 100% |"
    if split:
        inside = sum(min(m["compiled_s"][k], v) for k, v in m["phase_s"].items())
        calls = sum(m["calls"].values())
        line += (
            f" {per_epoch(inside):.3f} | {per_epoch(total - inside):.3f} "
            f"| {calls / m['epochs']:.1f} |"
        )
    lines.append(line)
    lines.append("")
    lines.append(
        f"{m['agents']} agents, {m['epochs']} epochs, {m['clock']} time, best of "
        f"{m['repeats']}: phases {total:.3f} s, build {m['build_s']:.3f} s, whole run "
        f"{m['run_s']:.3f} s (scenario check {m['check_s']:.3f} s + build + epochs + result "
        f"tables {m['results_s']:.3f} s)"
    )
    if split:
        floor = per_epoch(m["floor_s"])
        lines.append("")
        lines.append(
            f"floor loop (benchmarks/floor.py, {m['blocks']:,} blocks, {m['agents']} owners, "
            f"wall time): {floor:.3f} ms/epoch; the whole run is {per_epoch(m['run_s']):.3f} "
            f"ms/epoch, {m['run_s'] / m['floor_s']:.1f}x the floor (target <= 2x: "
            f"{2 * floor:.3f} ms/epoch)"
        )
        lines.append("")
        lines.append("compiled functions called from Python: " + ", ".join(m["dispatchers"]))
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
    for key in ("phase_s", "compiled_s", "calls"):
        out[key] = {k: min(r[key][k] for r in results) for k in results[0][key]}
    for key in ("check_s", "build_s", "results_s", "run_s"):
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
            f"whole run (check, build, epochs, result tables; phases timed) {m['run_s']:.3f} s"
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
    parser.add_argument(
        "--compiled", action="store_true", help="split phases into compiled and Python time"
    )
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
        print(table(measure(args.scenario, args.seed, args.repeats, clock, args.compiled)))


if __name__ == "__main__":
    main()
