"""What a run costs outside its epochs: a warm ``minersim run demo`` and a Monte Carlo batch.

Issue 12's targets (b) and (c) are end to end, so they also pay for what surrounds the engine.
This script shows where those seconds go (wall time, best of ``--repeats`` fresh processes or
runs; the machines are shared, so read the parts against the whole of the same run):

start-up -- a warm ``minersim run demo`` (numba's cache filled by an untimed first call) beside
    ``python -c pass`` and ``python -c "import numpy, numba"``; then the same command in a fresh
    process, step by step: importing numpy and numba, the scenario layer (``sim.input.scenario``:
    pandas, pydantic), the engine (``sim.runner``), the command line and its output layer;
    numba's target initialisation (its first dispatch of a cached function loads numba's own
    registries, which import scipy.linalg for BLAS); then ``main()`` split into loading the
    scenario, the first run (numba cache loads of the engine's compiled functions included),
    writing the folder (Parquet, metadata) and the rest; the interpreter's start (to the
    script's first line) and exit (after its last line) on the parent's clock (the monotonic
    clock is the child's too); a second run of the same scenario in the same process gives the
    run without the cache loads. Last, ``python -X importtime`` of the command, self time summed
    by top-level package (importtime's own overhead inflates it), and the interpreter's exit
    after loading more or less (numpy and numba; pandas and pyarrow too; numba's target
    initialised; a whole demo run).

batch -- one baseline run as a batch worker does it (``sim.batch.worker.execute_run``): the run
    (CPU and wall), the run's columns put in front, the Parquet bytes, the pickled result sent
    back; the parent's ``BatchStore.write_run`` (the epoch file and its ledger line, each
    fsynced, as ``minersim mc`` without ``--miners``); the scenario's validation and its parcel
    (once per batch and per worker); and a real ``sim.batch.monte_carlo`` of ``--runs`` runs on
    2 local workers: time to the first result, the steady time per run, and how busy the
    workers were (the sum of the run times the workers report over 2 x the wall time).

Run: ``.venv/bin/python benchmarks/overhead.py [--repeats 5] [--runs 40] [--only start|batch]``
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PYTHON = sys.executable
MINERSIM = str(Path(PYTHON).with_name("minersim"))
WORKERS = 2

SECOND_RUN = "a second run in the same process (not part of the command)"
TOTAL = "sum of the command's steps"
#: Run in a fresh process: ``minersim run demo --out OUT --force`` step by step; prints JSON
#: {step: wall seconds}.
STEPS = r"""
import json, sys, time
marks, last = {}, time.perf_counter()
first_line = last
def mark(name):
    global last
    now = time.perf_counter()
    marks[name] = marks.get(name, 0.0) + now - last
    last = now
import numpy, numba
mark("import numpy, numba")
import sim.input.scenario
mark("import the scenario layer (pandas, pydantic)")
import sim.runner
mark("import the engine (sim.runner)")
import sim.analysis.folders, sim.cli, sim.cli.run
mark("import the command line and output layer")
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()
mark("numba target initialisation (scipy.linalg for BLAS)")

def timed(module, attr, name):
    inner = getattr(module, attr)
    def wrapper(*args, **kwargs):
        mark("main(): argument parsing, folders, messages")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(name)
    setattr(module, attr, wrapper)

first_run = sim.runner.run
timed(sim.cli.run, "load_scenario", "main(): load and validate the scenario")
timed(sim.runner, "run", "main(): first run (numba cache loads included)")
timed(sim.analysis.folders, "write_run", "main(): write the folder (Parquet, metadata)")
sys.argv = ["minersim", "run", "demo", "--out", sys.argv[1], "--force"]
from sim.cli import main
main()
mark("main(): argument parsing, folders, messages")
start = time.perf_counter()
first_run("demo", seed=0)
marks["a second run in the same process (not part of the command)"] = time.perf_counter() - start
marks["first line"], marks["last line"] = first_line, time.perf_counter()
print(json.dumps(marks))
"""


#: What a process has loaded when it exits, for the exit times (code run before the exit).
LOADED = {
    "import numpy, numba": "import numpy, numba",
    "also pandas, pyarrow": "import numpy, numba, pandas, pyarrow",
    "numba's target initialised": "import numba.core.registry as r; r.cpu_target.target_context.refresh()",
    "sim.run('demo')": "import sim.runner; sim.runner.run('demo', seed=0)",
}


def exit_seconds(repeats: int) -> dict[str, float]:
    """Best time (s) from a fresh process's last line to its end, for each of :data:`LOADED`
    (the monotonic clock is shared by the processes)."""
    out = {}
    for name, code in LOADED.items():
        last = f"{code}\nimport time; print(repr(time.perf_counter()))"
        best = float("inf")
        for _ in range(repeats):
            done = subprocess.run([PYTHON, "-c", last], check=True, capture_output=True, text=True)
            best = min(best, time.perf_counter() - float(done.stdout.split()[-1]))
        out[name] = best
    return out


def best_wall(command: list[str], repeats: int) -> float:
    """Best wall time (s) of ``repeats`` runs of ``command`` (output discarded)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def start_up(repeats: int, out: Path) -> dict:
    """Warm ``minersim run demo`` and its two references (best wall s), its steps (each step's
    best over ``repeats`` fresh processes, s) and import self time by top-level package (s)."""
    command = [MINERSIM, "run", "demo", "--out", str(out), "--force"]
    subprocess.run(command, check=True, capture_output=True)  # fills numba's cache
    whole = {
        "minersim run demo": best_wall(command, repeats),
        "python -c pass": best_wall([PYTHON, "-c", "pass"], repeats),
        'python -c "import numpy, numba"': best_wall(
            [PYTHON, "-c", "import numpy, numba"], repeats
        ),
    }
    steps: dict[str, float] = {}
    for _ in range(repeats):
        started = time.perf_counter()  # CLOCK_MONOTONIC: the child's clock too
        done = subprocess.run(
            [PYTHON, "-c", STEPS, str(out)], check=True, capture_output=True, text=True
        )
        ended = time.perf_counter()
        child = json.loads(done.stdout.strip().splitlines()[-1])
        second = child.pop(SECOND_RUN)
        marks = {
            "interpreter start (to the script's first line)": child.pop("first line") - started
        }
        exit_s = ended - child.pop("last line")
        marks |= child
        marks["interpreter exit (after the script's last line)"] = exit_s
        marks[TOTAL] = sum(marks.values())
        marks[SECOND_RUN] = second
        for name, seconds in marks.items():
            steps[name] = min(steps.get(name, float("inf")), seconds)
    code = 'import sys; from sim.cli import main; sys.argv[0] = "minersim"; main()'
    traced = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", code, *command[1:]],
        check=True,
        capture_output=True,
        text=True,
    )
    imports = import_self_time(traced.stderr)
    return {"whole": whole, "steps": steps, "imports": imports, "exit": exit_seconds(repeats)}


def import_self_time(importtime: str) -> Counter:
    """Seconds of import self time per top-level package, from ``-X importtime`` output."""
    by_package: Counter = Counter()
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _, module = line.removeprefix("import time:").split("|")
        by_package[module.strip().split(".")[0]] += int(self_us) / 1e6
    return by_package


def batch(repeats: int, runs: int) -> dict:
    """Per-run costs of a baseline batch run (best of ``repeats``, s) and a real batch of
    ``runs`` runs on 2 local workers."""
    from sim.batch.plans import monte_carlo_plan
    from sim.batch.runner import batch_metadata
    from sim.batch.store import BatchStore, frame_to_parquet
    from sim.batch.worker import RunOutput, ScenarioParcel, _with_head
    from sim.input.scenario import load_scenario
    from sim.runner import run

    parts: dict[str, list[float]] = {}

    def note(name: str, seconds: float) -> None:
        parts.setdefault(name, []).append(seconds)

    start = time.perf_counter()
    scenario = load_scenario("baseline")
    note("load and validate the scenario (once per batch)", time.perf_counter() - start)
    start = time.perf_counter()
    parcel = ScenarioParcel.of(scenario)
    restored = pickle.loads(parcel.data)
    restored.check_unchanged()
    note("pickle, unpickle and check its parcel (once per worker)", time.perf_counter() - start)
    run(scenario, seed=0)  # warm-up: numba cache loads
    with tempfile.TemporaryDirectory() as folder, BatchStore(Path(folder) / "b") as store:
        plan = monte_carlo_plan(repeats)
        store.open(batch_metadata(scenario, plan, 0, {}, False), None)
        for seed in range(1, repeats + 1):
            cpu, wall = time.thread_time(), time.perf_counter()
            result = run(scenario, seed=seed)
            note("the run, CPU", time.thread_time() - cpu)
            note("the run, wall", time.perf_counter() - wall)
            start = time.perf_counter()
            head = {"run": seed, "seed": seed, "point": 0, "stalled": False}
            frame = _with_head(result.epochs, head)
            note("run columns put in front", time.perf_counter() - start)
            start = time.perf_counter()
            epochs = frame_to_parquet(frame, seed)
            note("Parquet bytes of the epoch table", time.perf_counter() - start)
            start = time.perf_counter()
            pickle.loads(pickle.dumps(RunOutput(seed, epochs, None, 0.0)))
            note("pickle and unpickle the result", time.perf_counter() - start)
            start = time.perf_counter()
            store.write_run(seed - 1, epochs, None, False)
            note(
                "parent: write_run (files and ledger line; fsync per chunk)",
                time.perf_counter() - start,
            )
    per_run = {name: min(values) for name, values in parts.items()}
    per_run["Parquet size, kB"] = len(epochs) / 1e3
    return {"per_run": per_run, "batch": real_batch(runs)}


def real_batch(runs: int) -> dict:
    """``monte_carlo('baseline', runs)`` on 2 local workers in this process: wall s, first
    result s, steady s per run (after the first 2 x workers), workers' busy fraction."""
    import sim.batch.runner as batch_runner
    from sim.batch import monte_carlo

    finished: list[float] = []
    worker_s: list[float] = []
    result_of = batch_runner._result_of

    def timed_result_of(future, task, backend):
        output = result_of(future, task, backend)
        finished.append(time.perf_counter())
        worker_s.append(output.seconds)
        return output

    batch_runner._result_of = timed_result_of
    try:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            monte_carlo("baseline", runs, 0, Path(folder) / "b", workers=WORKERS, progress=False)
            wall = time.perf_counter() - start
    finally:
        batch_runner._result_of = result_of
    skip = min(2 * WORKERS, runs - 2)
    return {
        "runs": runs,
        "wall_s": wall,
        "first_s": finished[0] - start,
        "steady_s_per_run": (finished[-1] - finished[skip]) / (runs - 1 - skip),
        "worker_run_median_s": statistics.median(worker_s),
        "busy": sum(worker_s) / (WORKERS * wall),
    }


def start_table(m: dict) -> str:
    whole, steps = m["whole"], m["steps"]
    demo, imports = whole["minersim run demo"], whole['python -c "import numpy, numba"']
    lines = [
        f"warm `minersim run demo` {demo:.2f} s; `python -c pass` {whole['python -c pass']:.2f} "
        f's; `python -c "import numpy, numba"` {imports:.2f} s: **{demo / imports:.1f}x** '
        f"(target <= 3x: {3 * imports:.2f} s)",
        "",
        "| step of the command, fresh process (best of the repeats) | s |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {seconds:.3f} |" for name, seconds in steps.items()]
    lines += ["", "| import self time by package (`-X importtime`) | s |", "|---|---:|"]
    imports_by = m["imports"]
    lines += [f"| {name} | {s:.3f} |" for name, s in imports_by.most_common(10)]
    lines.append(f"| all {len(imports_by)} packages | {sum(imports_by.values()):.3f} |")
    exits = "; ".join(f"{name}: {s:.2f} s" for name, s in m["exit"].items())
    lines += ["", f"interpreter exit after what it loaded (best of the repeats): {exits}"]
    return "\n".join(lines)


def batch_table(m: dict) -> str:
    lines = ["| per baseline run of a batch (best of the repeats) | ms |", "|---|---:|"]
    for name, value in m["per_run"].items():
        if name.endswith("kB"):
            lines.append(f"| {name} | {value:.0f} kB |")
        else:
            lines.append(f"| {name} | {1e3 * value:.1f} |")
    b = m["batch"]
    lines += [
        "",
        f"`monte_carlo('baseline', {b['runs']})` on {WORKERS} local workers: {b['wall_s']:.1f} s "
        f"wall, first result after {b['first_s']:.2f} s, then {b['steady_s_per_run']:.3f} s per "
        f"run; a worker's run (run + Parquet) takes {b['worker_run_median_s']:.3f} s (median); "
        f"the workers were busy {b['busy']:.0%} of the wall time",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="best of this many")
    parser.add_argument("--runs", type=int, default=40, help="runs of the real batch")
    parser.add_argument("--only", choices=("start", "batch"), help="one of the two parts")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} at the start ({os.cpu_count()} CPUs)\n")
    if args.only != "batch":
        with tempfile.TemporaryDirectory() as folder:
            print(start_table(start_up(args.repeats, Path(folder) / "demo")) + "\n")
    if args.only != "start":
        print(batch_table(batch(args.repeats, args.runs)) + "\n")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
