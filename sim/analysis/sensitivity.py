"""Global sensitivity with its own uncertainty: Sobol' indices with bootstrap confidence
intervals, a warning when they cannot be trusted, and Morris elementary effects for screening.

- :func:`sobol_indices`: first-order (S1) and total (ST) indices of each outcome from a Saltelli
  design (``minersim sweep --sobol N``), by :func:`SALib.analyze.sobol.analyze`, with 95%
  bootstrap half-widths (``S1_conf``, ``ST_conf``; :data:`BOOTSTRAP_RESAMPLES` resamples).
  Each row gets a ``warning`` when an index is outside [0, 1] (beyond :data:`TOLERANCE`: the
  estimators are unbiased only in the limit, so slightly negative indices of unimportant
  parameters are sampling noise) or when its interval is wider than the index itself (the
  half-width exceeds the index and :data:`TOLERANCE`): the design is too small for that index,
  and the warning says so in the CSV, the figure and the command line.
- :func:`morris_effects`: mu* (mean absolute elementary effect), its bootstrap half-width, mu and
  sigma of each parameter from a Morris design (``minersim sweep --morris N``), by
  :func:`SALib.analyze.morris.analyze`: a cheap first look (N (D + 1) runs) that ranks
  parameters (mu*) and flags interactions or non-linearity (sigma large against mu*).

Both read the outcome per point as the mean over the point's replicates, in point order.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import plots, style
from sim.outputs import save_figure

#: Bootstrap resamples for the confidence intervals of Sobol' indices and Morris' mu*.
BOOTSTRAP_RESAMPLES = 500
CONFIDENCE = 0.95
#: Slack, in index units, before an index counts as outside [0, 1] or its interval as too wide.
TOLERANCE = 0.05


def point_means(finals: pd.DataFrame, columns: Sequence[str], points: int) -> pd.DataFrame | None:
    """Mean over replicates of each column per point (rows in point order), or None (with a
    warning) when some point has no finished run yet."""
    means = finals.groupby("point")[list(columns)].mean()
    if not means.index.equals(pd.RangeIndex(points)):
        warnings.warn(
            f"sensitivity indices need all {points} points; {len(means)} have finished runs "
            "(resume the batch first): indices skipped",
            stacklevel=3,
        )
        return None
    return means


class SensitivityWarning(UserWarning):
    """Indices that the design is too small to estimate (the CLI prints these)."""


def outcome_title(column: str) -> str:
    """ "final hashrate" for an epoch column, the outcome's own name otherwise."""
    return f"final {style.quantity(column).label}" if column in style.QUANTITIES else column


#: What a panel says when an outcome has no indices.
NO_INDICES = (
    "no indices: the outcome is the same in every run\n(or not finite): no variance to apportion"
)


#: What a Morris panel says when no parameter has an effect.
NO_EFFECTS = "no effects: the outcome is the same in every run"


def sobol_indices(means: pd.DataFrame, sampler: dict, problem: dict) -> pd.DataFrame:
    """S1, S1_conf, ST, ST_conf and ``warning`` per (column, parameter); rows of a column whose
    outputs are constant or not finite are NaN (SALib divides by the output's variance)."""
    from SALib.analyze import sobol

    rows = []
    for column in means.columns:
        y = means[column].to_numpy(dtype=float)
        result = None
        if np.all(np.isfinite(y)) and np.ptp(y) > 0:
            result = sobol.analyze(
                problem,
                y,
                calc_second_order=sampler["calc_second_order"],
                num_resamples=BOOTSTRAP_RESAMPLES,
                conf_level=CONFIDENCE,
                seed=sampler["sampler_seed"],
            )
        for j, name in enumerate(problem["names"]):
            keys = ("S1", "S1_conf", "ST", "ST_conf")
            indices = {k: (float(result[k][j]) if result else np.nan) for k in keys}
            rows.append({"column": column, "parameter": name, **indices})
    table = pd.DataFrame(rows)
    table["warning"] = [sobol_warning(row) for row in table.itertuples(index=False)]
    return table


def sobol_warning(row) -> str:
    """Why a row's indices cannot be trusted ("" when they can)."""
    problems = []
    for name in ("S1", "ST"):
        value, half = getattr(row, name), getattr(row, f"{name}_conf")
        if not np.isfinite(value):
            continue
        if value < -TOLERANCE or value > 1 + TOLERANCE:
            problems.append(f"{name} = {value:.3g} is outside [0, 1]")
        elif half > abs(value) and half > TOLERANCE:
            problems.append(f"{name} = {value:.3g} +- {half:.3g}: the interval is wider than it")
    return "; ".join(problems)


def sobol_warnings(table: pd.DataFrame, n: int) -> list[str]:
    """One line per column with unreliable indices, with what to do about it."""
    lines = []
    for column, part in table[table["warning"] != ""].groupby("column", sort=False):
        shown = "; ".join(
            f"{p}: {w}" for p, w in zip(part["parameter"], part["warning"], strict=True)
        )
        lines.append(
            f"Sobol' indices of {column} are unreliable ({shown}); the design is too small: "
            f"grow it in place with --sobol {2 * n} (or more runs per point)"
        )
    return lines


def plot_sobol(table: pd.DataFrame, path: Path) -> Path:
    """S1 and ST bars with their 95% intervals per column; panels with unreliable indices say
    so in red and hatch the bars concerned."""
    columns = list(dict.fromkeys(table["column"]))
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig = plots.figure((4.5 * ncols, 3.7 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, columns, strict=False):
        part = table[table["column"] == column]
        x = np.arange(len(part))
        bad = (part["warning"] != "").to_numpy()
        for offset, name, color, label in (
            (-0.2, "S1", style.BLUE, "S1 (first order)"),
            (0.2, "ST", style.VERMILLION, "ST (total)"),
        ):
            bars = ax.bar(
                x + offset, part[name], 0.4, yerr=part[f"{name}_conf"], color=color, label=label
            )
            for bar, flagged in zip(bars, bad, strict=True):
                if flagged:
                    bar.set_hatch("///")
                    bar.set_edgecolor("k")
        ax.set_xticks(x, part["parameter"], rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("index (share of variance)")
        style.plain_ticks(ax)
        title = outcome_title(column)
        if bad.any():
            title += "\nunreliable (hatched): interval wider than\nthe index or outside [0, 1]"
        ax.set_title(title, fontsize=9, color="#B00000" if bad.any() else "k")
        ax.axhline(0, color="k", lw=0.5)
        ax.axhline(1, color="0.6", lw=0.5, ls=":")
        if part["S1"].isna().all():  # constant or not finite: sobol_indices left it NaN
            ax.text(0.5, 0.5, NO_INDICES, transform=ax.transAxes, ha="center", fontsize=8)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Sobol' sensitivity indices ({CONFIDENCE:.0%} bootstrap intervals)")
    save_figure(fig, path, dpi=110)
    return path


def morris_effects(means: pd.DataFrame, design: np.ndarray, sampler: dict, problem: dict):
    """mu, mu_star, mu_star_conf and sigma per (column, parameter) from a Morris design
    (``design``: the points' values in point order)."""
    from SALib.analyze import morris

    rows = []
    for column in means.columns:
        y = means[column].to_numpy(dtype=float)
        result = None
        if np.all(np.isfinite(y)):
            result = morris.analyze(
                problem,
                design,
                y,
                num_resamples=BOOTSTRAP_RESAMPLES,
                conf_level=CONFIDENCE,
                num_levels=sampler["num_levels"],
                seed=sampler["sampler_seed"],
            )
        for j, name in enumerate(problem["names"]):
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
            values = {k: (float(result[k][j]) if result else np.nan) for k in keys}
            rows.append({"column": column, "parameter": name, **values})
    return pd.DataFrame(rows)


def plot_morris(table: pd.DataFrame, path: Path) -> Path:
    """Per column: sigma against mu* (Morris 1991; Campolongo et al. 2007), each parameter
    labelled; the horizontal bars are mu*'s bootstrap intervals. Far right: influential; high:
    interacting or non-linear."""
    columns = list(dict.fromkeys(table["column"]))
    ncols = min(3, len(columns))
    nrows = -(-len(columns) // ncols)
    fig = plots.figure((max(6.5, 4.6 * ncols), 3.8 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, column in zip(axes, columns, strict=False):
        q = style.quantity(column)
        unit = f", {q.unit}".replace("$", r"\$") if column in style.QUANTITIES and q.unit else ""
        part = table[table["column"] == column]
        part = part.assign(**{k: part[k] * q.scale for k in ("mu_star", "mu_star_conf", "sigma")})
        ax.errorbar(
            part["mu_star"], part["sigma"], xerr=part["mu_star_conf"], fmt="o",
            color=style.BLUE, ecolor="0.6", capsize=2,
        )  # fmt: skip
        if part["mu_star"].fillna(0).eq(0).all() and part["sigma"].fillna(0).eq(0).all():
            ax.text(0.5, 0.5, NO_EFFECTS, transform=ax.transAxes, ha="center", fontsize=8)
        else:
            for row in part.itertuples(index=False):
                ax.annotate(row.parameter, (row.mu_star, row.sigma), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
        ax.set_xlabel(f"mu* (mean |elementary effect|){unit}")
        ax.set_ylabel(f"sigma (spread of the effects){unit}")
        widest = float(np.nanmax(part["mu_star"] + part["mu_star_conf"].fillna(0)))
        widest = widest if np.isfinite(widest) and widest > 0 else 1.0
        ax.set_xlim(0, 1.3 * widest)  # room for the labels
        tallest = float(np.nanmax(part["sigma"])) if part["sigma"].notna().any() else 0.0
        ax.set_ylim(0, 1.15 * max(tallest, 0.05 * widest))  # sigma ~ 0: a flat, readable axis
        style.plain_ticks(ax)
        style.plain_ticks(ax, axis="x")
        ax.grid(alpha=0.3)
        ax.set_title(outcome_title(column), fontsize=9)
    for ax in axes[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle(f"Morris screening: elementary effects ({CONFIDENCE:.0%} bootstrap intervals)")
    save_figure(fig, path, dpi=110)
    return path


__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "TOLERANCE",
    "SensitivityWarning",
    "morris_effects",
    "outcome_title",
    "plot_morris",
    "plot_sobol",
    "point_means",
    "sobol_indices",
    "sobol_warning",
    "sobol_warnings",
]
