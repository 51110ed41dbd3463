"""Figures of a results folder: Monte Carlo bands over runs, one run drawn as an example; and
:func:`draw_runs`, the bands of a (runs x dates) matrix that the experiments draw.

Each figure takes ``bands`` (quantiles over runs on a common date grid, as
:func:`sim.analysis.summary.fan_quantiles` returns them: rows of column, date, p5 ... p95, runs)
and/or ``example`` (one run's ``epochs`` frame, the output contract), so the same figure serves
a single run, a batch and ``minersim main`` (a batch with one run drawn over it). Figures are
plain :class:`matplotlib.figure.Figure` objects (no pyplot, no global backend change); names and
units of the columns come from :mod:`sim.analysis.style`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.analysis import style
from sim.consensus import HALVING_INTERVAL
from sim.engine.record import NETWORK_SERIES

#: Columns the run figures draw (the batch report reads only these and the height).
FIGURE_COLUMNS = NETWORK_SERIES


class Layers:
    """What one figure draws for a column: the bands over runs and/or the example run."""

    def __init__(
        self, bands: pd.DataFrame | None, example: pd.DataFrame | None, example_label: str
    ):
        if bands is None and example is None:
            raise ValueError("a figure needs bands, an example run or both")
        self.bands, self.example, self.example_label = bands, example, example_label
        self.runs = int(bands["runs"].iloc[0]) if bands is not None and len(bands) else 0
        self.inner: dict = {}  # axes -> whether every band on it has its p25-p75 drawn
        self.drawn: dict = {}  # axes -> the values drawn on it (display units)

    def draw(
        self, ax, column: str, color: str, label: str | None = None, inner: bool = True
    ) -> None:
        """Bands (median, p25-p75 unless ``inner`` is false, p5-p95) and the example run of
        ``column``, scaled to the column's display unit."""
        q = style.quantity(column)
        label = label or q.label
        if self.bands is not None:
            rows = self.bands[self.bands["column"] == column]
            p = {k: rows[f"p{k}"].to_numpy(dtype=float) * q.scale for k in (5, 25, 50, 75, 95)}
            median = f"{label} (median of {self.runs} runs)"
            style.draw_bands(ax, rows["date"], p, color, median, inner=inner)
            self.inner[ax] = self.inner.get(ax, True) and inner
            self.drawn.setdefault(ax, []).extend([p[5], p[95]])
        if self.example is not None:
            banded = self.bands is not None
            values = self.example[column].to_numpy(dtype=float) * q.scale
            self.drawn.setdefault(ax, []).append(values)
            ax.plot(
                self.example["date"],
                values,
                color=color,
                lw=1.0 if banded else 1.6,
                ls="--" if banded else "-",
                label="_example" if banded else label,  # one legend entry for all: finish()
            )

    def finish(self, ax, title: str, ylabel: str, log: bool | None = None) -> None:
        """Title, y label, plain ticks (log ticks at 1-2-5), grid, halving mark, legend.

        ``log=None``: a log axis when what was drawn spans orders of magnitude
        (:func:`sim.analysis.style.spans_orders`), said in the y label."""
        if self.bands is None:
            title += f" ({self.example_label})"
        if log is None:
            drawn = self.drawn.get(ax, [])
            log = style.spans_orders(np.concatenate(drawn)) if drawn else False
            ylabel += " (log scale)" if log else ""
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel.replace("$", r"\$"))
        style.log_ticks(ax) if log else style.plain_ticks(ax)
        ax.grid(alpha=0.3, which="major")
        for when in self.halving_dates():
            style.mark_date(ax, when, "halving")
        self.legend(ax)

    def legend(self, ax, **kwargs) -> None:
        """Entries for the medians (or the run's lines), one for the dashed example run, and the
        two band shadings."""
        handles, labels = ax.get_legend_handles_labels()
        if self.bands is None:
            ax.legend(handles, labels, loc="best", fontsize=8, **kwargs)
            return
        keep = [h for h, label in zip(handles, labels, strict=True) if label != "_example"]
        if self.example is not None:
            keep.append(Line2D([], [], color="grey", ls="--", lw=1.0, label=self.example_label))
        bands = style.band_legend_handles(self.inner.get(ax, True))
        ax.legend(handles=keep + bands, loc="best", fontsize=8, **kwargs)

    def halving_dates(self) -> list[pd.Timestamp]:
        """Dates on which the example run (else the median height) crosses a halving height."""
        if self.example is not None:
            dates, heights = self.example["date"], self.example["height"].to_numpy()
        elif "height" in set(self.bands["column"]):
            rows = self.bands[self.bands["column"] == "height"]
            dates, heights = rows["date"], rows["p50"].to_numpy()
        else:
            return []
        era = np.floor_divide(heights, HALVING_INTERVAL)
        crossings = np.flatnonzero(np.diff(era) > 0) + 1
        return [pd.Timestamp(dates.iloc[i]) for i in crossings]


def draw_runs(
    ax,
    x,
    runs: np.ndarray,
    color: str,
    label: str,
    lw: float = 1.6,
    mean: bool = False,
    inner: bool = True,
) -> None:
    """p25-p75 and p5-p95 shading of ``runs`` (rows = runs, columns = x) and the median line
    (the mean with ``mean=True``, e.g. for survival shares, whose median is 0 or 1); no p25-p75
    with ``inner=False`` (several series whose bands overlap on one axes)."""
    p = style.percentiles(runs)
    if mean:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            p[50] = np.nanmean(runs, axis=0)
    style.draw_bands(ax, x, p, color, f"{label} ({'mean' if mean else 'median'})", lw, inner)


def figure(figsize, layout=None) -> Figure:
    """A :class:`~matplotlib.figure.Figure` without pyplot (no global backend, nothing to
    close): the figures of the package, the experiments' included, start here or in
    :func:`subplots`."""
    return Figure(figsize=figsize, layout=layout)


def subplots(rows: int = 1, cols: int = 1, *, figsize, layout=None, **kwargs):
    """A :func:`figure` and its axes, as ``pyplot.subplots`` returns them."""
    fig = figure(figsize, layout)
    return fig, fig.subplots(rows, cols, **kwargs)


def _figure(rows: int = 1, cols: int = 1, size=(9, 4), **kwargs):
    fig, axes = subplots(rows, cols, figsize=size, layout="constrained", squeeze=False, **kwargs)
    return fig, axes.ravel()


def _dates(fig: Figure, axes: Sequence) -> None:
    for ax in axes:
        ax.set_xlabel("date")
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")


def network(layers: Layers) -> Figure:
    """Network hashrate (EH/s) and difficulty (T), one panel each."""
    fig, (top, bottom) = _figure(2, 1, size=(9, 6.5), sharex=True)
    layers.draw(top, "hashrate_ehs", style.BLUE)
    layers.finish(top, "Network hashrate", style.quantity("hashrate_ehs").header)
    layers.draw(bottom, "difficulty", style.VERMILLION)
    layers.finish(bottom, "Difficulty", style.quantity("difficulty").header)
    _dates(fig, [bottom])
    return fig


def price_vs_cost(layers: Layers) -> Figure:
    """BTC price against the network's cash and all-in cost to mine one BTC ($k, log scale).

    With bands: the price's band against the costs' medians above, the costs' bands below (three
    overlapping bands in one panel cannot be read)."""
    costs = {"cost_to_mine_cash_usd": style.BLUE, "cost_to_mine_allin_usd": style.VERMILLION}
    names = {
        "cost_to_mine_cash_usd": "cash cost (electricity)",
        "cost_to_mine_allin_usd": "all-in cost",
    }
    ylabel = "$k per BTC (log scale)"
    if layers.bands is None:
        fig, (ax,) = _figure(size=(9, 4.8))
        layers.draw(ax, "btc_price_usd", style.BLACK)
        for column, color in costs.items():
            layers.draw(ax, column, color, names[column])
        layers.finish(ax, "BTC price and the cost to mine one BTC", ylabel, log=True)
        _dates(fig, [ax])
        return fig
    fig, (top, bottom) = _figure(2, 1, size=(9, 8), sharex=True, sharey=True)
    layers.draw(top, "btc_price_usd", style.BLACK)
    for column, color in costs.items():
        rows = layers.bands[layers.bands["column"] == column]
        top.plot(
            rows["date"], rows["p50"] * 1e-3, color=color, lw=1.4, label=f"{names[column]} (median)"
        )
    layers.finish(top, "BTC price against the median cost to mine one BTC", ylabel, log=True)
    for column, color in costs.items():
        layers.draw(bottom, column, color, names[column], inner=False)
    layers.finish(bottom, "Cost to mine one BTC: cash (electricity) and all-in", ylabel, log=True)
    _dates(fig, [bottom])
    return fig


def hashprice(layers: Layers) -> Figure:
    """Realised hashprice, $/PH/day."""
    fig, (ax,) = _figure(size=(9, 3.8))
    layers.draw(ax, "hashprice_usd_per_ph_day", style.GREEN)
    layers.finish(ax, "Hashprice", style.quantity("hashprice_usd_per_ph_day").header)
    _dates(fig, [ax])
    return fig


def debt_and_capacity(layers: Layers) -> Figure:
    """Public miners' debt ($bn); mining and AI/HPC capacity (GW)."""
    fig, (left, right) = _figure(1, 2, size=(12, 4.4))
    layers.draw(left, "total_debt_usd", style.PURPLE, "debt")
    layers.finish(left, "Public miners' debt outstanding", style.quantity("total_debt_usd").header)
    layers.draw(right, "mining_capacity_mw", style.BLUE, "mining")
    layers.draw(right, "ai_capacity_mw", style.GREEN, "AI/HPC")
    layers.finish(right, "Capacity: mining fleet vs AI/HPC", "GW")
    _dates(fig, [left, right])
    return fig


def public_miners(miners: pd.DataFrame, example_label: str) -> Figure:
    """Each public miner's market capitalisation ($bn) and AI/HPC share of its capacity (%) in
    one run."""
    public = miners[miners["kind"] == "public"]
    fig, (left, right) = _figure(1, 2, size=(12, 4.6))
    colors = [*style.PALETTE, "#999999", "#882255", "#44AA99", "#117733"]
    for k, (name, rows) in enumerate(public.groupby("name", sort=False)):
        color, ls = colors[k % len(colors)], "-" if k < len(colors) else "--"
        cap = rows["market_cap_usd"].where(rows["market_cap_usd"] > 0) / 1e9  # 0: defaulted
        left.plot(rows["date"], cap, color=color, ls=ls, label=name)
        total = rows["mining_mw"] + rows["ai_mw"]
        share = 100 * rows["ai_mw"] / total.where(total > 0)
        right.plot(rows["date"], share, color=color, ls=ls, label=name)
    left.set_title(f"Market capitalisation ({example_label})", fontsize=10)
    left.set_ylabel(r"market cap, \$bn (log scale; a line ends at default)")
    right.set_title(f"AI/HPC share of capacity ({example_label})", fontsize=10)
    right.set_ylabel("AI/HPC share of mining + AI MW, %")
    style.log_ticks(left)
    style.plain_ticks(right)
    for ax in (left, right):
        ax.grid(alpha=0.3)
    right.set_ylim(-2, 102)
    fig.legend(
        *left.get_legend_handles_labels(), loc="outside right center", fontsize=8, frameon=False
    )
    _dates(fig, [left, right])
    return fig


#: The per-miner panels of :func:`public_miner_bands`: column, title, unit, scale, log axis.
MINER_PANELS = (
    ("market_cap_usd", "market cap", r"\$bn", 1e-9, True),
    ("ai_share_pct", "AI/HPC share of capacity", "%", 1.0, False),
)


def public_miner_bands(
    bands: dict[str, pd.DataFrame], example: pd.DataFrame | None, example_label: str
) -> Figure:
    """Each public miner's market cap ($bn, log scale) and AI/HPC share of its capacity (%) over
    the runs: one row of panels per miner, p5-p95 and p25-p75 bands with the median (``bands``:
    miner name -> quantiles as :func:`sim.analysis.summary.fan_quantiles` returns them), and the
    example run dashed (``example``: its miners table, or None)."""
    names = list(bands)
    fig, axes = _figure(len(names), len(MINER_PANELS), size=(12, 2.3 * len(names)), sharex=True)
    axes = axes.reshape(len(names), len(MINER_PANELS))
    for row, name in enumerate(names):
        for col, (column, title, unit, scale, log) in enumerate(MINER_PANELS):
            ax = axes[row, col]
            rows = bands[name][bands[name]["column"] == column]
            p = {k: rows[f"p{k}"].to_numpy(dtype=float) * scale for k in (5, 25, 50, 75, 95)}
            style.draw_bands(ax, rows["date"], p, style.BLUE, "median of the runs")
            if example is not None:
                mine = example[example["name"] == name]
                ax.plot(mine["date"], mine[column] * scale, color=style.BLACK, lw=1.0, ls="--")
            ax.set_title(f"{name}: {title}, {unit}", fontsize=9)
            style.log_ticks(ax) if log else style.plain_ticks(ax)
            ax.grid(alpha=0.3)
    handles = style.band_legend_handles()
    if example is not None:
        handles.append(Line2D([], [], color=style.BLACK, ls="--", lw=1.0, label=example_label))
    runs = int(next(iter(bands.values()))["runs"].iloc[0]) if bands else 0
    fig.legend(
        handles=[Line2D([], [], color=style.BLUE, label=f"median of {runs} runs"), *handles],
        loc="outside upper center",
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    _dates(fig, axes[-1])
    return fig


def fan(bands: pd.DataFrame, column: str) -> Figure:
    """One column's quantiles over runs (``minersim summarize``'s fan_COLUMN.png)."""
    layers = Layers(bands[bands["column"] == column], None, "")
    q = style.quantity(column)
    fig, (ax,) = _figure(size=(8, 4.2))
    layers.draw(ax, column, style.BLUE)
    layers.finish(ax, f"{q.label[:1].upper()}{q.label[1:]} over {layers.runs} runs", q.header)
    _dates(fig, [ax])
    return fig


RUN_FIGURES = {
    "network": network,
    "price_vs_cost": price_vs_cost,
    "hashprice": hashprice,
    "debt_and_capacity": debt_and_capacity,
}


__all__ = [
    "FIGURE_COLUMNS",
    "RUN_FIGURES",
    "Layers",
    "draw_runs",
    "fan",
    "figure",
    "public_miner_bands",
    "public_miners",
    "subplots",
]
