"""Helpers shared by the experiment scripts: arguments, the seeds loop, bands, tables.

Runs are compared on common dates by the rule of :mod:`sim.analysis.grid` (``date_grid``,
``on_grid``: the epoch covering each date, NaN after a run's end), as ``minersim summarize``.

Every experiment is run as ``minersim experiment NAME [--runs N] [--out DIR]`` (or
``python -m sim.experiments.NAME ...``) and writes ``DIR/NAME/NAME.png`` (figure), ``NAME.csv``
(every column, every percentile) and ``NAME.md`` (the key numbers in words, a table of at most
about eight columns with units in the headers, and the observed references with their sections
of data/sources.md).

Monte Carlo: :func:`sim.batch.map_runs`, the seeds of ``minersim mc``: run ``i`` uses the seed
that ``SeedSequence(--seed)`` gives run ``i`` of a batch (:func:`sim.batch.seeds.run_seed`), in
this process or in a pool of ``--workers`` processes (each unpickles the scenario once). Bands are percentiles over runs:
p5-p95 (outlined) and p25-p75 shaded, median as a line (:mod:`sim.analysis.style`).
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import sim
from sim.analysis.grid import date_grid, on_grid
from sim.analysis.markdown import band_column, markdown_table
from sim.analysis.plots import draw_runs as plot_bands
from sim.analysis.style import legend_with_bands, mark_date, percentiles
from sim.batch import map_runs
from sim.batch.mapped import run_seeds
from sim.calibration import moments
from sim.calibration.moments import difficulty_in_effect as difficulty_in_effect  # re-exported
from sim.consensus import HALVING_2028_HEIGHT
from sim.errors import MinersimError
from sim.experiments import DEFAULT_OUT
from sim.health import MAX_EPOCH_DAYS
from sim.outputs import atomic_write, save_figure

CALIBRATION = "data/sources.md"

DAY = pd.Timedelta(days=1)
BAND_STATS = ("median", "p5", "p95")


# ------------------------------------------------------------------ command line
def parse_args(
    name: str, description: str, default_runs: int, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """The options every experiment takes: --runs, --out, --seed, --workers."""
    parser = argparse.ArgumentParser(
        prog=f"minersim experiment {name}", description=description.replace("``", "")
    )
    parser.add_argument(
        "--runs", type=int, default=default_runs, help=f"runs per scenario (default {default_runs})"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="output root; files go to OUT/NAME/ (default results/experiments)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="root seed: run i gets the seed minersim mc --seed SEED gives run i (default 0)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1: in-process)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.workers < 1 or args.seed < 0:
        parser.error("--runs and --workers must be >= 1 and --seed >= 0")
    args.name = name
    args.started = time.perf_counter()
    args.exclusions = {}  # scenario -> runs left out (over_seeds)
    return args


# ------------------------------------------------------------------ Monte Carlo
@functools.lru_cache(maxsize=8)
def scenario(name: str) -> sim.Scenario:
    """A bundled scenario, loaded once per process."""
    return sim.load_scenario(name)


class Excluded(Exception):
    """Raised by a task for a run the experiment cannot use; ``over_seeds`` leaves it out and
    :func:`write_outputs` says how many runs were left out and why."""


@dataclass(frozen=True)
class Exclusion:
    """A run left out: its seed and the reason."""

    seed: int
    reason: str


@dataclass(frozen=True)
class _Guarded:
    """``task(scenario, seed)``, or an :class:`Exclusion` if it raised :class:`Excluded`
    (module-level, so that worker processes can unpickle it)."""

    task: Callable[[sim.Scenario, int], object]

    def __call__(self, spec: sim.Scenario, seed: int) -> object:
        try:
            return self.task(spec, seed)
        except Excluded as excluded:
            return Exclusion(seed, str(excluded))


def sound(result: sim.RunResult) -> sim.RunResult:
    """``result``, or :class:`Excluded` if it stalled or is degenerate (:mod:`sim.health`)."""
    if result.meta.get("stalled"):
        raise Excluded(f"stalled: {result.meta.get('stall_reason') or 'the chain stopped'}")
    return result


def run(spec: sim.Scenario, seed: int) -> sim.RunResult:
    """``sim.run(spec, seed=seed)``, raising :class:`Excluded` for a stalled or degenerate run."""
    return sound(sim.run(spec, seed=seed))


def over_seeds(task: Callable[[sim.Scenario, int], object], scenario_name: str, args) -> list:
    """``task(scenario, seed)`` for the experiment's ``--runs`` seeds derived from ``--seed``
    (:func:`sim.batch.map_runs`), in run order, on ``--workers`` processes; runs for which the
    task raised :class:`Excluded` are left out and recorded in ``args.exclusions[scenario_name]``.

    With ``--workers`` > 1, ``task`` must be a module-level function (it is pickled).
    """
    outputs = map_runs(_Guarded(task), scenario(scenario_name), args.runs, args.seed, args.workers)
    excluded = [o for o in outputs if isinstance(o, Exclusion)]
    args.exclusions[scenario_name] = excluded
    if len(excluded) == len(outputs):
        raise MinersimError(
            f"{args.name}: every one of the {args.runs} runs of {scenario_name} was left out "
            f"(run 0: {excluded[0].reason}); try more runs (--runs) or another --seed"
        )
    return [o for o in outputs if not isinstance(o, Exclusion)]


def runs_accounting(args: argparse.Namespace) -> tuple[str, pd.DataFrame]:
    """How many runs each scenario used and left out, and why: a paragraph and a table."""
    rows, parts = [], []
    for name, excluded in args.exclusions.items():
        reasons = Counter(_reason_kind(e.reason) for e in excluded)
        why = "; ".join(f"{count} {kind}" for kind, count in reasons.items()) or "none"
        rows.append(
            {
                "scenario": name,
                "runs": args.runs,
                "used": args.runs - len(excluded),
                "excluded": len(excluded),
                "why excluded": why,
            }
        )
        seeds = run_seeds(args.seed, args.runs)
        parts.append(
            f"`{name}` {args.runs - len(excluded)} of {args.runs}"
            + "".join(f" (run {seeds.index(e.seed)} left out: {e.reason})" for e in excluded)
        )
    text = (
        "**Runs used**: "
        + "; ".join(parts)
        + f". A run is left out when it stalled or is degenerate (an epoch over "
        f"{MAX_EPOCH_DAYS:.0f} days, or an end more than that past the end date: `sim.health`) "
        "or lacks what the experiment measures (said for each run)."
    )
    return text, pd.DataFrame(rows)


def _reason_kind(reason: str) -> str:
    """The kind of a reason: its text up to the first colon ("stalled", ...)."""
    return reason.split(":", 1)[0]


# ------------------------------------------------------------------ time axes
def halving_epoch(epochs: pd.DataFrame, height: int = HALVING_2028_HEIGHT) -> int | None:
    """Row of the epoch that mines block ``height`` (default: the 2028 halving)."""
    return moments.halving_epoch(epochs, height)


def halving_date(epochs: pd.DataFrame, height: int = HALVING_2028_HEIGHT) -> pd.Timestamp | None:
    """Day block ``height`` (default: the 2028 halving) is mined, or None if not reached."""
    return moments.halving_date(epochs, height)


# ------------------------------------------------------------------ statistics
def summary_row(values: Iterable[float], prefix: str = "") -> dict[str, float]:
    """Median, p5 and p95 of a set of per-run values, as table columns."""
    p = percentiles(np.asarray(list(values), dtype=float))
    return {f"{prefix}median": p[50], f"{prefix}p5": p[5], f"{prefix}p95": p[95]}


def band_columns(prefix: str, runs: np.ndarray) -> dict[str, np.ndarray]:
    """Table columns PREFIX_median, PREFIX_p5, PREFIX_p95 of a runs x points matrix."""
    p = percentiles(runs)
    return {f"{prefix}_median": p[50], f"{prefix}_p5": p[5], f"{prefix}_p95": p[95]}


def fmt_range(values: Iterable[float], fmt: str = "{:,.0f}") -> str:
    """'median (p5 to p95)' of per-run values."""
    p = percentiles(np.asarray(list(values), dtype=float))
    return f"{fmt.format(p[50])} (p5-p95 {fmt.format(p[5])} to {fmt.format(p[95])})"


# ------------------------------------------------------------------ outputs
def band_cells(
    table: pd.DataFrame,
    prefix: str,
    scale: float = 1.0,
    per_row: bool = False,
    decimals: int | None = None,
) -> list[str]:
    """Cells "median (p5 to p95)" of the columns PREFIX_median, PREFIX_p5 and PREFIX_p95, with
    one number of decimals for the column (or ``decimals``), or for each row with ``per_row``
    (a table whose rows are different measures: a drawdown in % beside a delay in days)."""
    columns = [table[f"{prefix}_{stat}"].to_numpy(dtype=float) * scale for stat in BAND_STATS]
    if per_row:
        return [band_column([m], [lo], [hi])[0] for m, lo, hi in zip(*columns, strict=True)]
    return band_column(*columns, decimals=decimals)


def output_dir(args: argparse.Namespace) -> Path:
    path = Path(args.out) / args.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_outputs(
    args: argparse.Namespace,
    fig: Figure,
    table: pd.DataFrame,
    title: str,
    body: Sequence[str],
    references: Sequence[str] = (),
    display: pd.DataFrame | None = None,
) -> Path:
    """Write NAME.png, NAME.csv and NAME.md under OUT/NAME/ and report the runtime.

    ``table`` goes to the CSV whole; ``display`` (default: ``table``) is the Markdown table: at
    most about eight columns, units in the headers, bands as "median (p5 to p95)" cells.
    ``body`` holds Markdown paragraphs placed before the table (the key numbers, worded);
    ``references`` lists observed figures with their sections of data/sources.md. The section
    "Runs used and left out" (and ``NAME_runs.csv``) says per scenario how many runs were used
    and why any were left out (:func:`runs_accounting`).
    """
    out = output_dir(args)
    save_figure(fig, out / f"{args.name}.png", dpi=120, bbox_inches="tight")
    atomic_write(out / f"{args.name}.csv", table.to_csv(index=False).encode())
    elapsed = time.perf_counter() - args.started
    lines = [
        f"# {title}",
        "",
        f"Generated by `minersim experiment {args.name} --runs {args.runs}` "
        f"(root seed {args.seed}: the seeds of `minersim mc --seed {args.seed}`; {elapsed:.0f} s). "
        f"Figure: `{args.name}.png`; every column of the table: `{args.name}.csv`. Bands and "
        "ranges are percentiles over runs: median (p5 to p95).",
        "",
    ]
    for paragraph in body:
        lines += [paragraph, ""]
    lines += [markdown_table(table if display is None else display), ""]
    if args.exclusions:
        text, runs_table = runs_accounting(args)
        lines += ["## Runs used and left out", "", text, "", markdown_table(runs_table), ""]
        runs_table.to_csv(out / f"{args.name}_runs.csv", index=False)
        left_out = runs_table[runs_table["excluded"] > 0]
        if len(left_out):
            why = zip(left_out["scenario"], left_out["why excluded"], strict=True)
            counts = "; ".join(f"{name}: {reasons}" for name, reasons in why)
            print(f"{args.name}: runs left out ({counts}); {args.name}.md says which and why")
    if references:
        lines += [f"## Observed references ({CALIBRATION})", ""]
        lines += [f"- {ref}" for ref in references] + [""]
    atomic_write(out / f"{args.name}.md", "\n".join(lines).encode())
    print(f"{args.name}: wrote {out} in {elapsed:.1f} s ({args.runs} runs per scenario)")
    return out


__all__ = [
    "BAND_STATS",
    "CALIBRATION",
    "DAY",
    "DEFAULT_OUT",
    "HALVING_2028_HEIGHT",
    "Excluded",
    "Exclusion",
    "band_cells",
    "band_columns",
    "date_grid",
    "difficulty_in_effect",
    "fmt_range",
    "halving_date",
    "halving_epoch",
    "legend_with_bands",
    "mark_date",
    "on_grid",
    "output_dir",
    "over_seeds",
    "parse_args",
    "percentiles",
    "plot_bands",
    "run",
    "runs_accounting",
    "scenario",
    "sound",
    "summary_row",
    "write_outputs",
]
