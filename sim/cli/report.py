"""``minersim report DIR`` and ``minersim main`` (the README's main job)."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.report import write_report


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write report.md (figures and tables) for a results folder")
    p.add_argument("results_dir", type=Path, help="a folder written by `minersim run` (or main)")
    p.set_defaults(func=report_command)

    m = sub.add_parser(
        "main", help="run the baseline scenario and write its report (the README's main job)"
    )
    m.add_argument("--scenario", default="baseline", help="scenario to run (default baseline)")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", type=Path, default=Path("results/baseline"))
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
    path = write_report(args.out)
    print(f"report: {path} (figures in {args.out / 'figures'})")
    return 0
