"""Levers against uncertainties: which lever setting (a miner's policy, its AI budget) is robust
across the futures a sweep samples.

A lever sweep (``minersim sweep ... --lever KEY=V1,V2 --lhs N --range ...``) runs every lever
setting in every *future*: a point of the uncertainty design and a replicate (with ``--crn`` the
replicate's seed, so the same market paths and block draws, is shared by every setting). For one
outcome (a named miner's final market capitalisation by default), the *regret* of a setting in a
future is how far it falls short of the best setting in that future (Savage 1951; Lempert et al.
2006 use it for robust decisions):

    regret(s, f) = max over s' of outcome(s', f) - outcome(s, f)    (higher is better)

The table gives, per setting, the outcome's distribution over futures, the mean, 90th
percentile and maximum regret, and the share of futures in which the setting is the best; the
most robust setting by the minimax-regret rule is the one with the smallest maximum regret.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis import plots, style
from sim.analysis.outcomes import Final, Outcome
from sim.errors import MinersimError
from sim.outputs import atomic_write, save_figure


@dataclass(frozen=True)
class Robustness:
    """``table``: one row per lever setting (sorted by maximum regret, the most robust first);
    ``regret``: one row per future and setting (outcome and regret); ``futures``: how many
    futures every setting finished in; ``dropped``: futures left out (a setting's run missing
    or its outcome NaN); ``crn``: whether the batch shared seeds across settings."""

    outcome: Outcome
    table: pd.DataFrame
    regret: pd.DataFrame
    futures: int
    dropped: int
    crn: bool
    higher_is_better: bool

    @property
    def most_robust(self) -> str:
        return str(self.table["setting"].iloc[0])


def miner_outcomes(miner: str) -> tuple[Outcome, Outcome]:
    """A named miner's final market capitalisation (USD) and whether it has defaulted."""
    name = re.sub(r"\W+", "_", miner).strip("_").lower() or "miner"
    return (
        Outcome(f"{name}_market_cap_usd", "market_cap_usd", Final(), miners=(miner,)),
        Outcome(f"{name}_defaulted", "defaulted", Final(), miners=(miner,)),
    )


def regret_table(
    experiments: pd.DataFrame,
    values: pd.Series,
    levers: Sequence[str],
    uncertainties: Sequence[str],
    higher_is_better: bool = True,
    defaulted: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Per-setting robustness table, per-future regrets and the number of futures dropped.

    ``experiments``: one row per run (replicate, levers, uncertainties); ``values``: the
    outcome per run (same order); ``defaulted``: optionally a 0/1 per run, for a default rate.
    """
    require_levers(levers)
    frame = experiments[["replicate", *uncertainties]].copy()
    frame["setting"] = _setting_names(experiments, levers)
    frame["outcome"] = np.asarray(values, dtype=float)
    if defaulted is not None:
        frame["defaulted"] = np.asarray(defaulted, dtype=float)
    future_keys = [*uncertainties, "replicate"]
    frame["future"] = frame.groupby(future_keys, sort=True).ngroup()
    wide = frame.pivot_table(index="future", columns="setting", values="outcome", aggfunc="first")
    settings = list(dict.fromkeys(frame["setting"]))
    wide = wide.reindex(columns=settings)
    complete = wide.notna().all(axis=1)
    dropped = int((~complete).sum())
    wide = wide[complete]
    if wide.empty:
        raise MinersimError("no future has a finished run with a value for every lever setting")
    best = wide.max(axis=1) if higher_is_better else wide.min(axis=1)
    regret = (
        (best.to_numpy()[:, None] - wide) if higher_is_better else (wide - best.to_numpy()[:, None])
    )
    long = wide.stack().rename("outcome").to_frame()
    long["regret"] = regret.stack()
    long = long.reset_index()
    rows = []
    for setting in settings:
        r, v = regret[setting].to_numpy(), wide[setting].to_numpy()
        row = {
            "setting": setting,
            "futures": len(v),
            "outcome_mean": v.mean(),
            "outcome_p5": np.percentile(v, 5),
            "outcome_median": np.median(v),
            "outcome_p95": np.percentile(v, 95),
            "regret_mean": r.mean(),
            "regret_p90": np.percentile(r, 90),
            "regret_max": r.max(),
            "best_in_share": float(np.mean(r <= 0)),
        }
        if defaulted is not None:
            mine = frame[(frame["setting"] == setting) & frame["future"].isin(wide.index)]
            row["default_rate"] = mine["defaulted"].mean()
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["regret_max", "regret_mean"], ignore_index=True)
    return table, long, dropped


def require_levers(levers: Sequence[str]) -> None:
    """MinersimError unless the batch marked some parameters as levers."""
    if not levers:
        raise MinersimError(
            "robustness needs a lever sweep: mark decisions with --lever KEY=V1,V2,... "
            "(and the market uncertainties with --range or --grid)"
        )


def _setting_names(experiments: pd.DataFrame, levers: Sequence[str]) -> list[str]:
    """ "key=value, key=value" per run, with the keys' last dotted part."""
    parts = [experiments[key].astype(str).radd(f"{key.rsplit('.', 1)[-1]}=") for key in levers]
    return list(pd.concat(parts, axis=1).agg(", ".join, axis=1))


def robustness(
    root: str | Path,
    miner: str | None = None,
    outcome: Outcome | None = None,
    higher_is_better: bool = True,
) -> tuple[Robustness, dict[str, Path]]:
    """The robustness table of a lever batch folder for ``miner`` (its final market cap and
    default rate; needs ``--miners``) or for any ``outcome``; files go to
    ``root/robustness/<outcome name>/``."""
    from sim.analysis.batch_view import open_batch

    if (miner is None) == (outcome is None):
        raise MinersimError("robustness needs --miner NAME or --outcome SPEC (one of them)")
    batch = open_batch(root)
    require_levers(batch.levers)
    wanted: list[Outcome] = [outcome] if outcome else list(miner_outcomes(miner))
    experiments, values = batch.results(wanted)
    chosen = wanted[0]
    defaulted = values[wanted[1].name] if miner else None
    table, regret, dropped = regret_table(
        experiments, values[chosen.name], batch.levers, batch.uncertainties,
        higher_is_better, defaulted,
    )  # fmt: skip
    crn = bool(batch.metadata.get("crn"))
    result = Robustness(
        chosen, table, regret, int(table["futures"].iloc[0]), dropped, crn, higher_is_better
    )
    dest = Path(root) / "robustness" / chosen.name
    dest.mkdir(parents=True, exist_ok=True)
    paths = {
        "robustness_csv": dest / "robustness.csv",
        "regret_csv": dest / "regret.csv",
        "robustness_png": dest / "robustness.png",
    }
    atomic_write(paths["robustness_csv"], table.to_csv(index=False).encode())
    atomic_write(paths["regret_csv"], regret.to_csv(index=False).encode())
    save_figure(plot_robustness(result), paths["robustness_png"], dpi=110)
    return result, paths


def plot_robustness(result: Robustness) -> Figure:
    """Box plots per lever setting (most robust first): the outcome across futures (left) and
    the regret (right)."""
    order = list(result.table["setting"])
    data = result.regret
    scale, unit = (1e-9, "$bn") if result.outcome.column.endswith("_usd") else (1.0, "")
    fig = plots.figure((11, 1.2 + 0.55 * len(order)), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    for ax, column, label in (
        (left, "outcome", f"{result.outcome.name}" + (f", {unit}" if unit else "")),
        (
            right,
            "regret",
            "regret: shortfall from the best setting in the same future"
            + (f", {unit}" if unit else ""),
        ),
    ):
        groups = [data.loc[data["setting"] == s, column].to_numpy() * scale for s in order]
        ax.boxplot(groups, orientation="horizontal", tick_labels=order, whis=(5, 95))
        ax.set_xlabel(label.replace("$", r"\$"), fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        style.plain_ticks(ax, axis="x")
    left.invert_yaxis()
    how = "common random numbers" if result.crn else "independent seeds per setting (no --crn)"
    fig.suptitle(
        f"Lever settings across {result.futures} futures ({how}); whiskers p5-p95; "
        f"most robust (minimax regret) first",
        fontsize=10,
    )
    if not result.crn:
        warnings.warn(
            "the batch was run without --crn: each setting saw other random paths, so the "
            "regret mixes luck with the lever's effect",
            stacklevel=2,
        )
    return fig


__all__ = ["Robustness", "miner_outcomes", "plot_robustness", "regret_table", "robustness"]
