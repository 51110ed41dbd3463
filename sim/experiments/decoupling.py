"""Miner equities vs BTC: rolling correlation and beta of returns, with and without an AI market.

Per epoch: log returns of each public miner's share price (share_price_usd) and of the sector
(market-cap weighted with the previous epoch's market_cap_usd), against the BTC log return;
correlation and beta (covariance / BTC variance) over a rolling 13-epoch window (about six
months). The AI pivot of a run is the first window in which AI/HPC net operating income makes up
at least half of the public miners' operating income (mining revenue + AI NOI, trailing 13
epochs); windows before it are "before", the rest "after". ``baseline`` is compared with
``no_ai`` (no new AI leases, and no value for AI potential): a seed gives both the same BTC,
power and fee paths, so the worlds are also compared seed by seed on a common date grid.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import sim
from sim.analysis import plots, style
from sim.experiments import common

NAME = "decoupling"
SCENARIOS = {"baseline": style.BLUE, "no_ai": style.VERMILLION}
WINDOW_EPOCHS = 13
PIVOT_AI_SHARE = 0.5
SECTOR = "sector (cap-weighted)"
METRICS = {"corr": "correlation with BTC", "beta": "beta to BTC"}


def log_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Epoch log returns; NaN where a price is not positive (defaulted or worthless)."""
    return np.log(prices.where(prices > 0)).diff()


def one_run(scenario: sim.Scenario, seed: int) -> dict:
    """Rolling correlations with BTC (sector and each miner), the AI share, the pivot epoch."""
    result = common.run(scenario, seed)
    public = result.miners[result.miners["kind"] == "public"]
    wide = public.pivot(
        index="epoch",
        columns="name",
        values=["share_price_usd", "market_cap_usd", "revenue_usd", "ai_noi_usd"],
    )
    names = list(dict.fromkeys(public["name"]))
    returns = log_returns(wide["share_price_usd"])[names]
    weights = wide["market_cap_usd"][names].shift(1).where(returns.notna(), 0.0).clip(lower=0.0)
    returns["__sector__"] = (returns.fillna(0.0) * weights).sum(axis=1) / weights.sum(axis=1)
    btc = np.log(result.epochs.set_index("epoch")["btc_price_usd"]).diff()
    rolling = returns.rolling(WINDOW_EPOCHS)
    corr = rolling.corr(btc).rename(columns={"__sector__": SECTOR})
    beta = rolling.cov(btc).div(btc.rolling(WINDOW_EPOCHS).var(), axis=0)
    beta = beta.rename(columns={"__sector__": SECTOR})
    income = wide[["revenue_usd", "ai_noi_usd"]].T.groupby(level=0).sum().T
    trailing = income.rolling(WINDOW_EPOCHS).sum()
    ai_share = (trailing["ai_noi_usd"] / trailing.sum(axis=1)).to_numpy()
    pivoted = np.flatnonzero(ai_share >= PIVOT_AI_SHARE)
    return {
        "date": result.epochs["date"].to_numpy(),
        "corr": corr.reset_index(drop=True),
        "beta": beta.reset_index(drop=True),
        "ai_share": ai_share,
        "pivot": int(pivoted[0]) if len(pivoted) else None,
        "halving": common.halving_epoch(result.epochs),
        "halving_date": common.halving_date(result.epochs),
    }


def before_after(
    run: dict, series: str, split: str = "pivot", metric: str = "corr"
) -> tuple[float, float]:
    """Mean rolling ``metric`` ("corr" or "beta") of ``series`` in the windows ending before and
    from the run's ``split`` epoch ("pivot" or "halving"); the second is NaN if the run never
    gets there."""
    values = run[metric][series].to_numpy()
    at = run[split] if run[split] is not None else len(values)
    before, after = values[:at], values[at:]
    return (
        float(np.nanmean(before)) if np.isfinite(before).any() else np.nan,
        float(np.nanmean(after)) if np.isfinite(after).any() else np.nan,
    )


def table(results: dict[str, list[dict]]) -> pd.DataFrame:
    """Per scenario, metric and series: the mean before / after the pivot and the change."""
    rows = []
    for metric in METRICS:
        for name, runs in results.items():
            for series in runs[0][metric].columns:
                pairs = np.array([before_after(r, series, metric=metric) for r in runs])
                change = pairs[:, 1] - pairs[:, 0]
                rows.append(
                    {
                        "metric": metric,
                        "scenario": name,
                        "series": series,
                        **common.summary_row(pairs[:, 0], "before_"),
                        **common.summary_row(pairs[:, 1], "after_"),
                        **common.summary_row(change, "change_"),
                        "runs_with_both": int(np.isfinite(change).sum()),
                    }
                )
    return pd.DataFrame(rows)


def sector_on_grid(results: dict[str, list[dict]], grid, metric: str) -> dict[str, np.ndarray]:
    """The sector's rolling ``metric`` per run read on ``grid`` (runs x dates), per scenario."""
    return {
        name: np.array([common.on_grid(r["date"], r[metric][SECTOR], grid) for r in runs])
        for name, runs in results.items()
    }


def paired_gap(results: dict[str, list[dict]], grid, metric: str, mask=None) -> np.ndarray:
    """Per seed: mean over the grid dates (within ``mask``) of baseline - no_ai sector
    ``metric`` (the same seed gives both worlds the same BTC path)."""
    on_grid = sector_on_grid(results, grid, metric)
    gap = on_grid["baseline"] - on_grid["no_ai"]
    if mask is not None:
        gap = gap[:, mask]
    with np.errstate(all="ignore"):
        return np.nanmean(np.where(np.isfinite(gap), gap, np.nan), axis=1)


def figure(results: dict[str, list[dict]], grid: pd.DatetimeIndex, tab: pd.DataFrame):
    fig = plots.figure((12, 15))
    ax1 = fig.add_subplot(4, 1, 1)
    ax_beta = fig.add_subplot(4, 1, 2, sharex=ax1)
    ax2 = fig.add_subplot(4, 1, 3, sharex=ax1)
    ax3 = fig.add_subplot(4, 1, 4)
    for row, (name, color) in enumerate(SCENARIOS.items()):
        runs = results[name]
        for ax, metric in ((ax1, "corr"), (ax_beta, "beta")):
            grid_runs = sector_on_grid(results, grid, metric)[name]
            common.plot_bands(ax, grid, grid_runs, color, name, inner=False)
        share = np.array([common.on_grid(r["date"], 100 * r["ai_share"], grid) for r in runs])
        common.plot_bands(ax2, grid, share, color, name, inner=False)
        pivots = [r["date"][r["pivot"]] for r in runs if r["pivot"] is not None]
        if pivots:
            when = pd.Series(pivots).median()
            common.mark_date(ax1, when, f"{name}: median AI pivot", color, row)
    ax1.set_ylabel("correlation with BTC")
    ax1.set_title(
        f"Sector (market-cap weighted) equity returns vs BTC returns, rolling {WINDOW_EPOCHS} epochs"
    )
    ax_beta.axhline(0.0, color="grey", lw=0.8)
    ax_beta.set_ylabel("beta to BTC")
    ax_beta.set_title(
        f"Sector beta to BTC (covariance / BTC variance), rolling {WINDOW_EPOCHS} epochs"
    )
    ax2.axhline(100 * PIVOT_AI_SHARE, color="grey", ls="--", lw=1, label="pivot threshold")
    ax2.set_ylabel("AI NOI share of operating income, %")
    ax2.set_title(
        f"AI/HPC share of public miners' operating income (trailing {WINDOW_EPOCHS} epochs)"
    )
    for ax in (ax1, ax_beta, ax2):
        ax.set_xlabel("date")
        ax.grid(alpha=0.3)
        common.legend_with_bands(ax, inner=False, loc="lower left")
    per_miner(ax3, tab[tab["metric"] == "corr"])
    fig.tight_layout()
    return fig


def per_miner(ax, tab: pd.DataFrame) -> None:
    """Median (over runs) mean correlation before and after the pivot, per series."""
    series = list(dict.fromkeys(tab["series"]))
    x = np.arange(len(series))
    for offset, (name, color) in zip((-0.15, 0.15), SCENARIOS.items(), strict=True):
        rows = tab[tab["scenario"] == name].set_index("series").loc[series]
        ax.plot(
            x + offset,
            rows["before_median"],
            "o",
            mfc="none",
            mec=color,
            ms=8,
            label=f"{name}: before pivot",
        )
        ax.plot(
            x + offset,
            rows["after_median"],
            "o",
            color=color,
            ms=8,
            label=f"{name}: after pivot",
        )
        ax.vlines(
            x + offset,
            rows["after_p5"],
            rows["after_p95"],
            color=color,
            alpha=0.4,
            label=f"{name}: after, p5-p95 of runs",
        )
    ax.set_xticks(x, series, rotation=30, ha="right")
    ax.set_ylabel("mean rolling correlation with BTC")
    ax.set_title("Per company: mean correlation before / after the AI pivot (median of runs)")
    ax.grid(alpha=0.3)
    rows = tab[["before_median", "after_median", "after_p5"]].to_numpy(dtype=float)
    low = min(np.nanmin(rows), 0.0) if np.isfinite(rows).any() else 0.0
    ax.set_ylim(low - 0.4 * (1.05 - low), 1.05)  # room for the legend below the points
    ax.legend(fontsize=8, ncol=3, loc="lower left")


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: mean rolling correlation and beta with BTC before and after the
    pivot."""
    return pd.DataFrame(
        {
            "scenario": tab["scenario"],
            "equity": tab["series"],
            "measure": tab["metric"].map({"corr": "correlation", "beta": "beta"}),
            "before the pivot": common.band_cells(tab, "before", decimals=2),
            "after": common.band_cells(tab, "after", decimals=2),
            "change": common.band_cells(tab, "change", decimals=2),
            "runs with both": tab["runs_with_both"],
        }
    )


def body(results: dict[str, list[dict]], tab: pd.DataFrame, grid: pd.DatetimeIndex) -> list[str]:
    lines = []
    sector = tab[tab["series"] == SECTOR].set_index(["metric", "scenario"])
    for name, runs in results.items():
        corr, beta = sector.loc[("corr", name)], sector.loc[("beta", name)]
        pivots = [r["date"][r["pivot"]] for r in runs if r["pivot"] is not None]
        when = f"median pivot {pd.Series(pivots).median():%Y-%m}" if pivots else "no pivot"
        lines.append(
            f"**{name}**: {len(pivots)} of {len(runs)} runs pivot ({when}). Sector correlation "
            f"with BTC {corr['before_median']:.2f} before -> {corr['after_median']:.2f} "
            f"after (median of runs; change {corr['change_median']:+.2f}, p5-p95 "
            f"{corr['change_p5']:+.2f} to {corr['change_p95']:+.2f}); beta to BTC "
            f"{beta['before_median']:.2f} -> {beta['after_median']:.2f}."
        )
    companies = tab[(tab["metric"] == "beta") & (tab["series"] != SECTOR)]
    spans = [
        f"{lo:.2f} to {hi:.2f} ({name})"
        for name, rows in companies.groupby("scenario", sort=False)
        for lo, hi in [(rows["before_median"].min(), rows["before_median"].max())]
    ]
    lines.append(
        "For scale: 60-day betas of single miners to BTC to 2025-08-18 were 1.39 (MARA) to 1.57 "
        "(GREE) (§4.6); the model's per-company betas before the pivot (median of runs) range "
        + ", ".join(spans)
        + ": most of the model's miner equities are less levered on BTC than the market's were."
    )
    halving_dates = [r["halving_date"] for r in results["baseline"] if r["halving_date"]]
    halving = pd.Series(halving_dates).median() if halving_dates else grid[-1]
    periods = {
        "whole run": np.ones(len(grid), bool),
        f"to the 2028 halving ({halving:%Y-%m})": grid < halving,
        "after it": grid >= halving,
    }
    gaps = []
    for metric, label in METRICS.items():
        parts = []
        for period, mask in periods.items():
            gap = paired_gap(results, grid, metric, mask)
            lower = np.mean(gap[np.isfinite(gap)] < 0) if np.isfinite(gap).any() else np.nan
            parts.append(
                f"{period} {common.fmt_range(gap, '{:+.2f}')}, lower in {100 * lower:.0f}% of seeds"
            )
        gaps.append(f"{label}: " + "; ".join(parts))
    lines.append(
        "Seed by seed (same BTC path in both worlds), baseline minus no_ai, mean over a weekly "
        "date grid of the sector's rolling value: " + ". ".join(gaps) + "."
    )
    split = {
        name: np.array([before_after(r, SECTOR, "halving") for r in runs])
        for name, runs in results.items()
    }
    months = {}
    for name, runs in results.items():
        both = [r for r in runs if r["pivot"] is not None and r["halving_date"] is not None]
        if both:
            days = [(r["date"][r["pivot"]] - r["halving_date"]).days for r in both]
            months[name] = np.median(days) / 30.4
    lines.append(
        "Pivot date minus the 2028 halving date (median of runs; negative: before): "
        + ", ".join(f"{gap:+.1f} months ({name})" for name, gap in months.items())
        + ". The halving halves mining revenue in both scenarios. Split at the halving instead "
        "(the same cut for both): "
        + "; ".join(
            f"{name} {np.nanmedian(pairs[:, 0]):.2f} before -> {np.nanmedian(pairs[:, 1]):.2f} "
            "after"
            for name, pairs in split.items()
        )
        + " (sector correlation, median of runs)."
    )
    lines.append(
        "In the model (sim/valuation.py), market cap = mining cash flow x multiple + contracted "
        "AI NOI x multiple (the halls after each lease's term at today's AI lease rate) - capex "
        "still to spend + the AI option (market weight x the MW a miner still offers to AI x "
        "the positive part of a lease's value less the mining value per MW; 0 without an AI "
        "market) + BTC held - net debt. The option and the halls after their terms move with "
        "the AI lease rate, not with BTC, so a world with an AI market decouples as soon as it "
        "prices AI potential, and more as leases are signed; contracted rent within the terms is "
        "steady: it lowers the beta to BTC more than the correlation."
    )
    return lines


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=40, argv=argv)
    results = {name: common.over_seeds(one_run, name, args) for name in SCENARIOS}
    spec = common.scenario("baseline").config.scenario
    grid = common.date_grid(spec.start_date, spec.end_date)
    tab = table(results)
    common.write_outputs(
        args,
        figure(results, grid, tab),
        tab,
        "Decoupling: miner equities vs BTC before and after the AI pivot",
        body(results, tab, grid),
        display=display(tab),
        references=[
            "Miner equities were a levered BTC proxy (60-day betas to 2025-08-18: GREE 1.57, "
            "BTDR 1.44, MARA 1.39) but decoupled from July 2025 as AI/HPC narratives dominated; "
            "WULF showed a negative 60-day correlation while doubling; JPM: 'clear breakdown in "
            "correlation' since July (§4.6).",
            "Rolling correlation coefficients before/after July 2025 were not found as numbers "
            "(§4.6, [unverified]): there is no observed correlation to set beside the table.",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
