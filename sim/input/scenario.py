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

Files: a scenario reads files only inside its own folder tree, the bundled scenarios and folders
named with ``data_dirs`` (``--data-dir``), only regular files and only up to a size limit
(:mod:`sim.input.files`). Errors never quote a file that failed to parse as a table.

Inheritance: a top-level ``extends = "baseline.toml"`` (relative to the file) or ``extends =
"baseline"`` (a bundled scenario) loads that file first and deep-merges this one over it: tables
merge key by key, any other value (numbers, strings, arrays such as ``fringe.classes``) is
replaced whole. Chains of up to 16 files are allowed, cycles are not. CSV paths are resolved
relative to the file that names them.

Overrides are dotted keys (``market.btc.volatility``; list items by index, ``fringe.classes.0.
power_price_usd_mwh``) applied to the merged TOML dict *before* validation, so a bad override
fails exactly like the same value written in the file. A path-valued override is relative to the
scenario file.

A :class:`Scenario` is immutable: its tables are handed out as copies, and every entry point
(:func:`load_scenario`, :func:`sim.run`, :class:`sim.MiningModel`, the batches) first checks that
its content hash still matches its configuration, so a configuration changed in place is refused.
Overrides of a loaded Scenario re-validate everything against the tables it was loaded with (the
files are not read again; only a path override reads the new file).

Every problem raises :class:`sim.errors.ScenarioError` naming the file and the dotted key or the
CSV line and column. ``content_hash`` is a sha256 of the validated configuration (defaults
included, file paths left out) and of the parsed table contents: it does not change with key
order, whitespace, comments or where the files live, and changes with any value.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas
from pydantic import ValidationError

from sim.errors import ScenarioError
from sim.input import documents, sanity
from sim.input.documents import EXTENDS_KEY, PATH_KEYS
from sim.input.files import MAX_TABLE_BYTES, Confinement, display, read_bytes
from sim.input.schema import ScenarioConfig
from sim.input.tables import (
    AI_COLUMNS,
    DEBT_COLUMNS,
    MINER_COLUMNS,
    REPLAY_COLUMNS,
    TABLE_COLUMNS,
    Column,
    Table,
    check_capacity,
    check_debt,
    check_miner_refs,
    check_miners,
    empty_table,
    parse_table,
    replay_series,
)
from sim.paths import SCENARIOS_DIR

#: Longest text of an input value quoted in an error message.
QUOTE_LIMIT = 60


# --------------------------------------------------------------------------------------------
# The scenario


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario: configuration, public-miner tables and (replay) BTC price path.

    Build one with :func:`load_scenario`. The tables (``miners``, ``debt``, ``ai_contracts``,
    ``btc_replay``) are copies: changing one changes nothing in the scenario. Two scenarios are
    equal when their content hashes are.
    """

    config: ScenarioConfig
    source: Path | None
    content_hash: str
    _frames: dict = field(repr=False)
    _replay: pandas.Series | None = field(repr=False)
    #: Bytes of every table file read, by its path in the config: overrides parse these again
    #: instead of reading the disk (the files may have changed, or be on another machine).
    _files: dict = field(repr=False)
    _confinement: Confinement = field(repr=False)
    _tables_digest: str = field(repr=False)

    @property
    def name(self) -> str:
        return self.config.scenario.name

    @property
    def miners(self) -> pandas.DataFrame:
        return self._frames["miners"].copy()

    @property
    def debt(self) -> pandas.DataFrame:
        return self._frames["debt"].copy()

    @property
    def ai_contracts(self) -> pandas.DataFrame:
        return self._frames["ai_contracts"].copy()

    @property
    def btc_replay(self) -> pandas.Series | None:
        return None if self._replay is None else self._replay.copy()

    def check_unchanged(self) -> None:
        """Raise ScenarioError if the configuration was changed in place after loading."""
        if _content_hash(self.config, self._tables_digest) != self.content_hash:
            raise ScenarioError(
                "the scenario was changed after it was loaded (its content hash no longer "
                "matches); change a scenario with load_scenario(scenario, overrides) instead",
                file=display(self.source) if self.source else None,
                key=self.name,
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.content_hash == other.content_hash

    def __hash__(self) -> int:
        return hash(self.content_hash)


def load_scenario(
    path: str | os.PathLike | Scenario,
    overrides: Mapping[str, object] | None = None,
    *,
    data_dirs: Iterable[str | os.PathLike] = (),
) -> Scenario:
    """Load and validate a scenario file (or re-validate a Scenario) with optional overrides.

    ``path`` may also be the name of a bundled scenario (``"baseline"``). ``data_dirs``: more
    folders the scenario may read files from (besides its own folder tree and the bundled
    scenarios). A Scenario is checked to be unchanged since loading; with overrides it is
    validated again against the tables it was loaded with.
    """
    if isinstance(path, Scenario):
        path.check_unchanged()
        if not overrides and not data_dirs:
            return path
        return with_overrides(path, overrides or {}, data_dirs=data_dirs)
    file = resolve_scenario_path(os.fspath(path))
    confinement = Confinement.for_scenario(file, data_dirs)
    raw, origins, _ = documents.read_with_extends(file, confinement)
    return _build(raw, origins, file, overrides or {}, confinement, {})


def with_overrides(
    scenario: Scenario,
    overrides: Mapping[str, object],
    *,
    data_dirs: Iterable[str | os.PathLike] = (),
) -> Scenario:
    """A new Scenario with dotted-key overrides applied and everything validated again (the
    tables it was loaded with are parsed again from their saved bytes, not from disk)."""
    scenario.check_unchanged()
    # exclude_unset: what the files set stays told apart from defaults (assumptions_used)
    raw = documents.plain(scenario.config.model_dump(mode="python", exclude_unset=True))
    label = display(scenario.source) if scenario.source else f"scenario '{scenario.name}'"
    origins = {(): label}
    confinement = scenario._confinement.widened(data_dirs)
    return _build(
        raw, origins, scenario.source, overrides, confinement, scenario._files, label=label
    )


def _build(
    raw: dict,
    origins: dict[tuple, str],
    file: Path | None,
    overrides: Mapping[str, object],
    confinement: Confinement,
    known_files: Mapping[Path, bytes],
    label: str | None = None,
) -> Scenario:
    label = label or (display(file) if file else "scenario")
    base_dir = file.parent if file else Path.cwd()
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError("override keys must be text", file=label, key=repr(key))
        parts = documents.schema_path(key, label)
        value = documents.plain(value)
        documents.check_literals(value, label, parts)
        if parts in PATH_KEYS and isinstance(value, str):
            value = documents.absolute(base_dir, value, key, label)
        documents.set_dotted(raw, parts, value, key, label)
        origins[parts] = f"{label} (override {key}={_quote(value)})"
    config = _validate_config(raw, origins, label)
    reader = _TableReader(confinement, known_files)
    tables = _load_tables(config, origins, label, reader)
    replay = _load_replay(config, origins, label, reader)
    frames = {name: table.frame for name, table in tables.items()}
    sanity.check_units(config, [*tables.values(), *([replay] if replay else [])], label)
    sanity.check_chain_matches_fleet(config, frames["miners"], _origin(origins, ("chain",), label))
    sanity.check_fits_in_memory(config, len(frames["miners"]), _origin(origins, ("fringe",), label))
    series = None if replay is None else replay_series(replay, config.scenario.start_date)
    digest = _tables_digest(frames.values(), series)
    return Scenario(
        config=config,
        source=file,
        content_hash=_content_hash(config, digest),
        _frames=frames,
        _replay=series,
        _files=reader.used,
        _confinement=confinement,
        _tables_digest=digest,
    )


# --------------------------------------------------------------------------------------------
# Bundled scenarios and override texts


def list_scenarios() -> list[str]:
    """Names of the bundled scenarios (``scenarios/*.toml``), sorted."""
    return sorted(p.stem for p in Path(SCENARIOS_DIR).glob("*.toml"))


def resolve_scenario_path(name_or_path: str) -> Path:
    """An existing file path as given, else a bundled scenario name: ``scenarios/<name>.toml``."""
    if "\x00" in name_or_path:
        raise ScenarioError("a scenario name or path cannot contain a NUL character")
    given = Path(name_or_path)
    if given.is_file():
        return given.resolve()
    bundled = Path(SCENARIOS_DIR) / f"{given.name}.toml"
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
    except ValueError:  # an integer literal of more than 4,300 digits
        raise ScenarioError("the value is an integer literal too long to read", key=key) from None
    except RecursionError:
        raise ScenarioError("the value is nested too deeply", key=key) from None
    documents.check_literals(parsed, "--set", tuple(parts))
    return key, parsed


def parse_overrides(texts: Iterable[str] | None) -> dict[str, object]:
    """Parse ``--set key=value`` texts into an override dict (a repeated key: the last wins)."""
    return dict(parse_override(text) for text in texts or ())


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
    except RecursionError:
        raise ScenarioError("arrays or tables nested too deeply", file=label) from None


def _dotted(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 3] + "..."


#: Messages for values of the wrong type, by pydantic error type (strict validation).
_TYPE_TEXT = {
    "float_type": "must be a number",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be text (in quotes)",
    "date_type": "must be a date YYYY-MM-DD",
}


def _error_text(error: Mapping) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "extra_forbidden":
        section = documents.model_at(tuple(error["loc"][:-1]))
        names = section.model_fields if section is not None else ()
        return f"unknown key{documents.did_you_mean(error['loc'][-1], names)}"
    if kind == "missing":
        return "missing required key"
    if kind in _TYPE_TEXT:
        message = _TYPE_TEXT[kind]
        if isinstance(value, dt.datetime):
            message = "must be a date without a time of day or time zone"
        elif isinstance(value, bool):
            message += ", not a boolean"
        elif isinstance(value, str) and kind not in ("string_type", "date_type"):
            message += ", not text"
        return f"{message} (got {_quote(value)})"
    message = str(error["msg"]).removeprefix("Value error, ")
    if isinstance(value, str | int | float | bool | dt.date) and kind != "value_error":
        message += f" (got {_quote(value)})"
    if kind in ("less_than_equal", "less_than") and error["loc"]:
        message += sanity.bound_hint(error["loc"][-1])
    return message


def _origin(origins: Mapping[tuple, str], loc: tuple, default: str) -> str:
    for n in range(len(loc), 0, -1):
        if tuple(loc[:n]) in origins:
            return origins[tuple(loc[:n])]
    return origins.get((), default)


# --------------------------------------------------------------------------------------------
# Tables


@dataclass
class _TableReader:
    """Reads table files inside the confinement, or takes their bytes from a loaded scenario;
    ``used`` keeps the bytes of every file read (by its path as the config gives it)."""

    confinement: Confinement
    known: Mapping[Path, bytes]
    used: dict = field(default_factory=dict)

    def read(self, path: Path, columns: tuple[Column, ...], owner: str, key: str) -> Table:
        self.confinement.check(path, owner=owner, key=key)
        data = self.known.get(str(path))
        if data is None:
            data = read_bytes(path, self.confinement, MAX_TABLE_BYTES, owner=owner, key=key)
        self.used[str(path)] = data
        return _parse_cached(data, columns, display(path))


@functools.lru_cache(maxsize=32)
def _parse_cached(data: bytes, columns: tuple[Column, ...], shown: str) -> Table:
    """parse_table, remembered: overrides of a loaded scenario (every run of a sweep) parse the
    same bytes again. The frames are never changed in place (a Scenario hands out copies)."""
    return parse_table(data, columns, shown)


def _load_tables(
    config: ScenarioConfig, origins: Mapping[tuple, str], label: str, reader: _TableReader
) -> dict[str, Table]:
    section = config.miners
    tables = {}
    for name, attr, columns in (
        ("miners", "csv", MINER_COLUMNS),
        ("debt", "debt_csv", DEBT_COLUMNS),
        ("ai_contracts", "ai_contracts_csv", AI_COLUMNS),
    ):
        path = getattr(section, attr)
        if path is None:
            tables[name] = Table(empty_table(columns), [], None)
        else:
            owner = _origin(origins, ("miners", attr), label)
            tables[name] = reader.read(Path(path), columns, owner, f"miners.{attr}")
    miners = tables["miners"]
    check_miners(miners)
    _check_policies(config, miners.frame, _origin(origins, ("miners", "policies"), label))
    known = set(miners.frame["name"])
    check_miner_refs(tables["debt"], known, miners.shown)
    check_miner_refs(tables["ai_contracts"], known, miners.shown)
    check_debt(tables["debt"], config.scenario.start_date)
    check_capacity(miners, tables["ai_contracts"].frame)
    return tables


def _check_policies(config: ScenarioConfig, miners: pandas.DataFrame, owner: str) -> None:
    known = set(miners["name"])
    named = [(name, f"miners.policies.{name}") for name in config.miners.policies]
    named += [(name, f"policy.treasury.miners.{name}") for name in config.policy.treasury.miners]
    for name, key in named:
        if name not in known:
            listed = ", ".join(sorted(known)) or "no public miners"
            raise ScenarioError(
                f"unknown miner {_quote(name)} (miners: {listed})", file=owner, key=key
            )


def _load_replay(
    config: ScenarioConfig, origins: Mapping[tuple, str], label: str, reader: _TableReader
) -> Table | None:
    btc = config.market.btc
    if btc.process != "replay":
        return None
    owner = _origin(origins, ("market", "btc", "path_csv"), label)
    return reader.read(Path(btc.path_csv), REPLAY_COLUMNS, owner, "market.btc.path_csv")


# --------------------------------------------------------------------------------------------
# Content hash


def _content_hash(config: ScenarioConfig, tables_digest: str) -> str:
    settings = config.model_dump(mode="json")
    for parts in PATH_KEYS:  # where the files live is not content; what they hold is
        node = settings
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = None
    content = {"config": settings, "tables_sha256": tables_digest}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _tables_digest(frames: Iterable[pandas.DataFrame], replay: pandas.Series | None) -> str:
    content = {
        "tables": [_canonical_table(frame) for frame in frames],
        "btc_replay": None
        if replay is None
        else [[day.isoformat(), _canonical(value)] for day, value in replay.items()],
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical_table(frame: pandas.DataFrame) -> dict:
    columns = [frame[name].tolist() for name in frame.columns]
    return {
        "columns": list(frame.columns),
        "rows": [[_canonical(v) for v in row] for row in zip(*columns, strict=True)],
    }


def _canonical(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return None if math.isnan(value) else repr(float(value))
    return str(value)


__all__ = [
    "AI_COLUMNS",
    "DEBT_COLUMNS",
    "EXTENDS_KEY",
    "MINER_COLUMNS",
    "PATH_KEYS",
    "REPLAY_COLUMNS",
    "SCENARIOS_DIR",
    "TABLE_COLUMNS",
    "Column",
    "Scenario",
    "empty_table",
    "list_scenarios",
    "load_scenario",
    "parse_override",
    "parse_overrides",
    "resolve_scenario_path",
    "with_overrides",
]
