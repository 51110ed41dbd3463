"""``minersim run``: one run of a scenario, written as Parquet tables."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sim.cli.options import add_data_dir_option
from sim.input.scenario import load_scenario, parse_overrides, resolve_scenario_path

#: Exit status of a run whose chain stalled before the scenario's end date (its tables are
#: written; the horizon asked for was not reached).
STALLED_EXIT = 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one scenario and write epochs.parquet and miners.parquet")
    p.add_argument("scenario", help="scenario name (e.g. baseline) or path to a TOML file")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/NAME)")
    p.add_argument("--report", action="store_true", help="also write report.md with figures")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value, e.g. --set market.btc.volatility=0.6",
    )
    add_data_dir_option(p)
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from sim.model import run

    scenario = load_scenario(
        resolve_scenario_path(args.scenario),
        parse_overrides(args.overrides),
        data_dirs=getattr(args, "data_dirs", ()),
    )
    out = args.out or Path("results") / scenario.name
    started = time.perf_counter()
    result = run(scenario, seed=args.seed)
    elapsed = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    end = scenario.config.scenario.end_date
    # Parquet keeps DataFrame.attrs: the report reads whether the run stopped early.
    result.epochs.attrs.update(stalled=bool(result.meta.get("stalled")), end_date=str(end))
    result.epochs.to_parquet(out / "epochs.parquet", index=False)
    result.miners.to_parquet(out / "miners.parquet", index=False)
    e = result.epochs
    last = f"{e['date'].iloc[-1]:%Y-%m-%d}" if len(e) else "(no epoch completed)"
    if len(e):
        print(
            f"{scenario.name}: {len(e)} epochs to {last} in {elapsed:.2f} s; "
            f"final hashrate {e['hashrate_ehs'].iloc[-1]:.0f} EH/s, "
            f"difficulty {e['difficulty'].iloc[-1] / 1e12:.1f} T; wrote {out}/epochs.parquet, "
            "miners.parquet"
        )
    if getattr(args, "report", False) and len(e):
        from sim.analysis.report import write_report

        print(f"report: {write_report(out)}")
    if result.meta.get("stalled"):
        print(
            f"minersim: warning: the chain stalled: the run stopped on {last}, before the end "
            f"date {end} (too little hashrate for the difficulty); tables in {out}; exit "
            f"status {STALLED_EXIT}",
            file=sys.stderr,
        )
        return STALLED_EXIT
    return 0
