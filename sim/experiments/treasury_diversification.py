"""Small public miners through the 2028 halving: hold BTC, diversify into ETH/SOL, or pivot to AI.

``baseline`` to mid-2029, with the smallest third of the public miners (by opening hashrate,
scenarios/miners_2025.csv) on one of three strategies, every other miner unchanged:

* ``btc_only``: they hold the BTC they mine (policy ``hodl``);
* ``diversified``: the same, but each epoch all the BTC they mine goes into an ETH/SOL
  treasury, half each (``[policy.treasury]``: mined_share 1, eth_weight 0.5, 30 bps a trade);
* ``ai_pivot``: they follow ``ai_first`` (convert capacity to AI/HPC as fast as allowed).

A seed gives the three strategies the same BTC, ETH, SOL, power and fee paths (common random
numbers). Per run: the share of the small miners that default, their combined market cap, and
the correlation of its epoch log returns with BTC's (epochs while all of them are listed).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import sim
from sim.analysis import plots, style
from sim.batch import map_runs
from sim.experiments import common
from sim.input.scenario import with_overrides

NAME = "treasury_diversification"
BASE = "baseline"
END_DATE = "2029-06-30"  # a year past the April 2028 halving
STRATEGIES = {"btc_only": style.BLUE, "diversified": style.GREEN, "ai_pivot": style.VERMILLION}
TREASURY = {"mined_share": 1.0, "eth_weight": 0.5, "cost_bps": 30.0}


def small_miners(scenario: sim.Scenario) -> list[str]:
    """The smallest third of the public miners by opening hashrate (at least one)."""
    frame = scenario.miners.sort_values("hashrate_ehs", kind="stable")
    return list(frame["name"].iloc[: max(1, len(frame) // 3)])


def strategy_overrides(strategy: str, names: list[str]) -> dict:
    """Scenario overrides that put the miners ``names`` on ``strategy``."""
    policy = "ai_first" if strategy == "ai_pivot" else "hodl"
    overrides = {"scenario.end_date": END_DATE, "miners.policies": dict.fromkeys(names, policy)}
    if strategy == "diversified":
        overrides["policy.treasury.miners"] = {name: TREASURY for name in names}
    return overrides


def one_run(scenario: sim.Scenario, seed: int) -> pd.DataFrame:
    """Per epoch: date, BTC price, the small miners' combined market cap and treasury (USD),
    and how many of them have defaulted."""
    names = small_miners(scenario)
    result = sim.run(scenario, seed=seed)
    m = result.miners[result.miners["name"].isin(names)]
    group = m.groupby("epoch").agg(
        market_cap_usd=("market_cap_usd", "sum"),
        treasury_usd=("treasury_usd", "sum"),
        defaulted=("defaulted", "sum"),
    )
    epochs = result.epochs.set_index("epoch")[["date", "height", "epoch_days", "btc_price_usd"]]
    return epochs.join(group).reset_index()


def btc_correlation(run: pd.DataFrame, n_small: int) -> float:
    """Correlation of the group's epoch log market-cap changes with BTC's, over the epochs in
    which no small miner has defaulted (NaN with fewer than 10 such epochs)."""
    listed = run[run["defaulted"] == 0]
    if len(listed) < 11 or n_small < 1:
        return float("nan")
    cap = np.diff(np.log(listed["market_cap_usd"].to_numpy(dtype=float)))
    btc = np.diff(np.log(listed["btc_price_usd"].to_numpy(dtype=float)))
    return float(np.corrcoef(cap, btc)[0, 1])


def per_run(results: dict[str, list[pd.DataFrame]], n_small: int) -> pd.DataFrame:
    """One row per strategy and run: defaulted share, final market cap, correlation with BTC."""
    rows = []
    for strategy, runs in results.items():
        for i, run in enumerate(runs):
            rows.append(
                {
                    "strategy": strategy,
                    "run": i,
                    "defaulted_share": run["defaulted"].iloc[-1] / n_small,
                    "final_market_cap_usd": run["market_cap_usd"].iloc[-1],
                    "final_treasury_usd": run["treasury_usd"].iloc[-1],
                    "btc_correlation": btc_correlation(run, n_small),
                }
            )
    return pd.DataFrame(rows)


def figure(results, outcomes: pd.DataFrame, grid: pd.DatetimeIndex, n_small: int, halving):
    fig, (ax1, ax2, ax3) = plots.subplots(3, 1, figsize=(11, 12))
    for strategy, color in STRATEGIES.items():
        runs = results[strategy]
        cap = np.array([common.on_grid(r["date"], r["market_cap_usd"], grid) for r in runs])
        common.plot_bands(ax1, grid, cap / 1e9, color, strategy)
        dead = np.array([common.on_grid(r["date"], r["defaulted"], grid) for r in runs])
        ax2.plot(grid, 100 * np.nanmean(dead, axis=0) / n_small, color=color, lw=2, label=strategy)
    ax1.set_yscale("log")
    ax1.set_ylabel("combined market cap, USD bn (log)")
    ax1.set_title(f"The {n_small} smallest public miners: combined market cap")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("defaulted, % of the small miners (mean over runs)")
    ax2.set_title("Default probability")
    for ax in (ax1, ax2):
        if halving is not None:
            common.mark_date(ax, halving, "2028 halving (median)")
        style.plain_ticks(ax)
        ax.grid(alpha=0.3)
    common.legend_with_bands(ax1, loc="upper left")
    ax2.legend(loc="upper left", fontsize=8)
    data = [
        outcomes.loc[outcomes["strategy"] == s, "btc_correlation"].dropna().to_numpy()
        for s in STRATEGIES
    ]
    parts = ax3.boxplot(
        data,
        tick_labels=list(STRATEGIES),
        patch_artist=True,
        widths=0.5,
        medianprops={"color": style.BLACK},
    )
    for patch, color in zip(parts["boxes"], STRATEGIES.values(), strict=True):
        patch.set_facecolor(color)
        patch.set_alpha(0.5)
    ax3.set_ylabel("correlation with BTC")
    ax3.set_title("Epoch log returns of the group's market cap vs BTC's (per run)")
    ax3.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def table(outcomes: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for strategy in STRATEGIES:
        o = outcomes[outcomes["strategy"] == strategy]
        rows.append(
            {
                "strategy": strategy,
                "p_any_default": float((o["defaulted_share"] > 0).mean()),
                "mean_defaulted_share": float(o["defaulted_share"].mean()),
                **common.summary_row(o["final_market_cap_usd"] / 1e9, "market_cap_bn_"),
                **common.summary_row(o["final_treasury_usd"] / 1e9, "treasury_bn_"),
                **common.summary_row(o["btc_correlation"].dropna(), "btc_correlation_"),
            }
        )
    return pd.DataFrame(rows)


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: default probability, final market cap and treasury, correlation."""
    return pd.DataFrame(
        {
            "strategy": tab["strategy"],
            "P(a small miner defaults)": [f"{p:.0%}" for p in tab["p_any_default"]],
            "mean share defaulted": [f"{p:.0%}" for p in tab["mean_defaulted_share"]],
            "market cap at the end, USD bn": common.band_cells(tab, "market_cap_bn"),
            "ETH/SOL treasury at the end, USD bn": common.band_cells(tab, "treasury_bn"),
            "correlation with BTC": common.band_cells(tab, "btc_correlation", decimals=2),
        }
    )


def body(tab: pd.DataFrame, names: list[str], runs: int) -> list[str]:
    by = tab.set_index("strategy")
    corr = {s: by.loc[s, "btc_correlation_median"] for s in STRATEGIES}
    return [
        f"Small miners: {', '.join(names)} (the smallest third by opening hashrate); {runs} "
        f"runs per strategy on the same seeds, {BASE} to {END_DATE}.",
        "Median correlation of the group's market cap with BTC: "
        + ", ".join(f"{s} {c:.2f}" for s, c in corr.items())
        + ". Probability that at least one small miner defaults: "
        + ", ".join(f"{s} {by.loc[s, 'p_any_default']:.0%}" for s in STRATEGIES)
        + ".",
        "ETH and SOL are simulated with correlations 0.80 and 0.70 with BTC's daily shocks "
        "(market.eth, market.sol: round assumptions, data/sources.md §3.13), so a treasury of "
        "them diversifies only the part of BTC's risk they do not share.",
    ]


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=20, argv=argv)
    base = common.scenario(BASE)
    names = small_miners(base)
    results = {
        strategy: map_runs(
            one_run,
            with_overrides(base, strategy_overrides(strategy, names)),
            args.runs,
            args.seed,
            args.workers,
        )
        for strategy in STRATEGIES
    }
    outcomes = per_run(results, len(names))
    spec = base.config.scenario
    grid = common.date_grid(spec.start_date, END_DATE)
    halvings = [common.halving_date(r) for r in results["btc_only"]]
    halvings = [h for h in halvings if h is not None]
    halving = pd.Series(halvings).median() if halvings else None
    tab = table(outcomes)
    common.write_outputs(
        args,
        figure(results, outcomes, grid, len(names), halving),
        tab,
        "Treasury diversification: small miners holding BTC, ETH/SOL, or pivoting to AI",
        body(tab, names, args.runs),
        display=display(tab),
        references=[
            "ETH and SOL volatilities and correlations with BTC: round figures of 2023-2025 "
            "realised statistics, not fitted (§3.13).",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
