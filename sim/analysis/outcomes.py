"""Outcomes: one number per run, declared once and used by summaries, sensitivity and discovery.

An :class:`Outcome` names a column of a run's epoch table (or of its miners table, for one or
more named miners: their values summed per epoch) and a *reducer* that turns the run's series
into a number: :class:`Final` value, :class:`Mean` over a window of dates, :class:`Max` and
:class:`Min`, :class:`MaxDrawdown`, :class:`TimeTo` an event (the first epoch whose value
crosses a threshold: the first default), :class:`AfterHalving` (the change since a halving:
defaults after 2028) and :class:`HalvingRecovery` (days from a halving until the series is back
at its pre-halving value). Users write their own outcomes with these reducers, or with any
callable of the same signature::

    from sim.analysis.outcomes import Outcome, TimeTo, AfterHalving
    first_default = Outcome("first_default_days", "miners_defaulted", TimeTo(">=", 1))
    small = Outcome("small_defaults", "defaulted", AfterHalving(), miners=("Bitfarms", "Hut 8"))

or, on the command line, as text (:func:`parse_outcome`):
``"first_default_days=time_to(miners_defaulted >= 1)"``,
``"small_defaults=after_halving(defaulted[Bitfarms,Hut 8])"``.

Every epoch column is also an outcome by its own name (its final value), so
``--where "miners_defaulted >= 3"`` needs no declaration (:func:`resolve`).
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.cli_defaults import SPEC_HELP
from sim.consensus import HALVING_2028_HEIGHT
from sim.errors import MinersimError

DAY_NS = np.timedelta64(1, "D")
COMPARISONS: dict[str, Callable] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Series:
    """One run's series for an outcome: per epoch, its ``values``, ``dates`` (datetime64[ns])
    and block ``heights`` at the epoch's end; ``start`` is the run's start date."""

    values: np.ndarray
    dates: np.ndarray
    heights: np.ndarray
    start: np.datetime64

    def days_since_start(self, index: int) -> float:
        return float((self.dates[index] - self.start) / DAY_NS)


Reducer = Callable[[Series], float]


# --------------------------------------------------------------------------------------------
# Reducers


@dataclass(frozen=True)
class Final:
    """The value at the run's last epoch."""

    def __call__(self, s: Series) -> float:
        return float(s.values[-1]) if len(s.values) else math.nan

    def __str__(self) -> str:
        return "final value"


@dataclass(frozen=True)
class Mean:
    """Mean over the epochs whose end date falls in [``start``, ``end``] (ISO dates; either may
    be None: the run's start or end). NaN if no epoch falls in the window."""

    start: str | None = None
    end: str | None = None

    def __post_init__(self) -> None:
        for bound in (self.start, self.end):
            if bound is None:
                continue
            try:
                np.datetime64(bound, "ns")
            except ValueError:
                raise MinersimError(f"mean: '{bound}' is not a date (YYYY-MM-DD)") from None

    def __call__(self, s: Series) -> float:
        inside = np.ones(len(s.values), dtype=bool)
        if self.start is not None:
            inside &= s.dates >= np.datetime64(self.start, "ns")
        if self.end is not None:
            inside &= s.dates <= np.datetime64(self.end, "ns")
        return float(np.mean(s.values[inside])) if inside.any() else math.nan

    def __str__(self) -> str:
        return f"mean from {self.start or 'the start'} to {self.end or 'the end'}"


@dataclass(frozen=True)
class Max:
    """The largest value over the run."""

    def __call__(self, s: Series) -> float:
        return float(np.max(s.values)) if len(s.values) else math.nan

    def __str__(self) -> str:
        return "maximum"


@dataclass(frozen=True)
class Min:
    """The smallest value over the run."""

    def __call__(self, s: Series) -> float:
        return float(np.min(s.values)) if len(s.values) else math.nan

    def __str__(self) -> str:
        return "minimum"


@dataclass(frozen=True)
class MaxDrawdown:
    """Largest fall from a running peak, as a fraction of the peak (0 = never fell; 0.8 = lost
    80%): max over t of 1 - x_t / max(x_0..x_t). NaN for a series that is never positive."""

    def __call__(self, s: Series) -> float:
        peaks = np.maximum.accumulate(s.values)
        positive = peaks > 0
        if not positive.any():
            return math.nan
        return float(np.max(1 - s.values[positive] / peaks[positive]))

    def __str__(self) -> str:
        return "maximum drawdown (fraction of the peak)"


@dataclass(frozen=True)
class TimeTo:
    """Days from the run's start to the end of the first epoch whose value ``op`` ``threshold``
    (``TimeTo(">=", 1)`` on miners_defaulted: the first default). NaN if it never happens in the
    run (censored at the run's end: with few events, read the share of runs that have one)."""

    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in COMPARISONS:
            raise MinersimError(f"time_to: comparison must be one of {', '.join(COMPARISONS)}")

    def __call__(self, s: Series) -> float:
        hits = np.flatnonzero(COMPARISONS[self.op](s.values, self.threshold))
        return s.days_since_start(hits[0]) if len(hits) else math.nan

    def __str__(self) -> str:
        return f"days until the value is {self.op} {self.threshold:g} (NaN: never)"


def _halving_epoch(s: Series, height: int) -> int | None:
    """Index of the epoch that mines block ``height`` (None if the run ends before it or the
    run starts after it)."""
    after = np.flatnonzero(s.heights > height)
    return int(after[0]) if len(after) and after[0] > 0 else None


@dataclass(frozen=True)
class AfterHalving:
    """The change from the epoch before the halving at ``height`` to the run's end: on a count
    (miners_defaulted, a miner's defaulted flag) the defaults after the halving. NaN if the run
    does not reach the halving."""

    height: int = HALVING_2028_HEIGHT

    def __call__(self, s: Series) -> float:
        k = _halving_epoch(s, self.height)
        return math.nan if k is None else float(s.values[-1] - s.values[k - 1])

    def __str__(self) -> str:
        return f"change from the halving at height {self.height:,} to the end"


@dataclass(frozen=True)
class HalvingRecovery:
    """Days from the halving at ``height`` to the end of the first epoch after it whose value
    is back at (>=) the value of the epoch before the halving. NaN if the run does not reach
    the halving, or has not recovered by its end (censored)."""

    height: int = HALVING_2028_HEIGHT

    def __call__(self, s: Series) -> float:
        k = _halving_epoch(s, self.height)
        if k is None:
            return math.nan
        back = np.flatnonzero(s.values[k:] >= s.values[k - 1])
        if not len(back):
            return math.nan
        return float((s.dates[k + back[0]] - s.dates[k - 1]) / DAY_NS)

    def __str__(self) -> str:
        return f"days from the halving at height {self.height:,} back to its level (NaN: never)"


# --------------------------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True)
class Outcome:
    """One number per run: ``reducer`` applied to ``column``'s series.

    ``miners`` (a name or names of agents, the miners table's ``name``): read ``column`` from the
    miners table (batches stored with ``--miners``), summed over those agents per epoch (a
    boolean column such as ``defaulted`` counts them). ``description`` is free text for tables.
    """

    name: str
    column: str
    reducer: Reducer = field(default_factory=Final)
    miners: tuple[str, ...] | str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise MinersimError(
                f"outcome name '{self.name}' must be a Python identifier (letters, digits, _), "
                "so that conditions such as --where 'NAME >= 3' can name it"
            )
        if isinstance(self.miners, str):
            object.__setattr__(self, "miners", (self.miners,))
        elif self.miners is not None:
            object.__setattr__(self, "miners", tuple(self.miners))

    @property
    def table(self) -> str:
        """``"miners"`` for a per-miner outcome, else ``"epochs"``."""
        return "miners" if self.miners else "epochs"

    def __str__(self) -> str:
        where = f" of {', '.join(self.miners)}" if self.miners else ""
        return self.description or f"{self.column}{where}: {self.reducer}"


def epoch_outcome(column: str) -> Outcome:
    """The default outcome of an epoch column: its final value, named after it."""
    return Outcome(column, column)


#: Outcomes every batch has besides the final value of each epoch column.
STANDARD_OUTCOMES = (
    Outcome("first_default_days", "miners_defaulted", TimeTo(">=", 1)),
    Outcome("defaults_after_2028_halving", "miners_defaulted", AfterHalving()),
    Outcome("btc_max_drawdown", "btc_price_usd", MaxDrawdown()),
    Outcome("hashrate_max_drawdown", "hashrate_ehs", MaxDrawdown()),
    Outcome("hashrate_2028_recovery_days", "hashrate_ehs", HalvingRecovery()),
)


def resolve(
    wanted: Iterable[Outcome | str] | None,
    epoch_columns: Sequence[str],
    declared: Iterable[Outcome] = (),
) -> list[Outcome]:
    """Outcome objects for ``wanted`` (objects, or names of declared, standard or epoch-column
    outcomes); None: every epoch column's final value and the standard outcomes."""
    known = {c: epoch_outcome(c) for c in epoch_columns}
    known.update({o.name: o for o in STANDARD_OUTCOMES})
    known.update({o.name: o for o in declared})
    if wanted is None:
        return list(known.values())
    out: list[Outcome] = []
    for item in wanted:
        if isinstance(item, Outcome):
            out.append(item)
        elif item in known:
            out.append(known[item])
        else:
            raise MinersimError(
                f"unknown outcome '{item}': use an epoch column, a standard outcome "
                f"({', '.join(o.name for o in STANDARD_OUTCOMES)}) or declare it with --outcome"
            )
    names = [o.name for o in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise MinersimError(f"outcome name(s) used twice: {', '.join(repeated)}")
    return out


# --------------------------------------------------------------------------------------------
# Computing outcomes of many runs


def compute(
    epochs: pd.DataFrame,
    outcomes: Sequence[Outcome],
    miners: pd.DataFrame | None = None,
    start: object = None,
) -> pd.DataFrame:
    """One row per run of ``epochs`` (columns run, epoch, date, height and the outcomes'
    columns): ``run`` and one column per outcome. Per-miner outcomes read ``miners`` (columns
    run, epoch, name and theirs). ``start``: the runs' start date (default: each run's first
    epoch date minus its epoch_days, else its first epoch date)."""
    epochs = epochs.sort_values(["run", "epoch"], ignore_index=True)
    runs = epochs["run"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1], True])
    dates = epochs["date"].to_numpy().astype("datetime64[ns]")
    heights = epochs["height"].to_numpy()
    starts = _start_dates(epochs, bounds, start)
    columns = {o.name: _aligned_values(o, epochs, miners) for o in outcomes}
    result: dict[str, np.ndarray] = {"run": runs[bounds[:-1]]}
    for o in outcomes:
        values = columns[o.name]
        out = np.empty(len(bounds) - 1)
        for i, (a, b) in enumerate(itertools.pairwise(bounds)):
            out[i] = o.reducer(Series(values[a:b], dates[a:b], heights[a:b], starts[i]))
        result[o.name] = out
    return pd.DataFrame(result)


def _start_dates(epochs: pd.DataFrame, bounds: np.ndarray, start: object) -> np.ndarray:
    first = epochs["date"].to_numpy().astype("datetime64[ns]")[bounds[:-1]]
    if start is not None:
        return np.full(len(first), np.datetime64(pd.Timestamp(start).to_datetime64(), "ns"))
    if "epoch_days" in epochs.columns:
        days = epochs["epoch_days"].to_numpy(dtype=float)[bounds[:-1]]
        return first - pd.to_timedelta(days, unit="D").to_numpy()
    return first


def _aligned_values(
    outcome: Outcome, epochs: pd.DataFrame, miners: pd.DataFrame | None
) -> np.ndarray:
    """The outcome's column, one value per row of ``epochs`` (sorted by run and epoch)."""
    if outcome.table == "epochs":
        if outcome.column not in epochs.columns:
            raise MinersimError(f"outcome '{outcome.name}': no epoch column '{outcome.column}'")
        return epochs[outcome.column].to_numpy(dtype=float)
    if miners is None:
        raise MinersimError(
            f"outcome '{outcome.name}' reads the miners table: run the batch with --miners"
        )
    if outcome.column not in miners.columns:
        raise MinersimError(f"outcome '{outcome.name}': no miners column '{outcome.column}'")
    names = set(miners["name"].unique())
    missing = [m for m in outcome.miners if m not in names]
    if missing:
        raise MinersimError(
            f"outcome '{outcome.name}': no miner named {', '.join(map(repr, missing))} "
            f"(the batch has {', '.join(sorted(map(str, names)))})"
        )
    rows = miners[miners["name"].isin(outcome.miners)]
    per_epoch = rows.groupby(["run", "epoch"])[outcome.column].sum().astype(float)
    index = pd.MultiIndex.from_arrays([epochs["run"], epochs["epoch"]])
    return per_epoch.reindex(index).to_numpy()


# --------------------------------------------------------------------------------------------
# Outcomes and conditions as text


_REDUCERS: Mapping[str, Callable[..., Reducer]] = {
    "final": Final,
    "mean": Mean,
    "max": Max,
    "min": Min,
    "max_drawdown": MaxDrawdown,
    "after_halving": lambda height=HALVING_2028_HEIGHT: AfterHalving(int(height)),
    "halving_recovery": lambda height=HALVING_2028_HEIGHT: HalvingRecovery(int(height)),
}
_SPEC = re.compile(r"\s*(\w+)\s*=\s*(\w+)\s*\((.*)\)\s*")
_TARGET = re.compile(r"\s*(\w+)\s*(?:\[([^\]]+)\])?\s*")
_EVENT = re.compile(r"\s*(\w+)\s*(?:\[([^\]]+)\])?\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+)\s*")


def parse_outcome(text: str) -> Outcome:
    """An :class:`Outcome` from text such as ``"peak_debt=max(total_debt_usd)"``,
    ``"hr_2029=mean(hashrate_ehs, 2029-01-01, 2029-12-31)"``,
    ``"first_default=time_to(miners_defaulted >= 1)"`` or
    ``"mara_cap=final(market_cap_usd[MARA])"``; see :data:`SPEC_HELP`."""
    match = _SPEC.fullmatch(text)
    if not match:
        raise MinersimError(f"--outcome '{text}' must look like {SPEC_HELP}")
    name, kind, inside = match.groups()
    if kind == "time_to":
        event = _EVENT.fullmatch(inside)
        if not event:
            raise MinersimError(f"--outcome '{text}': time_to needs COLUMN OP VALUE, e.g. x >= 1")
        column, miners, op, value = event.groups()
        return Outcome(name, column, TimeTo(op, float(value)), _miner_names(miners))
    if kind not in _REDUCERS:
        raise MinersimError(
            f"--outcome '{text}': unknown reducer '{kind}' "
            f"(known: {', '.join([*_REDUCERS, 'time_to'])})"
        )
    target, *args = _split_arguments(inside)
    column = _TARGET.fullmatch(target)
    if not column:
        raise MinersimError(f"--outcome '{text}': '{target}' is not COLUMN or COLUMN[MINERS]")
    try:
        reducer = _REDUCERS[kind](*args)
    except (TypeError, ValueError) as exc:
        raise MinersimError(f"--outcome '{text}': bad arguments for {kind}: {exc}") from None
    return Outcome(name, column.group(1), reducer, _miner_names(column.group(2)))


def _split_arguments(inside: str) -> list[str]:
    """Split at commas outside ``[...]``."""
    parts, depth, current = [], 0, ""
    for char in inside:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    return [*parts, current.strip()]


def _miner_names(text: str | None) -> tuple[str, ...] | None:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else None


def condition(frame: pd.DataFrame, text: str) -> pd.Series:
    """Evaluate a condition on outcomes (``"miners_defaulted >= 3"``, combined with ``&``, ``|``
    and ``~``) row by row: a boolean Series (MinersimError for anything else)."""
    try:
        result = frame.eval(text, engine="python")
    except Exception as exc:  # pandas raises many kinds for bad text
        names = ", ".join(c for c in frame.columns if c != "run")
        raise MinersimError(
            f"--where '{text}': {type(exc).__name__}: {exc} (outcomes: {names})"
        ) from None
    if not isinstance(result, pd.Series) or result.dtype != bool:
        raise MinersimError(f"--where '{text}' is not a condition (true or false for each run)")
    return result


__all__ = [
    "STANDARD_OUTCOMES",
    "AfterHalving",
    "Final",
    "HalvingRecovery",
    "Max",
    "MaxDrawdown",
    "Mean",
    "Min",
    "Outcome",
    "Series",
    "TimeTo",
    "compute",
    "condition",
    "epoch_outcome",
    "parse_outcome",
    "resolve",
]
