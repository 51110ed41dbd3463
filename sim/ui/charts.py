"""The page's charts and the miners' view, drawn from ``model.datacollector`` and the agents.

Each ``*_chart`` / ``miners_table`` function takes the model and renders one Solara element;
SolaraViz wraps plain functions so they redraw after every Step and Reset. Charts are matplotlib
images (no front-end libraries needed offline) whose figures are reused from step to step, to keep
a step's redraw fast.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import weakref
from collections import Counter
from dataclasses import dataclass

import pandas as pd
import solara
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator
from matplotlib.transforms import Bbox

from sim.ui.params import POLICY_KEY, SLIDERS, config_value, slider_value

FIGSIZE_IN = (6.4, 3.4)
DPI = 80
#: SVG: sharp at any size, and a little quicker to make than PNG here.
IMAGE_FORMAT = "svg"
EMPTY_TEXT = "Press Step to run an epoch"
COLORS = {
    "hashrate": "tab:blue",
    "difficulty": "tab:orange",
    "price": "black",
    "cash": "tab:green",
    "allin": "tab:red",
    "hashprice": "tab:purple",
    "debt": "tab:brown",
    "mining": "tab:orange",
    "ai": "tab:cyan",
    "btc": "gold",
    "mcap": "tab:gray",
}

#: Tick labels in thousands (120k): full numbers crowd the axis label.
THOUSANDS = FuncFormatter(lambda value, _pos: f"{value / 1e3:g}k" if value else "0")
#: Bars of the balance-sheet chart: label -> key in COLORS.
BALANCE_SERIES = {"Cash": "cash", "BTC": "btc", "Debt": "debt", "Market cap": "mcap"}
PRICE_COLUMNS = ("BTC price (USD)", "Cost to mine, cash (USD)", "Cost to mine, all-in (USD)")

#: Each live model's chart figures by chart name (dropped with the model).
_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _epochs(model) -> pd.DataFrame:
    """Collected model variables, indexed by epoch number (1 = after the first step)."""
    df = model.datacollector.get_model_vars_dataframe()
    df.index = pd.RangeIndex(1, len(df) + 1, name="Epoch")
    return df


def _legend(ax, entries: dict[str, str], loc: str, fontsize: float = 8) -> None:
    """A fixed legend of filled swatches (label -> colour), drawn once with the axes."""
    handles = [Patch(color=color, label=label) for label, color in entries.items()]
    ax.legend(handles=handles, loc=loc, fontsize=fontsize)


def _single_axes(
    title: str, ylabel: str, twin_ylabel: str | None = None, legend: dict[str, str] | None = None
):
    """A builder of a one-panel chart figure, with a right-hand axis if ``twin_ylabel`` and a
    fixed legend (label -> colour) if ``legend``."""

    def build() -> Figure:
        fig = Figure(figsize=FIGSIZE_IN, dpi=DPI)
        fig.subplots_adjust(left=0.12, right=0.88, top=0.9, bottom=0.15)  # layout engines are slow
        ax = fig.subplots()
        ax.set_title(title, fontsize=11)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("Epoch (2016 blocks, about 2 weeks)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if legend:
            _legend(ax, legend, "upper left")
        if twin_ylabel:
            ax.twinx().set_ylabel(twin_ylabel)
        return fig

    return build


def _figure(model, key: str, build) -> Figure:
    """This model's figure for chart ``key``, built once and emptied of data for a redraw.

    Reusing the axes keeps their ticks, labels and legends: building them is most of
    matplotlib's cost, and a step redraws every chart.
    """
    figures = _FIGURES.setdefault(model, {})
    if key not in figures:
        figures[key] = build()
    fig = figures[key]
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
            artist.remove()
        ax.dataLim.set_points(Bbox.null().get_points())  # as Axes.relim() does, but the new
        ax.ignore_existing_data_limits = True  # data (collections too) sets the limits as drawn
    return fig


def _show(model, fig: Figure, empty: bool) -> None:
    """Rescale every axis to its new data and send the figure to the page as an image.

    The image is remade when the model or its epoch changes (the figure object itself is
    reused, so Solara cannot tell by looking at it)."""
    for ax in fig.axes:
        ax.autoscale_view()
    if empty:
        ax = fig.axes[0]
        ax.text(0.5, 0.5, EMPTY_TEXT, ha="center", va="center", transform=ax.transAxes)
    solara.FigureMatplotlib(fig, dependencies=[model, model.epoch], format=IMAGE_FORMAT)


def hashrate_chart(model) -> None:
    """Network hashrate (EH/s, left) and difficulty (T, right)."""
    df = _epochs(model)
    fig = _figure(
        model,
        "hashrate",
        _single_axes("Hashrate and difficulty", "Hashrate (EH/s)", "Difficulty (T)"),
    )
    ax, right = fig.axes
    ax.plot(df.index, df["Hashrate (EH/s)"], color=COLORS["hashrate"])
    right.plot(df.index, df["Difficulty (T)"], color=COLORS["difficulty"])
    ax.yaxis.label.set_color(COLORS["hashrate"])
    right.yaxis.label.set_color(COLORS["difficulty"])
    _show(model, fig, df.empty)


def price_chart(model) -> None:
    """BTC price against the cost to mine one BTC, cash and all-in (USD)."""
    df = _epochs(model)
    legend = {
        "BTC price": COLORS["price"],
        "Cash cost": COLORS["cash"],
        "All-in cost": COLORS["allin"],
    }
    fig = _figure(
        model, "price", _single_axes("BTC price against cost to mine", "USD per BTC", legend=legend)
    )
    ax = fig.axes[0]
    ax.yaxis.set_major_formatter(THOUSANDS)
    for column, color in zip(PRICE_COLUMNS, legend.values(), strict=True):
        ax.plot(df.index, df[column], color=color)
    _show(model, fig, df.empty)


def hashprice_chart(model) -> None:
    """Hashprice: revenue per PH/s per day (USD)."""
    df = _epochs(model)
    fig = _figure(model, "hashprice", _single_axes("Hashprice", "USD per PH/s per day"))
    fig.axes[0].plot(df.index, df["Hashprice (USD/PH/day)"], color=COLORS["hashprice"])
    _show(model, fig, df.empty)


def debt_chart(model) -> None:
    """Debt of the public miners together (USD bn)."""
    df = _epochs(model)
    fig = _figure(model, "debt", _single_axes("Public miners' debt", "USD bn"))
    fig.axes[0].fill_between(df.index, df["Miner debt (USD bn)"], color=COLORS["debt"], alpha=0.6)
    _show(model, fig, df.empty)


def capacity_chart(model) -> None:
    """Industry power capacity used for mining and leased to AI/HPC tenants (MW), stacked."""
    df = _epochs(model)
    legend = {"Mining": COLORS["mining"], "AI / HPC": COLORS["ai"]}
    fig = _figure(
        model, "capacity", _single_axes("Mining against AI capacity", "MW", legend=legend)
    )
    fig.axes[0].yaxis.set_major_formatter(THOUSANDS)
    fig.axes[0].stackplot(
        df.index, df["Mining (MW)"], df["AI (MW)"], colors=list(legend.values()), alpha=0.8
    )
    _show(model, fig, df.empty)


def _btc_price(model) -> float:
    df = model.datacollector.get_model_vars_dataframe()
    if df.empty:
        return float(model.cfg.market.btc.initial_usd)
    return float(df["BTC price (USD)"].iloc[-1])


def _public(model) -> list:
    return [a for a in model.miner_agents if a.kind == "public"]


def _fringe(model) -> list:
    return [a for a in model.miner_agents if a.kind != "public"]


def _zero_if_nan(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def _balance_values(agent, btc_price: float) -> dict[str, float]:
    """A public miner's balance-sheet bars (USD bn; 0 before its first epoch)."""
    values = {
        "Cash": agent.cash_usd,
        "BTC": agent.btc_held * btc_price,
        "Debt": agent.debt_usd,
        "Market cap": agent.market_cap_usd,
    }
    return {label: _zero_if_nan(v) / 1e9 for label, v in values.items()}


@dataclass
class _BalanceFigure:
    """The balance-sheet figure with one bar per miner and series, made once per model: a
    redraw only changes the bars' lengths and the axis limits (making bars is slow)."""

    fig: Figure
    money_bars: dict  # series label -> BarContainer
    mining_bars: object
    ai_bars: object


def _balance_figure(n_miners: int) -> _BalanceFigure:
    fig = Figure(figsize=(6.4, 4.2), dpi=DPI)
    fig.subplots_adjust(left=0.2, right=0.95, top=0.93, bottom=0.12, wspace=0.08)
    money, power = fig.subplots(1, 2, sharey=True, width_ratios=[3, 2])
    rows = list(range(n_miners))
    zeros = [0.0] * n_miners
    height = 0.8 / len(BALANCE_SERIES)
    money_bars = {}
    for k, (label, color_key) in enumerate(BALANCE_SERIES.items()):
        offsets = [r - 0.4 + height * (k + 0.5) for r in rows]
        money_bars[label] = money.barh(offsets, zeros, height=height, color=COLORS[color_key])
    mining_bars = power.barh(rows, zeros, color=COLORS["mining"])
    ai_bars = power.barh(rows, zeros, color=COLORS["ai"])
    money.set_ylim(n_miners - 0.5, -0.5)  # first miner on top; x limits follow the data
    money.set_xlabel("USD bn")
    money.set_title("Balance sheets", fontsize=11)
    power.set_xlabel("MW")
    power.xaxis.set_major_locator(MaxNLocator(3))
    power.set_title("Capacity split", fontsize=11)
    _legend(money, {k: COLORS[v] for k, v in BALANCE_SERIES.items()}, "lower right", 7)
    _legend(power, {"Mining": COLORS["mining"], "AI / HPC": COLORS["ai"]}, "lower right", 7)
    for ax in (money, power):
        ax.grid(axis="x", alpha=0.3)
    return _BalanceFigure(fig, money_bars, mining_bars, ai_bars)


def _padded_range(values: list[float]) -> tuple[float, float]:
    """Axis limits that include 0 and every value, with 5% room (cheaper than Axes.relim on
    bars)."""
    low, high = min([0.0, *values]), max([0.0, *values])
    pad = 0.05 * (high - low) or 1.0
    return (low - pad if low < 0 else 0.0), high + pad


def balance_sheet_chart(model) -> None:
    """Each public miner's cash, BTC (at market), debt and market cap (USD bn), and its site
    capacity split between mining and AI (MW); defaulted miners are marked in red."""
    miners = _public(model)
    figures = _FIGURES.setdefault(model, {})
    if "balance" not in figures:
        figures["balance"] = _balance_figure(len(miners))
    chart: _BalanceFigure = figures["balance"]
    price = _btc_price(model)
    values = [_balance_values(a, price) for a in miners]
    for label, bars in chart.money_bars.items():
        for bar, value in zip(bars, values, strict=True):
            bar.set_width(value[label])
    for agent, mining_bar, ai_bar in zip(miners, chart.mining_bars, chart.ai_bars, strict=True):
        mining_mw = _zero_if_nan(agent.mining_mw)
        mining_bar.set_width(mining_mw)
        ai_bar.set_x(mining_mw)
        ai_bar.set_width(_zero_if_nan(agent.ai_mw))
    money, power = chart.fig.axes
    money.set_yticks(
        range(len(miners)), [f"{a.name} (defaulted)" if a.defaulted else a.name for a in miners]
    )
    for label, agent in zip(money.get_yticklabels(), miners, strict=True):
        label.set_color("tab:red" if agent.defaulted else "black")
    money.set_xlim(*_padded_range([x for v in values for x in v.values()]))
    power.set_xlim(*_padded_range([b.get_x() + b.get_width() for b in chart.ai_bars]))
    solara.FigureMatplotlib(chart.fig, dependencies=[model, model.epoch], format=IMAGE_FORMAT)


def _fmt(value: float, scale: float = 1.0, digits: int = 0) -> str:
    return "—" if math.isnan(value) else f"{value / scale:,.{digits}f}"


def _row(cells: list[str], css: str = "") -> str:
    """A table row: the first two cells (name, action) left-aligned, numbers right-aligned."""
    tds = "".join(
        f'<td style="text-align:{"left" if k < 2 else "right"};padding:1px 3px">'
        f"{html.escape(text)}</td>"
        for k, text in enumerate(cells)
    )
    return f'<tr style="{css}">{tds}</tr>'


def _public_row(agent, btc_price: float) -> str:
    name = f"{agent.name} (defaulted)" if agent.defaulted else agent.name
    return _row(
        [
            name,
            agent.last_action,
            _fmt(agent.hashrate_ehs, 1, 1),
            _fmt(agent.mining_mw),
            _fmt(agent.ai_mw),
            _fmt(agent.cash_usd, 1e9, 2),
            _fmt(agent.btc_held * btc_price, 1e9, 2),
            _fmt(agent.debt_usd, 1e9, 2),
            _fmt(agent.market_cap_usd, 1e9, 2),
        ],
        "color:#c62828;font-weight:bold" if agent.defaulted else "",
    )


def _fringe_row(agents: list) -> str:
    def total(attribute: str) -> float:
        return sum(getattr(a, attribute) for a in agents)

    action = Counter(a.last_action for a in agents).most_common(1)[0][0]
    numbers = [_fmt(total("hashrate_ehs"), 1, 1), _fmt(total("mining_mw")), _fmt(total("ai_mw"))]
    return _row([f"Fringe ({len(agents)})", f"{action} (most)", *numbers, *["—"] * 4])


#: Column headers of the miners' table, two lines each (money in USD bn; BTC at the latest
#: price).
HEADERS = (
    ("Miner", ""),
    ("Last", "action"),
    ("Hash", "EH/s"),
    ("Mining", "MW"),
    ("AI", "MW"),
    ("Cash", "$bn"),
    ("BTC", "$bn"),
    ("Debt", "$bn"),
    ("Mkt cap", "$bn"),
)


def status_line(model) -> str:
    """Where the run is: epoch, simulated date, scenario, seed."""
    day = dt.datetime.fromtimestamp(model.time_s, dt.UTC).date()
    finished = "" if model.running else "; run finished"
    return (
        f"Epoch {model.epoch}, {day:%Y-%m-%d}; scenario {model.spec.name}, seed {model.seed}"
        + finished
    )


def parameters_line(model) -> str:
    """The page's parameters as the running model has them (sliders apply on Reset)."""
    values = [f"{s.label} {slider_value(model.spec, s):g}" for s in SLIDERS]
    return "In effect: " + ", ".join(values) + f"; policy {config_value(model.spec, POLICY_KEY)}"


def _heading(model) -> str:
    """Status, parameters in effect and any problem with the page's inputs, as HTML."""
    parts = [
        f'<p style="margin:4px 0"><b>Miners</b>: {html.escape(status_line(model))}</p>',
        f'<p style="margin:0 0 8px;font-size:12px">{html.escape(parameters_line(model))}</p>',
    ]
    parts += [
        f'<p style="margin:0 0 8px;color:#c62828"><b>{html.escape(note)}</b></p>'
        for note in getattr(model, "ui_notes", ())
    ]
    return "".join(parts)


def miners_table(model) -> None:
    """Each public miner's balance sheet, capacity split and last action; the fringe in one row."""
    price = _btc_price(model)
    head = "".join(
        f'<th style="text-align:{"left" if k < 2 else "right"};padding:1px 3px">'
        f"{html.escape(top)}<br>{html.escape(bottom)}</th>"
        for k, (top, bottom) in enumerate(HEADERS)
    )
    rows = [_public_row(a, price) for a in _public(model)]
    fringe = _fringe(model)
    if fringe:
        rows.append(_fringe_row(fringe))
    table = (
        '<table class="minersim-miners" '
        'style="border-collapse:collapse;font-size:11.5px;white-space:nowrap">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    solara.HTML(
        tag="div", unsafe_innerHTML=_heading(model) + table, style="overflow:auto;padding:8px"
    )


#: (component, page) pairs for SolaraViz, in display order.
COMPONENTS = [
    (miners_table, 0),
    (balance_sheet_chart, 0),
    (hashrate_chart, 0),
    (price_chart, 0),
    (hashprice_chart, 0),
    (capacity_chart, 0),
    (debt_chart, 0),
]
