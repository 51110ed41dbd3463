"""``minersim validate SCENARIO [--set key=value ...]``: load, check and summarise a scenario.

Exit 0 with a short summary, or (via sim.cli.main) one error line and exit 2.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sim.cli.options import add_data_dir_option

if TYPE_CHECKING:  # the scenario reader (pandas, pydantic) is imported by the command only
    from sim.input.scenario import Scenario


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a scenario file and its tables, print a summary",
        description="Load and validate a scenario (a TOML path or a bundled name such as "
        "'baseline'); print its summary and content hash.",
    )
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario TOML file or bundled name")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set market.btc.volatility=0.6 (repeatable)",
    )
    add_data_dir_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sim.input.scenario import load_scenario, parse_overrides

    overrides = parse_overrides(args.overrides)
    scenario = load_scenario(args.scenario, overrides, data_dirs=args.data_dirs)
    print(summary(scenario))
    return 0


def summary(scenario: Scenario) -> str:
    """A few lines: name, dates, chain, public miners, fringe classes, totals and hash."""
    config = scenario.config
    info, chain, btc = config.scenario, config.chain, config.market.btc
    miners = scenario.miners
    classes = config.fringe.classes
    public_ehs = float(miners["hashrate_ehs"].sum())
    fringe_ehs = sum(c.hashrate_ehs for c in classes)
    start = f"difficulty {chain.difficulty:.4g}" if chain.bits is None else f"bits {chain.bits:#x}"
    lines = [
        f"scenario  {info.name}: {info.start_date} to {info.end_date}",
        f"source    {scenario.source}" if scenario.source else "source    (in memory)",
        f"chain     height {chain.height:,}, {start}",
        f"btc       {btc.process}, from {btc.initial_usd:,.0f} USD"
        + (
            f", replay of {len(scenario.btc_replay):,} days"
            if scenario.btc_replay is not None
            else ""
        ),
        f"miners    {len(miners)} public ({public_ehs:,.1f} EH/s): {', '.join(miners['name'])}"
        if len(miners)
        else "miners    no public miners",
        f"debt      {len(scenario.debt)} instruments, "
        f"{scenario.debt['principal_usd'].sum() / 1e9:,.2f} bn USD principal; "
        f"AI leases {len(scenario.ai_contracts)}, {scenario.ai_contracts['mw'].sum():,.0f} MW",
        f"fringe    {len(classes)} classes, {sum(c.agents for c in classes)} agents "
        f"({fringe_ehs:,.1f} EH/s)",
        *(
            f"          {c.name}: {c.hashrate_ehs:g} EH/s, {c.efficiency_jth:g} J/TH, "
            f"{c.power_price_usd_mwh:g} $/MWh, {c.agents} agents"
            for c in classes
        ),
        f"network   {public_ehs + fringe_ehs:,.1f} EH/s at {_mean_jth(scenario):.1f} J/TH, "
        f"{len(miners) + sum(c.agents for c in classes)} agents",
        f"hash      {scenario.content_hash}",
    ]
    return "\n".join(lines)


def _mean_jth(scenario: Scenario) -> float:
    """Hashrate-weighted mean efficiency (J/TH) of public miners and fringe classes."""
    miners, classes = scenario.miners, scenario.config.fringe.classes
    ehs = float(miners["hashrate_ehs"].sum()) + sum(c.hashrate_ehs for c in classes)
    joules = float((miners["hashrate_ehs"] * miners["efficiency_jth"]).sum()) + sum(
        c.hashrate_ehs * c.efficiency_jth for c in classes
    )
    return joules / ehs if ehs else float("nan")
