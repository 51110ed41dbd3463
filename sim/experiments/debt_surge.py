"""Public miners' debt over time, split into senior secured notes and convertibles.

Steps ``sim.MiningModel`` through ``baseline`` and reads ``model.view.debt`` (owner, instrument,
principal_usd) after every epoch: principal outstanding of the public miners by instrument.
The observed surge, $2.1B -> $12.7B in the year to Oct 2025 (VanEck, data/sources.md §3.10),
and the scenario's own notes by issue date (scenarios/debt_2025.csv) are drawn for context.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import sim
from sim.analysis import plots, style
from sim.experiments import common
from sim.finance import CONVERTIBLE, SECURED

NAME = "debt_surge"
SCENARIO = "baseline"
INSTRUMENTS = {"secured_usd": SECURED, "convertible_usd": CONVERTIBLE}
LABELS = {
    "secured_usd": "senior secured",
    "convertible_usd": "convertible",
    "total_usd": "total",
}
COLORS = {"secured_usd": style.BLUE, "convertible_usd": style.VERMILLION, "total_usd": style.BLACK}
VANECK = (("2024-10-15", 2.1e9), ("2025-10-15", 12.7e9))  # cal §3.10, Oct 2025 ChainCheck, y/y


class DebtMismatchError(RuntimeError):
    """The debt instruments do not add up to the model's total debt: the experiment stops."""


def check_totals(frame: pd.DataFrame, total_debt_usd: np.ndarray, seed: int) -> None:
    """Raise DebtMismatchError unless secured + convertible principal equals ``total_debt_usd``
    in every epoch (to 1e-9 relative or 1 USD)."""
    parts = frame[list(INSTRUMENTS)].sum(axis=1).to_numpy()
    if len(parts) != len(total_debt_usd):
        raise DebtMismatchError(
            f"{NAME}: seed {seed}: {len(parts)} epochs of instrument debt, "
            f"{len(total_debt_usd)} of total_debt_usd"
        )
    bad = ~np.isclose(parts, total_debt_usd, rtol=1e-9, atol=1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DebtMismatchError(
            f"{NAME}: seed {seed}: epoch {i}: secured + convertible principal "
            f"${parts[i]:,.0f} != total_debt_usd ${total_debt_usd[i]:,.0f} "
            f"({int(bad.sum())} epochs differ)"
        )


def debt_by_instrument(model: sim.MiningModel) -> dict[str, float]:
    """Principal outstanding of public miners per instrument, USD."""
    v = model.view
    debt = v.debt
    public = debt.owner < v.n_public
    return {
        column: float(debt.principal_usd[public & (debt.instrument == code)].sum())
        for column, code in INSTRUMENTS.items()
    }


def one_run(scenario: sim.Scenario, seed: int) -> pd.DataFrame:
    """Debt by instrument after each epoch of one run (USD), with the epoch dates."""
    model = sim.MiningModel(scenario, seed=seed)
    rows = []
    while model.running:
        epoch = model.epoch
        model.step()
        if model.epoch > epoch:  # an epoch was recorded
            rows.append(debt_by_instrument(model))
    frame = pd.DataFrame(rows, columns=list(INSTRUMENTS))
    epochs = common.sound(model.result()).epochs
    check_totals(frame, epochs["total_debt_usd"].to_numpy(), seed)
    frame["total_usd"] = epochs["total_debt_usd"].to_numpy()
    frame.insert(0, "date", epochs["date"].to_numpy())
    return frame


def notes_by_issue_date(scenario: sim.Scenario) -> pd.Series:
    """Cumulative principal of the scenario's debt table by issue date, USD (input data)."""
    notes = scenario.debt.assign(issue_date=pd.to_datetime(scenario.debt["issue_date"]))
    return notes.groupby("issue_date")["principal_usd"].sum().sort_index().cumsum()


def figure(runs: list[pd.DataFrame], grid: pd.DatetimeIndex, notes: pd.Series):
    fig, ax = plots.subplots(figsize=(11, 5))
    for column, label in LABELS.items():
        matrix = np.array([common.on_grid(r["date"], r[column], grid) for r in runs]) / 1e9
        common.plot_bands(ax, grid, matrix, COLORS[column], f"model {label}", inner=False)
    ax.step(
        notes.index,
        notes.to_numpy() / 1e9,
        where="post",
        color="grey",
        lw=1.2,
        label="scenario notes by issue date (debt_2025.csv, cumulative)",
    )
    dates, values = zip(*VANECK, strict=True)
    ax.plot(
        pd.to_datetime(dates),
        np.array(values) / 1e9,
        "D--",
        color=style.GREEN,
        ms=8,
        label=r"VanEck: miner debt \$2.1B -> \$12.7B y/y to Oct 2025 (cal §3.10)",
    )
    ax.set_ylabel(r"principal outstanding, \$bn")
    style.plain_ticks(ax)
    ax.set_xlabel("date")
    ax.set_title(f"Public miners' debt by instrument ({SCENARIO}, {len(runs)} runs)")
    ax.grid(alpha=0.3)
    common.legend_with_bands(ax, inner=False, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def table(runs: list[pd.DataFrame], dates: pd.DatetimeIndex) -> pd.DataFrame:
    frame = pd.DataFrame({"date": [d.date().isoformat() for d in dates]})
    for column in LABELS:
        matrix = np.array([common.on_grid(r["date"], r[column], dates) for r in runs]) / 1e9
        frame = frame.assign(**common.band_columns(f"{column.removesuffix('_usd')}_usd_bn", matrix))
    return frame


def display(tab: pd.DataFrame) -> pd.DataFrame:
    """The Markdown table: principal outstanding by instrument, $bn, median (p5 to p95)."""
    shown = pd.DataFrame({"date": tab["date"]})
    for column, label in LABELS.items():
        shown[f"{label}, $bn"] = common.band_cells(tab, f"{column.removesuffix('_usd')}_usd_bn")
    return shown


def body(runs: list[pd.DataFrame], notes: pd.Series) -> list[str]:
    def billions(values) -> list[float]:
        return [v / 1e9 for v in values]

    first = [r.iloc[0] for r in runs]
    last = [r.iloc[-1] for r in runs]
    peak = billions(r["total_usd"].max() for r in runs)
    month_end = pd.Timestamp(VANECK[1][0]) + pd.offsets.MonthEnd(0)
    at_vaneck = billions(
        common.on_grid(r["date"], r["total_usd"], pd.DatetimeIndex([month_end]))[0] for r in runs
    )
    in_table = notes[notes.index <= month_end].iloc[-1] / 1e9
    share = [100 * x["secured_usd"] / max(x["total_usd"], 1.0) for x in last]
    usd = "${:.1f}B"
    return [
        f"The first epoch ends with {common.fmt_range(billions(x['total_usd'] for x in first), usd)}"
        f" of public-miner debt (secured "
        f"{common.fmt_range(billions(x['secured_usd'] for x in first), usd)}). The scenario's "
        "notes issued after 2025-10-01 arrive, with their cash, on their issue dates. At the end "
        f"of {month_end:%b %Y} the model holds {common.fmt_range(at_vaneck, usd)} against "
        f"VanEck's $12.7B (cal §3.10); " + notes_clause(float(np.median(at_vaneck)), in_table),
        f"By the end of the run the total is {common.fmt_range(billions(x['total_usd'] for x in last), usd)}"
        f" (peak over the run {common.fmt_range(peak, usd)}); senior secured notes are "
        f"{common.fmt_range(share, '{:.0f}%')} of it.",
    ]


def notes_clause(model_bn: float, notes_bn: float) -> str:
    """Compares the model's median debt with the scenario's notes issued by the same date."""
    text = f"the scenario's notes issued by then add up to ${notes_bn:.1f}B"
    gap = model_bn - notes_bn
    if abs(gap) < 0.05:
        return text + ", about all of the model's debt."
    if gap > 0:
        return text + f", the other ${gap:.1f}B (median) is the model's own borrowing."
    return (
        text + f": the model holds ${-gap:.1f}B (median) less, repaid, converted or written "
        "off in default."
    )


def main(argv=None) -> None:
    args = common.parse_args(NAME, __doc__.splitlines()[0], default_runs=40, argv=argv)
    runs = common.over_seeds(one_run, SCENARIO, args)
    spec = common.scenario(SCENARIO)
    start, end = spec.config.scenario.start_date, spec.config.scenario.end_date
    grid = common.date_grid(start, end)
    notes = notes_by_issue_date(spec)
    yearly = pd.DatetimeIndex([pd.Timestamp(start)]).append(
        pd.date_range(f"{start.year + 1}-01-01", end, freq="YS")
    )
    tab = table(runs, yearly)
    common.write_outputs(
        args,
        figure(runs, grid, notes),
        tab,
        "Debt surge: public miners' debt by instrument",
        body(runs, notes),
        display=display(tab),
        references=[
            "VanEck (Oct 2025 ChainCheck): miner debt $2.1B -> $12.7B year on year (§3.10).",
            "The Miner Mag: debt + convertible offerings by 15 public miners $4.6B (Q4 2024), "
            "$0.2B (early 2025), $1.5B (Q2 2025) (§3.10).",
            "H2-2025 debt: mostly 0-1.375% converts plus 7.125-8.0% senior secured project "
            "notes (§1.6, §3.10).",
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
