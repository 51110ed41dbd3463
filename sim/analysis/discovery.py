"""Scenario discovery and feature scoring on a batch's runs, with EMA Workbench's analysis
package (PRIM, CART on scikit-learn, extra-trees feature scores).

- :func:`prim_box`: the Patient Rule Induction Method (Friedman and Fisher 1999, as adapted for
  scenario discovery by Bryant and Lempert 2010): peel and paste a box of parameter ranges that
  holds the runs of interest; its trajectory (coverage, density, mass, restricted dimensions
  per step), the chosen box and the quasi-p-value of each of its limits (a one-sided binomial
  test of whether the limit matters);
- :func:`cart_boxes`: a classification tree's leaves as boxes, with the same statistics;
- :func:`feature_scores`: how much each parameter explains an outcome or a condition (impurity
  importances of extra trees; Jaxa-Rozen and Kwakkel 2018), scores that sum to 1.

The inputs are ``x`` (one row per run: the swept parameters, levers included) and ``y`` (per
run: a boolean for "runs of interest", or a number for scores). These need the ``analysis``
extra (``pip install 'minersim[analysis]'``); :func:`require_workbench` says so when missing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.cli_defaults import MASS_MIN, MIN_DENSITY
from sim.analysis.outcomes import Outcome
from sim.errors import MinersimError
from sim.outputs import save_figure

INSTALL_HINT = "pip install 'minersim[analysis]' (ema-workbench and scikit-learn)"
#: PRIM's peeling (EMA Workbench's default): 5% of the remaining runs per step (its smallest box
#: and the chosen box's density: :mod:`sim.analysis.cli_defaults`).
PEEL_ALPHA = 0.05
#: Extra trees per feature-score fit.
TREES = 500


def require_workbench():
    """EMA Workbench's analysis modules (prim, cart, feature_scoring, RuleInductionType), or
    a one-line MinersimError saying how to install them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optional ipyparallel / altair notices
            from ema_workbench.analysis import cart, feature_scoring, prim
            from ema_workbench.analysis.scenario_discovery_util import RuleInductionType
    except ImportError as exc:
        raise MinersimError(f"scenario discovery needs {INSTALL_HINT}: {exc}") from None
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim, cart, feature_scoring, RuleInductionType


def _check_inputs(x: pd.DataFrame, y: np.ndarray, what: str) -> None:
    if len(x) != len(y):
        raise MinersimError(f"{what}: {len(x)} runs of parameters but {len(y)} outcomes")
    if x.shape[1] == 0:
        raise MinersimError(f"{what} needs swept parameters (a sweep, not a Monte Carlo batch)")
    if len(x) < 10:
        raise MinersimError(f"{what} needs at least 10 runs, the batch has {len(x)}")


# --------------------------------------------------------------------------------------------
# PRIM


@dataclass(frozen=True)
class PrimResult:
    """A PRIM box: ``trajectory`` (one row per peeling/pasting step: coverage, density, mass,
    res_dim, n runs in the box, k of interest), ``chosen`` (its row), ``limits`` (one row per
    restricted parameter: min, max, and the quasi-p-values of each limit, NaN for a limit left
    at the parameter's range), the number of ``runs`` and of runs of ``interest``."""

    trajectory: pd.DataFrame
    chosen: int
    limits: pd.DataFrame
    runs: int
    interest: int

    @property
    def stats(self) -> pd.Series:
        return self.trajectory.iloc[self.chosen]


def prim_box(
    x: pd.DataFrame,
    y: np.ndarray,
    min_density: float = MIN_DENSITY,
    peel_alpha: float = PEEL_ALPHA,
    mass_min: float = MASS_MIN,
) -> PrimResult:
    """Find one PRIM box for the runs where ``y`` is true; choose, on its trajectory, the box
    with the largest coverage among those with density >= ``min_density`` (the densest box if
    none is that dense)."""
    prim, *_ = require_workbench()
    y = np.asarray(y, dtype=bool)
    _check_inputs(x, y, "PRIM")
    if not y.any() or y.all():
        share = "no run" if not y.any() else "every run"
        raise MinersimError(f"PRIM needs runs on both sides of the condition; {share} meets it")
    with _quiet():
        box = prim.Prim(x.reset_index(drop=True), y, peel_alpha=peel_alpha, mass_min=mass_min)
        found = box.find_box()
        trajectory = found.peeling_trajectory.reset_index(drop=True)
        chosen = _choose(trajectory, min_density)
        limits = _box_limits(found.box_lims[chosen], found.p_values[chosen])
    return PrimResult(trajectory, chosen, limits, len(y), int(y.sum()))


def _box_limits(box: pd.DataFrame, p_values: dict) -> pd.DataFrame:
    """The restricted parameters of a PRIM box (the keys of its quasi-p-values) with their
    limits and quasi-p-values (NaN for a side left at the parameter's range). Read from the
    box directly: the workbench's own ``inspect`` fails on category limits under pandas 3."""
    rows = []
    for name, (qp_min, qp_max) in p_values.items():
        rows.append(
            {
                "parameter": name,
                "min": box[name].iloc[0],
                "max": box[name].iloc[1],
                "qp_min": np.nan if qp_min is None or qp_min < 0 else float(qp_min),
                "qp_max": np.nan if qp_max is None or qp_max < 0 else float(qp_max),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "min", "max", "qp_min", "qp_max"])


def limit_sides(limit, digits: int = 4, quasi_p: bool = True) -> str:
    """The restricted sides of one row of :attr:`PrimResult.limits` as text: ``">= 0.69
    (quasi-p 1e-17) and <= 46 (quasi-p 4e-14)"``, or ``"in {a, b}"`` for a category."""
    if isinstance(limit.min, set | frozenset):
        text = f"in {{{', '.join(sorted(map(str, limit.min)))}}}"
        return text + (
            f" (quasi-p {limit.qp_min:.2g})" if quasi_p and np.isfinite(limit.qp_min) else ""
        )
    sides = [
        f"{sign} {value:.{digits}g}" + (f" (quasi-p {qp:.2g})" if quasi_p else "")
        for sign, value, qp in ((">=", limit.min, limit.qp_min), ("<=", limit.max, limit.qp_max))
        if np.isfinite(qp)
    ]
    return " and ".join(sides)


def _choose(trajectory: pd.DataFrame, min_density: float) -> int:
    dense = trajectory[trajectory["density"] >= min_density]
    if len(dense):
        return int(dense["coverage"].idxmax())
    return int(trajectory["density"].idxmax())


# --------------------------------------------------------------------------------------------
# CART


def cart_boxes(x: pd.DataFrame, y: np.ndarray, mass_min: float = MASS_MIN) -> pd.DataFrame:
    """The leaves of a classification tree (scikit-learn, through EMA Workbench's CART) as
    boxes: one row per leaf with coverage, density, mass and its rules ("lo <= key < hi"),
    densest first."""
    _, cart, _, _ = require_workbench()
    y = np.asarray(y, dtype=bool)
    _check_inputs(x, y, "CART")
    nominal = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    x = x.astype(dict.fromkeys(nominal, "category"))  # the workbench's box test needs them so
    mass_min = max(mass_min, 1.0 / len(y))  # the workbench's leaf size int(mass_min x runs) >= 1
    with _quiet():
        tree = cart.CART(x.reset_index(drop=True), y, mass_min=mass_min)
        tree.build_tree()
        boxes, stats = tree.boxes, tree.stats
    rows = []
    for leaf, (box, stat) in enumerate(zip(boxes, stats, strict=True)):
        rows.append(
            {
                "leaf": leaf,
                "coverage": stat["coverage"],
                "density": stat["density"],
                "mass": stat["mass"],
                "rules": _rules(box, x),
            }
        )
    return pd.DataFrame(rows).sort_values(["density", "coverage"], ascending=False)


def _rules(box: pd.DataFrame, x: pd.DataFrame) -> str:
    """A box's restricted limits as text."""
    parts = []
    for column in box.columns:
        lo, hi = box[column].iloc[0], box[column].iloc[1]
        if isinstance(lo, set):
            if set(lo) != set(x[column].unique()):
                parts.append(f"{column} in {{{', '.join(sorted(map(str, lo)))}}}")
            continue
        full_lo, full_hi = x[column].min(), x[column].max()
        if lo > full_lo and hi < full_hi:
            parts.append(f"{_num(lo)} < {column} <= {_num(hi)}")
        elif lo > full_lo:
            parts.append(f"{column} > {_num(lo)}")
        elif hi < full_hi:
            parts.append(f"{column} <= {_num(hi)}")
    return "; ".join(parts) or "(whole space)"


def _num(value: float) -> str:
    return f"{value:.4g}"


# --------------------------------------------------------------------------------------------
# Feature scores


def feature_scores(
    x: pd.DataFrame, targets: dict[str, np.ndarray], seed: int = 0, trees: int = TREES
) -> pd.DataFrame:
    """Extra-trees feature scores of every parameter for each target (a boolean array: a
    classifier; numbers: a regressor; runs where a number is NaN are left out). Rows:
    parameters; columns: targets; each column sums to 1."""
    _, _, scoring, kinds = require_workbench()
    columns = {}
    for name, values in targets.items():
        values = np.asarray(values)
        keep = np.ones(len(values), dtype=bool)
        if values.dtype != bool:
            keep = np.isfinite(values.astype(float))
        _check_inputs(x[keep], values[keep], f"feature scores of {name}")
        if len(np.unique(values[keep])) < 2:
            columns[name] = pd.Series(np.nan, index=x.columns)  # nothing to explain
            continue
        mode = kinds.CLASSIFICATION if values.dtype == bool else kinds.REGRESSION
        with _quiet():
            scores, _ = scoring.get_ex_feature_scores(
                x[keep].reset_index(drop=True),
                values[keep],
                mode=mode,
                nr_trees=trees,
                max_features=max(1, round(x.shape[1] / 3)),
                random_state=seed,
            )
        columns[name] = scores.iloc[:, 0]
    table = pd.DataFrame(columns).reindex(x.columns)
    table.index.name = "parameter"
    return table


@contextlib.contextmanager
def _quiet():
    """EMA Workbench's progress logs and pandas' future warnings stay out of the CLI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# --------------------------------------------------------------------------------------------
# Figures


def plot_prim(result: PrimResult, x: pd.DataFrame, title: str, path: Path) -> Path:
    """Left: the coverage-density trade-off of the peeling trajectory (colour: restricted
    dimensions), the chosen box circled. Right: the chosen box's limits on each restricted
    parameter's range, with their quasi-p-values."""
    from sim.analysis import plots, style  # matplotlib, only when a figure is drawn

    fig = plots.figure((11, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])
    t = result.trajectory
    points = left.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=18)
    chosen = t.iloc[result.chosen]
    left.scatter(
        [chosen["coverage"]], [chosen["density"]], s=140, facecolors="none",
        edgecolors=style.VERMILLION, linewidths=2, label=f"chosen box {result.chosen}",
    )  # fmt: skip
    base = result.interest / result.runs
    left.axhline(base, color="0.5", lw=0.8, ls="--", label=f"share of all runs ({base:.0%})")
    left.set_xlabel("coverage (share of the runs of interest inside the box)")
    left.set_ylabel("density (share of the box's runs of interest)")
    left.set_xlim(0, 1.02)
    left.set_ylim(0, 1.02)
    left.grid(alpha=0.3)
    left.legend(fontsize=8, loc="lower left")
    bar = fig.colorbar(points, ax=left, label="restricted parameters")
    bar.set_ticks(sorted(t["res_dim"].unique()))
    left.set_title("PRIM peeling trajectory", fontsize=10)
    _plot_limits(right, result.limits, x)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path, dpi=110)
    return path


def _plot_limits(ax, limits: pd.DataFrame, x: pd.DataFrame) -> None:
    from sim.analysis import style  # matplotlib, only when a figure is drawn

    if limits.empty:
        ax.text(0.5, 0.5, "the chosen box restricts no parameter", ha="center", va="center")
        ax.set_axis_off()
        return
    for row, limit in enumerate(limits.itertuples(index=False)):
        column = x[limit.parameter]
        if pd.api.types.is_numeric_dtype(column):
            lo, hi = float(column.min()), float(column.max())
            a = (float(limit.min) - lo) / (hi - lo) if hi > lo else 0.0
            b = (float(limit.max) - lo) / (hi - lo) if hi > lo else 1.0
        else:
            a, b = 0.0, 1.0
        text = limit_sides(limit, digits=3)  # the parameter is the row's tick label
        ax.plot([0, 1], [row, row], color="0.8", lw=6, solid_capstyle="butt")
        ax.plot([a, b], [row, row], color=style.BLUE, lw=6, solid_capstyle="butt")
        ax.text(0.01, row + 0.25, text, ha="left", fontsize=7)
    ax.set_yticks(range(len(limits)), limits["parameter"], fontsize=8)
    ax.set_ylim(-0.6, len(limits) - 0.3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position within the sampled range")
    ax.set_title("chosen box: limits (blue) within each range (grey)", fontsize=10)


def plot_scores(scores: pd.DataFrame, path: Path, title: str) -> Path:
    """Feature scores as a heat map: parameters down, targets across, the score in each cell."""
    from sim.analysis import plots  # matplotlib, only when a figure is drawn

    values = scores.to_numpy(dtype=float)
    width = max(6.5, 4.0 + 1.4 * scores.shape[1])
    fig = plots.figure((width, 1.6 + 0.45 * scores.shape[0]), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(
        values, cmap="viridis", vmin=0, vmax=max(np.nanmax(values), 1e-9), aspect="auto"
    )
    for (i, j), value in np.ndenumerate(values):
        text = "n/a" if not math.isfinite(value) else f"{value:.2f}"
        ax.text(j, i, text, ha="center", va="center", fontsize=8,
                color="k" if math.isfinite(value) and value > 0.6 * np.nanmax(values) else "w")  # fmt: skip
    ax.set_xticks(range(scores.shape[1]), scores.columns, rotation=25, ha="right", fontsize=8)
    ax.set_yticks(range(scores.shape[0]), scores.index, fontsize=8)
    fig.colorbar(image, ax=ax, label="extra-trees score")
    fig.suptitle(f"{title} (extra-trees feature scores; each column sums to 1)", fontsize=9)
    save_figure(fig, path, dpi=110)
    return path


# --------------------------------------------------------------------------------------------
# A batch folder's discovery, written to DIR/discovery/NAME/


@dataclass(frozen=True)
class Discovery:
    """What :func:`discover` found and wrote (``paths``: {name: file})."""

    where: str
    prim: PrimResult
    cart: pd.DataFrame
    scores: pd.DataFrame
    paths: dict[str, Path]


def discover(
    root: str | Path,
    where: str,
    declared: Sequence[Outcome] = (),
    score: Sequence[str] = (),
    min_density: float = MIN_DENSITY,
    mass_min: float = MASS_MIN,
    seed: int = 0,
) -> Discovery:
    """PRIM, CART and feature scores of the runs of batch folder ``root`` that meet ``where``
    (a condition on outcomes: :func:`sim.analysis.outcomes.condition`); feature scores also for
    each outcome named in ``score``. Files go to ``root/discovery/<where as a name>/``."""
    from sim.analysis.batch_view import open_batch
    from sim.analysis.outcomes import condition
    from sim.analysis.summary import write_csv

    require_workbench()  # before reading anything: say how to install it first
    batch = open_batch(root)
    experiments, values = batch.results(None, declared)
    cases = condition(values, where).to_numpy()
    x = experiments[batch.parameters]
    unknown = [name for name in score if name not in values.columns]
    if unknown:
        raise MinersimError(f"--score: unknown outcome(s) {', '.join(unknown)}")
    prim = prim_box(x, cases, min_density=min_density, mass_min=mass_min)
    cart = cart_boxes(x, cases, mass_min=mass_min)
    targets = {where: cases, **{name: values[name].to_numpy(dtype=float) for name in score}}
    scores = feature_scores(x, targets, seed=seed)

    dest = Path(root) / "discovery" / _slug(where)
    dest.mkdir(parents=True, exist_ok=True)
    runs = experiments.assign(of_interest=cases).merge(values, on="run")
    paths = {
        "runs_csv": write_csv(runs, dest / "runs.csv"),
        "prim_trajectory_csv": write_csv(prim.trajectory, dest / "prim_trajectory.csv"),
        "prim_box_csv": write_csv(prim.limits, dest / "prim_box.csv"),
        "cart_boxes_csv": write_csv(cart, dest / "cart_boxes.csv"),
        "feature_scores_csv": write_csv(scores.reset_index(), dest / "feature_scores.csv"),
    }
    share = f"{prim.interest} of {prim.runs} runs"
    paths["prim_png"] = plot_prim(prim, x, f"PRIM: {where} ({share})", dest / "prim.png")
    paths["feature_scores_png"] = plot_scores(
        scores, dest / "feature_scores.png", "Which parameters explain each outcome"
    )
    return Discovery(where, prim, cart, scores, paths)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:60] or "condition"


__all__ = [
    "INSTALL_HINT",
    "Discovery",
    "PrimResult",
    "cart_boxes",
    "discover",
    "feature_scores",
    "limit_sides",
    "plot_prim",
    "plot_scores",
    "prim_box",
    "require_workbench",
]
