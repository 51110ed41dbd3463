"""Scenarios: load a TOML file and its CSV tables, validate everything, apply overrides, hash.

A scenario is a TOML file checked against :class:`sim.input.schema.ScenarioConfig` plus up to four CSV
tables whose paths the TOML gives *relative to the TOML file*:

``miners.csv`` (one row per public miner)
    name, ticker, hashrate_ehs (EH/s), efficiency_jth (J/TH), capacity_mw (MW),
    power_price_usd_mwh ($/MWh), contract_end (ISO date: power contract end), cash_usd (USD),
    btc_held (BTC), shares_outstanding, share_price_usd (USD), source, estimate (true/false: the
    row contains estimated figures), notes (optional column).
``miners.debt_csv`` (one row per debt instrument)
    miner (a miners name), instrument (``senior_secured`` | ``convertible``), principal_usd (USD),
    coupon (annual fraction, 0.0775 = 7.75%), issue_date, maturity (ISO dates),
    conversion_price_usd (USD per share; empty for senior_secured, required for convertible),
    amortization_per_year (fraction of the original principal repaid per year, 0 = bullet), source.
    An ``issue_date`` after the scenario start is allowed: the instrument is drawn on that date.
``miners.ai_contracts_csv`` (one row per AI/HPC lease)
    miner, mw (MW of critical IT leased), usd_per_mw_year (USD per MW-year), term_years (years),
    start (ISO date: lease revenue starts; a future start means the build is in progress),
    capex_usd_per_mw (USD per MW still to spend between the scenario start and ``start``; 0 if
    built), source.
``market.btc.path_csv`` (process ``replay`` only)
    date, price (USD). Rows may come in any order (they are sorted); a date may not repeat; missing
    days are forward-filled; the first date must be on or before the scenario start.

In the frames, numbers are float64, dates are :class:`datetime.date` objects (object dtype),
``estimate`` is bool and text is ``str``. With no miners CSV the three frames are empty but keep
their columns and dtypes.

Inheritance: a top-level ``extends = "baseline.toml"`` (relative to the file) loads that file
first and deep-merges this one over it: tables merge key by key, any other value (numbers,
strings, arrays such as ``fringe.classes``) is replaced whole. Chains are allowed, cycles are not.
CSV paths are resolved relative to the file that names them.

Overrides are dotted keys (``market.btc.volatility``; list items by index, ``fringe.classes.0.
power_price_usd_mwh``) applied to the merged TOML dict *before* validation, so a bad override
fails exactly like the same value written in the file. A path-valued override is relative to the
scenario file.

Every problem raises :class:`sim.errors.ScenarioError` naming the file and the dotted key or the
CSV line and column. ``content_hash`` is a sha256 of the validated configuration (defaults
included, file paths left out) and of the parsed table contents: it does not change with key
order, whitespace, comments or where the files live, and changes with any value.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import json
import math
import pathlib
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas
from pydantic import BaseModel, ValidationError

from sim import consensus
from sim.errors import ScenarioError
from sim.input.schema import ScenarioConfig
from sim.paths import SCENARIOS_DIR

EXTENDS_KEY = "extends"
PATH_KEYS = (
    ("miners", "csv"),
    ("miners", "debt_csv"),
    ("miners", "ai_contracts_csv"),
    ("market", "btc", "path_csv"),
)
INSTRUMENTS = ("senior_secured", "convertible")
CAPACITY_TOLERANCE_MW = 1e-6


# --------------------------------------------------------------------------------------------
# Table columns


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


def empty_table(columns: tuple[Column, ...]) -> pandas.DataFrame:
    """An empty frame with the columns and dtypes of a table."""
    return pandas.DataFrame(
        {col.name: pandas.Series([], dtype=_DTYPES[col.kind]) for col in columns}
    )


# --------------------------------------------------------------------------------------------
# The scenario


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario: configuration, public-miner tables and (replay) BTC price path.

    Two scenarios are equal when their content hashes are.
    """

    config: ScenarioConfig
    miners: pandas.DataFrame
    debt: pandas.DataFrame
    ai_contracts: pandas.DataFrame
    btc_replay: pandas.Series | None
    source: pathlib.Path | None
    content_hash: str

    @property
    def name(self) -> str:
        return self.config.scenario.name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.content_hash == other.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)


def load_scenario(
    path: str | Path | Scenario, overrides: Mapping[str, object] | None = None
) -> Scenario:
    """Load and validate a scenario file (or re-validate a Scenario) with optional overrides.

    ``path`` may also be the name of a bundled scenario (``"baseline"``).
    """
    if isinstance(path, Scenario):
        return with_overrides(path, overrides or {})
    file = resolve_scenario_path(str(path))
    raw, origins = _read_with_extends(file, chain=())
    return _build(raw, origins, file, overrides or {})


def with_overrides(scenario: Scenario, overrides: Mapping[str, object]) -> Scenario:
    """A new Scenario with dotted-key overrides applied and everything validated again."""
    if not overrides:
        return scenario
    # exclude_unset: what the files set stays told apart from defaults (assumptions_used)
    raw = _lists(scenario.config.model_dump(mode="python", exclude_unset=True))
    label = _display(scenario.source) if scenario.source else f"scenario '{scenario.name}'"
    origins = {(): label}
    return _build(raw, origins, scenario.source, overrides, label=label)


def _lists(value: object) -> object:
    """A dumped config with tuples turned into lists, as TOML would give them (so that a list
    item can be overridden in place)."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def _build(
    raw: dict,
    origins: dict[tuple, str],
    file: Path | None,
    overrides: Mapping[str, object],
    label: str | None = None,
) -> Scenario:
    label = label or (_display(file) if file else "scenario")
    base_dir = file.parent if file else Path.cwd()
    for key, value in overrides.items():
        parts = _check_override_key(key, label)
        if parts in PATH_KEYS and isinstance(value, str):
            value = _absolute(base_dir, value, key)
        _set_dotted(raw, parts, value, key, label)
        origins[parts] = f"{label} (override {key}={value!r})"
    config = _validate_config(raw, origins, label)
    miners, debt, ai = _load_tables(config, origins, label)
    replay = _load_replay(config, origins, label)
    _check_chain_matches_fleet(config, miners, _origin(origins, ("chain",), label))
    return Scenario(
        config=config,
        miners=miners,
        debt=debt,
        ai_contracts=ai,
        btc_replay=replay,
        source=file,
        content_hash=_content_hash(config, (miners, debt, ai), replay),
    )


# --------------------------------------------------------------------------------------------
# Bundled scenarios and override texts


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios (``scenarios/*.toml``), sorted."""
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml"))


def resolve_scenario_path(name_or_path: str) -> Path:
    """An existing file path as given, else a bundled scenario name: ``scenarios/<name>.toml``."""
    if "\x00" in name_or_path:
        raise ScenarioError("a scenario name or path cannot contain a NUL character")
    given = Path(name_or_path)
    if given.is_file():
        return given.resolve()
    bundled = SCENARIOS_DIR / f"{given.name}.toml"
    if given.suffix == "" and given.parent == Path(".") and bundled.is_file():
        return bundled
    names = ", ".join(list_scenarios()) or "none"
    raise ScenarioError(
        f"no such scenario file or bundled scenario (bundled: {names})", file=name_or_path
    )


def parse_override(text: str) -> tuple[str, object]:
    """``"market.btc.volatility=0.6"`` -> ``("market.btc.volatility", 0.6)``.

    The value is read as a TOML value (number, boolean, quoted string, date, array); anything
    that is not valid TOML (a bare word) is taken as a string.
    """
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise ScenarioError(f"override {text!r} must look like key=value", key="--set")
    parts = key.split(".")
    if not all(part.strip() for part in parts):
        raise ScenarioError(f"override key {key!r} has an empty part", key="--set")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


def parse_overrides(texts: Iterable[str] | None) -> dict[str, object]:
    """Parse ``--set key=value`` texts into an override dict (a repeated key: the last wins)."""
    return dict(parse_override(text) for text in texts or ())


# --------------------------------------------------------------------------------------------
# TOML reading, extends, overrides


def _display(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_toml(file: Path) -> dict:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ScenarioError("file not found", file=_display(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"malformed TOML: {exc}", file=_display(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read: {exc}", file=_display(file)) from None


def _read_with_extends(file: Path, chain: tuple[Path, ...]) -> tuple[dict, dict[tuple, str]]:
    """The file's TOML merged over its ``extends`` parents, and which file set each leaf key."""
    file = file.resolve()
    if file in chain:
        cycle = " -> ".join(_display(p) for p in (*chain, file))
        raise ScenarioError(f"extends cycle: {cycle}", file=_display(chain[-1]), key=EXTENDS_KEY)
    raw = _read_toml(file)
    label = _display(file)
    _resolve_paths(raw, file.parent)
    parent_name = raw.pop(EXTENDS_KEY, None)
    if parent_name is None:
        merged, origins = {}, {}
    elif not isinstance(parent_name, str):
        raise ScenarioError("must be a file name (string)", file=label, key=EXTENDS_KEY)
    else:
        parent = file.parent / parent_name
        if not parent.is_file():
            raise ScenarioError(f"file not found: {_display(parent)}", file=label, key=EXTENDS_KEY)
        merged, origins = _read_with_extends(parent, (*chain, file))
    _deep_merge(merged, raw, origins, label, ())
    origins[()] = label
    return merged, origins


def _resolve_paths(raw: dict, base_dir: Path) -> None:
    """Make the CSV paths of one file absolute, relative to that file's directory."""
    for parts in PATH_KEYS:
        table = raw
        for part in parts[:-1]:
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict) and isinstance(table.get(parts[-1]), str):
            table[parts[-1]] = _absolute(base_dir, table[parts[-1]], ".".join(parts))


def _absolute(base_dir: Path, text: str, key: str) -> str:
    """A CSV path from a scenario, made absolute relative to ``base_dir``."""
    if "\x00" in text:
        raise ScenarioError(
            "a file path cannot contain a NUL character", file=str(base_dir), key=key
        )
    return str((base_dir / text).resolve())


def _deep_merge(into: dict, new: dict, origins: dict, label: str, prefix: tuple) -> None:
    for key, value in new.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value, origins, label, path)
            continue
        for old in [k for k in origins if k[: len(path)] == path]:
            del origins[old]
        into[key] = value
        origins[path] = label


def _check_override_key(key: str, label: str) -> tuple:
    """The override key split into parts, or a ScenarioError if the schema has no such key."""
    parts: list[object] = []
    annotation: object = ScenarioConfig
    for part in key.split("."):
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = annotation.model_fields
            if part not in fields:
                hint = difflib.get_close_matches(part, list(fields), n=1)
                maybe = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise ScenarioError(f"unknown override key{maybe}", file=label, key=key)
            annotation = fields[part].annotation
            parts.append(part)
        elif origin in (list, tuple) and part.isascii() and part.isdigit():
            args = typing.get_args(annotation)
            annotation = args[0] if origin is list else object
            parts.append(int(part))
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
            parts.append(part)
        else:
            raise ScenarioError(
                f"unknown override key (nothing inside '{part}')", file=label, key=key
            )
    return tuple(parts)


def _unwrap(annotation: object) -> object:
    """Strip Annotated[...] and Optional[...] from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _set_dotted(raw: dict, parts: tuple, value: object, key: str, label: str) -> None:
    node: object = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ScenarioError("list index out of range", file=label, key=key)
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ScenarioError(f"'{parts[i - 1]}' is not a table", file=label, key=key)
            node = node.setdefault(part, {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ScenarioError("list index out of range", file=label, key=key)
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError("the parent key is not a table", file=label, key=key)


# --------------------------------------------------------------------------------------------
# Schema validation


def _validate_config(raw: dict, origins: dict[tuple, str], label: str) -> ScenarioConfig:
    try:
        return ScenarioConfig.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        key = _dotted(first["loc"])
        message = _error_text(first)
        if len(errors) > 1:
            others = "; ".join(f"{_dotted(e['loc'])}: {_error_text(e)}" for e in errors[1:4])
            more = f" (+{len(errors) - 4} more)" if len(errors) > 4 else ""
            message = f"{message}; also {others}{more}"
        raise ScenarioError(message, file=_origin(origins, first["loc"], label), key=key) from None


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _error_text(error: Mapping) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "missing required key"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool | dt.date) and kind != "value_error":
        message += f" (got {value!r})"
    return message


def _origin(origins: Mapping[tuple, str], loc: tuple, default: str) -> str:
    for n in range(len(loc), 0, -1):
        if tuple(loc[:n]) in origins:
            return origins[tuple(loc[:n])]
    return origins.get((), default)


# --------------------------------------------------------------------------------------------
# Tables


def _load_tables(
    config: ScenarioConfig, origins: Mapping[tuple, str], label: str
) -> tuple[pandas.DataFrame, pandas.DataFrame, pandas.DataFrame]:
    section = config.miners
    tables = []
    for attr, columns in (
        ("csv", MINER_COLUMNS),
        ("debt_csv", DEBT_COLUMNS),
        ("ai_contracts_csv", AI_COLUMNS),
    ):
        path = getattr(section, attr)
        if path is None:
            tables.append((empty_table(columns), [], None))
        else:
            owner = _origin(origins, ("miners", attr), label)
            frame, lines = _read_table(Path(path), columns, owner, f"miners.{attr}")
            tables.append((frame, lines, _display(path)))
    (miners, miner_lines, miners_file), debt_t, ai_t = tables
    _check_miners(miners, miner_lines, miners_file)
    _check_policies(config, miners, _origin(origins, ("miners", "policies"), label))
    known = set(miners["name"])
    _check_miner_refs(debt_t, known, miners_file)
    _check_miner_refs(ai_t, known, miners_file)
    _check_debt(debt_t, config.scenario.start_date)
    _check_capacity(miners, miner_lines, miners_file, ai_t[0])
    return miners, debt_t[0], ai_t[0]


def _read_table(
    path: Path, columns: tuple[Column, ...], owner: str, key: str
) -> tuple[pandas.DataFrame, list[int]]:
    """Read and type-check one CSV; returns the frame and each row's line number in the file."""
    shown = _display(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            rows, lines = [], []
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
    except FileNotFoundError:
        raise ScenarioError(f"file not found: {shown}", file=owner, key=key) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ScenarioError(f"cannot read CSV: {exc}", file=shown) from None
    _check_header(header, columns, shown)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != len(header):
            raise ScenarioError(
                f"{len(row)} cells, the header has {len(header)}", file=shown, key=f"line {line}"
            )
    data = {}
    for col in columns:
        if col.name not in header:
            data[col.name] = pandas.Series([""] * len(rows), dtype="str")
            continue
        index = header.index(col.name)
        values = [
            _parse_cell(row[index].strip(), col, shown, line)
            for row, line in zip(rows, lines, strict=True)
        ]
        data[col.name] = pandas.Series(values, dtype=_DTYPES[col.kind])
    return pandas.DataFrame(data), lines


def _check_header(header: list[str], columns: tuple[Column, ...], shown: str) -> None:
    if not header or header == [""]:
        raise ScenarioError("empty CSV (no header line)", file=shown)
    expected = [col.name for col in columns]
    missing = [c.name for c in columns if c.name not in header and not c.optional]
    extra = [name for name in header if name not in expected]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or extra or repeated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unknown column(s) {', '.join(extra)}")
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
        raise ScenarioError("empty cell", file=shown, key=where)
    if col.kind == "text":
        return text
    if col.kind == "flag":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ScenarioError(f"must be true or false (got {text!r})", file=shown, key=where)
        return lowered == "true"
    if col.kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ScenarioError(
                f"not an ISO date YYYY-MM-DD (got {text!r})", file=shown, key=where
            ) from None
    try:
        number = float(text)
    except ValueError:
        raise ScenarioError(f"not a number (got {text!r})", file=shown, key=where) from None
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
    else:
        return
    raise ScenarioError(f"{problem} (got {number:g})", file=shown, key=where)


def _check_miners(miners: pandas.DataFrame, lines: list[int], shown: str | None) -> None:
    seen: dict[str, int] = {}
    for name, line in zip(miners["name"], lines, strict=True):
        if name in seen:
            raise ScenarioError(
                f"duplicate miner name {name!r} (also on line {seen[name]})",
                file=shown,
                key=f"line {line}, column name",
            )
        seen[name] = line


#: How far the starting difficulty may sit from the one the fleets' hashrate implies.
MAX_DIFFICULTY_MISMATCH = 100.0


def _check_chain_matches_fleet(
    config: ScenarioConfig, miners: pandas.DataFrame, where: str
) -> None:
    """The starting difficulty must roughly match the hashrate of the fleets.

    At 600 s blocks, hashrate H (H/s) implies difficulty H * 600 / 2**32. A difficulty far from
    it means epochs of seconds or of centuries, which no calibration intends.
    """
    ehs = float(miners["hashrate_ehs"].sum()) + sum(c.hashrate_ehs for c in config.fringe.classes)
    if ehs <= 0:
        raise ScenarioError(
            "the miners and fringe classes have no hashrate at all", file=where, key="chain"
        )
    implied = ehs * 1e18 * 600 / 2**32
    chain = config.chain
    given = consensus.bits_to_difficulty(chain.bits) if chain.bits is not None else chain.difficulty
    ratio = given / implied
    if not 1 / MAX_DIFFICULTY_MISMATCH <= ratio <= MAX_DIFFICULTY_MISMATCH:
        raise ScenarioError(
            f"starting difficulty {given:.4g} is {ratio:.3g} times the {implied:.4g} that the "
            f"fleets' {ehs:,.1f} EH/s imply at 600 s blocks (allowed: 1/{MAX_DIFFICULTY_MISMATCH:g} "
            f"to {MAX_DIFFICULTY_MISMATCH:g} times)",
            file=where,
            key="chain",
        )


def _check_policies(config: ScenarioConfig, miners: pandas.DataFrame, owner: str) -> None:
    known = set(miners["name"])
    for name in config.miners.policies:
        if name not in known:
            listed = ", ".join(sorted(known)) or "no public miners"
            raise ScenarioError(
                f"unknown miner {name!r} (miners: {listed})",
                file=owner,
                key=f"miners.policies.{name}",
            )


def _check_miner_refs(table: tuple, known: set[str], miners_file: str | None) -> None:
    frame, lines, shown = table
    for name, line in zip(frame.get("miner", []), lines, strict=False):
        if name not in known:
            where = f"not in {miners_file}" if miners_file else "no miners CSV is given"
            raise ScenarioError(
                f"unknown miner {name!r} ({where})", file=shown, key=f"line {line}, column miner"
            )


def _check_debt(table: tuple, start: dt.date) -> None:
    frame, lines, shown = table
    for row, line in zip(frame.itertuples(index=False), lines, strict=True):
        where = f"line {line}, column "
        if row.instrument not in INSTRUMENTS:
            raise ScenarioError(
                f"must be one of {', '.join(INSTRUMENTS)} (got {row.instrument!r})",
                file=shown,
                key=where + "instrument",
            )
        has_price = not math.isnan(row.conversion_price_usd)
        if row.instrument == "convertible" and not has_price:
            raise ScenarioError(
                "a convertible needs a conversion price",
                file=shown,
                key=where + "conversion_price_usd",
            )
        if row.instrument == "senior_secured" and has_price:
            raise ScenarioError(
                "must be empty for senior_secured", file=shown, key=where + "conversion_price_usd"
            )
        if row.maturity <= row.issue_date:
            raise ScenarioError(
                f"maturity {row.maturity} is not after issue_date {row.issue_date}",
                file=shown,
                key=where + "maturity",
            )
        if row.maturity < start:
            raise ScenarioError(
                f"maturity {row.maturity} is before the scenario start {start}",
                file=shown,
                key=where + "maturity",
            )


def _check_capacity(
    miners: pandas.DataFrame, lines: list[int], shown: str | None, ai: pandas.DataFrame
) -> None:
    """Mining MW (EH/s x J/TH = MW) plus leased AI MW must fit within capacity_mw."""
    ai_mw = ai.groupby("miner")["mw"].sum() if len(ai) else pandas.Series(dtype="float64")
    for row, line in zip(miners.itertuples(index=False), lines, strict=True):
        mining_mw = row.hashrate_ehs * row.efficiency_jth
        leased = float(ai_mw.get(row.name, 0.0))
        if mining_mw + leased > row.capacity_mw + CAPACITY_TOLERANCE_MW:
            raise ScenarioError(
                f"mining {mining_mw:,.1f} MW ({row.hashrate_ehs:g} EH/s x {row.efficiency_jth:g} "
                f"J/TH) + AI {leased:,.1f} MW exceeds capacity_mw {row.capacity_mw:,.1f} "
                f"for {row.name!r}",
                file=shown,
                key=f"line {line}, column capacity_mw",
            )


# --------------------------------------------------------------------------------------------
# BTC replay path


def _load_replay(
    config: ScenarioConfig, origins: Mapping[tuple, str], label: str
) -> pandas.Series | None:
    """Daily BTC USD indexed by datetime.date (sorted, gaps forward-filled); replay only."""
    btc = config.market.btc
    if btc.process != "replay":
        return None
    owner = _origin(origins, ("market", "btc", "path_csv"), label)
    path = Path(btc.path_csv)
    frame, lines = _read_table(path, REPLAY_COLUMNS, owner, "market.btc.path_csv")
    shown = _display(path)
    if frame.empty:
        raise ScenarioError("no price rows", file=shown)
    first_line: dict[dt.date, int] = {}
    for day, line in zip(frame["date"], lines, strict=True):
        if day in first_line:
            raise ScenarioError(
                f"date {day} repeats line {first_line[day]}",
                file=shown,
                key=f"line {line}, column date",
            )
        first_line[day] = line
    prices = pandas.Series(frame["price"].to_numpy(), index=list(frame["date"])).sort_index()
    start = config.scenario.start_date
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


# --------------------------------------------------------------------------------------------
# Content hash


def _content_hash(
    config: ScenarioConfig, tables: Iterable[pandas.DataFrame], replay: pandas.Series | None
) -> str:
    settings = config.model_dump(mode="json")
    for parts in PATH_KEYS:  # where the files live is not content; what they hold is
        node = settings
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = None
    content = {
        "config": settings,
        "tables": [_canonical_table(frame) for frame in tables],
        "btc_replay": None
        if replay is None
        else [[day.isoformat(), _canonical(value)] for day, value in replay.items()],
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_table(frame: pandas.DataFrame) -> dict:
    return {
        "columns": list(frame.columns),
        "rows": [[_canonical(v) for v in row] for row in frame.itertuples(index=False)],
    }


def _canonical(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if math.isnan(value) else repr(float(value))
    return str(value)


# Exposed for the CLI and tests: the frame columns by table.
TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "miners": MINER_COLUMNS,
    "debt": DEBT_COLUMNS,
    "ai_contracts": AI_COLUMNS,
    "btc_replay": REPLAY_COLUMNS,
}
