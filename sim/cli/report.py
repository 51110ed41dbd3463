"""``minersim report DIR`` and ``minersim main`` (the README's main job)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from sim.analysis.report import write_report
from sim.errors import MinersimError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md (figures and tables) for a results folder")
    p.add_argument("results_dir", type=Path, help="a folder written by `minersim run` (or main)")
    p.set_defaults(func=report_command)

    m = sub.add_parser(
        "main",
        help="run the baseline and the experiments, and write the report (README's main job)",
    )
    m.add_argument("--scenario", default="baseline", help="scenario to run (default baseline)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", type=Path, default=Path("results/baseline"))
    m.add_argument(
        "--experiment-runs",
        type=int,
        default=20,
        metavar="N",
        help="Monte Carlo runs per scenario for the experiments in the report (0: skip them)",
    )
    m.set_defaults(func=main_command)


def report_command(args: argparse.Namespace) -> int:
    path = write_report(args.results_dir)
    print(f"wrote {path}")
    return 0


def main_command(args: argparse.Namespace) -> int:
    from sim.cli.run import run_command

    run_args = argparse.Namespace(
        scenario=args.scenario, seed=args.seed, out=args.out, overrides=[]
    )
    run_command(run_args)
    if args.experiment_runs > 0:
        _run_experiments(args.out / "experiments", args.experiment_runs)
    path = write_report(args.out)
    print(f"report: {path} (figures in {args.out / 'figures'})")
    return 0


def _run_experiments(out: Path, runs: int) -> None:
    """The research experiments (:mod:`sim.experiments.run_all`), written into ``out``."""
    workers = str(min(2, os.cpu_count() or 1))
    print(f"experiments: {runs} runs per scenario on {workers} workers into {out} (a few minutes)")
    command = [sys.executable, "-m", "sim.experiments.run_all", "--runs", str(runs)]
    command += ["--workers", workers]
    if subprocess.run([*command, "--out", str(out)], check=False).returncode != 0:
        raise MinersimError("an experiment failed (its output is above)")
