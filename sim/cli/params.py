"""``minersim params [SECTION] [--markdown]``: the scenario parameters, from the schema.

Every key (or those under SECTION: ``market``, ``market.btc``, ``fringe.classes``) with its unit,
default, bounds, status (sourced, calibrated, assumption, option, required) and source or basis
(:mod:`sim.input.reference`; docs/parameters.md is the same, as Markdown).
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "params",
        help="list the scenario parameters: unit, default, bounds, status and source",
        description="List the scenario parameters (all, or those under SECTION) with their "
        "unit, default, bounds, status (sourced, calibrated, assumption, option, required) and "
        "source or basis, read from the schema; docs/parameters.md is the same list.",
    )
    parser.add_argument(
        "section",
        nargs="?",
        metavar="SECTION",
        help="a section, e.g. market, market.btc, fringe, fringe.classes (default: all)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print Markdown tables (as docs/parameters.md)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.input import reference

    rows = reference.parameters(args.section)
    if args.markdown:
        print(reference.markdown_rows(rows))
    else:
        print(reference.text_table(rows))
    return 0
