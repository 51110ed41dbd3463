"""Helpers shared by the experiment scripts: arguments, the seeds loop, bands, tables.

Every experiment is run as ``.venv/bin/python -m sim.experiments.NAME [--runs N] [--out DIR]`` and
writes ``DIR/NAME/NAME.png`` (figure), ``NAME.csv`` and ``NAME.md`` (table; the Markdown adds the
key numbers in words and the observed references with their calibration-README sections).

Monte Carlo: run ``i`` uses seed ``first_seed + i``. Seeds run in this process, or in a pool of
``--workers`` processes (each loads the scenario once). Bands are percentiles over runs:
p5-p95 and p25-p75 shaded, median as a line.
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

import sim
from sim.calibration import moments
from sim.calibration.moments import difficulty_in_effect as difficulty_in_effect  # re-exported

DEFAULT_OUT = Path("results") / "experiments"
CALIBRATION = "data/sources.md"

BLOCKS_PER_EPOCH = 2016
HALVING_2028_HEIGHT = 1_050_000
PERCENTILES = (5, 25, 50, 75, 95)


# ------------------------------------------------------------------ command line
def parse_args(
    name: str, description: str, default_runs: int, argv: Sequence[str] | None = None
) -> argparse.Namespace:
    """The options every experiment takes: --runs, --out, --first-seed, --workers."""
    parser = argparse.ArgumentParser(
        prog=f"python -m sim.experiments.{name}", description=description
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
    parser.add_argument("--first-seed", type=int, default=0, help="seed of the first run")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (default 1: in-process)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.workers < 1 or args.first_seed < 0:
        parser.error("--runs and --workers must be >= 1 and --first-seed >= 0")
    args.name = name
    args.started = time.perf_counter()
    return args


def seeds(args: argparse.Namespace) -> range:
    return range(args.first_seed, args.first_seed + args.runs)


# ------------------------------------------------------------------ Monte Carlo
@functools.lru_cache(maxsize=8)
def scenario(name: str) -> sim.Scenario:
    """A bundled scenario, loaded once per process."""
    return sim.load_scenario(name)


def _call(task: Callable, scenario_name: str, seed: int):
    return task(scenario(scenario_name), seed)


def over_seeds(task: Callable[[sim.Scenario, int], object], scenario_name: str, args) -> list:
    """``task(scenario, seed)`` for every seed of the experiment, in seed order.

    With ``--workers`` > 1, ``task`` must be a module-level function (it is pickled).
    """
    run_seeds = list(seeds(args))
    if args.workers == 1:
        return [_call(task, scenario_name, s) for s in run_seeds]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        return list(pool.map(functools.partial(_call, task, scenario_name), run_seeds))


# ------------------------------------------------------------------ time axes
def date_grid(start, end, step_days: int = 7) -> pd.DatetimeIndex:
    """Common dates (every ``step_days``) on which runs with different epoch dates are compared."""
    return pd.date_range(pd.Timestamp(start), pd.Timestamp(end), freq=f"{step_days}D")


def on_grid(dates, values, grid: pd.DatetimeIndex) -> np.ndarray:
    """Per-epoch values read at the grid dates: the epoch covering each date, NaN after the run.

    Epoch ``i`` covers the days after epoch ``i-1``'s last block up to its own (``dates[i]``);
    grid dates before the first epoch's end take the first epoch.
    """
    dates = pd.DatetimeIndex(dates).to_numpy()
    values = np.asarray(values, dtype=float)
    idx = np.searchsorted(dates, grid.to_numpy(), side="left")
    out = np.full(len(grid), np.nan)
    inside = idx < len(dates)
    out[inside] = values[idx[inside]]
    return out


def halving_epoch(epochs: pd.DataFrame, height: int = HALVING_2028_HEIGHT) -> int | None:
    """Row of the epoch that mines block ``height`` (default: the 2028 halving)."""
    return moments.halving_epoch(epochs, height)


def halving_date(epochs: pd.DataFrame, height: int = HALVING_2028_HEIGHT) -> pd.Timestamp | None:
    """Day block ``height`` (default: the 2028 halving) is mined, or None if not reached."""
    return moments.halving_date(epochs, height)


# ------------------------------------------------------------------ statistics
def percentiles(runs: np.ndarray, axis: int = 0) -> dict[int, np.ndarray]:
    """p5, p25, p50, p75, p95 over runs (NaN-aware; all-NaN columns give NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.nanpercentile(np.asarray(runs, dtype=float), PERCENTILES, axis=axis)
    return dict(zip(PERCENTILES, values, strict=True))


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


# ------------------------------------------------------------------ figures
def plot_bands(
    ax: Axes, x, runs: np.ndarray, color: str, label: str, lw: float = 1.6, mean: bool = False
) -> None:
    """p25-p75 and p5-p95 shading of ``runs`` (rows = runs, columns = x) and the median line
    (the mean with ``mean=True``, e.g. for survival shares, whose median is 0 or 1)."""
    p = percentiles(runs)
    ax.fill_between(x, p[5], p[95], color=color, alpha=0.15, lw=0)
    ax.fill_between(x, p[25], p[75], color=color, alpha=0.3, lw=0)
    if mean:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ax.plot(x, np.nanmean(runs, axis=0), color=color, lw=lw, label=f"{label} (mean)")
    else:
        ax.plot(x, p[50], color=color, lw=lw, label=f"{label} (median)")


def band_handles() -> list[Patch]:
    """Legend entries explaining the two shadings."""
    return [
        Patch(facecolor="grey", alpha=0.45, label="p25-p75 of runs"),
        Patch(facecolor="grey", alpha=0.15, label="p5-p95 of runs"),
    ]


def legend_with_bands(ax: Axes, **kwargs) -> None:
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + band_handles(), fontsize=8, **kwargs)


def mark_date(ax: Axes, when, text: str, color: str = "grey", row: int = 0) -> None:
    """A dotted vertical line with a small label at the top of the axes (``row`` 1, 2: lower)."""
    ax.axvline(when, color=color, ls=":", lw=1)
    ax.annotate(
        text,
        (when, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -12 - 11 * row),
        textcoords="offset points",
        fontsize=8,
        color=color,
    )


# ------------------------------------------------------------------ outputs
def format_number(x: float) -> str:
    """Readable table cell: thousands separators from 100 up, else 3 significant digits."""
    if not np.isfinite(x):
        return ""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def markdown_table(table: pd.DataFrame) -> str:
    cells = table.copy()
    for column in cells.columns:
        if pd.api.types.is_float_dtype(cells[column]):
            cells[column] = cells[column].map(format_number)
    return cells.to_markdown(index=False, disable_numparse=True)


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
) -> Path:
    """Write NAME.png, NAME.csv and NAME.md under OUT/NAME/ and report the runtime.

    ``body`` holds Markdown paragraphs placed before the table (the key numbers, worded);
    ``references`` lists observed figures with their calibration-README sections.
    """
    out = output_dir(args)
    fig.savefig(out / f"{args.name}.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    table.to_csv(out / f"{args.name}.csv", index=False)
    elapsed = time.perf_counter() - args.started
    lines = [
        f"# {title}",
        "",
        f"Generated by `python -m sim.experiments.{args.name} --runs {args.runs}` "
        f"(seeds {args.first_seed}-{args.first_seed + args.runs - 1}; {elapsed:.0f} s). "
        f"Figure: `{args.name}.png`; table: `{args.name}.csv`. Bands and ranges are percentiles "
        "over runs (median; p5-p95).",
        "",
    ]
    for paragraph in body:
        lines += [paragraph, ""]
    lines += [markdown_table(table), ""]
    if references:
        lines += [f"## Observed references ({CALIBRATION})", ""]
        lines += [f"- {ref}" for ref in references] + [""]
    (out / f"{args.name}.md").write_text("\n".join(lines))
    print(f"{args.name}: wrote {out} in {elapsed:.1f} s ({args.runs} runs per scenario)")
    return out
