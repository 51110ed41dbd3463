"""Cost to mine one BTC around the 2028 halving: JPMorgan's construction against the model's.

JPMorgan's method (data/sources.md §3.12, §1.3): network power x $0.05/kWh / BTC issued, the
network held as it was at the start (so 144 blocks a day): the subsidy halves, the cost doubles.
The model's cash cost (electricity of the active fleet / BTC mined) and all-in cost (adds
depreciation and other opex) let the network respond. Scenarios: ``jpm_method`` (JPM's flat
price and ~33 J/TH network) and ``baseline``. Table: means over the 6 epochs before and the 6
after the halving epoch, per run, then percentiles over runs.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

import sim
from sim.analysis import plots, style
from sim.consensus import RETARGET_INTERVAL
from sim.experiments import common
from sim.units import HOURS_PER_DAY

NAME = "cost_to_mine"
SCENARIOS = ("jpm_method", "baseline")
JPM_USD_PER_MWH = 50.0  # cal §3.12: $0.05/kWh network-wide
BLOCKS_PER_DAY = 144.0  # the network held fixed: difficulty matches it, one block per 10 min
WINDOW_EPOCHS = 6
MEASURES = {  # column -> label
    "jpm_method_usd": "JPM method (network of the start, $0.05/kWh)",
    "cost_to_mine_cash_usd": "model cash cost (electricity)",
    "cost_to_mine_allin_usd": "model all-in cost",
}
PUBLISHED = {  # (scenario, measure) -> the published figure it corresponds to
    (
        "jpm_method",
        "jpm_method_usd",
    ): "JPM ~$92,000 (Oct 2025) -> ~$180,000 after 2028 (cal §3.12, §1.3)",
    ("jpm_method", "cost_to_mine_cash_usd"): "JPM's construction with a responding network; "
    "cf. JPM Feb-2024: $26,500 -> $53,000, $42,000 if hashrate fell 20% (cal §3.12)",
    ("jpm_method", "cost_to_mine_allin_usd"): "none (JPM publishes electricity only, cal §3.12)",
    ("baseline", "jpm_method_usd"): "JPM's method on the baseline's ~20 J/TH network (cal §3.12 "
    "implies 32-34 J/TH for JPM)",
    ("baseline", "cost_to_mine_cash_usd"): "company energy cost per BTC: CleanSpark $42,956 FY2025 "
    "(cal §1.4), Riot $46,324, MARA $39,235 Q3 2025 (cal §3.11)",
    ("baseline", "cost_to_mine_allin_usd"): "company direct cost: CleanSpark $82,727 FY2025 "
    "(energy + depreciation, cal §1.4)",
}
PUBLISHED_POINTS = {  # panel -> [(date, USD per BTC, colour, label)] drawn as star markers
    "jpm_method": [
        ("2025-10-23", 92_000, "k", "JPM Oct 2025: $92k (cal §3.12)"),
        ("2028-04-12", 180_000, "w", "JPM after the 2028 halving: $180k (cal §3.12)"),
    ],
    "baseline": [
        ("2025-09-30", 42_956, style.BLUE, "CleanSpark FY2025 energy: $42,956 (cal §1.4)"),
        (
            "2025-09-30",
            82_727,
            style.VERMILLION,
            "CleanSpark FY2025 direct cost: $82,727 (cal §1.4)",
        ),
    ],
}


def jpm_method_usd(epochs: pd.DataFrame, fee_btc_per_block: float) -> np.ndarray:
    """JPM's cost per BTC, USD: the first epoch's network power at $50/MWh over 144 blocks/day."""
    power_mw = float(epochs["network_power_mw"].iloc[0])
    subsidy_per_block = epochs["subsidy_btc"].to_numpy() / RETARGET_INTERVAL
    btc_per_day = BLOCKS_PER_DAY * (subsidy_per_block + fee_btc_per_block)
    return power_mw * HOURS_PER_DAY * JPM_USD_PER_MWH / btc_per_day


def one_run(scenario: sim.Scenario, seed: int) -> dict:
    """Per-epoch costs of one run, their means over the windows around the halving, the
    difficulty over the same windows and the network of the first epoch."""
    epochs = common.run(scenario, seed).epochs
    fee = scenario.config.market.fees.mean_btc_per_block
    series = epochs[["date", "cost_to_mine_cash_usd", "cost_to_mine_allin_usd"]].copy()
    series["jpm_method_usd"] = jpm_method_usd(epochs, fee)
    k = common.halving_epoch(epochs)
    if k is None or k < WINDOW_EPOCHS or k + WINDOW_EPOCHS >= len(epochs):
        raise common.Excluded(
            f"no halving window: fewer than {WINDOW_EPOCHS} epochs on a side of the 2028 halving"
        )
    windows = {}
    for column in [*MEASURES, "difficulty"]:
        values = (series[column] if column in series else epochs[column]).to_numpy()
        windows[column] = (
            values[k - WINDOW_EPOCHS : k].mean(),
            values[k + 1 : k + 1 + WINDOW_EPOCHS].mean(),
        )
    first = epochs.iloc[0]
    start = {
        "hashrate_ehs": float(first["hashrate_ehs"]),
        "efficiency_j_per_th": float(first["network_efficiency_j_per_th"]),
        "power_mw": float(first["network_power_mw"]),
        "jpm_method_usd": float(series["jpm_method_usd"].iloc[0]),
    }
    return {
        "series": series,
        "windows": windows,
        "halving": common.halving_date(epochs),
        "start": start,
    }


def table(results: dict[str, list[dict]]) -> pd.DataFrame:
    rows = []
    for name, runs in results.items():
        complete = [r["windows"] for r in runs]
        for column, label in MEASURES.items():
            before = np.array([w[column][0] for w in complete])
            after = np.array([w[column][1] for w in complete])
            rows.append(
                {
                    "scenario": name,
                    "measure": label,
                    **common.summary_row(before, "before_usd_"),
                    **common.summary_row(after, "after_usd_"),
                    **common.summary_row(after / before, "ratio_"),
                    "runs": len(complete),
                    "published figure it corresponds to": PUBLISHED[(name, column)],
                }
            )
    return pd.DataFrame(rows)


def figure(results: dict[str, list[dict]], grid: pd.DatetimeIndex):
    fig, axes = plots.subplots(1, 2, figsize=(14, 5), sharey=True)
    colors = {
        "jpm_method_usd": style.BLACK,
        "cost_to_mine_cash_usd": style.BLUE,
        "cost_to_mine_allin_usd": style.VERMILLION,
    }
    drawn = []
    for ax, (name, runs) in zip(axes, results.items(), strict=True):
        for column, label in MEASURES.items():
            matrix = np.array(
                [common.on_grid(r["series"]["date"], r["series"][column], grid) for r in runs]
            )
            drawn.append(matrix.ravel())
            if column == "jpm_method_usd":  # deterministic given the start: a line
                ax.plot(grid, np.nanmedian(matrix, axis=0), "k--", lw=1.4, label=label)
            else:
                common.plot_bands(ax, grid, matrix, colors[column], label, inner=False)
        for day, usd, color, text in PUBLISHED_POINTS[name]:
            ax.plot(
                pd.Timestamp(day),
                usd,
                "*",
                ms=14,
                mfc=color,
                mec="k",
                label=text.replace("$", r"\$"),
            )
        halvings = [r["halving"] for r in runs if r["halving"] is not None]
        if halvings:
            common.mark_date(ax, pd.Series(halvings).median(), "2028 halving (median date)")
        ax.set_title(f"{name}: cost to mine one BTC")
        ax.set_xlabel("date")
        ax.grid(alpha=0.3)
        common.legend_with_bands(ax, inner=False, loc="upper left")
    log = style.spans_orders(np.concatenate(drawn))
    for ax in axes:
        if log:
            ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: style.number_text(v / 1e3)))
    axes[0].set_ylabel(r"cost to mine, \$k per BTC" + (" (log scale)" if log else ""))
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: bands in $k per BTC and the after/before ratio."""
    return pd.DataFrame(
        {
            "scenario": tab["scenario"],
            "measure": tab["measure"],
            f"{WINDOW_EPOCHS} epochs before, $k/BTC": common.band_cells(tab, "before_usd", 1e-3),
            f"{WINDOW_EPOCHS} epochs after, $k/BTC": common.band_cells(tab, "after_usd", 1e-3),
            "after / before": common.band_cells(tab, "ratio"),
            "published figure it corresponds to": tab["published figure it corresponds to"],
        }
    )


def body(tab: pd.DataFrame, results: dict[str, list[dict]]) -> list[str]:
    def cell(scenario: str, measure: str) -> pd.Series:
        return tab[(tab["scenario"] == scenario) & (tab["measure"] == MEASURES[measure])].iloc[0]

    lines = []
    for name in SCENARIOS:
        parts = []
        for column, label in MEASURES.items():
            row = cell(name, column)
            parts.append(
                f"{label}: ${row['before_usd_median']:,.0f} -> ${row['after_usd_median']:,.0f} "
                f"(x{row['ratio_median']:.2f}, p5-p95 x{row['ratio_p5']:.2f} to "
                f"x{row['ratio_p95']:.2f})"
            )
        lines.append(
            f"**{name}** (6 epochs before -> 6 after the halving, medians): "
            + "; ".join(parts)
            + "."
        )
    lines.append(construction_sentence(results["jpm_method"][0]["start"]))
    for name in SCENARIOS:
        complete = [r["windows"] for r in results[name]]
        if not complete:
            lines.append(f"**{name}**: no run was usable (see the runs left out below).")
            continue
        difficulty = [w["difficulty"][1] / w["difficulty"][0] for w in complete]
        lines.append(
            response_sentence(
                name,
                jpm_ratio=cell(name, "jpm_method_usd")["ratio_median"],
                cash_ratio=cell(name, "cost_to_mine_cash_usd")["ratio_median"],
                difficulty_ratio=float(np.median(difficulty)),
            )
        )
    return lines


def construction_sentence(start: dict) -> str:
    """Says that the JPM-method figure at the start follows from the scenario's own network."""
    return (
        f"The JPM-method figure at the start (${start['jpm_method_usd']:,.0f} per BTC in "
        f"`jpm_method`, beside JPM's ~$92,000) follows by construction from the scenario's "
        f"inputs: {start['hashrate_ehs']:,.0f} EH/s at {start['efficiency_j_per_th']:.1f} J/TH "
        f"is {start['power_mw'] / 1e3:.1f} GW, at $50/MWh over 144 blocks a day. The scenario "
        "was set to JPM's implied ~33 J/TH (cal §3.12), so the match checks the arithmetic, "
        "not the model."
    )


def response_sentence(
    name: str, jpm_ratio: float, cash_ratio: float, difficulty_ratio: float
) -> str:
    """The halving response in words, each claim worded from the ratios it describes.

    Ratios are after / before the halving (medians over runs): JPM's method, the model's cash
    cost per BTC and the difficulty.
    """
    change = 100 * (difficulty_ratio - 1)
    if abs(change) < 0.5:
        network = "difficulty is about unchanged"
    elif change < 0:
        network = f"difficulty falls {-change:.0f}% (hashrate that no longer covers its power "
        network += "cost switches off or retires)"
    else:
        network = f"difficulty still rises {change:.0f}%"
    if cash_ratio <= 1:
        cost = "does not rise"
    elif np.isclose(cash_ratio, jpm_ratio, rtol=0.01):
        cost = "rises about as much as JPM's"
    elif cash_ratio < jpm_ratio:
        cost = "rises by less than JPM's"
    else:
        cost = "rises by more than JPM's"
    return (
        f"**{name}**: JPM's construction holds the network fixed, so its cost per BTC goes "
        f"x{jpm_ratio:.2f} across the halving; in the model {network}, and the cash cost per BTC "
        f"{cost} (x{cash_ratio:.2f})."
    )


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=40, argv=argv)
    results = {name: common.over_seeds(one_run, name, args) for name in SCENARIOS}
    first = common.scenario(SCENARIOS[0]).config.scenario
    grid = common.date_grid(first.start_date, first.end_date)
    tab = table(results)
    common.write_outputs(
        args,
        figure(results, grid),
        tab,
        "Cost to mine one BTC: JPMorgan's method vs the model, around the 2028 halving",
        body(tab, results),
        display=display(tab),
        references=[
            "JPMorgan cost to mine ~$92,000 (2025-10-23), 'could rise to $180,000 after the 2028 "
            "halving'; electricity only at $0.05/kWh, $18,000 per $0.01/kWh (§3.12, §1.3).",
            "JPM Feb 2024: $26,500 -> $53,000 mechanically at the 2024 halving, $42,000 if "
            "hashrate fell 20% (§3.12).",
            "CleanSpark FY2025: energy $42,956 + depreciation $39,727 = $82,727 direct cost per "
            "BTC (§1.4).",
            "Riot Q3 2025 $46,324 per BTC excl. depreciation; MARA energy $39,235 (§3.11).",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
