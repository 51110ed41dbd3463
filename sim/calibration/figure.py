"""The fit figure: simulated monthly difficulty (runs of the fitted values) and the free-entry
benchmark against history, 2016-2021, with the fit window, the rolling-origin check (the same
values run again from the real 2020-01-01 state), the halvings and China's 2021 mining ban (an
exogenous outage in the runs) marked; below, the monthly log errors.

Run ``python -m sim.calibration.figure [--abm FIT.json] --out PNG`` (docs/calibration.png is
made this way), or ``minersim calibrate SPEC --figure PNG``. The figure is drawn on a
:class:`matplotlib.figure.Figure` (no pyplot), so it never changes the caller's backend.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from sim import history as sim_history
from sim.calibration import benchmark
from sim.calibration.moments import HISTORY_HALVINGS
from sim.calibration.results import read_fit
from sim.outputs import save_figure

#: China's mining ban: hashrate fell by about half from May to July 2021 (an exogenous outage in
#: the history scenarios, data/sources.md §6.3).
CHINA_BAN = (pd.Timestamp("2021-05-01"), pd.Timestamp("2021-07-31"))
SHOWN = (pd.Timestamp("2016-01-01"), pd.Timestamp("2021-12-31"))


def fit_figure(abm: dict | None = None, params: benchmark.BenchmarkParams | None = None) -> Figure:
    """The figure for an ABM calibration's statistics (``read_fit``) and/or the benchmark."""
    fig = Figure(figsize=(12, 8.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2.2, 1])
    history = sim_history.monthly_log_mean(sim_history.difficulty()).loc[SHOWN[0] : SHOWN[1]]
    top.plot(history.index, np.exp(history) / 1e12, color="k", lw=1.6, label="history")
    windows = _windows(abm)
    if abm is not None:
        _abm(top, bottom, abm, history)
    params = params or benchmark.load_fit()
    _benchmark(top, bottom, params, windows, history)
    for ax, annotate in ((top, True), (bottom, False)):
        _marks(ax, windows, annotate)
        ax.grid(alpha=0.3, which="both")
    top.set_yscale("log")
    top.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    top.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    top.yaxis.set_minor_formatter(NullFormatter())
    top.set_ylabel("difficulty, T (monthly mean, log scale)")
    top.legend(fontsize=8, loc="center right")
    top.set_title(_title(abm, windows))
    bottom.axhline(0, color="k", lw=0.8)
    bottom.set_ylabel("log(simulated / history)")
    bottom.set_xlabel("month")
    bottom.legend(fontsize=8, loc="upper left")
    bottom.set_xlim(SHOWN[0] - pd.Timedelta(days=20), SHOWN[1] + pd.Timedelta(days=20))
    return fig


def save_fit_figure(
    abm: dict | None, path: str | Path, params: benchmark.BenchmarkParams | None = None
) -> Path:
    """Draw :func:`fit_figure` into a PNG file; its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fit_figure(abm, params), path, dpi=110)
    return path


def _windows(abm: dict | None) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """The fit and validation windows (the ABM's when given, else the benchmark's)."""
    if abm is not None:
        out = {"fit": tuple(map(pd.Timestamp, abm["fit"]["window"]))}
        if abm.get("validation"):
            out["validation"] = tuple(map(pd.Timestamp, abm["validation"]["window"]))
        return out
    return {
        "fit": (benchmark.FIT_WINDOW.start, benchmark.FIT_WINDOW.end),
        "validation": (benchmark.VALIDATION_WINDOW.start, benchmark.VALIDATION_WINDOW.end),
    }


def _abm(top, bottom, abm: dict, history: pd.Series) -> None:
    """Range of the runs (shaded) and their mean log difficulty (line) on each period."""
    runs_label = f"{len(abm['seeds'])} runs: range, mean"
    labels = {
        "fit": f"agent-based model, '{abm['name']}' fitted, from 2016-01 ({runs_label})",
        "validation": "agent-based model, the same values from the 2020-01 origin (mean)",
    }
    for period in ("fit", "validation"):
        stats = abm.get(period)
        if not stats:
            continue
        label = labels[period]
        months = pd.DatetimeIndex(stats["paths"]["months"])
        runs = np.array(stats["paths"]["runs"], dtype=float)
        mean = runs.mean(axis=0)
        style = {"color": "C0", "lw": 1.4, "ls": "-" if period == "fit" else ":"}
        if period == "fit":
            top.fill_between(
                months, np.exp(runs.min(axis=0)) / 1e12, np.exp(runs.max(axis=0)) / 1e12,
                color="C0", alpha=0.25, lw=0,
            )  # fmt: skip
        top.plot(months, np.exp(mean) / 1e12, label=label, **style)
        error = mean - history.reindex(months).to_numpy()
        bottom.plot(months, error, label=label, **style)


def _benchmark(top, bottom, params, windows, history: pd.Series) -> None:
    """The benchmark from the observed state before the fit window, and again before the
    rolling origin (dotted)."""
    label = (
        f"free-entry benchmark (b = {params.b:.2f}, lam = {params.lam:.2f}/month, "
        f"L = {params.lag_months} month{'s' if params.lag_months != 1 else ''})"
    )
    origins = {"--": (windows["fit"][0], label)}
    if "validation" in windows:
        origins[":"] = (windows["validation"][0], "free-entry benchmark from the 2020-01 origin")
    for style, (start, name) in origins.items():
        path = benchmark.difficulty_path(start, SHOWN[1], params)
        top.plot(path.index, path / 1e12, color="C1", lw=1.4, ls=style, label=name)
        error = np.log(path.to_numpy()) - history.reindex(path.index).to_numpy()
        bottom.plot(path.index, error, color="C1", lw=1.4, ls=style, label=name)


def _marks(ax, windows, annotate: bool) -> None:
    colors = {"fit": "C2", "validation": "C4"}
    names = {"fit": "fit window", "validation": "rolling origin"}
    for name, (start, end) in windows.items():
        ax.axvspan(start, end, color=colors[name], alpha=0.07, lw=0, label=None)
    ax.axvspan(*CHINA_BAN, color="C3", alpha=0.18, lw=0)
    for day in HISTORY_HALVINGS.values():
        ax.axvline(day, color="grey", ls=":", lw=1)
    if annotate:
        for name, (start, _) in windows.items():
            ax.annotate(
                names[name],
                (start, 1),
                xycoords=("data", "axes fraction"),
                xytext=(4, -12),
                textcoords="offset points",
                fontsize=8,
                color=colors[name],
            )
        ax.annotate(
            "China mining ban\n(an exogenous outage)",
            (CHINA_BAN[0], 0.02),
            xycoords=("data", "axes fraction"),
            xytext=(-4, 4),
            textcoords="offset points",
            fontsize=8,
            color="C3",
            ha="right",
        )
        for day in HISTORY_HALVINGS.values():
            ax.annotate(
                "halving",
                (day, 0.02),
                xycoords=("data", "axes fraction"),
                xytext=(3, 4),
                textcoords="offset points",
                fontsize=8,
                color="grey",
            )


def _title(abm: dict | None, windows) -> str:
    fit = benchmark.fit_summary()
    parts = [
        f"Benchmark RMSE of monthly log difficulty {fit['rmse_fit']:.3f} in sample, "
        f"{fit['rmse_validation']:.3f} from the 2020 origin"
    ]
    if abm is not None:
        text = f"ABM '{abm['name']}' {abm['fit']['rmse_log_difficulty']:.3f} in sample"
        if abm.get("validation"):
            text += f", {abm['validation']['rmse_log_difficulty']:.3f} from the 2020 origin"
        parts.append(text)
    return "Fits to monthly difficulty, 2016-2021\n" + "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.calibration.figure", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--abm", type=Path, help="statistics of a calibration (.fit.json)")
    parser.add_argument("--out", type=Path, required=True, help="PNG file to write")
    args = parser.parse_args(argv)
    abm = read_fit(args.abm) if args.abm else None
    print(f"wrote {save_fit_figure(abm, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
