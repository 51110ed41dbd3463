"""Summaries of a batch folder (``minersim summarize DIR``), written to ``DIR/summary/``.

- ``quantiles.csv`` and ``fan_<column>.png``: p5, p25, p50, p75, p95 over runs of key epoch
  columns against the date. Runs' epochs fall on different dates (a faster network makes
  epochs shorter), so each run is read on a common weekly date grid (its latest epoch on or
  before each date) over the span that every run covers; sweeps pool all points.
- ``final_values.csv``: one row per run (run, point, parameters, last-epoch values).
- Grid sweeps, every pair of varying parameters: ``heatmap_<a>__<b>.csv`` and
  ``heatmap_<column>__<a>__<b>.png``: median over repeats (and over any other swept
  parameters) of each chosen column's final value.
- Sobol' sweeps: ``sobol_indices.csv`` and ``sobol_indices.png``: first-order (S1) and total
  (ST) indices with 95% confidence half-widths from :func:`SALib.analyze.sobol.analyze`, on the
  mean over repeats of each chosen column's final value, with the problem definition of the
  sampler (:func:`sim.batch.sobol_problem`).

Plots are plain matplotlib Figures (no pyplot, no global backend change), drawn with the names,
units and band style of :mod:`sim.analysis.style`.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from sim.analysis import plots, style
from sim.batch.store import read_epochs, read_metadata
from sim.errors import MinersimError

#: Epoch columns drawn as fan charts.
FAN_COLUMNS = (
    "hashrate_ehs",
    "difficulty",
    "btc_price_usd",
    "hashprice_usd_per_ph_day",
    "cost_to_mine_cash_usd",
    "cost_to_mine_allin_usd",
    "total_debt_usd",
    "ai_capacity_mw",
)

#: Epoch columns whose final value heat maps and Sobol' indices use by default.
DEFAULT_FINAL_COLUMNS = (
    "hashrate_ehs",
    "hashprice_usd_per_ph_day",
    "total_debt_usd",
    "ai_capacity_mw",
    "miners_defaulted",
)

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_NAMES = ("p5", "p25", "p50", "p75", "p95")


def summarize(
    root: str | os.PathLike,
    fan_columns: Sequence[str] = FAN_COLUMNS,
    final_columns: Sequence[str] = DEFAULT_FINAL_COLUMNS,
    step_days: int = 7,
) -> dict[str, Path]:
    """Write the summaries of a batch folder to ``root/summary``; return {name: path}."""
    root = Path(root)
    meta = read_metadata(root)
    parameters = list(meta["parameters"])
    wanted = dict.fromkeys(["run", "point", "epoch", "date", *parameters])
    wanted.update(dict.fromkeys([*fan_columns, *final_columns]))
    frame = read_epochs(root, columns=list(wanted))
    dest = root / "summary"
    dest.mkdir(exist_ok=True)

    paths: dict[str, Path] = {}
    quantiles = fan_quantiles(frame, fan_columns, step_days)
    paths["quantiles_csv"] = _write_csv(quantiles, dest / "quantiles.csv")
    for column, table in quantiles.groupby("column", sort=False):
        paths[f"fan_{column}"] = _plot_fan(table, column, dest / f"fan_{column}.png")

    finals = final_values(frame, [*parameters, *final_columns])
    paths["final_values_csv"] = _write_csv(finals, dest / "final_values.csv")
    kind = meta["sampler"]["kind"]
    if kind == "grid":
        paths.update(_heat_maps(finals, parameters, final_columns, dest))
    elif kind == "sobol":
        paths.update(_sobol_indices(finals, meta, final_columns, dest))
    return paths


# --------------------------------------------------------------------------------------------
# Fan charts


def fan_quantiles(frame: pd.DataFrame, columns: Sequence[str], step_days: int = 7) -> pd.DataFrame:
    """Quantiles over runs of ``columns`` on a common date grid (every ``step_days`` days over
    the span all runs cover, plus its last day). Each run contributes, at each grid date, its
    latest epoch on or before that date. Rows: column, date, p5..p95, runs."""
    frame = frame.sort_values(["run", "epoch"], ignore_index=True)
    codes = pd.factorize(frame["run"])[0]
    days = frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(frame)] - 1
    grid = _date_grid(days[starts].max(), days[ends].min(), step_days)
    origin, span = days.min(), days.max() - days.min() + 1
    keys = codes * span + (days - origin)  # sorted: by run, then by date within a run
    query = np.arange(len(starts))[:, None] * span + (grid - origin)[None, :]
    rows = np.maximum(np.searchsorted(keys, query, side="right") - 1, starts[:, None])
    dates = grid.astype("datetime64[D]").astype("datetime64[ns]")
    tables = []
    for column in columns:
        values = frame[column].to_numpy(dtype=float)[rows]  # runs x dates
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN dates stay NaN
            q = np.nanquantile(values, QUANTILES, axis=0)
        table = pd.DataFrame({"column": column, "date": dates})
        for name, row in zip(QUANTILE_NAMES, q, strict=True):
            table[name] = row
        table["runs"] = len(starts)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _date_grid(first: int, last: int, step_days: int) -> np.ndarray:
    """Days (since 1970) from ``first`` to ``last`` every ``step_days``, ending on ``last``."""
    if first > last:  # runs do not overlap in time: use the earliest end
        return np.array([last])
    grid = np.arange(first, last + 1, step_days)
    return grid if grid[-1] == last else np.append(grid, last)


def _plot_fan(table: pd.DataFrame, column: str, path: Path) -> Path:
    plots.fan(table, column).savefig(path, dpi=110)
    return path


# --------------------------------------------------------------------------------------------
# Final values, heat maps, Sobol' indices


def final_values(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One row per run: run, point and ``columns`` at the run's last epoch."""
    last = frame.sort_values(["run", "epoch"]).groupby("run", sort=True).tail(1)
    return last[["run", "point", *columns]].reset_index(drop=True)


def _heat_maps(
    finals: pd.DataFrame, parameters: list[str], columns: Sequence[str], dest: Path
) -> dict[str, Path]:
    varying = [p for p in parameters if finals[p].nunique() > 1]
    paths: dict[str, Path] = {}
    for a, b in itertools.combinations(varying, 2):
        medians = finals.groupby([a, b])[list(columns)].median().reset_index()
        paths[f"heatmap_{a}__{b}_csv"] = _write_csv(medians, dest / f"heatmap_{a}__{b}.csv")
        for column in columns:
            table = medians.pivot(index=a, columns=b, values=column)
            path = dest / f"heatmap_{column}__{a}__{b}.png"
            paths[f"heatmap_{column}__{a}__{b}"] = _plot_heat_map(table, column, path)
    return paths


def _plot_heat_map(table: pd.DataFrame, column: str, path: Path) -> Path:
    q = style.quantity(column)
    values = table.to_numpy(dtype=float) * q.scale
    fig = Figure(figsize=(1.2 * table.shape[1] + 3, 0.8 * table.shape[0] + 2), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(values, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]), [_tick(v) for v in table.columns])
    ax.set_yticks(range(table.shape[0]), [_tick(v) for v in table.index])
    ax.set_xlabel(str(table.columns.name))
    ax.set_ylabel(str(table.index.name))
    middle = np.nanmean([np.nanmin(values), np.nanmax(values)]) if np.isfinite(values).any() else 0
    for (i, j), value in np.ndenumerate(values):
        color = "k" if value > middle else "w"  # dark text on viridis' light end
        ax.text(j, i, style.number_text(value), ha="center", va="center", color=color, fontsize=8)
    bar = fig.colorbar(image, ax=ax, label=f"final {q.axis_label} (median over runs)")
    bar.formatter = FuncFormatter(lambda v, _: style.number_text(v))
    bar.update_ticks()
    ax.set_title(f"Final {q.label}: median over runs at each point", fontsize=10)
    fig.savefig(path, dpi=110)
    return path


def _tick(value: object) -> str:
    return style.number_text(float(value)) if _is_number(value) else str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _sobol_indices(
    finals: pd.DataFrame, meta: dict, columns: Sequence[str], dest: Path
) -> dict[str, Path]:
    from SALib.analyze import sobol

    from sim.batch.runner import sobol_problem

    sampler = meta["sampler"]
    problem = sobol_problem(sampler["ranges"])
    means = finals.groupby("point")[list(columns)].mean()
    if not means.index.equals(pd.RangeIndex(meta["points"])):
        warnings.warn(
            f"Sobol' indices need all {meta['points']} points; {len(means)} have finished runs "
            "(resume the batch first): indices skipped",
            stacklevel=3,
        )
        return {}
    rows = []
    for column in columns:
        y = means[column].to_numpy(dtype=float)
        result = None
        if np.all(np.isfinite(y)) and np.ptp(y) > 0:  # SALib divides by the output's spread
            result = sobol.analyze(
                problem,
                y,
                calc_second_order=sampler["calc_second_order"],
                seed=sampler["sampler_seed"],
            )
        for j, name in enumerate(problem["names"]):
            indices = {
                k: (result[k][j] if result else np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")
            }
            rows.append({"column": column, "parameter": name, **indices})
    table = pd.DataFrame(rows)
    return {
        "sobol_csv": _write_csv(table, dest / "sobol_indices.csv"),
        "sobol_png": _plot_sobol(table, dest / "sobol_indices.png"),
    }


def _plot_sobol(table: pd.DataFrame, path: Path) -> Path:
    columns = list(dict.fromkeys(table["column"]))
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig = Figure(figsize=(4.5 * ncols, 3.5 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, columns, strict=False):
        part = table[table["column"] == column]
        x = np.arange(len(part))
        ax.bar(
            x - 0.2,
            part["S1"],
            0.4,
            yerr=part["S1_conf"],
            color=style.BLUE,
            label="S1 (first order)",
        )
        ax.bar(
            x + 0.2,
            part["ST"],
            0.4,
            yerr=part["ST_conf"],
            color=style.VERMILLION,
            label="ST (total)",
        )
        ax.set_xticks(x, part["parameter"], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("index (share of variance)")
        style.plain_ticks(ax)
        ax.set_title(f"final {style.quantity(column).label}", fontsize=9)
        ax.axhline(0, color="k", lw=0.5)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle("Sobol' sensitivity indices (95% confidence bars)")
    fig.savefig(path, dpi=110)
    return path


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    try:
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise MinersimError(f"cannot write {path}: {exc}") from None
    return path


__all__ = ["DEFAULT_FINAL_COLUMNS", "FAN_COLUMNS", "fan_quantiles", "final_values", "summarize"]
