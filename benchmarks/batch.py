"""Benchmark of batches (sim.batch.monte_carlo): throughput, scaling, Dask overhead, memory.

For each N in ``--runs`` it runs a Monte Carlo batch of ``--scenario`` (default ``baseline``
if it exists, else ``demo``) with

* local processes, 1 worker and 2 workers (scaling efficiency = rate(2) / (2 x rate(1)));
* a Dask LocalCluster of 2 single-threaded worker processes (overhead = its wall time over
  the local 2-worker wall time, minus 1);

each in a fresh Python process, so start-up (imports, worker start, first-run numba cache
load) is included as a user sees it ("wall s", "runs/s"); "first s" is the time to the first
finished run and "steady runs/s" the rate from the (2 x workers)-th finished run to the last,
which the scaling efficiency and Dask overhead also use when N allows. Peak memory is per
configuration: the parent's peak RSS (``resource.getrusage``) and the largest total RSS of all
its descendant processes (psutil, sampled every 0.1 s). Memory must not grow with N: compare
the rows for two Ns. Prints a Markdown table.

Run: ``.venv/bin/python benchmarks/batch.py [--scenario NAME] [--runs 100 1000] [--no-dask]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

CONFIGS = (("local", 1), ("local", 2), ("dask-local", 2))


def default_scenario() -> str:
    from sim.input.scenario import list_scenarios

    return "baseline" if "baseline" in list_scenarios() else "demo"


def measure(scenario: str, runs: int, backend: str, workers: int) -> dict:
    """Run one batch in this process and return wall time, rate and peak memory (MB)."""
    import psutil

    from sim.batch import monte_carlo
    from sim.batch.store import BatchStore

    finished: list[float] = []
    write_run = BatchStore.write_run

    def timed_write_run(self, *args):
        write_run(self, *args)
        finished.append(time.perf_counter())

    BatchStore.write_run = timed_write_run
    sampler = ChildMemory(psutil.Process())
    sampler.start()
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        monte_carlo(
            scenario,
            runs,
            0,
            Path(out) / "batch",
            workers=workers,
            dask_local=backend == "dask-local",
            progress=False,
        )
        wall = time.perf_counter() - started
    sampler.stop()
    skip = min(2 * workers, runs - 2)
    return {
        "wall_s": wall,
        "runs_per_s": runs / wall,
        "first_s": finished[0] - started,
        "steady_runs_per_s": (runs - 1 - skip) / (finished[-1] - finished[skip]),
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mb": sampler.peak_total / 2**20,
        "largest_child_mb": sampler.peak_single / 2**20,
    }


class ChildMemory(threading.Thread):
    """Samples the RSS of all descendants of a process (sum and largest) until stopped."""

    def __init__(self, process, interval: float = 0.1):
        super().__init__(daemon=True)
        self.process, self.interval = process, interval
        self.peak_total = self.peak_single = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stopping.wait(self.interval):
            sizes = []
            for child in self.process.children(recursive=True):
                try:
                    sizes.append(child.memory_info().rss)
                except psutil.Error:  # exited meanwhile
                    pass
            self.peak_total = max(self.peak_total, sum(sizes))
            self.peak_single = max(self.peak_single, max(sizes, default=0))

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def measure_in_fresh_process(scenario: str, runs: int, backend: str, workers: int) -> dict:
    args = [sys.executable, __file__, "--child", json.dumps([scenario, runs, backend, workers])]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"benchmark child failed ({backend}, {workers} workers, N={runs}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(scenario: str, rows: list[dict]) -> str:
    lines = [
        f"Monte Carlo batches of `{scenario}` (fresh process per row: start-up included)",
        "",
        "| N | backend | workers | wall s | runs/s | first s | steady runs/s | scaling eff. "
        "| overhead vs local | parent peak MB | children peak MB | largest child MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['runs']} | {row['backend']} | {row['workers']} | {row['wall_s']:.1f} "
            f"| {row['runs_per_s']:.2f} | {row['first_s']:.1f} | {row['steady_runs_per_s']:.2f} "
            f"| {row.get('efficiency', '')} | {row.get('overhead', '')} "
            f"| {row['parent_peak_mb']:.0f} | {row['children_peak_mb']:.0f} "
            f"| {row['largest_child_mb']:.0f} |"
        )
    return "\n".join(lines)


def add_ratios(rows: list[dict]) -> None:
    """Scaling efficiency of local-2 over local-1 and overhead of dask-local-2 over local-2:
    "whole run (steady state)"."""
    by = {(r["runs"], r["backend"], r["workers"]): r for r in rows}
    for (runs, backend, workers), row in by.items():
        one, local_two = by.get((runs, "local", 1)), by.get((runs, "local", 2))
        if backend == "local" and workers > 1 and one:
            whole = row["runs_per_s"] / (workers * one["runs_per_s"])
            steady = row["steady_runs_per_s"] / (workers * one["steady_runs_per_s"])
            row["efficiency"] = f"{whole:.0%} ({steady:.0%})"
        if backend == "dask-local" and local_two:
            whole = row["wall_s"] / local_two["wall_s"] - 1
            steady = local_two["steady_runs_per_s"] / row["steady_runs_per_s"] - 1
            row["overhead"] = f"{whole:+.0%} ({steady:+.0%})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=None, help="default: baseline, else demo")
    parser.add_argument("--runs", type=int, nargs="+", default=[100, 1000], metavar="N")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*json.loads(args.child))))
        return
    scenario = args.scenario or default_scenario()
    rows = []
    for runs in args.runs:
        for backend, workers in CONFIGS:
            if backend == "dask-local" and args.no_dask:
                continue
            result = measure_in_fresh_process(scenario, runs, backend, workers)
            rows.append({"runs": runs, "backend": backend, "workers": workers, **result})
            print(
                f"N={runs} {backend} x{workers}: {result['wall_s']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    add_ratios(rows)
    print(table(scenario, rows))


if __name__ == "__main__":
    main()
