"""The CSV tables of a scenario: their columns, parsing, and the checks across tables.

Tables are parsed from bytes already read (:func:`sim.input.files.read_bytes`). An error names
the file, the line and the column and the values the column accepts. It never quotes text from
a file that failed to parse as a table: a file named by mistake (or on purpose) is not echoed.
Once a table has parsed, checks across tables may name its miners.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass

import pandas

from sim.errors import ScenarioError
from sim.input.schema import ISO_DATE, STRATEGY_NAMES

INSTRUMENTS = ("senior_secured", "convertible")
CAPACITY_TOLERANCE_MW = 1e-6


@dataclass(frozen=True)
class Column:
    """One CSV column: its kind and the values it accepts.

    kind: ``text`` (str), ``number`` (float64), ``date`` (datetime.date), ``flag`` (bool).
    Numbers must be finite and >= ``minimum`` (> ``minimum`` when ``strict``) and <= ``maximum``.
    """

    name: str
    kind: str
    minimum: float = 0.0
    strict: bool = False
    maximum: float = math.inf
    optional: bool = False  # the column may be absent (filled with "")
    blank_ok: bool = False  # a cell may be empty ("" for text, NaN for numbers)

    def accepts(self) -> str:
        """What a cell of this column must hold, in words."""
        if self.kind == "flag":
            return "true or false"
        if self.kind == "date":
            return "an ISO date YYYY-MM-DD"
        if self.kind == "text":
            return "text"
        low = f"> {self.minimum:g}" if self.strict else f">= {self.minimum:g}"
        high = f" and <= {self.maximum:g}" if math.isfinite(self.maximum) else ""
        return f"a number {low}{high}"


def _text(name: str, **kw: object) -> Column:
    return Column(name, "text", **kw)


def _number(name: str, **kw: object) -> Column:
    return Column(name, "number", **kw)


def _date(name: str) -> Column:
    return Column(name, "date")


MINER_COLUMNS = (
    _text("name"),
    _text("ticker", blank_ok=True),
    _number("hashrate_ehs", maximum=1e6),
    _number("efficiency_jth", strict=True, maximum=1e4),
    _number("capacity_mw", strict=True, maximum=1e6),
    _number("power_price_usd_mwh", maximum=1e4),
    _date("contract_end"),
    _number("cash_usd", maximum=1e13),
    _number("btc_held", maximum=21e6),  # no more than the supply cap
    _number("shares_outstanding", minimum=1.0, maximum=1e13),
    _number("share_price_usd", strict=True, maximum=1e9),
    _text("source", blank_ok=True),
    Column("estimate", "flag"),
    _text("notes", optional=True, blank_ok=True),
    # the stated 2025 strategy (mining_first, balanced, ai_first; blank: the policy's own
    # parameters), the share of capacity offered to AI (blank: the strategy's) and the source
    _text("strategy", optional=True, blank_ok=True),
    _number("ai_offer_fraction", optional=True, blank_ok=True, maximum=1.0),
    _text("strategy_source", optional=True, blank_ok=True),
)
DEBT_COLUMNS = (
    _text("miner"),
    _text("instrument"),
    _number("principal_usd", strict=True, maximum=1e12),
    _number("coupon", maximum=1.0),
    _date("issue_date"),
    _date("maturity"),
    _number("conversion_price_usd", strict=True, blank_ok=True, maximum=1e9),
    _number("amortization_per_year", maximum=1.0),
    _text("source", blank_ok=True),
)
AI_COLUMNS = (
    _text("miner"),
    _number("mw", strict=True, maximum=1e6),
    _number("usd_per_mw_year", strict=True, maximum=1e8),
    _number("term_years", strict=True, maximum=50.0),
    _date("start"),
    _number("capex_usd_per_mw", maximum=1e9),
    _text("source", blank_ok=True),
)
REPLAY_COLUMNS = (_date("date"), _number("price", strict=True, maximum=1e9))

_DTYPES = {"text": "str", "number": "float64", "date": "object", "flag": "bool"}


@dataclass(frozen=True)
class Table:
    """A parsed CSV: the frame, each row's line number in the file, and the file as shown."""

    frame: pandas.DataFrame
    lines: list[int]
    shown: str | None


def empty_table(columns: tuple[Column, ...]) -> pandas.DataFrame:
    """An empty frame with the columns and dtypes of a table."""
    return pandas.DataFrame(
        {col.name: pandas.Series([], dtype=_DTYPES[col.kind]) for col in columns}
    )


def parse_table(data: bytes, columns: tuple[Column, ...], shown: str) -> Table:
    """Parse and type-check the bytes of one CSV file (UTF-8, an optional BOM)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded); "
            f"expected a CSV with columns {_names(columns)}",
            file=shown,
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        header = [name.strip() for name in next(reader, [])]
        for row in reader:
            # A row whose cells are all blank (an empty line, a spreadsheet's trailing ",,") is
            # skipped; line numbers in messages still count it.
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise ScenarioError(
            f"malformed CSV: {exc}", file=shown, key=f"line {reader.line_num}"
        ) from None
    _check_header(header, columns, shown)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise ScenarioError(
                f"{len(row)} cells, the header has {len(header)}", file=shown, key=f"line {line}"
            )
    data_columns = {}
    for col in columns:
        if col.name not in header:
            blank = math.nan if col.kind == "number" else ""
            data_columns[col.name] = pandas.Series([blank] * len(rows), dtype=_DTYPES[col.kind])
            continue
        index = header.index(col.name)
        values = [
            _parse_cell(row[index].strip(), col, shown, line)
            for row, line in zip(rows, lines, strict=True)
        ]
        data_columns[col.name] = pandas.Series(values, dtype=_DTYPES[col.kind])
    return Table(pandas.DataFrame(data_columns), lines, shown)


def _names(columns: tuple[Column, ...]) -> str:
    return ", ".join(col.name for col in columns)


def _check_header(header: list[str], columns: tuple[Column, ...], shown: str) -> None:
    """The header must name every required column once and nothing else. The message lists
    the expected and missing names and the positions of unknown ones, never the header's text."""
    if not header or header == [""]:
        raise ScenarioError(f"empty CSV (no header line; expected {_names(columns)})", file=shown)
    expected = [col.name for col in columns]
    missing = [c.name for c in columns if c.name not in header and not c.optional]
    unknown = [i + 1 for i, name in enumerate(header) if name not in expected]
    repeated = sorted({name for name in header if name in expected and header.count(name) > 1})
    if missing or unknown or repeated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            positions = ", ".join(map(str, unknown[:5])) + (", ..." if len(unknown) > 5 else "")
            parts.append(f"{len(unknown)} unknown column(s) (position {positions})")
        if repeated:
            parts.append(f"repeated column(s) {', '.join(repeated)}")
        raise ScenarioError(
            f"{'; '.join(parts)} (expected: {', '.join(expected)})", file=shown, key="line 1"
        )


def _parse_cell(text: str, col: Column, shown: str, line: int) -> object:
    where = f"line {line}, column {col.name}"
    if text == "":
        if col.blank_ok:
            return math.nan if col.kind == "number" else ""
        raise ScenarioError(f"empty cell (expected {col.accepts()})", file=shown, key=where)
    if col.kind == "text":
        return text
    if col.kind == "flag":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ScenarioError("must be true or false", file=shown, key=where)
        return lowered == "true"
    if col.kind == "date":
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ScenarioError("not an ISO date YYYY-MM-DD", file=shown, key=where) from None
    try:
        number = float(text)
    except ValueError:
        raise ScenarioError(
            f"not a number (expected {col.accepts()})", file=shown, key=where
        ) from None
    _check_range(number, col, shown, where)
    return number


def _check_range(number: float, col: Column, shown: str, where: str) -> None:
    if not math.isfinite(number):
        problem = "must be a finite number"
    elif col.strict and number <= col.minimum:
        problem = f"must be > {col.minimum:g}"
    elif number < col.minimum:
        problem = f"must be >= {col.minimum:g}"
    elif number > col.maximum:
        problem = f"must be <= {col.maximum:g}"
        if col.name.endswith("_ehs"):
            problem += " (a TH/s or PH/s figure? 1 EH/s = 1,000 PH/s = 1,000,000 TH/s)"
    else:
        return
    raise ScenarioError(f"{problem} (got {number:g})", file=shown, key=where)


# --------------------------------------------------------------------------------------------
# Checks within and across the public-miner tables (parsed: they may name the miners)


def quoted(text: str, limit: int = 40) -> str:
    """A miner name from a parsed table, quoted and cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def check_miners(miners: Table) -> None:
    seen: dict[str, int] = {}
    for name, line in zip(miners.frame["name"], miners.lines, strict=True):
        if name in seen:
            raise ScenarioError(
                f"duplicate miner name {quoted(name)} (also on line {seen[name]})",
                file=miners.shown,
                key=f"line {line}, column name",
            )
        seen[name] = line
    for strategy, line in zip(miners.frame["strategy"], miners.lines, strict=True):
        if strategy and strategy not in STRATEGY_NAMES:
            raise ScenarioError(
                f"unknown strategy (expected blank or one of {', '.join(STRATEGY_NAMES)})",
                file=miners.shown,
                key=f"line {line}, column strategy",
            )


def check_miner_refs(table: Table, known: set[str], miners_file: str | None) -> None:
    for name, line in zip(table.frame.get("miner", []), table.lines, strict=False):
        if name not in known:
            where = f"not a name in {miners_file}" if miners_file else "no miners CSV is given"
            raise ScenarioError(
                f"unknown miner {quoted(name)} ({where})",
                file=table.shown,
                key=f"line {line}, column miner",
            )


def records(frame: pandas.DataFrame) -> list[dict]:
    """The rows of a small table as dicts (far faster than ``itertuples`` on a few rows)."""
    columns = {name: frame[name].tolist() for name in frame.columns}
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def check_debt(table: Table, start: dt.date) -> None:
    for row, line in zip(records(table.frame), table.lines, strict=True):
        where = f"line {line}, column "
        if row["instrument"] not in INSTRUMENTS:
            raise ScenarioError(
                f"must be one of {', '.join(INSTRUMENTS)}",
                file=table.shown,
                key=where + "instrument",
            )
        has_price = not math.isnan(row["conversion_price_usd"])
        if row["instrument"] == "convertible" and not has_price:
            raise ScenarioError(
                "a convertible needs a conversion price",
                file=table.shown,
                key=where + "conversion_price_usd",
            )
        if row["instrument"] == "senior_secured" and has_price:
            raise ScenarioError(
                "must be empty for senior_secured",
                file=table.shown,
                key=where + "conversion_price_usd",
            )
        if row["maturity"] <= row["issue_date"]:
            raise ScenarioError(
                f"maturity {row['maturity']} is not after issue_date {row['issue_date']}",
                file=table.shown,
                key=where + "maturity",
            )
        if row["maturity"] < start:
            raise ScenarioError(
                f"maturity {row['maturity']} is before the scenario start {start}",
                file=table.shown,
                key=where + "maturity",
            )


def check_capacity(miners: Table, ai: pandas.DataFrame) -> None:
    """Mining MW (EH/s x J/TH = MW) plus leased AI MW must fit within capacity_mw."""
    ai_mw: dict[str, float] = {}
    for name, mw in zip(ai["miner"].tolist(), ai["mw"].tolist(), strict=True):
        ai_mw[name] = ai_mw.get(name, 0.0) + mw
    for row, line in zip(records(miners.frame), miners.lines, strict=True):
        mining_mw = row["hashrate_ehs"] * row["efficiency_jth"]
        leased = ai_mw.get(row["name"], 0.0)
        if mining_mw + leased > row["capacity_mw"] + CAPACITY_TOLERANCE_MW:
            raise ScenarioError(
                f"mining {mining_mw:,.1f} MW ({row['hashrate_ehs']:g} EH/s x "
                f"{row['efficiency_jth']:g} J/TH) + AI {leased:,.1f} MW exceeds capacity_mw "
                f"{row['capacity_mw']:,.1f} for {quoted(row['name'])}",
                file=miners.shown,
                key=f"line {line}, column capacity_mw",
            )


# --------------------------------------------------------------------------------------------
# BTC replay path


def replay_series(table: Table, start: dt.date) -> pandas.Series:
    """Daily BTC USD indexed by datetime.date (sorted, gaps forward-filled)."""
    frame, shown = table.frame, table.shown
    if frame.empty:
        raise ScenarioError("no price rows", file=shown)
    first_line: dict[dt.date, int] = {}
    for day, line in zip(frame["date"], table.lines, strict=True):
        if day in first_line:
            raise ScenarioError(
                f"date {day} repeats line {first_line[day]}",
                file=shown,
                key=f"line {line}, column date",
            )
        first_line[day] = line
    prices = pandas.Series(frame["price"].to_numpy(), index=list(frame["date"])).sort_index()
    if prices.index[0] > start:
        raise ScenarioError(
            f"prices start on {prices.index[0]}, after the scenario start {start}",
            file=shown,
            key="column date",
        )
    if prices.index[-1] < start:
        raise ScenarioError(
            f"prices end on {prices.index[-1]}, before the scenario start {start}",
            file=shown,
            key="column date",
        )
    days = pandas.date_range(prices.index[0], prices.index[-1], freq="D").date
    daily = prices.reindex(days).ffill()
    daily.index = pandas.Index(list(days), dtype="object", name="date")
    daily.name = "btc_price_usd"
    return daily


#: The frame columns by table.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "miners": MINER_COLUMNS,
    "debt": DEBT_COLUMNS,
    "ai_contracts": AI_COLUMNS,
    "btc_replay": REPLAY_COLUMNS,
}
