"""A Markdown report of a results folder: the run's figures and tables, plus any experiments.

Layout read (all optional except the run tables):

    DIR/epochs.parquet, DIR/miners.parquet      one run (``minersim run``)
    DIR/experiments/NAME/*.png, *.md             experiment outputs (``experiments/NAME.py``)

Written: ``DIR/report.md`` and ``DIR/figures/*.png``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.analysis import plots
from sim.errors import MinersimError


def write_report(results_dir: str | Path) -> Path:
    """Build ``report.md`` in ``results_dir``; returns its path."""
    root = Path(results_dir)
    epochs_file, miners_file = root / "epochs.parquet", root / "miners.parquet"
    if not epochs_file.exists():
        raise MinersimError(
            f"{root}: no epochs.parquet here (run `minersim run SCENARIO --out {root}` first)"
        )
    epochs = pd.read_parquet(epochs_file)
    miners = pd.read_parquet(miners_file) if miners_file.exists() else None
    figures = root / "figures"
    figures.mkdir(exist_ok=True)
    lines = [f"# minersim report: {root.name}", "", _headline(epochs), ""]
    if epochs.attrs.get("stalled"):  # written by `minersim run` (sim/cli/run.py)
        lines += [
            f"**Warning: the chain stalled.** The run stopped on {epochs['date'].iloc[-1]:%Y-%m-%d}, "
            f"before its end date {epochs.attrs.get('end_date', '')}: too little hashrate for "
            "the difficulty, so no more blocks came. Figures end there.",
            "",
        ]
    for name, make in plots.RUN_FIGURES.items():
        _save(make(epochs), figures / f"{name}.png")
        lines += [f"![{name}](figures/{name}.png)", ""]
    if miners is not None:
        _save(plots.public_miners(miners), figures / "public_miners.png")
        lines += [
            "![public miners](figures/public_miners.png)",
            "",
            "## Public miners at the end",
            "",
        ]
        lines += [_final_miners_table(miners), ""]
    lines += ["## Yearly summary", "", _yearly_table(epochs), ""]
    lines += _experiment_sections(root / "experiments")
    out = root / "report.md"
    out.write_text("\n".join(lines))
    return out


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _headline(epochs: pd.DataFrame) -> str:
    first, last = epochs.iloc[0], epochs.iloc[-1]
    return (
        f"{len(epochs)} epochs from {first['date']:%Y-%m-%d} to {last['date']:%Y-%m-%d}. "
        f"Hashrate {first['hashrate_ehs']:,.0f} -> {last['hashrate_ehs']:,.0f} EH/s; "
        f"BTC {first['btc_price_usd']:,.0f} -> {last['btc_price_usd']:,.0f} USD; "
        f"cost to mine (cash) {first['cost_to_mine_cash_usd']:,.0f} -> {last['cost_to_mine_cash_usd']:,.0f} USD; "
        f"public miners' debt {last['total_debt_usd'] / 1e9:,.1f} bn USD at the end; "
        f"{int(last['miners_defaulted'])} of {int(last['miners_active'] + last['miners_defaulted'])} public miners defaulted."
    )


def _yearly_table(epochs: pd.DataFrame) -> str:
    columns = {
        "hashrate_ehs": "hashrate EH/s",
        "btc_price_usd": "BTC USD",
        "hashprice_usd_per_ph_day": "hashprice USD/PH/day",
        "cost_to_mine_cash_usd": "cash cost USD/BTC",
        "cost_to_mine_allin_usd": "all-in cost USD/BTC",
        "ai_capacity_mw": "AI MW",
        "total_debt_usd": "debt USD",
    }
    yearly = epochs.groupby(epochs["date"].dt.year)[list(columns)].mean().rename(columns=columns)
    return yearly.round(1).to_markdown(floatfmt=",.0f")


def _final_miners_table(miners: pd.DataFrame) -> str:
    last = miners[(miners["epoch"] == miners["epoch"].max()) & (miners["kind"] == "public")]
    cols = [
        "name",
        "hashrate_ehs",
        "btc_held",
        "cash_usd",
        "debt_usd",
        "market_cap_usd",
        "mining_mw",
        "ai_mw",
        "action",
        "defaulted",
    ]
    return last[cols].to_markdown(index=False, floatfmt=",.1f")


def _experiment_sections(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    lines = ["## Experiments", ""]
    for exp in sorted(p for p in folder.iterdir() if p.is_dir()):
        lines += [f"### {exp.name}", ""]
        for png in sorted(exp.glob("*.png")):
            lines += [f"![{exp.name}]({png.relative_to(folder.parent).as_posix()})", ""]
        for md in sorted(exp.glob("*.md")):
            lines += [_demote_headings(md.read_text().strip(), levels=3), ""]
    return lines


def _demote_headings(markdown: str, levels: int) -> str:
    """Nest a page's Markdown headings under this report's (``#`` -> ``####`` for 3 levels)."""
    return "\n".join(
        "#" * levels + line if line.startswith("#") else line for line in markdown.splitlines()
    )
