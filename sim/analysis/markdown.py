"""Markdown tables a researcher can hand on: one number format, numbers right-aligned, Monte Carlo
bands as "median (p5 to p95)" cells.

The number format: thousands separators, never an exponent, and within a column the same number
of decimals for every cell, chosen so that the column's largest value shows three significant
digits (1,234 / 45.6 / 0.27); counts have none. Scale values before formatting (USD to $bn,
MW to GW) and put the unit in the header: :mod:`sim.analysis.style` names the output columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

#: What a missing value prints as.
MISSING = "n/a"
MAX_DECIMALS = 3

_NUMBER_CELL = re.compile(r"^[+\-]?\$?[\d,]*\.?\d+%?( \(.+\))?$")


def decimals_for(values: Iterable[float]) -> int:
    """Decimals that give the largest finite ``|value|`` three significant digits (0 to 3); none
    when every value is a whole number (counts)."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    largest = max(finite, default=0.0)
    if largest == 0 or all(v == int(v) for v in finite):
        return 0
    return min(MAX_DECIMALS, max(0, 2 - math.floor(math.log10(largest))))


def number(value: float, decimals: int) -> str:
    """One cell: ``1,234.5`` with ``decimals`` decimals; :data:`MISSING` for NaN or None."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value:,.{decimals}f}"
    return text.lstrip("-") if text.lstrip("-").strip("0.,") == "" else text  # no "-0.0"


def number_column(values: Sequence[float], decimals: int | None = None) -> list[str]:
    """Cells of one numeric column, all with the same decimals."""
    values = [float(v) if v is not None else np.nan for v in values]
    places = decimals_for(values) if decimals is None else decimals
    return [number(v, places) for v in values]


def band_column(
    median: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    decimals: int | None = None,
) -> list[str]:
    """Cells "median (p5 to p95)" of precomputed bands, one number of decimals for the column."""
    places = decimals_for([*median, *low, *high]) if decimals is None else decimals
    return [
        MISSING
        if not math.isfinite(m)
        else f"{number(m, places)} ({number(lo, places)} to {number(hi, places)})"
        for m, lo, hi in zip(median, low, high, strict=True)
    ]


def band_cell(
    values: Iterable[float], prefix: str = "", suffix: str = "", decimals: int | None = None
) -> str:
    """The cell "median (p5 to p95)" of a set of per-run values, each number written
    ``prefix + number + suffix`` ("$95k ($31k to $290k)" with prefix "$" and suffix "k");
    percentiles as :func:`percentiles` computes them."""
    values = np.asarray(list(values), dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return MISSING
    p5, p50, p95 = percentiles(values)
    places = decimals_for([p5, p50, p95]) if decimals is None else decimals
    low, mid, high = (f"{prefix}{number(v, places)}{suffix}" for v in (p5, p50, p95))
    return f"{mid} ({low} to {high})"


#: z of a two-sided 95% interval.
Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (``successes`` of ``n``); (0, 1) when
    ``n`` is 0."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(centre - half, 0.0), min(centre + half, 1.0))


def share_cell(flags: Iterable[bool]) -> str:
    """The cell "share% (low% to high%)" of the runs where ``flags`` hold, with the share's
    95% Wilson interval ("15% (5% to 36%)" for 3 of 20)."""
    flags = np.asarray(list(flags), dtype=bool)
    low, high = wilson_interval(int(flags.sum()), len(flags))
    share = flags.mean() if len(flags) else 0.0
    return f"{100 * share:.0f}% ({100 * low:.0f}% to {100 * high:.0f}%)"


def percentiles(values: np.ndarray, q=(5, 50, 95)) -> np.ndarray:
    """Percentiles of per-run values; of whole numbers (counts), observed values (the nearest
    rank), so that "2 of 10 miners defaulted" is never "1.5"."""
    values = np.asarray(values, dtype=float)
    whole = bool(np.all(values[np.isfinite(values)] % 1 == 0))
    return np.nanpercentile(values, q, method="nearest" if whole else "linear")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table: float columns formatted as above, integer columns as counts,
    numbers (and band cells) right-aligned, text left-aligned."""
    cells = pd.DataFrame(index=frame.index)
    align = []
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_bool_dtype(values):
            cells[column] = values.map({True: "yes", False: "no"})
            align.append("left")
        elif pd.api.types.is_integer_dtype(values):
            cells[column] = number_column(values.tolist(), decimals=0)
            align.append("right")
        elif pd.api.types.is_float_dtype(values):
            cells[column] = number_column(values.tolist())
            align.append("right")
        else:
            text = values.astype(str)
            cells[column] = text
            numeric = text.map(lambda s: s == MISSING or bool(_NUMBER_CELL.match(s)))
            align.append("right" if len(text) and numeric.all() else "left")
    return cells.to_markdown(index=False, disable_numparse=True, colalign=align)


__all__ = [
    "MISSING",
    "band_cell",
    "band_column",
    "decimals_for",
    "markdown_table",
    "number",
    "number_column",
    "percentiles",
]
