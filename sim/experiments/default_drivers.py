"""Which market uncertainties drive small versus large public miners' defaults after the 2028 halving.

One Latin-hypercube sweep of the ``baseline`` scenario over the market uncertainties below
(``--runs`` futures, one run each, common random numbers: every future's run has the same
seed, so differences between futures are the parameters' doing), stored with the miners table.
Groups are the size terciles of the opening hashrate (:func:`sim.experiments.small_vs_large.
opening_groups`, fixed before the runs). Per run and group, the outcome is the number of the
group's miners that default between the 2028 halving (block 1,050,000) and the end of the run
(:class:`sim.analysis.outcomes.AfterHalving` on the miners' ``defaulted`` flag).

Defaults may be rare, so a graded measure of distress goes beside them: the largest drawdown of
the group's combined market capitalisation over the run (:class:`~sim.analysis.outcomes.
MaxDrawdown`; scale-free, so small and large groups compare).

For each group: extra-trees feature scores of the uncertainties for "at least one default after
the halving" (when some futures have one and others not) and for the equity drawdown, and a PRIM
box (EMA Workbench) of the futures with a default, with coverage, density and quasi-p-values.
The findings are worded from these numbers. Feature scores and PRIM need ``pip install 'minersim[analysis]'``; without it
the page gives the default shares only.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
import warnings

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

import sim
from sim.analysis import plots, style
from sim.analysis.discovery import limit_sides
from sim.analysis.markdown import markdown_table
from sim.analysis.outcomes import AfterHalving, MaxDrawdown, Outcome
from sim.errors import MinersimError
from sim.experiments import common
from sim.experiments.small_vs_large import opening_groups
from sim.health import MAX_EPOCH_DAYS
from sim.outputs import atomic_write, save_figure

NAME = "default_drivers"
SCENARIO = "baseline"
GROUPS = ("small", "large")
COLORS = {"small": style.VERMILLION, "large": style.BLUE}
#: The uncertainties and their ranges (assumptions: wide bands around the baseline's values,
#: cited there; the fee range spans 2025's 0.036 BTC/block to a fee market ~5x larger; power
#: is swept as a multiplier of the price path, since market.power.base_usd_mwh is only the
#: level the miners' own prices are quoted against and changes no run).
UNCERTAINTIES = {
    "market.btc.drift": (-0.4, 0.4),
    "market.btc.volatility": (0.3, 0.9),
    "market.power.shock_multiplier": (0.6, 1.6),  # scales the power path every contract follows
    "market.fees.mean_btc_per_block": (0.01, 0.2),
    "market.ai.lease_usd_per_mw_year": (1.0e6, 2.6e6),
    "market.ai.demand_mw_per_year": (500.0, 4_000.0),
    "market.rates.spread_base": (0.02, 0.08),
}
#: Fewest futures for feature scores and PRIM (below it the page says so).
MIN_FUTURES = 20
MIN_DENSITY = 0.8


def group_outcomes(groups: pd.DataFrame) -> dict[str, dict[str, Outcome]]:
    """Per size group: its miners' defaults after the 2028 halving (a count per run) and the
    largest drawdown of their combined market capitalisation (a fraction)."""
    out = {}
    for label in GROUPS:
        members = tuple(groups.loc[groups["size"] == label, "name"])
        out[label] = {
            "defaults": Outcome(
                f"{label}_defaults_after_halving",
                "defaulted",
                AfterHalving(common.HALVING_2028_HEIGHT),
                miners=members,
            ),
            "drawdown": Outcome(
                f"{label}_equity_drawdown", "market_cap_usd", MaxDrawdown(), miners=members
            ),
        }
    return out


def run_batch(args, folder) -> sim.analysis.batch_view.Batch:
    """The sweep, in a fresh folder (the model may have changed since an earlier one)."""
    shutil.rmtree(folder, ignore_errors=True)
    sim.sweep(
        SCENARIO, 1, args.seed, folder, lhs=args.runs, ranges=UNCERTAINTIES, crn=True,
        miners=True, workers=args.workers, progress=True,
    )  # fmt: skip
    return sim.open_batch(folder)


def analyse(x: pd.DataFrame, cases: dict, drawdowns: dict, seed: int) -> dict:
    """Feature scores (of the default conditions that have runs on both sides, and of the
    drawdowns) and PRIM boxes per group, or the reason there are none."""
    found: dict = {"scores": None, "prim": {}, "why": {}}
    try:
        from sim.analysis import discovery

        discovery.require_workbench()
    except MinersimError as exc:
        found["why"] = dict.fromkeys(GROUPS, str(exc))
        return found
    if len(x) < MIN_FUTURES:
        found["why"] = dict.fromkeys(
            GROUPS, f"{len(x)} futures are too few (at least {MIN_FUTURES}: --runs {MIN_FUTURES})"
        )
        return found
    targets = {}
    for label, y in cases.items():
        if y.sum() < 2 or (~y).sum() < 2:
            found["why"][label] = (
                f"{'no' if y.sum() < 2 else 'every'} future (or all but one) has a {label}-miner "
                "default after the halving: nothing to tell apart"
            )
            continue
        targets[f"{label} default"] = y
        found["prim"][label] = discovery.prim_box(x, y, min_density=MIN_DENSITY)
    targets.update({f"{label} drawdown": d for label, d in drawdowns.items()})
    found["scores"] = discovery.feature_scores(x, targets, seed=seed)
    return found


# ------------------------------------------------------------------ figure
def figure(x: pd.DataFrame, cases: dict, drawdowns: dict, found: dict):
    fig, axes = plots.subplots(1, 3, figsize=(17, 5.4), width_ratios=[1.1, 1, 1])
    ax = axes[0]
    scores = found["scores"]
    names = [k.removeprefix("market.") for k in UNCERTAINTIES]
    ypos = np.arange(len(names))
    if scores is not None:
        targets = list(scores.columns)
        width = 0.8 / len(targets)
        for i, target in enumerate(targets):
            label = target.split()[0]
            values = scores[target].reindex(list(UNCERTAINTIES)).to_numpy(dtype=float)
            what = (
                "a default after the halving" if target.endswith("default") else "equity drawdown"
            )
            ax.barh(ypos - 0.4 + width * (i + 0.5), np.nan_to_num(values), width,
                    color=COLORS[label], hatch="" if target.endswith("default") else "//",
                    edgecolor="w", label=f"{label} miners: {what}")  # fmt: skip
        ax.axvline(1 / len(names), color="0.5", lw=0.8, ls="--", label="equal shares")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    else:
        ax.text(0.5, 0.5, found["why"]["small"], ha="center", va="center", wrap=True, fontsize=8,
                transform=ax.transAxes)  # fmt: skip
    ax.set_yticks(ypos, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("extra-trees feature score (sums to 1 per outcome)")
    ax.set_title("Which uncertainties explain each group's outcome", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    for ax, label in zip(axes[1:], GROUPS, strict=True):
        _scatter_panel(ax, x, cases[label], drawdowns[label], label, found)
    fig.suptitle(
        f"Small vs large miners after the 2028 halving ({len(x)} futures of {SCENARIO}, "
        "Latin hypercube, common random numbers)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def _scatter_panel(ax, x, y: np.ndarray, drawdown: np.ndarray, label: str, found: dict) -> None:
    """The two uncertainties that score highest for the group (its defaults if scored, else its
    drawdown); colour: the equity drawdown; futures with a default after the halving ringed;
    the PRIM box's limits on these two axes dashed."""
    scores = found["scores"]
    ranked = list(UNCERTAINTIES)
    for target in (f"{label} default", f"{label} drawdown"):
        if scores is not None and target in scores and scores[target].notna().any():
            ranked = list(scores[target].sort_values(ascending=False).index)
            break
    a, b = ranked[0], ranked[1]
    points = ax.scatter(x[a], x[b], c=100 * drawdown, cmap="viridis", s=22, vmin=0,
                        vmax=max(10.0, float(np.nanmax(100 * drawdown, initial=0))))  # fmt: skip
    ax.figure.colorbar(points, ax=ax, label=f"{label} miners' largest equity drawdown, %")
    if y.any():
        ax.scatter(x.loc[y, a], x.loc[y, b], s=90, facecolors="none", edgecolors=COLORS[label],
                   linewidths=1.6, label="a default after the halving")  # fmt: skip
    prim = found["prim"].get(label)
    if prim is not None:
        limits = prim.limits.set_index("parameter")
        lo_a, hi_a = _limits(limits, a, x)
        lo_b, hi_b = _limits(limits, b, x)
        ax.add_patch(Rectangle((lo_a, lo_b), hi_a - lo_a, hi_b - lo_b, fill=False,
                                   ec="k", lw=1.2, ls="--", label="PRIM box (these two axes)"))  # fmt: skip
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    style.plain_ticks(ax)
    style.plain_ticks(ax, axis="x")
    ax.grid(alpha=0.3)
    if y.any() or prim is not None:
        ax.legend(fontsize=8, loc="best")
    ax.set_title(
        f"{label} miners: a default after the halving in {int(y.sum())} of {len(y)} futures",
        fontsize=10,
    )


def _limits(limits: pd.DataFrame, key: str, x: pd.DataFrame) -> tuple[float, float]:
    if key in limits.index:
        return float(limits.loc[key, "min"]), float(limits.loc[key, "max"])
    return float(x[key].min()), float(x[key].max())


# ------------------------------------------------------------------ words and tables
def _share(y: np.ndarray) -> str:
    """'k of n futures (p%, 95% interval lo-hi%)' with a Wilson score interval."""
    n, k = len(y), int(np.sum(y))
    z = 1.96
    centre = (k + z**2 / 2) / (n + z**2)
    half = z * math.sqrt(k * (n - k) / n + z**2 / 4) / (n + z**2)
    return f"{k} of {n} futures ({100 * k / n:.0f}%; 95% interval {100 * (centre - half):.0f}-{100 * (centre + half):.0f}%)"


def body(groups, outcomes, values, cases, drawdowns, found, seconds: float) -> list[str]:
    members = {g: ", ".join(groups.loc[groups["size"] == g, "name"]) for g in GROUPS}
    lines = [
        f"Groups (opening hashrate terciles): small = {members['small']}; large = "
        f"{members['large']}. Each future is one run of `{SCENARIO}` with the uncertainties "
        "drawn from the ranges in the table (Latin hypercube; common random numbers: the same "
        f"seed in every future). The sweep and the analysis took {seconds:.0f} s.",
    ]
    for label in GROUPS:
        y = cases[label]
        count = values[outcomes[label]["defaults"].name]
        reached = int(count.notna().sum())
        d = 100 * drawdowns[label]
        text = (
            f"**{label} miners**: at least one default after the 2028 halving in {_share(y)}; "
            f"{count.sum():.0f} defaults in all (runs that reached the halving: {reached}). "
            f"Largest drawdown of their combined market cap: median {np.median(d):.0f}% "
            f"(p5 {np.percentile(d, 5):.0f}% to p95 {np.percentile(d, 95):.0f}%)."
        )
        for target, what in (
            (f"{label} default", "a default"),
            (f"{label} drawdown", "the drawdown"),
        ):
            text += _ranking(found["scores"], target, what)
        prim = found["prim"].get(label)
        if prim is not None:
            text += " " + _prim_words(prim)
        elif label in found["why"]:
            text += f" No discovery: {found['why'][label]}."
        lines.append(text)
    lines.append(_comparison(found))
    return lines


def _ranking(scores: pd.DataFrame | None, target: str, what: str) -> str:
    if scores is None or target not in scores or not scores[target].notna().any():
        return ""
    top = scores[target].sort_values(ascending=False)
    ranked = ", ".join(f"{k.removeprefix('market.')} ({v:.2f})" for k, v in top.head(3).items())
    equal = 1 / len(top)
    return f" For {what}, the feature scores rank {ranked} highest (equal shares: {equal:.2f})."


def _prim_words(prim) -> str:
    stats = prim.stats
    if prim.limits.empty:
        return "PRIM found no box that restricts an uncertainty."
    parts = [
        f"{limit.parameter.removeprefix('market.')} {limit_sides(limit, digits=3)}"
        for limit in prim.limits.itertuples(index=False)
    ]
    significant = all(
        min(np.nan_to_num(r.qp_min, nan=1.0), np.nan_to_num(r.qp_max, nan=1.0)) < 0.05
        for r in prim.limits.itertuples(index=False)
    )
    return (
        f"PRIM's box ({'; '.join(parts)}) holds {stats['coverage']:.0%} of these futures "
        f"(coverage) and {stats['density']:.0%} of the futures inside it have one (density, "
        f"against {prim.interest / prim.runs:.0%} overall)"
        + ("" if significant else "; some limits are not significant at 5%")
        + "."
    )


def _comparison(found: dict) -> str:
    """Do the groups share their leading driver? Defaults where both are scored, else drawdowns."""
    scores = found["scores"]
    for kind in ("default", "drawdown"):
        small, large = f"small {kind}", f"large {kind}"
        if scores is None or small not in scores or large not in scores:
            continue
        top_small, top_large = scores[small].idxmax(), scores[large].idxmax()
        name_small, name_large = (t.removeprefix("market.") for t in (top_small, top_large))
        what = "defaults" if kind == "default" else "equity drawdowns"
        if top_small == top_large:
            return (
                f"For {what}, the same uncertainty leads for both groups: {name_small} (small "
                f"{scores.loc[top_small, small]:.2f}, large {scores.loc[top_large, large]:.2f})."
            )
        return (
            f"For {what}, the groups differ: {name_small} leads for small miners "
            f"({scores.loc[top_small, small]:.2f}; {scores.loc[top_small, large]:.2f} for large), "
            f"{name_large} for large ones ({scores.loc[top_large, large]:.2f}; "
            f"{scores.loc[top_large, small]:.2f} for small)."
        )
    return "The two groups cannot be compared on feature scores in this sweep."


def display(found: dict) -> pd.DataFrame:
    """Per uncertainty: its range, the feature scores of each outcome scored and the PRIM
    limits of each group's default box (at most eight columns)."""
    scores = found["scores"]
    table = pd.DataFrame(
        {
            "uncertainty": list(UNCERTAINTIES),
            "range": [f"{lo:g} to {hi:g}" for lo, hi in UNCERTAINTIES.values()],
        }
    )
    if scores is not None:
        for target in scores.columns:
            table[f"score: {target}"] = scores[target].reindex(list(UNCERTAINTIES)).to_numpy()
    for label, prim in found["prim"].items():
        table[f"PRIM box: {label} default"] = [_limit_text(prim.limits, k) for k in UNCERTAINTIES]
    return table


def _limit_text(limits: pd.DataFrame, key: str) -> str:
    rows = [r for r in limits.itertuples(index=False) if r.parameter == key]
    return limit_sides(rows[0], digits=3, quasi_p=False) if rows else "free"


def write(args, fig, runs: pd.DataFrame, lines: list[str], table: pd.DataFrame) -> None:
    out = common.output_dir(args)
    save_figure(fig, out / f"{NAME}.png", dpi=120, bbox_inches="tight")
    atomic_write(out / f"{NAME}.csv", runs.to_csv(index=False).encode())
    elapsed = time.perf_counter() - args.started
    page = [
        "# Which uncertainties drive small versus large miners' defaults after the 2028 halving",
        "",
        f"Generated by `python -m sim.experiments.{NAME} --runs {args.runs} --seed "
        f"{args.seed}` (an LHS sweep of {args.runs} futures with root seed "
        f"{args.seed}, in `batch/`; {elapsed:.0f} s). Figure: `{NAME}.png`; every run's "
        f"parameters and outcomes: `{NAME}.csv`; `minersim discover batch --where ...` repeats "
        "the analysis on any other outcome.",
        "",
    ]
    for paragraph in lines:
        page += [paragraph, ""]
    page += [markdown_table(table), ""]
    atomic_write(out / f"{NAME}.md", "\n".join(page).encode())
    print(f"{NAME}: wrote {out} in {elapsed:.1f} s ({args.runs} futures)")


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=64, argv=argv)
    groups = opening_groups(common.scenario(SCENARIO))
    outcomes = group_outcomes(groups)
    batch = run_batch(args, common.output_dir(args) / "batch")
    declared = [o for group in outcomes.values() for o in group.values()]
    experiments, values = batch.results(declared)
    x = experiments[list(UNCERTAINTIES)]
    cases = {g: (values[o["defaults"].name] >= 1).to_numpy() for g, o in outcomes.items()}
    drawdowns = {g: values[o["drawdown"].name].to_numpy() for g, o in outcomes.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = analyse(x, cases, drawdowns, args.seed)
    seconds = time.perf_counter() - args.started
    write(
        args,
        figure(x, cases, drawdowns, found),
        experiments.merge(values, on="run"),
        [*body(groups, outcomes, values, cases, drawdowns, found, seconds), runs_used(experiments)],
        display(found),
    )


def runs_used(experiments: pd.DataFrame) -> str:
    """How many futures the analysis uses: all, stalled or degenerate ones included (a future in
    which the chain stalls is one of the places futures lead; :mod:`sim.health`)."""
    stalled = int(experiments["stalled"].sum()) if "stalled" in experiments else 0
    return (
        f"**Runs used**: all {len(experiments)} futures; {stalled} of them stalled or are "
        f"degenerate (a chain that stopped, or an epoch over {MAX_EPOCH_DAYS:.0f} days: "
        "`sim.health`) and are kept, since the question is where futures lead."
    )


if __name__ == "__main__":
    sys.exit(main())
