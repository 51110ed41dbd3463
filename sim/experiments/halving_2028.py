"""Hashrate and difficulty around the 2028 halving: drawdown and recovery, against 2016 and 2020.

Method of data/sources.md §4.1, on daily series: peak within 14 days before the halving ->
trough within 150 days after -> first day back above the peak. Difficulty is the one in effect
each day; hashrate is the 30-day trailing mean of the epochs' mean hashrate. The 2016 and 2020
episodes are drawn from data/history (difficulty.csv, hashrate.csv) where
present; their reference numbers come from §4.1. Scenario: ``baseline``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import sim
from sim import history as sim_history
from sim.analysis import markdown, plots, style
from sim.calibration.moments import PEAK_DAYS_BEFORE, TROUGH_DAYS_AFTER, drawdown_recovery
from sim.experiments import common

NAME = "halving_2028"
SCENARIO = "baseline"
MEAN_DAYS = 30
DAYS = np.arange(-60, 361)  # days since the halving shown in the figure
PATH_YLIM = (-70, 60)  # %: the 2016 history climbs to +230% within the year; clipped
HISTORY_HALVINGS = {"2016": "2016-07-09", "2020": "2020-05-11"}  # cal §3.2
OBSERVED = {  # cal §4.1: (drawdown %, trough day, back above peak day); NaN: not stated
    ("difficulty", "2016"): (-5.4, 25, 38),
    ("difficulty", "2020"): (-14.7, 25, 64),
    ("hashrate_30d", "2016"): (-2.5, np.nan, np.nan),
    ("hashrate_30d", "2020"): (-12.6, np.nan, 60),
}
OSCILLATION_STEP = np.log(1.2)  # a retarget of more than +20% / -17%
OSCILLATION_FLIPS = 4
SERIES = {"difficulty": "difficulty", "hashrate_30d": f"hashrate, {MEAN_DAYS}-day mean"}


def longest_oscillation(epochs: pd.DataFrame, start: int) -> int:
    """Longest run of consecutive retargets from epoch ``start`` on that alternate in sign and
    each move difficulty by more than OSCILLATION_STEP (a period-2 on/off cycle)."""
    steps = np.diff(np.log(epochs["difficulty"].to_numpy()[max(start - 1, 0) :]))
    flips = (np.sign(steps[1:]) != np.sign(steps[:-1])) & (np.abs(steps[1:]) > OSCILLATION_STEP)
    flips &= np.abs(steps[:-1]) > OSCILLATION_STEP
    longest = current = 0
    for flip in flips:
        current = current + 1 if flip else 0
        longest = max(longest, current)
    return longest


def daily_series(epochs: pd.DataFrame, initial_difficulty: float) -> pd.DataFrame:
    """One row a day: difficulty in effect and the 30-day mean of epoch-mean hashrate (EH/s)."""
    ends = pd.DatetimeIndex(epochs["date"])
    days = pd.date_range(ends[0] - pd.Timedelta(days=14), ends[-1], freq="D")
    difficulty = common.difficulty_in_effect(epochs, days, initial_difficulty)
    hashrate = common.on_grid(ends, epochs["hashrate_ehs"], days)
    trailing = pd.Series(hashrate, index=days).rolling(MEAN_DAYS).mean()
    return pd.DataFrame({"difficulty": difficulty, "hashrate_30d": trailing.to_numpy()}, days)


def relative_path(daily: pd.DataFrame, halving: pd.Timestamp, column: str) -> np.ndarray:
    """The series on DAYS relative to its pre-halving peak, %."""
    days = np.asarray((daily.index - halving).days)
    values = daily[column].to_numpy()
    peak = np.nanmax(values[(days >= -PEAK_DAYS_BEFORE) & (days <= 0)])
    out = np.full(len(DAYS), np.nan)
    inside = np.isin(days, DAYS)
    out[np.searchsorted(DAYS, days[inside])] = 100 * (values[inside] / peak - 1)
    return out


def one_run(scenario: sim.Scenario, seed: int) -> dict:
    epochs = common.run(scenario, seed).epochs
    halving = common.halving_date(epochs)
    if halving is None:
        raise common.Excluded("no halving: the run does not reach the 2028 halving")
    daily = daily_series(epochs, scenario.config.chain.difficulty)
    days = np.asarray((daily.index - halving).days)
    return {
        column: {
            **drawdown_recovery(days, daily[column].to_numpy()),
            "path": relative_path(daily, halving, column),
        }
        for column in SERIES
    } | {
        "halving": halving,
        "oscillation": longest_oscillation(epochs, common.halving_epoch(epochs)),
        "seed": seed,
    }


def history_paths() -> dict[str, dict[str, np.ndarray]]:
    """Real 2016 and 2020 episodes relative to their peaks."""
    daily = pd.DataFrame(
        {
            "difficulty": sim_history.difficulty(),
            "hashrate_30d": sim_history.hashrate_ehs().rolling(MEAN_DAYS).mean() * 1e6,
        }
    )
    return {
        year: {c: relative_path(daily, pd.Timestamp(day), c) for c in SERIES}
        for year, day in HISTORY_HALVINGS.items()
    }


def table(runs: list[dict]) -> pd.DataFrame:
    rows = []
    for column, label in SERIES.items():
        for metric in ("drawdown_pct", "trough_day", "recovery_day"):
            values = np.array([r[column][metric] for r in runs])
            p = common.percentiles(values)
            position = ("drawdown_pct", "trough_day", "recovery_day").index(metric)
            rows.append(
                {
                    "series": label,
                    "metric": metric,
                    "sim_median": p[50],
                    "sim_p5": p[5],
                    "sim_p25": p[25],
                    "sim_p75": p[75],
                    "sim_p95": p[95],
                    "sim_not_reached_pct": 100 * np.isnan(values).mean(),
                    "observed_2016": OBSERVED[column, "2016"][position],
                    "observed_2020": OBSERVED[column, "2020"][position],
                }
            )
    return pd.DataFrame(rows)


def figure(runs: list[dict], history: dict):
    fig, axes = plots.subplots(2, 2, figsize=(13, 9), gridspec_kw={"width_ratios": [2, 1]})
    styles = {"2016": ("k", "--"), "2020": ("k", ":")}
    for row, (column, label) in enumerate(SERIES.items()):
        ax = axes[row, 0]
        paths = np.array([r[column]["path"] for r in runs])
        common.plot_bands(ax, DAYS, paths, style.BLUE, f"2028, {SCENARIO}, simulated")
        for year, paths_by_series in history.items():
            color, ls = styles[year]
            ax.plot(
                DAYS, paths_by_series[column], color=color, ls=ls, lw=1.2, label=f"{year} (history)"
            )
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0, color="grey", ls=":", lw=1)
        ax.set_ylim(*PATH_YLIM)
        ax.set_xlabel("days since the halving")
        ax.set_ylabel(f"{label} vs pre-halving peak, % (clipped)")
        ax.set_title(f"{label.capitalize()} relative to its peak in the 14 days before the halving")
        ax.grid(alpha=0.3)
        common.legend_with_bands(ax, loc="lower right")
        distribution(axes[row, 1], runs, column, label)
    fig.tight_layout()
    return fig


def distribution(ax, runs: list[dict], column: str, label: str) -> None:
    """Scatter of drawdown vs recovery day per run, with the observed episodes."""
    drawdown = np.array([r[column]["drawdown_pct"] for r in runs])
    recovery = np.array([r[column]["recovery_day"] for r in runs])
    missing = np.isnan(recovery)
    ax.plot(recovery[~missing], drawdown[~missing], "o", color=style.BLUE, alpha=0.6, label="runs")
    if missing.any():
        right = np.nanmax(recovery) if (~missing).any() else TROUGH_DAYS_AFTER
        ax.plot(
            np.full(missing.sum(), right * 1.05 + 10),
            drawdown[missing],
            ">",
            color=style.VERMILLION,
            alpha=0.6,
            label=f"runs not back above the peak ({missing.sum()})",
        )
    for year, marker in (("2016", "s"), ("2020", "D")):
        dd, _, back = OBSERVED[column, year]
        if np.isfinite(back):
            ax.plot(back, dd, marker, color="k", ms=9, mfc="w", label=f"{year} (cal §4.1)")
        else:
            ax.axhline(
                dd,
                color="k",
                ls="--",
                lw=1,
                label=f"{year} drawdown (cal §4.1; recovery not stated)",
            )
    ax.set_xlabel("days from the halving back above the peak")
    ax.set_ylabel(f"{label} drawdown, %")
    ax.set_title("Per run: drawdown vs recovery")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")


METRIC_LABELS = {
    "drawdown_pct": "drawdown from the peak, %",
    "trough_day": "trough, days after the halving",
    "recovery_day": "back above the peak, days after",
}


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: one row per series and measure, simulated band against 2016 and 2020
    (each row in its own number format: % beside days)."""
    observed = ["observed_2016", "observed_2020"]
    cells = [
        markdown.number_column(row[["sim_median", "sim_p5", "sim_p95", *observed]].tolist())[3:]
        for _, row in tab.iterrows()
    ]
    return pd.DataFrame(
        {
            "series": tab["series"],
            "measure": tab["metric"].map(METRIC_LABELS),
            "simulated 2028": common.band_cells(tab, "sim", per_row=True),
            "runs not reached, %": tab["sim_not_reached_pct"],
            "2016": [c[0] for c in cells],
            "2020": [c[1] for c in cells],
        }
    )


def body(runs: list[dict], tab: pd.DataFrame) -> list[str]:
    def cell(series: str, metric: str, column: str) -> float:
        return tab[(tab["series"] == SERIES[series]) & (tab["metric"] == metric)][column].iloc[0]

    dates = pd.Series([r["halving"] for r in runs])
    return [
        f"Halving (block {common.HALVING_2028_HEIGHT:,}) on {dates.median():%Y-%m-%d} (median of "
        f"runs; {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}); cal §3.2 expects "
        "2028-04-10 to 2028-04-15.",
        f"Difficulty drawdown {cell('difficulty', 'drawdown_pct', 'sim_median'):.1f}% (median; p5-p95 "
        f"{cell('difficulty', 'drawdown_pct', 'sim_p5'):.1f}% to "
        f"{cell('difficulty', 'drawdown_pct', 'sim_p95'):.1f}%); "
        + recovery_clause(
            cell("difficulty", "recovery_day", "sim_median"),
            cell("difficulty", "recovery_day", "sim_not_reached_pct"),
        )
        + ", against -5.4% / +38 d (2016) and -14.7% / +64 d (2020).",
        f"30-day mean hashrate drawdown {cell('hashrate_30d', 'drawdown_pct', 'sim_median'):.1f}% "
        f"(p5-p95 {cell('hashrate_30d', 'drawdown_pct', 'sim_p5'):.1f}% to "
        f"{cell('hashrate_30d', 'drawdown_pct', 'sim_p95'):.1f}%) against -2.5% (2016) and "
        "-12.6% (2020).",
        oscillation_sentence(runs),
    ]


def recovery_clause(median_day: float, not_reached_pct: float) -> str:
    """When difficulty is back above its pre-halving peak, worded from the runs that get there."""
    if not_reached_pct >= 100:
        return "no run is back above its peak by the end of the run"
    clause = f"back above its peak after {median_day:.0f} days (median of the runs that recover"
    if not_reached_pct > 0:
        clause += f"; {not_reached_pct:.0f}% do not by the end of the run"
    return clause + ")"


def oscillation_sentence(runs: list[dict]) -> str:
    """How many runs cycle after the halving; the cobweb explanation only if some do."""
    oscillating = [r for r in runs if r["oscillation"] >= OSCILLATION_FLIPS]
    cycle = (
        f"a period-2 cycle after the halving (at least {OSCILLATION_FLIPS} consecutive retargets "
        "of alternating sign, each above +20% / -17%)"
    )
    if not oscillating:
        return (
            f"None of the {len(runs)} runs shows {cycle}, as Bitcoin's 2016 and 2020 halvings "
            "show none (history lines in the figure)."
        )
    seeds = ", ".join(str(r["seed"]) for r in oscillating)
    return (
        f"{len(oscillating)} of {len(runs)} runs show {cycle} (seeds {seeds}): the marginal "
        "fleet switches off when difficulty is high and back on when it is low. Bitcoin's 2016 "
        "and 2020 halvings show no such cycle (history lines in the figure)."
    )


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=40, argv=argv)
    runs = common.over_seeds(one_run, SCENARIO, args)
    if not runs:
        raise SystemExit(f"{NAME}: no run reached block {common.HALVING_2028_HEIGHT:,}")
    tab = table(runs)
    common.write_outputs(
        args,
        figure(runs, history_paths()),
        tab,
        "The 2028 halving: drawdown and recovery of difficulty and hashrate",
        body(runs, tab),
        display=display(tab),
        references=[
            "Halving response, daily series [derived]: difficulty 2016-07-09 213.4G -> 201.9G "
            "(-5.4%), trough +25 d, back above the peak +38 d; 2020-05-11 16.105T -> 13.732T "
            "(-14.7%), trough +25 d, back above +64 d. 30-day-mean hashrate: 2020 -12.6%, back "
            "at +60 d; 2016 -2.5% (§4.1).",
            "Halving dates: 420,000 on 2016-07-09, 630,000 on 2020-05-11; 1,050,000 expected "
            "~2028-04-10 to 2028-04-15 (§3.2).",
            "The history lines are recomputed here from history/difficulty.csv and hashrate.csv "
            "with the same method (daily block-weighted difficulty: a retarget day can sit one "
            "day before §4.1's 'first plateau').",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
