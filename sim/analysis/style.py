"""How minersim's figures look: readable names and units of the output columns, colours, axes
without offsets or scientific ticks, and Monte Carlo bands that stay distinct where they overlap.

Every figure module (run figures, batch summaries, experiments) draws through these helpers, so
a column is called the same thing, in the same unit, everywhere.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from sim.units import HASHPRICE_UNIT

#: Okabe-Ito colours: distinct for colour-blind readers and where translucent bands overlap
#: (blue over vermillion stays two colours; matplotlib's blue over orange turns brown).
BLUE, VERMILLION, GREEN, PURPLE = "#0072B2", "#D55E00", "#009E73", "#CC79A7"
ORANGE, SKY, YELLOW, BLACK = "#E69F00", "#56B4E9", "#F0E442", "#000000"
PALETTE = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, BLACK)

#: Percentiles drawn as bands: the outer band (p5-p95) and the inner band (p25-p75).
OUTER, INNER = (5, 95), (25, 75)


@dataclass(frozen=True)
class Quantity:
    """How an output column is shown: ``label`` (readable name), ``unit`` (after scaling) and
    ``scale`` (multiply the column by it: 1e-9 turns USD into $bn)."""

    label: str
    unit: str
    scale: float = 1.0

    @property
    def header(self) -> str:
        """``label, unit`` as a table header."""
        return f"{self.label}, {self.unit}" if self.unit else self.label

    @property
    def axis_label(self) -> str:
        """The header for a matplotlib axis (``$`` escaped: two of them would start mathtext)."""
        return self.header.replace("$", r"\$")


#: Epoch columns (docs/outputs.md) as figures and tables show them.
QUANTITIES = {
    "hashrate_ehs": Quantity("network hashrate", "EH/s"),
    "difficulty": Quantity("difficulty", "T (10^12)", 1e-12),
    "btc_price_usd": Quantity("BTC price", "$k", 1e-3),
    "hashprice_usd_per_ph_day": Quantity("hashprice", HASHPRICE_UNIT),
    "cost_to_mine_cash_usd": Quantity("cash cost to mine", "$k/BTC", 1e-3),
    "cost_to_mine_allin_usd": Quantity("all-in cost to mine", "$k/BTC", 1e-3),
    "total_debt_usd": Quantity("public miners' debt", "$bn", 1e-9),
    "ai_capacity_mw": Quantity("AI/HPC capacity", "GW", 1e-3),
    "mining_capacity_mw": Quantity("mining capacity", "GW", 1e-3),
    "network_power_mw": Quantity("network power", "GW", 1e-3),
    "network_efficiency_j_per_th": Quantity("network efficiency", "J/TH"),
    "epoch_days": Quantity("epoch length", "days"),
    "subsidy_btc": Quantity("subsidy per epoch", "BTC"),
    "fees_btc": Quantity("fees per epoch", "BTC"),
    "miners_active": Quantity("public miners active", "count"),
    "miners_defaulted": Quantity("public miners defaulted", "count"),
    "height": Quantity("block height", "blocks"),
}


def quantity(column: str) -> Quantity:
    """How ``column`` is shown; a column with no entry keeps its name and its raw unit."""
    return QUANTITIES.get(column, Quantity(column.replace("_", " "), ""))


# --------------------------------------------------------------------------------------------
# Ticks


def number_text(value: float) -> str:
    """A tick label: thousands separators, no exponent, no trailing zeros (0.25, 40, 1,200)."""
    if value == 0 or not math.isfinite(value):
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, 2 - magnitude) if magnitude < 2 else 0
    return f"{value:,.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{value:,.0f}"


def plain_ticks(ax: Axes, axis: str = "y") -> None:
    """Linear axis ticks as plain numbers: no ``1e10`` offset, no scientific notation."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    target.set_major_formatter(FuncFormatter(lambda v, _: number_text(v)))


def log_ticks(ax: Axes, axis: str = "y") -> None:
    """Log axis with plain-number ticks (20, 50, 100), never ``6x10^4``; minor ticks unlabelled.

    Call it after plotting: the ticks per decade follow the data's span (1-2-5 over several
    decades, more within one).
    """
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    decades = math.log10(high / low) if low > 0 and high > low else 3.0
    subs = (1.0, 2.0, 5.0) if decades > 2 else (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
    if decades < 0.6:
        subs = tuple(float(k) for k in range(1, 10))
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda v, _: number_text(v)))
    target.set_minor_formatter(NullFormatter())


#: A value axis whose positive values span more than this ratio (an order of magnitude) is
#: drawn on a log scale (:func:`spans_orders`): a linear one would flatten all but the top band.
LOG_SPAN = 10.0


def spans_orders(values) -> bool:
    """Whether the finite positive ``values`` span more than :data:`LOG_SPAN` (max / min)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    return bool(len(v)) and float(v.max()) > LOG_SPAN * float(v.min())


# --------------------------------------------------------------------------------------------
# Bands


def draw_band(
    ax: Axes,
    x,
    low,
    high,
    color: str,
    alpha: float = 0.15,
    edges: bool = True,
    edge_width: float = 0.6,
) -> None:
    """A shaded band from ``low`` to ``high``; with ``edges`` its borders are drawn as thin lines
    of the same colour, so two overlapping bands stay readable where their fills mix."""
    ax.fill_between(x, low, high, color=color, alpha=alpha, lw=0)
    if edges:
        ax.plot(x, low, color=color, lw=edge_width, alpha=0.8)
        ax.plot(x, high, color=color, lw=edge_width, alpha=0.8)


def percentiles(runs: np.ndarray) -> dict[int, np.ndarray]:
    """p5, p25, p50, p75, p95 over the rows of ``runs`` (runs x points; NaN-aware)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        values = np.nanpercentile(np.asarray(runs, dtype=float), (5, 25, 50, 75, 95), axis=0)
    return dict(zip((5, 25, 50, 75, 95), values, strict=True))


def draw_bands(
    ax: Axes, x, p: dict[int, np.ndarray], color: str, label: str, lw=1.6, inner: bool = True
) -> None:
    """The outer band (p5-p95, outlined), the inner band (p25-p75) and the median line.

    Where several series share an axes and their bands overlap, pass ``inner=False``: the outer
    bands are then mostly outline (a faint fill, firmer edges), so where they overlap the reader
    sees two coloured envelopes, not a third, mixed colour."""
    if inner:
        draw_band(ax, x, p[OUTER[0]], p[OUTER[1]], color, alpha=0.13)
    else:
        draw_band(ax, x, p[OUTER[0]], p[OUTER[1]], color, alpha=0.06, edge_width=1.0)
    if inner:
        draw_band(ax, x, p[INNER[0]], p[INNER[1]], color, alpha=0.28, edges=False)
    ax.plot(x, p[50], color=color, lw=lw, label=label)


def band_legend_handles(inner: bool = True) -> list[Patch]:
    """Legend entries that explain the shadings (only p5-p95 when no inner band was drawn)."""
    outer = Patch(
        facecolor=(0.5, 0.5, 0.5, 0.15 if inner else 0.06),
        edgecolor="grey",
        label="p5-p95 of runs" if inner else "p5-p95 of runs (outlined)",
    )
    return (
        [Patch(facecolor="grey", alpha=0.45, label="p25-p75 of runs"), outer] if inner else [outer]
    )


def legend_with_bands(ax: Axes, inner: bool = True, **kwargs) -> None:
    """The axes' legend followed by the band entries."""
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + band_legend_handles(inner), fontsize=8, **kwargs)


def mark_date(ax: Axes, when, text: str, color: str = "grey", row: int = 0) -> None:
    """A dotted vertical line with a small label at the top of the axes (``row`` 1, 2: lower)."""
    ax.axvline(when, color=color, ls=":", lw=1)
    ax.annotate(
        text,
        (when, 1),
        xycoords=("data", "axes fraction"),
        xytext=(3, -12 - 11 * row),
        textcoords="offset points",
        fontsize=8,
        color=color,
    )


__all__ = [
    "PALETTE",
    "QUANTITIES",
    "Quantity",
    "band_legend_handles",
    "draw_band",
    "draw_bands",
    "legend_with_bands",
    "log_ticks",
    "mark_date",
    "number_text",
    "percentiles",
    "plain_ticks",
    "quantity",
]
