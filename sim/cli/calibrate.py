"""``minersim calibrate SPEC``: fit a spec's scenario parameters to history (docs/calibration.md)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit scenario parameters to historical difficulty (simulated method of moments)",
        description="Fit the dotted scenario keys of a calibration spec "
        "(scenarios/calibration/*.toml) to monthly log difficulty and halving responses with "
        "scipy's differential evolution; write the fitted values as a fragment TOML that "
        "scenarios extend, with its statistics beside it (.json).",
    )
    p.add_argument("spec", type=Path, help="calibration spec file (TOML)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0): fixes the result")
    p.add_argument(
        "--out", type=Path, default=None, help="fragment file (default: the spec's output)"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="parallel processes (default: CPUs; 1: none)"
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler", metavar="tcp://HOST:PORT", help="run on an existing Dask cluster"
    )
    where.add_argument("--dask-local", action="store_true", help="start a Dask LocalCluster")
    budget = p.add_argument_group("budget (overrides the spec's [optimizer])")
    budget.add_argument("--replications", type=int, help="seeds per candidate")
    budget.add_argument("--popsize", type=int, help="population = popsize x parameters")
    budget.add_argument("--maxiter", type=int, help="generations after the initial population")
    p.add_argument(
        "--figure", type=Path, default=None, help="also draw the fit against history (PNG)"
    )
    p.set_defaults(func=calibrate_command)


def calibrate_command(args: argparse.Namespace) -> int:
    from sim.calibration import calibrate

    result = calibrate(
        args.spec,
        args.seed,
        workers=args.workers,
        scheduler=args.scheduler,
        dask_local=args.dask_local,
        out=args.out,
        replications=args.replications,
        popsize=args.popsize,
        maxiter=args.maxiter,
    )
    fitted = ", ".join(f"{key} = {value:.6g}" for key, value in result.fitted.items())
    lines = [
        f"calibrate {result.name}: {fitted}",
        f"  objective {result.objective:.5g}; RMSE of monthly log difficulty "
        f"{result.fit.rmse_log_difficulty:.4f} in sample ({result.fit.window[0]}..{result.fit.window[1]})"
        + (
            f", {result.validation.rmse_log_difficulty:.4f} on validation "
            f"({result.validation.window[0]}..{result.validation.window[1]})"
            if result.validation
            else ""
        ),
        f"  {result.timing['runs']} runs in {result.timing['elapsed_s']:.0f} s "
        f"({result.timing['seconds_per_run']:.2f} s per run, "
        f"{result.timing['seconds_per_generation']:.1f} s per generation)",
    ]
    if result.written:
        lines.append(f"  wrote {result.written[0]} and {result.written[1]}")
    if args.figure is not None:
        from sim.calibration.figure import save_fit_figure

        lines.append(f"  figure: {save_fit_figure(result.to_json(), args.figure)}")
    print("\n".join(lines))
    return 0
