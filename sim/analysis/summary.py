"""Summaries of a batch folder (``minersim summarize DIR``), written to ``DIR/summary/``.

- ``quantiles.csv`` and ``fan_<column>.png``: p5, p25, p50, p75, p95 over runs of key epoch
  columns against the date. Runs' epochs fall on different dates (a faster network makes
  epochs shorter), so each run is read on a common weekly date grid over the span that every
  run covers, by the rule of :mod:`sim.analysis.grid` (the epoch covering each date); sweeps
  pool all points.
- ``runs.csv``: how many runs the batch has, how many the fan charts use and which they leave
  out, and why (stalled or degenerate runs, :mod:`sim.health`).
- ``final_values.csv``: one row per run (run, point, parameters, last-epoch values, and
  ``excluded``: whether the fan charts left it out).
- Grid sweeps, every pair of varying parameters: ``heatmap_<a>__<b>.csv`` and
  ``heatmap_<column>__<a>__<b>.png``: median over repeats (and over any other swept
  parameters) of each chosen column's final value.
- Declared outcomes (:mod:`sim.analysis.outcomes`, ``--outcome``) join the final values: one
  column each in ``final_values.csv``, and heat maps, indices and scatter plots of them.
- Sweeps with several points: ``quantiles_by_point.csv`` and ``fan_by_point_<column>.png``,
  one band per point, for the chosen points (``points``; by default every point of a sweep of
  at most :data:`MAX_POINTS_DRAWN` points).
- LHS, Sobol' and Morris sweeps: ``scatter_matrix.png``, each chosen outcome (rows) against each
  swept parameter (columns), one dot per run.
- Sobol' sweeps: ``sobol_indices.csv`` and ``sobol_indices.png``: first-order (S1) and total
  (ST) indices with 95% bootstrap half-widths and a ``warning`` column where they cannot be
  trusted (:mod:`sim.analysis.sensitivity`; also raised as a
  :class:`~sim.analysis.sensitivity.SensitivityWarning`, which the CLI prints).
- Morris sweeps: ``morris_effects.csv`` and ``morris_effects.png``: mu*, its interval, mu and
  sigma of each parameter.

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
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis import grid, plots, sensitivity, style
from sim.analysis import outcomes as outcome_module
from sim.analysis.outcomes import Outcome
from sim.batch.store import read_epochs, read_metadata, read_miners, read_points
from sim.errors import MinersimError
from sim.health import stalled_runs
from sim.outputs import atomic_write, save_figure

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

#: Most points drawn in one per-point fan chart (one colour each).
MAX_POINTS_DRAWN = 6
#: Most outcomes (rows) in a scatter matrix.
MAX_SCATTER_ROWS = 6

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_NAMES = ("p5", "p25", "p50", "p75", "p95")


def summarize(
    root: str | os.PathLike,
    fan_columns: Sequence[str] = FAN_COLUMNS,
    final_columns: Sequence[str] = DEFAULT_FINAL_COLUMNS,
    step_days: int = 7,
    outcomes: Sequence[Outcome] = (),
    points: Sequence[int] | None = None,
) -> dict[str, Path]:
    """Write the summaries of a batch folder to ``root/summary``; return {name: path}.

    ``outcomes``: declared outcomes summarised beside ``final_columns``; ``points``: the points
    whose fan charts are drawn one by one (default: all, for sweeps of at most
    :data:`MAX_POINTS_DRAWN` points; ``[]``: none).
    """
    root = Path(root)
    meta = read_metadata(root)
    parameters = list(meta["parameters"])
    wanted = dict.fromkeys(["run", "point", "epoch", "date", *parameters])
    wanted.update(dict.fromkeys([*fan_columns, *final_columns]))
    if outcomes:
        wanted.update(dict.fromkeys(["height", "epoch_days"]))
        wanted.update(dict.fromkeys(o.column for o in outcomes if o.table == "epochs"))
    if "stalled" in meta.get("columns", {}):
        wanted.update(dict.fromkeys(["stalled", "epoch_days"]))
    frame = read_epochs(root, columns=list(wanted))
    dest = root / "summary"
    dest.mkdir(exist_ok=True)

    paths: dict[str, Path] = {}
    excluded = stalled_runs(frame)
    paths["runs_csv"] = write_csv(runs_table(frame, excluded), dest / "runs.csv")
    if len(excluded) < frame["run"].nunique():  # the fans leave stalled runs out
        frame = frame.assign(excluded=frame["run"].isin(excluded["run"]))
    else:
        frame = frame.assign(excluded=False)
    quantiles = fan_quantiles(frame[~frame["excluded"]], fan_columns, step_days)
    paths["quantiles_csv"] = write_csv(quantiles, dest / "quantiles.csv")
    for column, table in quantiles.groupby("column", sort=False):
        paths[f"fan_{column}"] = _plot_fan(table, column, dest / f"fan_{column}.png")
    paths.update(_fans_by_point(frame, fan_columns, step_days, meta, points, dest))

    finals = final_values(frame, [*parameters, *final_columns, "excluded"])
    names = list(final_columns)
    if outcomes:
        miners = _miners_for(root, outcomes, meta)
        values = outcome_module.compute(frame, outcomes, miners)
        finals = finals.merge(values, on="run", how="left")
        names += [o.name for o in outcomes]
    paths["final_values_csv"] = write_csv(finals, dest / "final_values.csv")
    kind = meta["sampler"]["kind"]
    if kind == "grid":
        paths.update(_heat_maps(finals, parameters, names, dest))
    if kind in ("lhs", "sobol", "morris") and parameters:
        paths["scatter_matrix"] = _plot_scatter_matrix(finals, parameters, names, dest)
    if kind in ("sobol", "morris"):
        means = sensitivity.point_means(finals, names, meta["points"])
        if means is not None:
            paths.update(_indices(kind, means, meta, root, dest))
    return paths


def runs_table(frame: pd.DataFrame, excluded: pd.DataFrame) -> pd.DataFrame:
    """One row: the batch's runs, how many the fan charts use, how many they leave out (stalled
    or degenerate, :mod:`sim.health`) and why (final_values.csv keeps every run, with its
    ``excluded`` flag)."""
    runs = int(frame["run"].nunique())
    why = "; ".join(f"run {r.run}: {r.why}" for r in excluded.itertuples())
    left_out = len(excluded) if len(excluded) < runs else 0
    return pd.DataFrame(
        [{"runs": runs, "used": runs - left_out, "excluded": left_out, "why excluded": why}]
    )


def _miners_for(root: Path, outcomes: Sequence[Outcome], meta: dict) -> pd.DataFrame | None:
    per_miner = [o for o in outcomes if o.table == "miners"]
    if not per_miner:
        return None
    if not meta.get("miners"):
        raise MinersimError(
            f"outcome '{per_miner[0].name}' reads the miners table: run the batch with --miners"
        )
    columns = dict.fromkeys(["run", "epoch", "name", *(o.column for o in per_miner)])
    return read_miners(root, columns=list(columns))


# --------------------------------------------------------------------------------------------
# Fan charts


def fan_quantiles(frame: pd.DataFrame, columns: Sequence[str], step_days: int = 7) -> pd.DataFrame:
    """Quantiles over runs of ``columns`` on a common date grid (every ``step_days`` days over
    the span all runs cover, ending on its last day), each run read by the rule of
    :mod:`sim.analysis.grid` (the epoch covering each date). Rows: column, date, p5..p95,
    runs."""
    ends = frame.groupby("run")["date"].agg(["min", "max"])
    dates = grid.date_grid(ends["min"].max(), ends["max"].min(), step_days)
    runs, matrices = grid.frame_on_grid(frame, columns, dates)
    tables = []
    for column in columns:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN dates stay NaN
            q = np.nanquantile(matrices[column], QUANTILES, axis=0)
        table = pd.DataFrame({"column": column, "date": dates.as_unit("ns")})
        for name, row in zip(QUANTILE_NAMES, q, strict=True):
            table[name] = row
        table["runs"] = len(runs)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _plot_fan(table: pd.DataFrame, column: str, path: Path) -> Path:
    save_figure(plots.fan(table, column), path, dpi=110)
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
        paths[f"heatmap_{a}__{b}_csv"] = write_csv(medians, dest / f"heatmap_{a}__{b}.csv")
        for column in columns:
            table = medians.pivot(index=a, columns=b, values=column)
            path = dest / f"heatmap_{column}__{a}__{b}.png"
            paths[f"heatmap_{column}__{a}__{b}"] = _plot_heat_map(table, column, path)
    return paths


def _plot_heat_map(table: pd.DataFrame, column: str, path: Path) -> Path:
    q = style.quantity(column)
    values = table.to_numpy(dtype=float) * q.scale
    fig = plots.figure((1.2 * table.shape[1] + 3, 0.8 * table.shape[0] + 2), layout="constrained")
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
    save_figure(fig, path, dpi=110)
    return path


def _tick(value: object) -> str:
    return style.number_text(float(value)) if _is_number(value) else str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _indices(kind: str, means: pd.DataFrame, meta: dict, root: Path, dest: Path) -> dict:
    """Sobol' indices or Morris effects of the point means, as CSV and figure."""
    from sim.batch.plans import sobol_problem

    sampler = meta["sampler"]
    problem = sobol_problem(sampler["ranges"])
    if kind == "morris":
        design = read_points(root)[problem["names"]].to_numpy(dtype=float)
        table = sensitivity.morris_effects(means, design, sampler, problem)
        return {
            "morris_csv": write_csv(table, dest / "morris_effects.csv"),
            "morris_png": sensitivity.plot_morris(table, dest / "morris_effects.png"),
        }
    table = sensitivity.sobol_indices(means, sampler, problem)
    for line in sensitivity.sobol_warnings(table, sampler["n"]):
        warnings.warn(line, sensitivity.SensitivityWarning, stacklevel=3)
    return {
        "sobol_csv": write_csv(table, dest / "sobol_indices.csv"),
        "sobol_png": sensitivity.plot_sobol(table, dest / "sobol_indices.png"),
    }


# --------------------------------------------------------------------------------------------
# Per-point fan charts and scatter matrices


def _fans_by_point(
    frame: pd.DataFrame,
    columns: Sequence[str],
    step_days: int,
    meta: dict,
    points: Sequence[int] | None,
    dest: Path,
) -> dict[str, Path]:
    if points is None:
        points = range(meta["points"]) if 1 < meta["points"] <= MAX_POINTS_DRAWN else []
    points = list(points)
    if not points:
        return {}
    unknown = sorted(set(points) - set(range(meta["points"])))
    if unknown:
        raise MinersimError(f"--point {unknown[0]}: the batch has points 0 to {meta['points'] - 1}")
    if len(points) > MAX_POINTS_DRAWN:
        raise MinersimError(
            f"at most {MAX_POINTS_DRAWN} points per fan chart (asked for {len(points)})"
        )
    parameters = list(meta["parameters"])
    labels = {
        p: ", ".join(f"{k.rsplit('.', 1)[-1]}={_tick(v)}" for k, v in row.items())
        for p, row in frame.groupby("point")[parameters].first().iterrows()
        if p in points
    }
    tables = []
    for point in points:
        part = frame[frame["point"] == point]
        if part.empty:
            continue  # no finished run yet
        tables.append(fan_quantiles(part, columns, step_days).assign(point=point))
    if not tables:
        return {}
    quantiles = pd.concat(tables, ignore_index=True)
    paths = {"quantiles_by_point_csv": write_csv(quantiles, dest / "quantiles_by_point.csv")}
    for column in columns:
        path = dest / f"fan_by_point_{column}.png"
        paths[f"fan_by_point_{column}"] = _plot_fans_by_point(quantiles, column, labels, path)
    return paths


def _plot_fans_by_point(quantiles: pd.DataFrame, column: str, labels: dict, path: Path) -> Path:
    q = style.quantity(column)
    fig = plots.figure((9, 4.5), layout="constrained")
    ax = fig.add_subplot()
    rows = quantiles[quantiles["column"] == column]
    for color, (point, part) in zip(style.PALETTE, rows.groupby("point", sort=False), strict=False):
        p = {k: part[f"p{k}"].to_numpy(dtype=float) * q.scale for k in (5, 25, 50, 75, 95)}
        runs = int(part["runs"].iloc[0])
        label = f"point {point}: {labels.get(point, '')} (median of {runs} runs)"
        style.draw_bands(ax, part["date"], p, color, label, inner=False)
    ax.set_ylabel(q.axis_label)
    style.plain_ticks(ax)
    ax.grid(alpha=0.3)
    style.legend_with_bands(ax, inner=False, loc="best")
    ax.set_title(f"{q.label} by point: median and p5-p95 over each point's runs", fontsize=10)
    fig.autofmt_xdate()
    save_figure(fig, path, dpi=110)
    return path


def _plot_scatter_matrix(
    finals: pd.DataFrame, parameters: list[str], names: Sequence[str], dest: Path
) -> Path:
    """Each outcome (rows) against each swept parameter (columns), one dot per run."""
    shown = [
        n for n in names if pd.api.types.is_numeric_dtype(finals[n]) and finals[n].notna().any()
    ][:MAX_SCATTER_ROWS]  # an outcome that never happened (all NaN) has nothing to show
    fig = plots.figure((2.6 * len(parameters) + 1, 2.1 * len(shown) + 0.8), layout="constrained")
    axes = fig.subplots(len(shown), len(parameters), squeeze=False, sharex="col", sharey="row")
    for i, name in enumerate(shown):
        q = style.quantity(name)
        for j, parameter in enumerate(parameters):
            ax = axes[i, j]
            x = finals[parameter]
            settings = None
            if not pd.api.types.is_numeric_dtype(x):
                settings = pd.Categorical(x, categories=pd.unique(x))  # a lever's settings
                x = settings.codes
            ax.plot(x, finals[name] * q.scale, ".", ms=3, alpha=0.5, color=style.BLUE)
            ax.grid(alpha=0.3)
            style.plain_ticks(ax)
            if i == len(shown) - 1:
                ax.set_xlabel(parameter, fontsize=8)
                if settings is not None:
                    ax.set_xticks(range(len(settings.categories)), settings.categories)
                else:
                    style.plain_ticks(ax, axis="x")
                    # three ticks: labels such as 2,500,000 fit side by side in a narrow panel
                    ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]))
            if j == 0:
                ax.set_ylabel(q.axis_label if name in style.QUANTITIES else name, fontsize=8)
    fig.suptitle(f"Final outcomes against swept parameters ({len(finals)} runs)", fontsize=10)
    path = dest / "scatter_matrix.png"
    save_figure(fig, path, dpi=100)
    return path


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """``frame`` as CSV at ``path``, written atomically (:func:`sim.outputs.atomic_write`)."""
    try:
        atomic_write(path, frame.to_csv(index=False).encode())
    except OSError as exc:
        raise MinersimError(f"cannot write {path}: {exc}") from None
    return path


__all__ = [
    "DEFAULT_FINAL_COLUMNS",
    "FAN_COLUMNS",
    "fan_quantiles",
    "final_values",
    "summarize",
    "write_csv",
]
