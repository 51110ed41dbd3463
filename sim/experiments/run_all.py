"""Run every experiment, one after the other, and print how long each took.

    .venv/bin/python -m sim.experiments.run_all [--runs N] [--out DIR] [--workers W] [--only NAME ...]

Without --runs each experiment uses its own default. Each runs in its own process (as from the
command line); the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from sim.experiments import DEFAULT_OUT, EXPERIMENTS


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="minersim experiment all", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, help="runs per scenario (default: each experiment's)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output root")
    parser.add_argument("--workers", type=int, default=1, help="worker processes per experiment")
    parser.add_argument("--only", nargs="+", choices=EXPERIMENTS, help="run only these")
    return parser.parse_args(argv)


def command(name: str, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", f"sim.experiments.{name}", "--out", str(args.out)]
    if args.runs is not None:
        cmd += ["--runs", str(args.runs)]
    return [*cmd, "--workers", str(args.workers)]


def main(argv=None) -> int:
    args = parse_args(argv)
    timings, failed = {}, []
    for name in args.only or EXPERIMENTS:
        started = time.perf_counter()
        if subprocess.run(command(name, args), check=False).returncode != 0:
            failed.append(name)
        timings[name] = time.perf_counter() - started
    print("\nexperiment        seconds")
    for name, seconds in timings.items():
        print(f"{name:<17} {seconds:7.1f}{'  FAILED' if name in failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
