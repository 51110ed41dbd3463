"""Backtest from 2022: simulated difficulty and hashrate of ``backtest_2022`` with Monte Carlo bands.

The scenario starts from the real network state of 2022-01-01 and replays the real BTC price, so
the bands come from block arrivals, fees and power prices. The network series in
data/history stop at 2021-12-31 on purpose: the figure shows their last months
for context. The only realised post-2021 network figures in data/sources.md are drawn as
points (§3.1 network state in Oct 2025; §3.2 block 840,000 on 2024-04-20).

The CSV's columns ``date``, ``sim_difficulty_t_median`` / ``_p5`` / ``_p95`` and
``observed_difficulty_t`` are read by the report (:mod:`sim.analysis.report`), which quotes the
simulated / realised ratio as its caveat.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import sim
from sim import history as sim_history
from sim.analysis import plots, style
from sim.calibration import benchmark, moments
from sim.experiments import common

NAME = "backtest"
SCENARIO = "backtest_2022"
CONTEXT_START = "2021-07-01"  # history shown before the simulation starts
HALVING_2024 = (840_000, "2024-04-20")  # cal §3.2
OBSERVED = {  # date -> (difficulty T, hashrate EH/s 7-day mean or NaN), cal §3.1
    "2025-10-01": (143.47, 1_057.5),
    "2025-10-23": (146.72, np.nan),
}
PANELS = {"difficulty_t": "difficulty, T", "hashrate_ehs": "hashrate, EH/s"}
DISPLAY_MONTHS = (1, 7)  # the Markdown table shows January and July (and observed dates)


def one_run(scenario: sim.Scenario, seed: int) -> dict:
    epochs = common.run(scenario, seed).epochs
    initial = scenario.config.chain.difficulty
    halving = common.halving_date(epochs, HALVING_2024[0])
    response = None
    if halving is not None:
        daily = moments.daily_difficulty(
            epochs,
            initial,
            pd.Timestamp(epochs["date"].iloc[0]),
            pd.Timestamp(epochs["date"].iloc[-1]),
        )
        response = moments.halving_response(daily, halving)
    return {
        "epochs": epochs[["date", "height", "difficulty", "hashrate_ehs", "epoch_days"]],
        "initial": initial,
        "halving_2024": halving,
        "response_2024": response,
    }


def on_dates(runs: list[dict], dates: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """runs x dates matrices: difficulty in effect (T) and epoch-mean hashrate (EH/s)."""
    return {
        "difficulty_t": np.array(
            [common.difficulty_in_effect(r["epochs"], dates, r["initial"]) for r in runs]
        )
        / 1e12,
        "hashrate_ehs": np.array(
            [common.on_grid(r["epochs"]["date"], r["epochs"]["hashrate_ehs"], dates) for r in runs]
        ),
    }


def history() -> pd.DataFrame:
    """Last pre-2022 months: daily difficulty (T) and 7-day mean hashrate (EH/s)."""
    frame = pd.DataFrame(
        {
            "difficulty_t": sim_history.difficulty() / 1e12,
            "hashrate_ehs": sim_history.hashrate_ehs().rolling(7).mean(),
        }
    )
    return frame.loc[CONTEXT_START:]


def benchmark_difficulty_t(months: pd.DatetimeIndex) -> pd.Series:
    """The free-entry benchmark (:mod:`sim.calibration.benchmark`, fitted on the same 2016-2021
    window as the model) driven by the same real BTC price: monthly mean difficulty, T."""
    return benchmark.difficulty_path(months[0], months[-1]) / 1e12


def figure(runs: list[dict], grid: pd.DatetimeIndex, past: pd.DataFrame, bench: pd.Series):
    matrices = on_dates(runs, grid)
    fig, axes = plots.subplots(2, 1, figsize=(11, 9), sharex=True)
    halvings = [r["halving_2024"] for r in runs if r["halving_2024"] is not None]
    for k, (ax, (column, label)) in enumerate(zip(axes, PANELS.items(), strict=True)):
        common.plot_bands(ax, grid, matrices[column], style.BLUE, f"{SCENARIO}, simulated")
        ax.plot(past.index, past[column], color="k", lw=1.2, label="history to 2021-12-31")
        values = bench if column == "difficulty_t" else benchmark.hashrate_ehs(bench * 1e12)
        ax.plot(
            bench.index + pd.Timedelta(days=14),  # a month's mean, drawn mid-month
            values,
            color=style.GREEN,
            lw=1.4,
            ls="--",
            label="free-entry benchmark (sim.calibration.benchmark), same BTC price",
        )
        observed = [(pd.Timestamp(d), v[k]) for d, v in OBSERVED.items() if np.isfinite(v[k])]
        ax.plot(
            [d for d, _ in observed],
            [v for _, v in observed],
            "D",
            color=style.VERMILLION,
            ms=8,
            label="realised, Oct 2025 (cal §3.1)",
        )
        common.mark_date(ax, pd.Timestamp(HALVING_2024[1]), "real 2024 halving (cal §3.2)", "k")
        if halvings:
            common.mark_date(
                ax, pd.Series(halvings).median(), "simulated block 840,000 (median)", style.BLUE, 1
            )
        style.log_ticks(ax)
        ax.set_ylabel(f"{label} (log scale)")
        ax.grid(alpha=0.3, which="both")
        common.legend_with_bands(ax, loc="upper left")
    axes[0].set_title(f"Backtest from 2022-01-01, real BTC price replay ({len(runs)} runs)")
    axes[-1].set_xlabel("date")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def table(runs: list[dict], months: pd.DatetimeIndex, bench: pd.Series) -> pd.DataFrame:
    matrices = on_dates(runs, months)
    frame = pd.DataFrame({"date": [m.date().isoformat() for m in months]})
    for column in PANELS:
        frame = frame.assign(**common.band_columns(f"sim_{column}", matrices[column]))
    frame["benchmark_difficulty_t"] = bench.reindex(months).to_numpy()
    for k, column in enumerate(PANELS):
        frame[f"observed_{column}"] = [
            OBSERVED.get(m.date().isoformat(), (np.nan, np.nan))[k] for m in months
        ]
    return frame


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: January and July of each year and the dates with a realised value."""
    month = pd.DatetimeIndex(tab["date"]).month
    observed = np.isfinite(tab["observed_difficulty_t"]) | np.isfinite(tab["observed_hashrate_ehs"])
    rows = tab[np.isin(month, DISPLAY_MONTHS) | observed]
    return pd.DataFrame(
        {
            "date": rows["date"],
            "simulated difficulty, T": common.band_cells(rows, "sim_difficulty_t"),
            "benchmark difficulty (month mean), T": rows["benchmark_difficulty_t"].round(1),
            "realised difficulty, T": rows["observed_difficulty_t"],
            "simulated hashrate, EH/s": common.band_cells(rows, "sim_hashrate_ehs"),
            "realised hashrate, EH/s": rows["observed_hashrate_ehs"],
        }
    )


def body(runs: list[dict], bench: pd.Series) -> list[str]:
    day = next(iter(OBSERVED))
    at = on_dates(runs, pd.DatetimeIndex([day]))
    observed_d, observed_h = OBSERVED[day]
    sim_d, sim_h = at["difficulty_t"][:, 0], at["hashrate_ehs"][:, 0]
    halvings = pd.Series([r["halving_2024"] for r in runs if r["halving_2024"] is not None])
    lag = (halvings - pd.Timestamp(HALVING_2024[1])).dt.days
    ratio = sim_d / observed_d
    bench_ratio = bench.loc[pd.Timestamp(day)] / observed_d
    closer = abs(np.log(np.median(ratio))) <= abs(np.log(bench_ratio))
    responses = [r["response_2024"] for r in runs if r["response_2024"] is not None]
    drawdown = pd.Series([r.drawdown_pct for r in responses])
    recovery = pd.Series([r.recovery_days for r in responses if not r.censored])
    back = (
        f"back above it after {common.fmt_range(recovery, '{:.0f}')} days"
        if len(recovery)
        else "not back above it by the end"
    )
    return [
        f"**Fit, out of sample:** on {day} the simulated difficulty is "
        f"{common.fmt_range(ratio, '{:.2f}')} of the realised {observed_d} T (cal §3.1): "
        f"{common.fmt_range(sim_d, '{:,.1f} T')}; hashrate "
        f"{common.fmt_range(sim_h, '{:,.0f} EH/s')} against {observed_h:,.1f} EH/s realised. "
        f"The free-entry benchmark, fitted on the same 2016-2021 months, gives "
        f"{bench_ratio:.2f} of it (its October 2025 mean): the agent-based model's median is "
        f"{'at least as close' if closer else 'further away'} (in log terms).",
        f"The 2024 halving: the difficulty falls {common.fmt_range(drawdown, '{:+.1f}%')} from "
        f"its peak of the 14 days before (within 150 days after) and is {back} "
        f"({len(responses)} of {len(runs)} runs reach the halving; history: -5.4% / 38 days in "
        "2016, -14.7% / 63 days in 2020, data/sources.md §4.1).",
        f"Block {HALVING_2024[0]:,} is mined on {halvings.median():%Y-%m-%d} (median; "
        f"{common.fmt_range(lag, '{:+.0f}')} days from the real {HALVING_2024[1]}, cal §3.2).",
        "The full comparison needs the realised 2022+ difficulty and hashrate series, which the "
        "project does not ship (data/history stops at 2021-12-31 on purpose); the figure shows "
        "the last pre-2022 months and the few realised post-2021 figures in data/sources.md.",
    ]


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=40, argv=argv)
    runs = common.over_seeds(one_run, SCENARIO, args)
    spec = common.scenario(SCENARIO).config.scenario
    grid = common.date_grid(spec.start_date, spec.end_date, step_days=3)
    months = pd.date_range(spec.start_date, spec.end_date, freq="MS")
    bench = benchmark_difficulty_t(months)
    tab = table(runs, months, bench)
    common.write_outputs(
        args,
        figure(runs, grid, history(), bench),
        tab,
        "Backtest from 2022: simulated difficulty and hashrate (monthly)",
        body(runs, bench),
        display=display(tab),
        references=[
            "Network state: 2025-10-01 hashrate 1,057.5 EH/s (7-day mean), difficulty 143.47 T; "
            "2025-10-23 difficulty 146.72 T (Blockchain.com series, [derived]) (§3.1). Hashrate "
            "estimators disagree by 10-15% (§3.1).",
            "Block 840,000 mined 2024-04-20 (§3.2).",
            "history/difficulty.csv and hashrate.csv (Blockchain.com estimates, to 2021-12-31): "
            "the context lines before 2022 (file list at the top of data/sources.md).",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
