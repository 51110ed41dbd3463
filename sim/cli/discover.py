"""``minersim discover`` (scenario discovery: PRIM, CART and feature scores of a batch's runs)
and ``minersim robustness`` (regret of each lever setting across the futures of a lever sweep).
Both need the ``analysis`` extra for discovery: ``pip install 'minersim[analysis]'``."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from sim.errors import MinersimError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from sim.analysis.cli_defaults import MASS_MIN, MIN_DENSITY, SPEC_HELP

    discover = sub.add_parser(
        "discover",
        help="scenario discovery on a batch: which parameter ranges lead to an outcome (PRIM, "
        "CART, feature scores; needs minersim[analysis])",
    )
    discover.add_argument("dir", type=Path, help="batch folder written by sweep")
    discover.add_argument(
        "--where",
        required=True,
        metavar="CONDITION",
        help='runs of interest, a condition on outcomes, e.g. "miners_defaulted >= 3" '
        "(epoch columns stand for their final value; combine with & and |)",
    )
    _add_outcome_option(discover, SPEC_HELP)
    discover.add_argument(
        "--score",
        action="append",
        default=[],
        metavar="OUTCOME",
        help="also rank the parameters by how much they explain this outcome (repeatable)",
    )
    discover.add_argument(
        "--min-density",
        type=float,
        default=MIN_DENSITY,
        help=f"PRIM: the chosen box is the largest with at least this density "
        f"(default {MIN_DENSITY})",
    )
    discover.add_argument(
        "--mass-min",
        type=float,
        default=MASS_MIN,
        help=f"PRIM and CART: smallest share of runs in a box (default {MASS_MIN})",
    )
    discover.add_argument("--seed", type=int, default=0, help="seed of the extra trees")
    discover.set_defaults(func=discover_command)

    robust = sub.add_parser(
        "robustness",
        help="regret of each lever setting across the futures of a lever sweep (--lever)",
    )
    robust.add_argument("dir", type=Path, help="batch folder written by sweep --lever ...")
    robust.add_argument(
        "--miner", help="a public miner's name: its final market cap and default rate"
    )
    robust.add_argument(
        "--outcome",
        metavar="SPEC",
        help=f"or any outcome: {SPEC_HELP}",
    )
    robust.add_argument(
        "--lower-is-better", action="store_true", help="the outcome is a cost (regret = excess)"
    )
    robust.set_defaults(func=robustness_command)


def _add_outcome_option(parser: argparse.ArgumentParser, spec_help: str) -> None:
    parser.add_argument(
        "--outcome",
        dest="outcomes",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"declare an outcome usable in --where and --score: {spec_help} (repeatable)",
    )


def _fraction(name: str, value: float) -> float:
    if not (math.isfinite(value) and 0 < value < 1):
        raise MinersimError(f"{name} must be between 0 and 1, got {value:g}")
    return value


def discover_command(args: argparse.Namespace) -> int:
    from sim.analysis.discovery import discover, limit_sides
    from sim.analysis.outcomes import parse_outcome

    result = discover(
        args.dir,
        args.where,
        declared=[parse_outcome(text) for text in args.outcomes],
        score=args.score,
        min_density=_fraction("--min-density", args.min_density),
        mass_min=_fraction("--mass-min", args.mass_min),
        seed=args.seed,
    )
    prim = result.prim
    stats = prim.stats
    print(f"{args.where}: {prim.interest} of {prim.runs} runs ({prim.interest / prim.runs:.0%}).")
    print(
        f"PRIM box {prim.chosen} of {len(prim.trajectory)} on the trajectory: coverage "
        f"{stats['coverage']:.0%} (of the runs of interest inside it), density "
        f"{stats['density']:.0%} (the share of its runs that are of interest), mass {stats['mass']:.0%}:"
    )
    for limit in prim.limits.itertuples(index=False):
        quasi_p = [q for q in (limit.qp_min, limit.qp_max) if math.isfinite(q)]
        weak = bool(quasi_p) and min(quasi_p) >= 0.05
        note = "  (not significant at 5%: the box may not need this limit)" if weak else ""
        print(f"  {limit.parameter} {limit_sides(limit)}{note}")
    if prim.limits.empty:
        print("  (no parameter restricted: the condition is not explained by the swept ranges)")
    top = result.cart.iloc[0]
    print(
        f"CART densest leaf: {top['rules']} (density {top['density']:.0%}, coverage "
        f"{top['coverage']:.0%})"
    )
    for outcome, scores in result.scores.items():
        ranking = scores.sort_values(ascending=False)
        print(
            f"feature scores, {outcome}: " + ", ".join(f"{k} {v:.2f}" for k, v in ranking.items())
        )
    for name, path in result.paths.items():
        print(f"{name}: {path}")
    return 0


def robustness_command(args: argparse.Namespace) -> int:
    from sim.analysis.outcomes import parse_outcome
    from sim.analysis.robustness import robustness

    outcome = parse_outcome(args.outcome) if args.outcome else None
    result, paths = robustness(args.dir, args.miner, outcome, not args.lower_is_better)
    print(
        f"{result.outcome.name} ({'higher' if result.higher_is_better else 'lower'} is better) "
        f"over {result.futures} futures"
        + (f" ({result.dropped} incomplete futures left out)" if result.dropped else "")
        + ("" if result.crn else "; warning: run without --crn, regret mixes luck and lever")
    )
    print(result.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"most robust (smallest maximum regret): {result.most_robust}")
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
