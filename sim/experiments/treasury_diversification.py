"""Small public miners through the 2028 halving: hold BTC, diversify into ETH/SOL, or pivot to AI.

The smallest third of the public miners (by opening hashrate, scenarios/miners_2025.csv), to
mid-2029, on one of three strategies, every other miner unchanged:

* ``btc_only``: they hold the BTC they mine (policy ``hodl``);
* ``diversified``: the same, but each epoch all the BTC they mine goes into an ETH/SOL
  treasury, half each (``[policy.treasury]``: mined_share 1, eth_weight 0.5, 30 bps a trade);
* ``ai_pivot``: they follow ``ai_first`` (convert capacity to AI/HPC as fast as allowed).

Two market settings (:data:`SETTINGS`): ``baseline``, where none of them defaults (they
refinance or sell assets), and ``funding_freeze``, a stress in which they can: ``btc_bear``
(BTC drifting down, and ETH and SOL given the same drift: a crypto bear, so that holding them
is not a bet against BTC's drift), no new debt from 2027-04-01 (a year before the halving) to
the end, no at-the-market equity issuance, and distressed sales of sites and AI halls fetching
nothing.

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
from sim.input.schema import Market

NAME = "treasury_diversification"
BASE = "baseline"
END_DATE = "2029-06-30"  # a year past the April 2028 halving
#: The stress in which small miners can default: no credit from a year before the halving, no
#: equity issuance (a minimum share price no share reaches), distressed assets fetch nothing.
FUNDING_FREEZE = {
    "market.rates.closed_periods": [["2027-04-01", END_DATE]],
    "market.rates.equity_min_share_price_usd": 1e6,
    "miners.asset_sale_fraction": 0.0,
}
#: Market settings: (bundled scenario, overrides, line style of its default curve).
SETTINGS = {
    "baseline": (BASE, {}, "--"),
    "funding_freeze": ("btc_bear", FUNDING_FREEZE, "-"),
}


def setting_scenario(setting: str) -> sim.Scenario:
    """The scenario of ``setting`` (:data:`SETTINGS`), ETH's and SOL's drift set to BTC's (the
    baseline's drifts are all 0; btc_bear's BTC drift becomes theirs too)."""
    scenario_name, overrides, _ = SETTINGS[setting]
    scenario = common.scenario(scenario_name)
    drift = scenario.config.market.btc.drift
    return with_overrides(
        scenario, {**overrides, "market.eth.drift": drift, "market.sol.drift": drift}
    )


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
    result = common.run(scenario, seed)
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


def per_run(results: dict[str, dict[str, list[pd.DataFrame]]], n_small: int) -> pd.DataFrame:
    """One row per setting, strategy and run: defaulted share, final market cap and treasury
    (USD), correlation with BTC."""
    rows = []
    for setting, by_strategy in results.items():
        for strategy, runs in by_strategy.items():
            for i, run in enumerate(runs):
                rows.append(
                    {
                        "setting": setting,
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
    """Market cap bands in each setting (top), the share of the small miners defaulted over
    time (mean over runs, both settings) and the per-run correlation with BTC (bottom)."""
    fig, axes = plots.subplots(2, 2, figsize=(14, 10))
    cap_axes = {"baseline": axes[0, 0], "funding_freeze": axes[0, 1]}
    ax_dead, ax_corr = axes[1, 0], axes[1, 1]
    for setting, (scenario_name, _, line) in SETTINGS.items():
        ax = cap_axes[setting]
        for strategy, color in STRATEGIES.items():
            runs = results[setting][strategy]
            cap = np.array([common.on_grid(r["date"], r["market_cap_usd"], grid) for r in runs])
            common.plot_bands(ax, grid, cap / 1e9, color, strategy)
            dead = np.array([common.on_grid(r["date"], r["defaulted"], grid) for r in runs])
            ax_dead.plot(
                grid,
                100 * np.nanmean(dead, axis=0) / n_small,
                color=color,
                ls=line,
                lw=2,
                label=f"{strategy}, {setting}",
            )
        ax.set_ylabel("combined market cap, USD bn (log)")
        ax.set_title(f"{setting} ({scenario_name}): the {n_small} smallest miners' market cap")
        common.legend_with_bands(ax, loc="lower left")
    cap_axes["funding_freeze"].set_ylim(bottom=1.0)  # a group all defaulted (0) falls off it
    for ax in cap_axes.values():
        style.log_ticks(ax)
    style.plain_ticks(ax_dead)
    ax_dead.set_ylim(-2, 102)
    ax_dead.set_ylabel("defaulted, % of the small miners (mean over runs)")
    ax_dead.set_title("Default probability (baseline dashed: none default)")
    ax_dead.legend(loc="upper left", fontsize=8)
    for ax in (*cap_axes.values(), ax_dead):
        if halving is not None:
            common.mark_date(ax, halving, "2028 halving (median)")
        ax.grid(alpha=0.3)
    data, positions, colors, hatches = [], [], [], []
    for k, (strategy, color) in enumerate(STRATEGIES.items()):
        for j, setting in enumerate(SETTINGS):
            chosen = (outcomes["strategy"] == strategy) & (outcomes["setting"] == setting)
            values = outcomes.loc[chosen, "btc_correlation"].dropna().to_numpy()
            data.append(values if values.size else np.array([np.nan]))
            positions.append(3 * k + j)
            colors.append(color)
            hatches.append("" if setting == "baseline" else "//")
    parts = ax_corr.boxplot(
        data,
        positions=positions,
        patch_artist=True,
        widths=0.7,
        medianprops={"color": style.BLACK},
    )
    for patch, color, hatch in zip(parts["boxes"], colors, hatches, strict=True):
        patch.set_facecolor(color)
        patch.set_alpha(0.5)
        patch.set_hatch(hatch)
    ax_corr.set_xticks([3 * k + 0.5 for k in range(len(STRATEGIES))], list(STRATEGIES))
    ax_corr.set_ylabel("correlation with BTC")
    ax_corr.set_title(
        "Epoch log returns of the group's market cap vs BTC's, per run\n"
        "(plain: baseline; hatched: funding_freeze, epochs before any default)"
    )
    ax_corr.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per setting and strategy: default probability, mean share defaulted, and bands
    of the final market cap and treasury (USD bn) and of the correlation with BTC."""
    rows = []
    for setting in SETTINGS:
        for strategy in STRATEGIES:
            o = outcomes[(outcomes["strategy"] == strategy) & (outcomes["setting"] == setting)]
            rows.append(
                {
                    "setting": setting,
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
            "setting": tab["setting"],
            "strategy": tab["strategy"],
            "P(a small miner defaults)": [f"{p:.0%}" for p in tab["p_any_default"]],
            "mean share defaulted": [f"{p:.0%}" for p in tab["mean_defaulted_share"]],
            "market cap at the end, USD bn": common.band_cells(tab, "market_cap_bn"),
            "ETH/SOL treasury at the end, USD bn": common.band_cells(tab, "treasury_bn"),
            "correlation with BTC": common.band_cells(tab, "btc_correlation", decimals=2),
        }
    )


def body(tab: pd.DataFrame, names: list[str], runs: int) -> list[str]:
    by = tab.set_index(["setting", "strategy"])

    def listing(setting: str, column: str, fmt: str) -> str:
        return ", ".join(f"{s} {fmt.format(by.loc[(setting, s), column])}" for s in STRATEGIES)

    eth, sol = Market().eth, Market().sol
    return [
        f"Small miners: {', '.join(names)} (the smallest third by opening hashrate); {runs} "
        f"runs per strategy and setting on the same seeds, to {END_DATE}.",
        "Baseline: median correlation of the group's market cap with BTC "
        + listing("baseline", "btc_correlation_median", "{:.2f}")
        + "; probability that at least one small miner defaults "
        + listing("baseline", "p_any_default", "{:.0%}")
        + ".",
        "Funding freeze (btc_bear with ETH and SOL on BTC's drift, no new debt from "
        "2027-04-01, no equity issuance, distressed assets fetch nothing): probability that at least one small miner defaults "
        + listing("funding_freeze", "p_any_default", "{:.0%}")
        + "; mean share of them defaulted "
        + listing("funding_freeze", "mean_defaulted_share", "{:.0%}")
        + ". Defaults there begin before the credit window closes: equity issuance and asset "
        "sales are shut from the start. ETH and SOL take BTC's (negative) drift in this setting, "
        "so the treasury is not a bet that they escape BTC's bear.",
        f"ETH and SOL are simulated with correlations {eth.correlation_btc:.2f} and "
        f"{sol.correlation_btc:.2f} with BTC's daily shocks and volatilities "
        f"{eth.volatility:.2f} and {sol.volatility:.2f} a year (published 2024-2025 figures, "
        "data/sources.md §3.13), so a treasury of them diversifies only the part of BTC's "
        "risk they do not share, and adds their own.",
    ]


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=20, argv=argv)
    names = small_miners(common.scenario(BASE))
    results = {}
    for setting in SETTINGS:
        base = setting_scenario(setting)
        if small_miners(base) != names:  # both settings must share the miners table
            raise RuntimeError(f"{setting} has other small miners than {BASE}")
        results[setting] = {
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
    spec = common.scenario(BASE).config.scenario
    grid = common.date_grid(spec.start_date, END_DATE)
    halvings = [common.halving_date(r) for r in results["baseline"]["btc_only"]]
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
            "ETH and SOL volatilities and correlations with BTC: published 2024-2025 realised "
            "figures (Gale Finance, CME Group, DropsTab), data/eth_sol_published.csv (§3.13).",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
