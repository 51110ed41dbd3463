"""``minersim mc``, ``minersim sweep`` and ``minersim summarize``: batches of runs on local
processes or a Dask cluster, streamed to a Parquet dataset, and their summaries."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from sim.cli.options import add_data_dir_option
from sim.errors import MinersimError


def add_parser(sub: argparse._SubParsersAction) -> None:
    mc = sub.add_parser(
        "mc",
        help="Monte Carlo: run a scenario N times with independent seeds (resumable; a larger "
        "--runs extends a finished batch in place)",
    )
    _add_common(mc)
    mc.set_defaults(func=mc_command)

    sweep = sub.add_parser(
        "sweep", help="sweep scenario parameters on a grid, Latin hypercube or Sobol' design"
    )
    _add_common(sweep)
    design = sweep.add_mutually_exclusive_group()
    design.add_argument(
        "--grid",
        action="append",
        metavar="KEY=V1,V2,...",
        help="values of a dotted scenario key; repeat for more keys (every combination runs)",
    )
    design.add_argument("--lhs", type=int, metavar="N", help="N Latin hypercube points")
    design.add_argument(
        "--sobol",
        type=int,
        metavar="N",
        help="Saltelli design for Sobol' indices: N*(D+2) points for D ranges (N a power of 2)",
    )
    design.add_argument(
        "--morris",
        type=int,
        metavar="N",
        help="Morris screening design: N trajectories of D+1 points (elementary effects)",
    )
    sweep.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="KEY=LO:HI",
        help="bounds of a swept key for --lhs / --sobol / --morris; repeat for more keys",
    )
    sweep.add_argument(
        "--lever",
        dest="levers",
        action="append",
        default=[],
        metavar="KEY=V1,V2,...",
        help="a lever (a decision, e.g. miners.policies.MARA=rational,hodl): every setting runs "
        "in every future of the design, whose keys are the uncertainties (repeatable)",
    )
    sweep.add_argument(
        "--crn",
        action="store_true",
        help="common random numbers: run r of every point gets the same seed (same market "
        "paths and block draws), so differences between points are the parameters' doing",
    )
    sweep.set_defaults(func=sweep_command)

    summarize = sub.add_parser(
        "summarize", help="fan charts, quantile CSV, heat maps and Sobol' indices of a batch"
    )
    summarize.add_argument("dir", type=Path, help="batch folder written by mc or sweep")
    summarize.add_argument(
        "--column",
        dest="columns",
        action="append",
        default=None,
        metavar="COLUMN",
        help="epoch column whose final value heat maps and Sobol' indices use (repeatable)",
    )
    summarize.add_argument(
        "--outcome",
        dest="outcomes",
        action="append",
        default=[],
        metavar="SPEC",
        help="a declared outcome summarised beside the columns, e.g. "
        "'first_default=time_to(miners_defaulted >= 1)' (repeatable; see minersim discover -h)",
    )
    summarize.add_argument(
        "--point",
        dest="points",
        action="append",
        type=int,
        default=None,
        metavar="P",
        help="draw the fan charts of point P on its own (repeatable; default: every point of a "
        "sweep of at most 6 points)",
    )
    summarize.set_defaults(func=summarize_command)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario name (e.g. baseline) or path to a TOML file")
    p.add_argument("--runs", type=int, required=True, help="runs (per point for sweeps)")
    p.add_argument("--seed", type=int, default=0, help="root seed of the batch (default 0)")
    p.add_argument("--out", type=Path, required=True, help="batch folder (resumes if it exists)")
    p.add_argument("--workers", type=int, default=None, help="parallel workers (default: CPUs)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster"
    )
    where.add_argument(
        "--dask-local", action="store_true", help="start a Dask LocalCluster for the batch"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario value for every run, e.g. --set market.btc.volatility=0.6",
    )
    p.add_argument("--miners", action="store_true", help="also store the per-agent table")
    p.add_argument(
        "--wait-workers",
        type=float,
        default=None,
        metavar="SECONDS",
        help="with --scheduler: how long to wait for the cluster's first worker (default 60)",
    )
    add_data_dir_option(p)


def mc_command(args: argparse.Namespace) -> int:
    _start_local_pool(args)
    from sim.batch import monte_carlo

    return _report(
        args,
        lambda: monte_carlo(
            args.scenario, args.runs, args.seed, args.out, **_executor_options(args)
        ),
    )


def sweep_command(args: argparse.Namespace) -> int:
    if args.ranges and args.grid:
        raise MinersimError("--range goes with --lhs, --sobol or --morris, not with --grid")
    if not (args.grid or args.lhs or args.sobol or args.morris or args.levers):
        raise MinersimError(
            "a sweep needs one of --grid, --lhs N, --sobol N, --morris N or --lever"
        )
    _start_local_pool(args)
    from sim.batch import sweep

    design = {"grid": parse_grid(args.grid)} if args.grid else {}
    if not args.grid:
        design = {
            "lhs": args.lhs,
            "sobol": args.sobol,
            "morris": args.morris,
            "ranges": parse_ranges(args.ranges),
        }
    design["levers"] = parse_grid(args.levers, option="--lever")
    design["crn"] = args.crn
    return _report(
        args,
        lambda: sweep(
            args.scenario, args.runs, args.seed, args.out, **design, **_executor_options(args)
        ),
    )


def summarize_command(args: argparse.Namespace) -> int:
    import warnings

    import pandas as pd

    from sim.analysis.outcomes import parse_outcome
    from sim.analysis.sensitivity import SensitivityWarning
    from sim.analysis.summary import DEFAULT_FINAL_COLUMNS, summarize

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SensitivityWarning)
        paths = summarize(
            args.dir,
            final_columns=tuple(args.columns or DEFAULT_FINAL_COLUMNS),
            outcomes=[parse_outcome(text) for text in args.outcomes],
            points=args.points,
        )
    for name, path in paths.items():
        print(f"{name}: {path}")
    runs = pd.read_csv(paths["runs_csv"]).iloc[0]
    if runs["excluded"]:
        print(
            f"minersim: warning: the fan charts use {runs['used']} of {runs['runs']} runs; "
            f"{runs['excluded']} stalled or are degenerate (which and why: {paths['runs_csv']})",
            file=sys.stderr,
        )
    for warning in caught:
        if issubclass(warning.category, SensitivityWarning):
            print(f"minersim: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return 0


def _start_local_pool(args: argparse.Namespace) -> None:
    """A batch on local processes starts their forkserver first: it imports and warms the
    engine while this process imports the batch machinery."""
    if not (args.scheduler or args.dask_local):
        from sim.batch.executors import start_local_server

        start_local_server()


def _executor_options(args: argparse.Namespace) -> dict:
    from sim.batch import cluster
    from sim.input.scenario import parse_overrides
    from sim.units import DAY_S

    wait = args.wait_workers
    if wait is not None and not (math.isfinite(wait) and 0 < wait <= DAY_S):
        raise MinersimError(
            f"--wait-workers must be between 0 and {DAY_S:.0f} seconds, got {wait:g}"
        )
    return {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "dask_local": args.dask_local,
        "overrides": parse_overrides(args.overrides),
        "miners": args.miners,
        "data_dirs": args.data_dirs,
        "wait_workers_s": cluster.WORKER_WAIT_S if wait is None else wait,
    }


def _report(args: argparse.Namespace, start) -> int:
    from sim.batch import BatchInterrupted, cluster
    from sim.cli.signals import stopped

    if args.scheduler or args.dask_local:
        cluster.silence_distributed_logs()
    try:
        summary = start()
    except BatchInterrupted as stop:
        status, word = stopped(stop)
        print(
            f"minersim: {word}; {stop.done}/{stop.total} runs are saved in {stop.out}. "
            "Run the same command again to resume.",
            file=sys.stderr,
        )
        return status
    resumed = f" ({summary.skipped_runs} were already done)" if summary.skipped_runs else ""
    print(
        f"{args.command} {args.scenario}: {summary.total_runs} runs{resumed}; "
        f"{summary.completed_runs} ran in {summary.elapsed_s:.1f} s "
        f"({summary.runs_per_s:.1f} runs/s); results in {summary.out}. "
        f"Next: minersim report {summary.out}"
    )
    if summary.stalled_runs:
        from sim.health import MAX_EPOCH_DAYS

        print(
            f"minersim: warning: {summary.stalled_runs} of {summary.total_runs} runs stalled: "
            f"their chain stopped, or an epoch lasted over {MAX_EPOCH_DAYS:.0f} days "
            "(sim.health); their rows have stalled = True and the report and summaries leave "
            "them out",
            file=sys.stderr,
        )
    return 0


def parse_grid(texts: list[str], option: str = "--grid") -> dict[str, list]:
    """``["a.b=1,2", "c=x,y"]`` -> ``{"a.b": [1, 2], "c": ["x", "y"]}`` (values read as TOML)."""
    from sim.input.scenario import parse_override

    grid: dict[str, list] = {}
    for text in texts:
        key, sep, values = text.partition("=")
        items = [v.strip() for v in values.split(",")]
        key = key.strip()
        if not sep or not _is_dotted_key(key) or not all(items):
            raise MinersimError(f"{option} '{text}' must look like key=v1,v2,...")
        if key in grid:
            raise MinersimError(f"{option} {key} is given twice")
        grid[key] = [parse_override(f"{key}={item}")[1] for item in items]
    return grid


def parse_ranges(texts: list[str]) -> dict[str, tuple[float, float]]:
    """``["a.b=0.2:0.8"]`` -> ``{"a.b": (0.2, 0.8)}``."""
    ranges: dict[str, tuple[float, float]] = {}
    for text in texts:
        key, sep, bounds = text.partition("=")
        lo_text, colon, hi_text = bounds.partition(":")
        key = key.strip()
        try:
            lo, hi = float(lo_text), float(hi_text)
        except ValueError:
            lo = hi = math.nan
        if not (sep and colon and _is_dotted_key(key)) or not (
            math.isfinite(lo) and math.isfinite(hi)
        ):
            raise MinersimError(f"--range '{text}' must look like key=lo:hi with two numbers")
        if lo >= hi:
            raise MinersimError(f"--range '{text}': lo must be below hi")
        if key in ranges:
            raise MinersimError(f"--range {key} is given twice")
        ranges[key] = (lo, hi)
    return ranges


def _is_dotted_key(key: str) -> bool:
    return all(part.strip() for part in key.split("."))
