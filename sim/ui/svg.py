"""Small SVG time-series charts for the browser page: dates on the time axis, round numbers on
the value axis, series drawn as lines or stacked areas and events marked on the time axis.

A chart is a string of SVG made in a millisecond or two (matplotlib took 30-50 ms a chart), so
the page can redraw every chart at every epoch while it plays. No front-end library is needed.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.units import DAY_S

WIDTH, HEIGHT = 560, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 40, 26
#: Months between date ticks, tried in turn until at most MAX_DATE_TICKS fit.
MONTH_STEPS = (1, 2, 3, 6, 12, 24, 48, 120)
MAX_DATE_TICKS = 7
#: Time span shown before there is any data (the scenario's first quarter), days.
EMPTY_SPAN_DAYS = 91
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass(frozen=True)
class Series:
    """One line (or stacked band) of a chart: values per time point, in the chart's unit."""

    label: str
    values: np.ndarray
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Marker:
    """An event on the time axis (e.g. a miner's action), with its colour and a hover text."""

    time_s: float
    label: str
    color: str


def nice_ticks(low: float, high: float, most: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 2.5, 5 x 10^k apart) covering ``[low, high]``.

    An empty or flat range gets a range of its own: 0-1 when there is no data, +-10% (or +-1)
    around a single value."""
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / most
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(k * magnitude for k in (1, 2, 2.5, 5, 10) if k * magnitude >= raw * (1 - 1e-9))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return np.arange(first, last + 1) * step


def tick_label(value: float, step: float, top: float) -> str:
    """A tick value with the axis's k / M / bn suffix (chosen by ``top``, its largest absolute
    tick; k from 10,000) and as many digits as the step needs."""
    scale, suffix = next(
        (
            (scale, suffix)
            for scale, suffix, least in ((1e9, "bn", 1e9), (1e6, "M", 1e6), (1e3, "k", 1e4))
            if top >= least
        ),
        (1.0, ""),
    )
    value, step = value / scale, step / scale
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    scaled = step * 10**digits
    if abs(scaled - round(scaled)) > 1e-6:  # a step of 2.5 x 10^k needs one digit more
        digits += 1
    return f"{value:,.{digits}f}{suffix}" if value else "0"


def _month_start(day: dt.date, months: int) -> dt.date:
    index = (day.year * 12 + day.month - 1) // months * months
    return dt.date(index // 12, index % 12 + 1, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def date_ticks(start_s: float, end_s: float) -> list[tuple[float, str]]:
    """Month starts between two times (unix seconds) with labels ("Mar 2025", or "2027" when the
    ticks are whole years apart): at most MAX_DATE_TICKS of them."""
    first = dt.datetime.fromtimestamp(start_s, dt.UTC).date()
    last = dt.datetime.fromtimestamp(end_s, dt.UTC).date()
    months_spanned = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((m for m in MONTH_STEPS if months_spanned / m <= MAX_DATE_TICKS), MONTH_STEPS[-1])
    day = _month_start(first, step)
    ticks = []
    while day <= last:
        t = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC).timestamp()
        if t >= start_s:
            label = str(day.year) if step % 12 == 0 else f"{MONTHS[day.month - 1]} {day.year}"
            ticks.append((t, label))
        day = _add_months(day, step)
    return ticks


def line_chart(
    name: str,
    title: str,
    unit: str,
    times_s: np.ndarray,
    series: Sequence[Series],
    *,
    start_s: float,
    stacked: bool = False,
    markers: Sequence[Marker] = (),
    empty_text: str = "Press Step to run an epoch",
) -> str:
    """An SVG chart of ``series`` against dates (``times_s``: unix seconds of each point).

    ``start_s`` is where the time axis starts (the scenario's start date); ``stacked`` draws the
    series as bands on top of each other (capacity splits). Dashed series (a run compared with
    this one) may have a different length: each is drawn over its own first points."""
    times_s = np.asarray(times_s, float)
    end_s = max(times_s[-1] if times_s.size else start_s, start_s + EMPTY_SPAN_DAYS * DAY_S)
    tops = _stack(series) if stacked else [np.asarray(s.values, float) for s in series]
    finite = [v[np.isfinite(v)] for v in tops if v.size]
    values = np.concatenate(finite) if finite else np.empty(0)
    if values.size:
        low, high = min(float(values.min()), 0.0 if stacked else float(values.min())), values.max()
    else:
        low, high = 0.0, 1.0
    yticks = nice_ticks(low, float(high))
    y0, y1 = float(yticks[0]), float(yticks[-1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t):
        return LEFT + (np.asarray(t, float) - start_s) / (end_s - start_s) * plot_w

    def y(v):
        return TOP + plot_h - (np.asarray(v, float) - y0) / (y1 - y0) * plot_h

    out = [
        f'<svg class="minersim-chart" data-chart="{name}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH * 1.4:.0f}px;font:11px sans-serif">',
        f'<text x="{LEFT}" y="14" font-size="13" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="{WIDTH - RIGHT}" y="14" text-anchor="end" fill="#555">'
        f"{html.escape(unit)}</text>",
    ]
    out += _legend(series, stacked)
    step, top = float(yticks[1] - yticks[0]), float(np.abs(yticks).max())
    for v in yticks:
        yy = float(y(v))
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e3e3e3"/>'
            f'<text class="ytick" x="{LEFT - 4}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{tick_label(float(v), step, top)}</text>"
        )
    for t, label in date_ticks(start_s, end_s):
        xx = float(x(t))
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#eeeeee"/>'
            f'<text class="xtick" x="{xx:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{label}</text>'
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>'
    )
    out.append('<g transform="scale(0.1)">')
    if stacked:
        out += _bands(series, tops, times_s, x, y, y0)
    else:
        for s, v in zip(series, tops, strict=True):
            out.append(_polyline(x(times_s[: v.size]), y(v[: times_s.size]), s))
    out.append("</g>")
    out += [_marker(m, float(x(m.time_s)), TOP, TOP + plot_h) for m in markers]
    if not times_s.size:
        out.append(
            f'<text x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}" text-anchor="middle" '
            f'fill="#777" font-size="13">{html.escape(empty_text)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _stack(series: Sequence[Series]) -> list[np.ndarray]:
    tops, total = [], None
    for s in series:
        v = np.asarray(s.values, float)
        v = np.where(np.isfinite(v), v, 0.0)
        total = v if total is None else total + v
        tops.append(total)
    return tops


def _legend(series: Sequence[Series], stacked: bool) -> list[str]:
    out, xx = [], LEFT
    for s in series:
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        out.append(
            f'<line x1="{xx}" x2="{xx + 16}" y1="27" y2="27" stroke="{s.color}" '
            f'stroke-width="{6 if stacked else 2.5}"{dash}/>'
            f'<text x="{xx + 20}" y="31">{html.escape(s.label)}</text>'
        )
        xx += 28 + 6.2 * len(s.label)
    return out


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    """SVG points "x y x y ..." in whole tenths of a pixel, for a group scaled by 0.1 (whole
    numbers are quicker to write and to send than decimals)."""
    keep = np.isfinite(ys)
    pairs = np.rint(np.column_stack([xs[keep], ys[keep]]) * 10).astype(np.int64)
    return " ".join(map(str, pairs.ravel().tolist()))


def _polyline(xs: np.ndarray, ys: np.ndarray, s: Series) -> str:
    dash = ' stroke-dasharray="50 30"' if s.dashed else ""
    return (
        f'<polyline class="series" data-label="{html.escape(s.label)}" fill="none" '
        f'stroke="{s.color}" stroke-width="18"{dash} points="{_points(xs, ys)}"/>'
    )


def _bands(series, tops, times_s, x, y, y0) -> list[str]:
    out, below = [], np.zeros(times_s.size)
    xs = x(times_s)
    for s, top in zip(series, tops, strict=True):
        upper = _points(xs, y(top))
        lower = _points(xs[::-1], y(np.maximum(below, y0))[::-1])
        out.append(
            f'<polygon class="series" data-label="{html.escape(s.label)}" fill="{s.color}" '
            f'fill-opacity="0.75" stroke="none" points="{upper} {lower}"/>'
        )
        below = top
    return out


def _marker(m: Marker, xx: float, top: float, bottom: float) -> str:
    return (
        f'<g class="minersim-marker"><title>{html.escape(m.label)}</title>'
        f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top}" y2="{bottom}" stroke="{m.color}" '
        f'stroke-opacity="0.45"/><path d="M{xx - 4:.1f},{bottom} l4,-7 l4,7 z" '
        f'fill="{m.color}"/></g>'
    )
