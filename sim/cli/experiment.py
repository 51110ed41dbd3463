"""``minersim experiment NAME [options]``: one of the research experiments (:mod:`sim.experiments`).

The same as ``python -m sim.experiments.NAME [options]``; ``all`` runs them all, each in its own
process (:mod:`sim.experiments.run_all`). Options (``--runs``, ``--out``, ``--seed``,
``--workers``) go to the experiment unchanged.
"""

from __future__ import annotations

import argparse
import importlib

from sim.experiments import EXPERIMENTS

#: The help text (plain words: argparse shows it as it is).
DESCRIPTION = (
    "Run one research experiment, or all of them: each writes a figure with Monte Carlo bands, a "
    "CSV and a Markdown page under OUT/NAME/ (experiments/README.md says what each computes). "
    "Options after NAME go to the experiment: --runs N, --out DIR, --seed S, --workers W "
    "(minersim experiment NAME --help lists them)."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "experiment",
        help="run a research experiment (figure, CSV and Markdown table with Monte Carlo bands)",
        description=DESCRIPTION,
    )
    p.add_argument("name", choices=[*EXPERIMENTS, "all"], help="experiment, or all of them")
    p.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="the experiment's options, e.g. --runs 40 --out results/experiments --workers 2",
    )
    p.set_defaults(func=experiment_command)


def experiment_command(args: argparse.Namespace) -> int:
    module = importlib.import_module(
        "sim.experiments.run_all" if args.name == "all" else f"sim.experiments.{args.name}"
    )
    return int(module.main(args.options) or 0)
