"""``minersim run``: one run of a scenario, written as Parquet tables with its metadata."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from sim.cli.heap import frozen
from sim.cli.options import add_data_dir_option

#: The policies' reasons of a run folder (``minersim run --reasons``; the report cites them).
REASONS_FILE = "reasons.parquet"
#: Exit status of a run whose chain stalled before the scenario's end date (its tables are
#: written; the horizon asked for was not reached).
STALLED_EXIT = 3


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run one scenario and write epochs.parquet, miners.parquet and metadata.json"
    )
    p.add_argument("scenario", help="scenario name (e.g. baseline) or path to a TOML file")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default results/NAME-seedS, plus a hash of the --set overrides)",
    )
    p.add_argument(
        "--force", action="store_true", help="replace the results already in the output folder"
    )
    p.add_argument("--report", action="store_true", help="also write report.md with figures")
    p.add_argument(
        "--reasons",
        action="store_true",
        help=f"also write {REASONS_FILE}: the policies' reasons, one row per agent and epoch "
        "(the report cites them)",
    )
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
    words = ["minersim", "run", args.scenario, "--seed", str(args.seed)]
    for text in args.overrides:
        words += ["--set", text]
    for folder in args.data_dirs:
        words += ["--data-dir", folder]
    if args.out is not None:
        words += ["--out", str(args.out)]
    if args.reasons:
        words.append("--reasons")
    out, stalled = run_into_folder(args, "run", shlex.join(words), rerun_replaces=False)
    if args.report:
        from sim.analysis.report import write_report

        print(f"report: {write_report(out)}")
    return STALLED_EXIT if stalled else 0


def run_into_folder(
    args: argparse.Namespace, command_kind: str, command: str, rerun_replaces: bool
) -> tuple[Path, bool]:
    """Run ``args.scenario`` with ``args.seed`` and ``args.overrides`` into ``args.out`` (or the
    default folder); returns the folder and whether the chain stalled before the end date
    (a warning is printed: the CLI then exits with STALLED_EXIT).

    ``command`` (the command line that reproduces the run) and ``command_kind`` ("run", "main")
    are recorded in metadata.json. A folder that holds results is replaced only with
    ``args.force``, or with ``rerun_replaces`` when an earlier command of the same kind wrote it
    (``minersim main`` re-runs into its own folder).
    """
    from sim.analysis import folders
    from sim.compiled import needs_compiling
    from sim.input.scenario import load_scenario, parse_overrides, resolve_scenario_path
    from sim.runner import run  # the engine, imported only when a run is asked for

    overrides = parse_overrides(args.overrides)
    data_dirs = getattr(args, "data_dirs", ())
    scenario = load_scenario(resolve_scenario_path(args.scenario), overrides, data_dirs=data_dirs)
    out = args.out or folders.default_run_folder(scenario.name, args.seed, overrides)
    config = scenario.config.scenario
    replaceable = command_kind if rerun_replaces else None
    with folders.run_folder(out, args.force, replaceable) as stage:
        compiling = " (first, numba compiles the engine for this machine: a minute or two)"
        print(
            f"{scenario.name}: running {config.start_date} to {config.end_date}, seed {args.seed}"
            + (compiling if needs_compiling() else ""),
            flush=True,
        )
        (out / REASONS_FILE).unlink(missing_ok=True)  # an earlier run's, if the folder is replaced
        started, clock = folders.now(), time.perf_counter()
        with frozen():  # the imported modules' objects: not walked by the run's collections
            result = run(scenario, seed=args.seed, reasons=getattr(args, "reasons", False))
        elapsed = time.perf_counter() - clock
        meta = folders.run_metadata(
            scenario,
            args.seed,
            overrides,
            started,
            folders.now(),
            result.meta.get("stalled", False),
            result.epochs,
            command,
            command_kind,
            data_dirs,
        )
        meta["stall_reason"] = result.meta.get("stall_reason", "")
        folders.write_run(result, stage, meta)
        if result.reasons is not None:
            result.reasons.to_parquet(stage / REASONS_FILE, index=False)
    e = result.epochs
    if len(e):
        print(
            f"{scenario.name}: {len(e)} epochs to {e['date'].iloc[-1]:%Y-%m-%d} in {elapsed:.2f} "
            f"s; final hashrate {e['hashrate_ehs'].iloc[-1]:,.0f} EH/s, "
            f"difficulty {e['difficulty'].iloc[-1] / 1e12:,.1f} T; wrote {out}/ (epochs.parquet, "
            "miners.parquet, metadata.json)"
        )
    if meta["stalled"]:
        print(
            f"minersim: warning: the chain stalled: {meta['stall_reason']} (last epoch "
            f"{meta['last_epoch_date'] or 'none'}, end date {meta['end_date']}; metadata.json: "
            f"stalled = true, stall_reason); exit status {STALLED_EXIT}",
            file=sys.stderr,
        )
    return out, meta["stalled"]
