"""``minersim report DIR`` and ``minersim main`` (the README's main job)."""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

from sim.errors import MinersimError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write report.md (figures and tables) for a run, Monte Carlo or sweep folder",
    )
    p.add_argument("results_dir", type=Path, help="a folder written by run, main, mc or sweep")
    p.set_defaults(func=report_command)

    m = sub.add_parser(
        "main",
        help="run the baseline once and as a Monte Carlo batch, run the experiments, write the "
        "report (the README's main job)",
    )
    m.add_argument("--scenario", default="baseline", help="scenario to run (default baseline)")
    m.add_argument("--seed", type=int, default=0, help="seed of the example run and root seed")
    m.add_argument(
        "--runs",
        type=int,
        default=50,
        metavar="N",
        help="Monte Carlo runs of the scenario for the report's bands (default 50)",
    )
    m.add_argument(
        "--experiment-runs",
        type=int,
        default=20,
        metavar="N",
        help="runs per scenario for the experiments in the report (default 20; 0: skip them)",
    )
    m.add_argument("--out", type=Path, default=Path("results/baseline"))
    m.add_argument(
        "--force",
        action="store_true",
        help="replace results in --out that an earlier `minersim main` did not write",
    )
    m.add_argument("--workers", type=int, default=None, help="parallel workers (default: CPUs)")
    m.set_defaults(func=main_command)


def report_command(args: argparse.Namespace) -> int:
    from sim.analysis.report import write_report

    path = write_report(args.results_dir)
    print(f"wrote {path}")
    return 0


def main_command(args: argparse.Namespace) -> int:
    from sim.analysis.report import write_report
    from sim.batch import monte_carlo
    from sim.batch.runner import default_workers
    from sim.cli.run import run_into_folder

    if args.runs < 1 or args.experiment_runs < 0:
        raise MinersimError("--runs must be >= 1 and --experiment-runs >= 0")
    workers = args.workers or min(2, default_workers())
    started = time.perf_counter()
    run_args = argparse.Namespace(
        scenario=args.scenario,
        seed=args.seed,
        out=args.out,
        overrides=[],
        force=args.force,
        reasons=True,  # the report cites the example run's reasons
    )
    out, _ = run_into_folder(run_args, "main", _command(args), rerun_replaces=True)
    print(f"monte carlo: {args.runs} runs of {args.scenario} into {out / 'mc'}")
    batch = monte_carlo(
        args.scenario, args.runs, args.seed, out / "mc", workers=workers, miners=True
    )
    print(f"monte carlo: {batch.completed_runs} runs in {batch.elapsed_s:.1f} s")
    if args.experiment_runs > 0:
        _run_experiments(out / "experiments", args.experiment_runs, workers)
    path = write_report(out)
    print(
        f"report: {path} (figures in {out / 'figures'}); "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return 0


def _command(args: argparse.Namespace) -> str:
    words = ["minersim", "main", "--scenario", args.scenario, "--seed", str(args.seed)]
    words += ["--runs", str(args.runs), "--experiment-runs", str(args.experiment_runs)]
    return shlex.join([*words, "--out", str(args.out)])


def _run_experiments(out: Path, runs: int, workers: int) -> None:
    """The research experiments (:mod:`sim.experiments.run_all`, each in its own process)."""
    print(f"experiments: {runs} runs per scenario on {workers} workers into {out} (a few minutes)")
    command = [sys.executable, "-m", "sim.experiments.run_all", "--runs", str(runs)]
    command += ["--workers", str(workers), "--out", str(out)]
    if subprocess.run(command, check=False).returncode != 0:
        raise MinersimError("an experiment failed (its output is above)")
