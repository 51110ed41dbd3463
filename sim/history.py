"""The historical series minersim ships (``data/history/``, provenance in its README).

Network series (difficulty, hashrate, CBECI efficiency) stop at 2021-12-31 on purpose: the years
from 2022 are kept out of sample for the backtest. The BTC price runs to 2026-02-13 and drives
replays. Every reader returns a float Series indexed by a daily DatetimeIndex named ``date``.
"""

from __future__ import annotations

import functools
import io

import pandas as pd

from sim import libm
from sim.errors import MinersimError
from sim.input.files import MAX_TABLE_BYTES, read_regular
from sim.paths import DATA_DIR, HISTORY_DIR

#: Last day of the network series; nothing after it may be used to fit a parameter.
LAST_FITTING_DAY = pd.Timestamp("2021-12-31")


@functools.cache
def _read(file: str, date_column: str) -> pd.DataFrame:
    data = read_regular(HISTORY_DIR / file, MAX_TABLE_BYTES)
    try:
        frame = pd.read_csv(io.BytesIO(data), parse_dates=[date_column])
    except (ValueError, pd.errors.ParserError) as exc:
        raise MinersimError(f"{HISTORY_DIR / file} is damaged: {exc}") from None
    return frame.rename(columns={date_column: "date"}).set_index("date")


def difficulty() -> pd.Series:
    """Daily difficulty (block-weighted mean of the day: retarget days lie between two epochs)."""
    return _read("difficulty.csv", "date")["difficulty"].copy()


def hashrate_ehs() -> pd.Series:
    """Daily network hashrate estimate, EH/s (noisy day to day: use 7-day or longer means)."""
    return _read("hashrate.csv", "date")["hashrate"] / 1e6


def efficiency_jth(bound: str = "estimated") -> pd.Series:
    """CBECI fleet efficiency, J/TH: ``"lower"`` (the best machine on sale), ``"estimated"`` or
    ``"upper"`` bound."""
    columns = {
        "lower": "Lower bound efficiency, J/Th",
        "estimated": "Estimated efficiency, J/Th",
        "upper": "Upper bound efficiency, J/Th",
    }
    if bound not in columns:
        raise ValueError(f"bound must be one of {sorted(columns)}, got {bound!r}")
    return _read("cbeci_efficiency_jth.csv", "Date")[columns[bound]].rename(bound)


@functools.cache
def market_shipments_mw() -> pd.DataFrame:
    """Bands of MW of Bitcoin machines the whole market shipped in a period
    (``data/asic_market_mw.csv``, data/sources.md §6.6): columns ``start``, ``end`` (inclusive
    days), ``low_mw``, ``high_mw``, ``basis``; every period ends by LAST_FITTING_DAY."""
    path = DATA_DIR / "asic_market_mw.csv"
    try:
        frame = pd.read_csv(
            io.BytesIO(read_regular(path, MAX_TABLE_BYTES)), parse_dates=["start", "end"]
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise MinersimError(f"{path} is damaged: {exc}") from None
    check_fitting_day(frame["end"].max(), f"{path}'s last period")
    return frame


def btc_price_usd() -> pd.Series:
    """Daily BTC-USD close, USD (2015-01-01 to 2026-02-13)."""
    return _read("btc_price_volume.csv", "date")["price"].copy()


def check_fitting_day(day: object, what: str = "a fit window") -> pd.Timestamp:
    """``day`` as a Timestamp; a :class:`~sim.errors.MinersimError` if it is after
    :data:`LAST_FITTING_DAY` (the years from 2022 are out of sample: no fit may read them)."""
    when = pd.Timestamp(day)
    if when > LAST_FITTING_DAY:
        raise MinersimError(
            f"{what} ends on {when.date()}, after {LAST_FITTING_DAY.date()}: data from 2022 on "
            "are kept out of sample and may not be used to fit a parameter"
        )
    return when


def for_fitting(series: pd.Series, end: object) -> pd.Series:
    """A daily history series cut at ``end`` (checked against :data:`LAST_FITTING_DAY`)."""
    return series.loc[: check_fitting_day(end, "the data read for a fit")]


def monthly_log_mean(series: pd.Series) -> pd.Series:
    """Mean of the natural log of a daily series per calendar month, indexed by the month's first
    day (``date``); only months with a value on every day are kept (partial months would compare
    unlike periods)."""
    daily = series[series.index.notna()]
    logs = pd.Series(libm.log(daily.where(daily > 0).to_numpy(dtype=float)), index=daily.index)
    month = daily.index.to_period("M")
    grouped = logs.groupby(month)
    days_in_month = grouped.size().index.days_in_month
    complete = (grouped.count().to_numpy() == days_in_month) & (
        grouped.size().to_numpy() == days_in_month
    )
    means = grouped.mean()[complete]
    means.index = means.index.to_timestamp()
    means.index.name = "date"
    return means.rename(series.name)
