"""Hypothesis strategies shared by the reliability tests.

* :func:`valid_scenarios` draws a small, valid scenario (TOML document and its three CSV tables:
  public miners, debt, AI leases) that :class:`ScenarioFiles` writes to a folder;
* :func:`mutated_documents`, :func:`mutated_text` and :func:`mutated_tables` break the demo
  scenario (delete keys, wrong types, negative / NaN / inf / huge values, unknown keys, bad
  dates, garbage bytes, broken CSV cells and columns);
* :func:`override_texts` draws ``--set KEY=VALUE`` strings, good and bad;
* :func:`argv_for` draws command lines for a ``minersim`` sub-command from its argparse parser.

Every helper that writes files writes only inside the folder it is given.
"""

from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import io
import math
import shutil
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from hypothesis import strategies as st
from invariants import SHORT_RUN_DAYS
from pydantic import BaseModel

from sim.input.documents import unwrap
from sim.input.scenario import AI_COLUMNS, DEBT_COLUMNS, MINER_COLUMNS, SCENARIOS_DIR
from sim.input.schema import STRATEGY_NAMES, ScenarioConfig

DEMO_FILES = ("demo.toml", "demo_miners.csv", "demo_debt.csv", "demo_ai.csv")
DEMO_TABLES = ("demo_miners.csv", "demo_debt.csv", "demo_ai.csv")
POLICY_NAMES = ("rational", "hodl", "mining_only", "ai_first")
BTC_PROCESSES = ("gbm", "jump_diffusion", "regime_switching", "piecewise")
MINER_NAMES = ("Alpha", "Beta", "Gamma", "Delta", "Epsilon")
#: Hashes per second per EH/s, and the seconds per block the retarget aims at.
HASHES_PER_EHS = 1e18
TARGET_BLOCK_S = 600.0

# ------------------------------------------------------------------------------- files


def copy_demo(directory: Path) -> Path:
    """Copy the demo scenario (TOML and its CSVs) into ``directory``; returns the TOML path."""
    for name in DEMO_FILES:
        shutil.copy(SCENARIOS_DIR / name, directory / name)
    return directory / "demo.toml"


def demo_document() -> dict:
    """The demo TOML as a dict (fresh copy)."""
    with (SCENARIOS_DIR / "demo.toml").open("rb") as handle:
        return tomllib.load(handle)


def demo_tables() -> dict[str, list[list[str]]]:
    """The demo CSVs as lists of rows (header first), by file name."""
    tables = {}
    for name in DEMO_TABLES:
        with (SCENARIOS_DIR / name).open(newline="", encoding="utf-8") as handle:
            tables[name] = [list(row) for row in csv.reader(handle)]
    return tables


def write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def short_end(start: dt.date, days: int = SHORT_RUN_DAYS) -> dt.date:
    """The end date of a run cut short."""
    return start + dt.timedelta(days=days)


# ------------------------------------------------------------------------------- schema keys


def schema_keys(model: type[BaseModel] = ScenarioConfig, prefix: str = "") -> list[str]:
    """Every dotted key of the scenario schema, list items as index 0 and dict entries as the
    demo's first miner (``fringe.classes.0.name``, ``miners.policies.MARA``)."""
    keys = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        inner = _unwrap(info.annotation)
        origin = typing.get_origin(inner)
        if _is_model(inner):
            keys += schema_keys(inner, key + ".")
        elif origin is list and _is_model(typing.get_args(inner)[0]):
            keys += schema_keys(typing.get_args(inner)[0], key + ".0.")
        elif origin is dict:
            keys.append(key + ".MARA")
        else:
            keys.append(key)
    return keys


def _unwrap(annotation: object) -> object:
    """``X | None`` -> ``X``."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return args[0] if len(args) == 1 else annotation
    return annotation


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


SCHEMA_KEYS = tuple(schema_keys())


def leaf_kind(key: str) -> str:
    """The type of a schema key's value: float, int, bool, date, str, literal or other."""
    annotation: object = ScenarioConfig
    for part in key.split("."):
        annotation = unwrap(annotation)
        if _is_model(annotation):
            annotation = annotation.model_fields[part].annotation
        elif typing.get_origin(annotation) in (list, dict):
            annotation = typing.get_args(annotation)[-1]
    annotation = unwrap(annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return "literal"
    names = {float: "float", int: "int", bool: "bool", dt.date: "date", str: "str"}
    return names.get(annotation, "other")


#: Schema keys by the type of their value.
KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    kind: tuple(k for k in SCHEMA_KEYS if leaf_kind(k) == kind)
    for kind in ("float", "int", "bool", "date", "str", "literal", "other")
}


def document_paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (tables, arrays and leaves) of a TOML document, as tuples of keys/indices."""
    paths = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += document_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            paths += document_paths(value, (*prefix, index))
    return paths


# ------------------------------------------------------------------------------- bad values

_SAFE_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
#: Text without line breaks, for command-line tokens: an error message may quote them.
_LINE_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\n\r"), max_size=12
)

#: Values a TOML file can hold that are wrong somewhere in the schema: wrong types, negative,
#: NaN, inf, huge, tiny, empty, bad dates.
BAD_VALUES = st.one_of(
    st.sampled_from(
        [
            math.nan,
            math.inf,
            -math.inf,
            -1,
            -1e-9,
            0,
            0.0,
            -0.0,
            1,
            2**63 - 1,
            -(2**63),
            1e308,
            -1e308,
            5e-324,
            True,
            False,
            "",
            "x",
            "nan",
            "1e400",
            "2025-02-30",
            [],
            [1, "a"],
            {},
            {"a": 1},
            dt.date(1, 1, 1),
            dt.date(1969, 12, 31),
            dt.date(2263, 1, 1),
            dt.date(9999, 12, 31),
            dt.datetime(2025, 10, 1, 12, 30),
            dt.time(12, 0),
        ]
    ),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.dates(),
    _SAFE_TEXT,
    st.lists(st.integers(-3, 3), max_size=3),
)


def _demo_leaves() -> dict[str, object]:
    """Dotted key -> value of every number, boolean and choice the demo's TOML sets (list items
    by index), the starting points of the valid variations below."""
    leaves: dict[str, object] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        elif isinstance(node, list) and all(isinstance(v, dict) for v in node):
            for index, value in enumerate(node):
                walk(value, f"{prefix}{index}.")
        elif isinstance(node, bool | int | float) or (
            isinstance(node, str) and prefix.rstrip(".").endswith(("process", "policy"))
        ):
            leaves[prefix.rstrip(".")] = node

    walk(demo_document(), "")
    return leaves


DEMO_LEAVES = _demo_leaves()


@st.composite
def valid_variations(draw: st.DrawFn) -> tuple[str, object]:
    """(dotted key, value): a demo value moved a little (numbers x 0.8-1.2, whole numbers kept
    or moved by one, booleans flipped, another policy): usually still a valid scenario, so that
    fuzzers reach runs too, not only the error branch."""
    key = draw(st.sampled_from(sorted(DEMO_LEAVES)))
    value = DEMO_LEAVES[key]
    if isinstance(value, bool):
        return key, not value
    if isinstance(value, int):
        return key, max(value + draw(st.sampled_from([0, 1])), 0)
    if isinstance(value, float):
        return key, value * draw(st.floats(0.8, 1.2))
    if key.endswith("policy"):
        return key, draw(st.sampled_from(POLICY_NAMES))
    return key, value


@st.composite
def mutated_documents(draw: st.DrawFn, base: dict | None = None) -> dict:
    """The demo TOML document (or ``base``) with 0-4 random mutations: a key deleted, a value
    replaced by a bad one, an unknown key added, a key misspelt, or a schema key set; and 0-3
    valid variations (about a quarter of the documents have no bad mutation)."""
    doc = copy.deepcopy(base if base is not None else demo_document())
    for _ in range(draw(st.integers(0, 3))):
        key, value = draw(valid_variations())
        _set_path(doc, tuple(int(p) if p.isdecimal() else p for p in key.split(".")), value)
    for _ in range(draw(st.sampled_from([0, 1, 1, 2, 3, 4]))):
        paths = document_paths(doc)
        kind = draw(st.sampled_from(["delete", "set", "unknown", "typo", "schema"]))
        if kind == "schema" or not paths:
            key = draw(st.sampled_from(SCHEMA_KEYS))
            parts = tuple(int(p) if p.isdecimal() else p for p in key.split("."))
            _set_path(doc, parts, draw(BAD_VALUES))
            continue
        path = draw(st.sampled_from(paths))
        if kind == "delete":
            _delete_path(doc, path)
        elif kind == "set":
            _set_path(doc, path, draw(BAD_VALUES))
        elif kind == "unknown":
            _set_path(doc, (*path[:-1], draw(st.sampled_from(["colour", "extra", "x1"]))), 1)
        else:
            _rename_last(doc, path, draw(st.sampled_from(["_", "s", "X"])))
    return doc


def _parent(doc: dict, path: tuple) -> object:
    """The node holding ``path``'s last part, made on the way; a list index met where a table
    is becomes a text key (TOML keys are text: tomli_w cannot write an integer key)."""
    node: object = doc
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(str(part), {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node


def _set_path(doc: dict, path: tuple, value: object) -> None:
    parent, last = _parent(doc, path), path[-1]
    if isinstance(parent, dict):
        parent[str(last)] = value
    elif isinstance(parent, list) and str(last).isdecimal() and int(last) < len(parent):
        parent[int(last)] = value


def _delete_path(doc: dict, path: tuple) -> None:
    parent, last = _parent(doc, path), path[-1]
    if isinstance(parent, dict):
        parent.pop(str(last), None)
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]


def _rename_last(doc: dict, path: tuple, suffix: str) -> None:
    parent, last = _parent(doc, path), path[-1]
    if isinstance(parent, dict) and str(last) in parent:
        parent[f"{last}{suffix}"] = parent.pop(str(last))


def dump_toml(doc: dict) -> bytes:
    """TOML bytes of a document (tomli_w writes nan, inf and arbitrarily large integers)."""
    return tomli_w.dumps(doc).encode()


@st.composite
def mutated_text(draw: st.DrawFn) -> bytes:
    """The demo TOML file's bytes with 1-3 byte-level edits: garbage inserted, a slice deleted,
    a line repeated, the file truncated, or a character replaced."""
    data = bytearray((SCENARIOS_DIR / "demo.toml").read_bytes())
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["insert", "delete", "repeat", "truncate", "replace"]))
        at = draw(st.integers(0, len(data)))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 40))]
        elif kind == "repeat":
            lines = bytes(data).split(b"\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
        elif kind == "truncate":
            del data[at:]
        elif at < len(data):
            data[at] = draw(st.sampled_from(b"=[]\"'#.,{}\\\x00\xff0-"))
    return bytes(data)


# ------------------------------------------------------------------------------- CSV mutations

BAD_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "-1",
            "0",
            "-0",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e400",
            "1e308",
            "1e-320",
            "abc",
            "1,000",
            "TRUE",
            "maybe",
            "2025-02-30",
            "2025/10/01",
            "0001-01-01",
            "9999-12-31",
            "Nobody",
            "MARA",
            "convertible",
            "senior_secured",
            '"',
            "\x00",
        ]
    ),
    st.floats().map(repr),
    st.integers().map(str),
    st.dates().map(dt.date.isoformat),
    _SAFE_TEXT,
)


TABLE_EDITS = (
    *("cell", "cell", "cell"),  # a cell edit is the most common kind
    *("drop_col", "add_col", "rename", "repeat", "ragged", "no_header", "bytes"),
    *("nudge", "nudge", "nudge"),  # a number moved by 10% at most: usually still valid
)


@st.composite
def mutated_tables(draw: st.DrawFn) -> tuple[dict[str, list[list[str]]], dict[str, bytes]]:
    """The demo CSVs (rows of text, header first) with 1-3 edits: a cell replaced, a column
    deleted / added / renamed, a row repeated or made ragged, the header dropped, a number
    nudged (x 0.9-1.1, usually still valid); plus, for some files, raw bytes appended (garbage,
    bad UTF-8). Returns (tables, extra bytes)."""
    tables = demo_tables()
    extra: dict[str, bytes] = {}
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(DEMO_TABLES))
        rows = tables[name]
        kind = draw(st.sampled_from(TABLE_EDITS))
        width = len(rows[0]) if rows else 0
        if kind == "cell" and len(rows) > 1 and width:
            row = draw(st.integers(1, len(rows) - 1))
            if rows[row]:  # a ragged edit may have emptied it
                rows[row][draw(st.integers(0, len(rows[row]) - 1))] = draw(BAD_CELLS)
        elif kind == "drop_col" and width:
            column = draw(st.integers(0, width - 1))
            tables[name] = [r[:column] + r[column + 1 :] for r in rows]
        elif kind == "add_col":
            tables[name] = [[*r, "extra" if i == 0 else "1"] for i, r in enumerate(rows)]
        elif kind == "rename" and width:
            rows[0][draw(st.integers(0, width - 1))] = draw(st.sampled_from(["", "name", "x"]))
        elif kind == "repeat" and len(rows) > 1:
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif kind == "ragged" and len(rows) > 1:
            rows[-1] = rows[-1][: draw(st.integers(0, max(width - 1, 0)))]
        elif kind == "no_header" and rows:
            del rows[0]
        elif kind == "bytes":
            extra[name] = draw(st.sampled_from([b"\xff\xfe", b"\x00\x00", b"a,b\n", b"\n\n\r"]))
        elif kind == "nudge" and len(rows) > 1:
            row = rows[draw(st.integers(1, len(rows) - 1))]
            numbers = [i for i, cell in enumerate(row) if _is_number_text(cell)]
            if numbers:
                i = draw(st.sampled_from(numbers))
                row[i] = repr(float(row[i]) * draw(st.floats(0.9, 1.1)))
    return tables, extra


def _is_number_text(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def write_tables(directory: Path, tables: dict[str, list[list[str]]], extra: dict) -> None:
    for name, rows in tables.items():
        path = directory / name
        write_csv(path, rows)
        if name in extra:
            path.write_bytes(path.read_bytes() + extra[name])


# ------------------------------------------------------------------------------- overrides

_VALUE_TEXTS = st.one_of(
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "+inf",
            "1e400",
            "-1",
            "0",
            "0.5",
            "1e308",
            "18446744073709551616",
            "true",
            '"x"',
            '"""',
            "[1, 2]",
            "[[2026-01-01, 5.0]]",
            "{a = 1}",
            "2025-02-30",
            "2025-13-01",
            "1969-12-31",
            "2300-01-01",
            "1979-05-27T07:32:00Z",
            "07:32:00",
            "0x10",
            "1_000",
            "hodl",
            "replay",
            "piecewise",
            "/",
            "no_such.csv",
            "demo_ai.csv",
        ]
    ),
    st.integers().map(str),
    st.floats().map(repr),
    _LINE_TEXT,
)
_KEY_TEXTS = st.one_of(
    st.sampled_from(SCHEMA_KEYS),
    st.sampled_from(SCHEMA_KEYS).map(lambda k: k + ".x"),
    st.sampled_from(SCHEMA_KEYS).map(lambda k: k.replace(".0.", ".7.")),
    st.sampled_from(["", ".", "a..b", "fringe.classes.0", "fringe.classes.²", "miners.policies"]),
    _LINE_TEXT,
)


def toml_value(value: object) -> str:
    """``value`` as a TOML value text (what a user would type after ``--set key=``)."""
    return tomli_w.dumps({"v": value}).partition("=")[2].strip()


def override_texts() -> st.SearchStrategy[str]:
    """``KEY=VALUE`` texts for ``--set``: schema keys or junk, with good or bad values; valid
    variations of the demo's values; or any text at all."""
    return st.one_of(
        st.builds(lambda k, v: f"{k}={v}", _KEY_TEXTS, _VALUE_TEXTS),
        st.builds(lambda k, v: f"{k}={v}", st.sampled_from(SCHEMA_KEYS), _VALUE_TEXTS),
        valid_variations().map(lambda kv: f"{kv[0]}={toml_value(kv[1])}"),
        _LINE_TEXT,
    )


# ------------------------------------------------------------------------------- command lines

_RANDOM_TOKENS = st.one_of(
    st.sampled_from(["--", "-", "-h", "--help", "--sed", "--set=", "--out", "-x", "=", "demo"]),
    st.integers(-3, 3).map(str),
    _LINE_TEXT.filter(lambda t: not t.startswith("/")),
)


def subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of the ``minersim`` parser, by name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@st.composite
def argv_for(
    draw: st.DrawFn,
    name: str,
    sub: argparse.ArgumentParser,
    scenarios: list[str],
    outs: list[str],
    skip: frozenset[str] = frozenset(),
) -> list[str]:
    """A command line for sub-command ``name``: its options (those whose dest is not in
    ``skip``) with values of the right type or not, scenario arguments from ``scenarios``, output
    folders from ``outs`` (never an arbitrary path) and random tokens."""
    options = [
        a for a in sub._actions if a.option_strings and a.dest != "help" and a.dest not in skip
    ]
    tokens: list[str] = [name]
    if draw(st.integers(0, 4)):  # most command lines name a scenario first
        tokens.append(draw(st.sampled_from(scenarios)))
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["option"] * 6 + ["scenario", "token"]))
        if kind == "scenario":
            tokens.append(draw(st.sampled_from(scenarios)))
        elif kind == "token":
            tokens.append(draw(_RANDOM_TOKENS))
        elif options:
            action = draw(st.sampled_from(options))
            tokens.append(draw(st.sampled_from(action.option_strings)))
            if action.nargs != 0:
                tokens.append(draw(_option_value(action, scenarios, outs)))
    return tokens


def _option_value(
    action: argparse.Action, scenarios: list[str], outs: list[str]
) -> st.SearchStrategy[str]:
    if action.dest == "overrides":
        return override_texts()
    if action.dest == "grid":
        values = st.lists(_VALUE_TEXTS, min_size=0, max_size=3).map(",".join)
        return st.builds(lambda k, v: f"{k}={v}", _KEY_TEXTS, values)
    if action.dest == "ranges":
        bound = st.one_of(st.floats(-1, 2).map(repr), _VALUE_TEXTS)
        return st.builds(lambda k, lo, hi: f"{k}={lo}:{hi}", _KEY_TEXTS, bound, bound)
    if action.dest in ("out", "results_dir"):
        return st.sampled_from(outs)
    if action.dest == "seed":
        return st.one_of(
            st.integers(-5, 2**70).map(str), st.sampled_from(["1.5", "x", "", "0x1", "1e3"])
        )
    if action.type is int:
        return st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["x", "", "1.5", "1e9"]))
    if action.type is float:
        return st.one_of(st.floats(-1, 2).map(repr), st.sampled_from(["nan", "inf", "x"]))
    if action.choices:
        return st.one_of(st.sampled_from([str(c) for c in action.choices]), _LINE_TEXT)
    return st.one_of(st.sampled_from(scenarios), _RANDOM_TOKENS)


# ------------------------------------------------------------------------------- valid scenarios


def _num(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def _days(low: int, high: int) -> st.SearchStrategy[dt.timedelta]:
    return st.integers(low, high).map(lambda d: dt.timedelta(days=d))


@dataclass
class ScenarioFiles:
    """A scenario TOML document and its CSV rows (cells as text), ready to be written."""

    document: dict
    miners: list[dict[str, str]] = field(default_factory=list)
    debt: list[dict[str, str]] = field(default_factory=list)
    ai: list[dict[str, str]] = field(default_factory=list)

    def write(self, directory: Path) -> Path:
        """Write ``scenario.toml``, ``miners.csv``, ``debt.csv`` and ``ai.csv``; returns the
        TOML path."""
        for name, rows, columns in (
            ("miners.csv", self.miners, MINER_COLUMNS),
            ("debt.csv", self.debt, DEBT_COLUMNS),
            ("ai.csv", self.ai, AI_COLUMNS),
        ):
            header = [c.name for c in columns]
            write_csv(directory / name, [header] + [[row[c] for c in header] for row in rows])
        path = directory / "scenario.toml"
        path.write_bytes(dump_toml(self.document))
        return path


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _row_text(row: dict) -> dict[str, str]:
    return {key: _text(value) for key, value in row.items()}


@st.composite
def _miner(draw: st.DrawFn, name: str, start: dt.date) -> tuple[dict, list[dict], list[dict]]:
    """One public miner row with its debt and AI lease rows (capacity fits mining + AI MW)."""
    # 0 or >= 0.01 EH/s: difficulty is at least 1, and the loader rejects one more than 100x
    # from what the hashrate implies (0.01 EH/s implies 1.4e9).
    hashrate = draw(st.one_of(st.just(0.0), _num(0.01, 80.0)))
    efficiency = draw(_num(12.0, 35.0))
    leases = []
    for _ in range(draw(st.integers(0, 2))):
        lease_start = start + draw(_days(-3000, 800))
        leases.append(
            {
                "miner": name,
                "mw": draw(_num(1.0, 200.0)),
                "usd_per_mw_year": draw(_num(5e5, 3e6)),
                "term_years": draw(_num(1.0, 15.0)),
                "start": lease_start,
                "capex_usd_per_mw": draw(_num(0.0, 1.5e7)),
                "source": "generated",
            }
        )
    capacity = hashrate * efficiency * draw(_num(1.0, 2.0)) + sum(x["mw"] for x in leases) + 1.0
    notes = []
    for _ in range(draw(st.integers(0, 2))):
        convertible = draw(st.booleans())
        issue = start + draw(_days(-2000, 200))
        maturity = max(issue + dt.timedelta(days=1), start) + draw(_days(0, 3000))
        notes.append(
            {
                "miner": name,
                "instrument": "convertible" if convertible else "senior_secured",
                "principal_usd": draw(_num(1e7, 3e9)),
                "coupon": draw(_num(0.0, 0.12)),
                "issue_date": issue,
                "maturity": maturity,
                "conversion_price_usd": draw(_num(1.0, 100.0)) if convertible else "",
                "amortization_per_year": draw(_num(0.0, 0.3)),
                "source": "generated",
            }
        )
    row = {
        "name": name,
        "ticker": name[:4].upper(),
        "hashrate_ehs": hashrate,
        "efficiency_jth": efficiency,
        "capacity_mw": capacity,
        "power_price_usd_mwh": draw(_num(15.0, 120.0)),
        "contract_end": start + draw(_days(-400, 2000)),
        "cash_usd": draw(_num(0.0, 3e9)),
        "btc_held": draw(_num(0.0, 6e4)),
        "shares_outstanding": draw(_num(1e7, 1e9)),
        "share_price_usd": draw(_num(0.5, 60.0)),
        "source": "generated",
        "estimate": draw(st.booleans()),
        "notes": "",
        # a stated strategy (or none) and, sometimes, the miner's own share offered to AI
        "strategy": draw(st.sampled_from(["", *STRATEGY_NAMES])),
        "ai_offer_fraction": draw(st.one_of(st.just(""), _num(0.0, 1.0))),
        "strategy_source": "generated",
    }
    return _row_text(row), [_row_text(n) for n in notes], [_row_text(x) for x in leases]


@st.composite
def _btc_market(draw: st.DrawFn, start: dt.date) -> dict:
    process = draw(st.sampled_from(BTC_PROCESSES))
    btc = {
        "process": process,
        "initial_usd": draw(_num(1e3, 5e5)),
        "drift": draw(_num(-1.0, 1.0)),
        "volatility": draw(st.one_of(st.just(0.0), _num(0.0, 1.5))),
        "jump_intensity": draw(_num(0.0, 20.0)),
        "jump_mean": draw(_num(-0.5, 0.5)),
        "jump_std": draw(_num(0.0, 0.5)),
        "bear_drift": draw(_num(-2.0, 0.0)),
        "bear_volatility": draw(_num(0.0, 1.5)),
        "bull_to_bear_per_year": draw(_num(0.0, 10.0)),
        "bear_to_bull_per_year": draw(_num(0.0, 10.0)),
    }
    if process == "piecewise":
        offsets = draw(st.lists(st.integers(-100, 200), min_size=1, max_size=4, unique=True))
        btc["points"] = [
            [start + dt.timedelta(days=d), draw(_num(100.0, 1e6))] for d in sorted(offsets)
        ]
    return btc


@st.composite
def _markets(draw: st.DrawFn, start: dt.date) -> dict:
    closed = []
    if draw(st.booleans()):
        first = start + draw(_days(-30, 60))
        closed.append([first, first + draw(_days(0, 90))])
    close_drawdown = draw(_num(0.0, 1.0))
    discount = draw(_num(0.0, 0.5))
    return {
        "btc": draw(_btc_market(start)),
        "fees": {
            "mean_btc_per_block": draw(st.one_of(_num(0.0, 0.5), st.just(10.0))),
            "lumpiness": draw(_num(0.0, 2.0)),
            "burst_probability": draw(_num(0.0, 0.01)),
            "burst_btc": draw(_num(0.0, 20.0)),
        },
        "power": {
            "base_usd_mwh": draw(_num(10.0, 200.0)),
            "mean_reversion_per_year": draw(_num(0.0, 5.0)),
            "volatility": draw(_num(0.0, 1.0)),
            "spike_probability_per_day": draw(_num(0.0, 0.1)),
            "spike_multiplier": draw(_num(1.0, 10.0)),
            "renewal_shock": draw(_num(-0.5, 1.0)),
            "shock_multiplier": draw(_num(0.2, 5.0)),
        },
        "ai": {
            "enabled": draw(st.booleans()),
            "lease_usd_per_mw_year": draw(_num(1e5, 2e7)),
            "mean_reversion_per_year": draw(_num(0.0, 3.0)),
            "volatility": draw(_num(0.0, 0.5)),
            "demand_mw_per_year": draw(_num(0.0, 5000.0)),
            "capex_usd_per_mw": draw(_num(1e6, 2e7)),
            "lead_time_days": draw(st.integers(0, 730)),
            "term_years": draw(_num(1.0, 20.0)),
            "noi_margin": draw(_num(0.0, 1.0)),
        },
        "rates": {
            "base_rate": draw(_num(-0.01, 0.15)),
            "spread_base": draw(_num(0.0, 0.1)),
            "spread_per_leverage": draw(_num(0.0, 0.5)),
            "equipment_loan_years": draw(_num(0.5, 5.0)),
            "secured_years": draw(_num(1.0, 8.0)),
            "credit_close_drawdown": close_drawdown,
            "credit_reopen_drawdown": draw(_num(0.0, close_drawdown)),
            "credit_high_window_days": draw(st.integers(1, 730)),
            "closed_periods": closed,
            "covenant_secured_to_assets": draw(_num(0.0, 1.0)),
            "equity_discount": discount,
            "equity_discount_per_drawdown": draw(_num(0.0, 2.0)),
            "equity_max_discount": draw(_num(discount, 1.0)),
            "equity_max_dilution_per_epoch": draw(_num(0.0, 0.5)),
            "equity_min_share_price_usd": draw(_num(0.0, 5.0)),
            "equity_high_window_epochs": draw(st.integers(1, 52)),
        },
    }


@st.composite
def _fringe(draw: st.DrawFn, min_classes: int) -> dict:
    classes = [
        {
            "name": f"class{i}",
            "hashrate_ehs": draw(_num(1.0, 600.0)),
            "efficiency_jth": draw(_num(12.0, 40.0)),
            "power_price_usd_mwh": draw(_num(15.0, 120.0)),
            "agents": draw(st.integers(1, 3)),
        }
        for i in range(draw(st.integers(min_classes, 3)))
    ]
    return {
        "classes": classes,
        "adjustment_per_epoch": draw(_num(0.0, 1.0)),
        "supply_elasticity": draw(_num(0.3, 10.0)),
        "build_mw_per_year": draw(_num(10.0, 1e5)),
        "financed_share": draw(_num(0.0, 1.0)),
        "must_run_fraction": draw(_num(0.0, 0.2)),
    }


def _unless_none(key: str, value) -> dict:
    """``{key: value}``, or nothing for None (TOML has no null: the key is left out)."""
    return {} if value is None else {key: value}


@st.composite
def valid_scenarios(draw: st.DrawFn, max_days: int = 120) -> ScenarioFiles:
    """A small valid scenario: 0-4 public miners (with debt and AI leases), 0-3 fringe classes
    (1-3 agents each; at least one if the public miners have no hashrate), random market,
    hardware and policy parameters, a horizon of 14 to ``max_days`` days from a start date in
    2010-2060 and a starting difficulty within a factor of 2 of the one the network's hashrate
    implies."""
    start = draw(st.dates(dt.date(2010, 1, 1), dt.date(2060, 1, 1)))
    names = draw(st.lists(st.sampled_from(MINER_NAMES), max_size=4, unique=True))
    miners, debt, ai = [], [], []
    for name in names:
        row, notes, leases = draw(_miner(name, start))
        miners.append(row)
        debt += notes
        ai += leases
    public_ehs = sum(float(r["hashrate_ehs"]) for r in miners)
    fringe = draw(_fringe(min_classes=0 if public_ehs > 0 else 1))  # someone mines
    network_ehs = public_ehs + sum(c["hashrate_ehs"] for c in fringe["classes"])
    implied = network_ehs * HASHES_PER_EHS * TARGET_BLOCK_S / 2**32
    document = {
        "scenario": {
            "name": "generated",
            "start_date": start,
            "end_date": start + draw(_days(14, max_days)),
        },
        "chain": {
            "height": draw(st.integers(0, 6_929_999)),
            "difficulty": max(implied * draw(_num(0.5, 2.0)), 1.0),
        },
        "market": draw(_markets(start)),
        "hardware": {
            "frontier_improvement_per_year": draw(_num(0.0, 0.3)),
            **_unless_none("frontier_slowdown_half_life_years", draw(st.none() | _num(0.5, 20.0))),
            "annual_failure_rate": draw(_num(0.0, 0.2)),
            "useful_life_years": draw(_num(1.0, 8.0)),
            "mothball_after_epochs": draw(st.integers(1, 5)),
            "scrap_after_epochs": draw(st.integers(1, 30)),
        },
        "machines": {
            "floor_usd_per_w": draw(_num(0.05, 3.0)),
            "markup_per_backlog_year": draw(_num(0.0, 20.0)),
            "base_lead_days": draw(_num(0.0, 180.0)),
            "capacity_mw_per_year": draw(_num(10.0, 1e5)),
            "capacity_date": start,
            "capacity_growth_per_year": draw(_num(-0.5, 0.5)),
            "capacity_growth_after_break": draw(_num(-0.5, 0.5)),
            "initial_backlog_years": draw(_num(0.0, 1.0)),
            "resale_exponent": draw(_num(0.0, 5.0)),
        },
        "expectations": {
            **_unless_none("btc_drift", draw(st.none() | _num(-0.5, 1.0))),
            "adaptive_weight": draw(_num(0.0, 1.0)),
        },
        "miners": {
            "csv": "miners.csv",
            "debt_csv": "debt.csv",
            "ai_contracts_csv": "ai.csv",
            "policy": draw(st.sampled_from(POLICY_NAMES)),
            "policies": draw(
                st.dictionaries(st.sampled_from(names), st.sampled_from(POLICY_NAMES))
                if names
                else st.just({})
            ),
            "opex_usd_per_mw_year": draw(_num(0.0, 2e5)),
            "mining_multiple": draw(_num(0.0, 10.0)),
            "ai_multiple": draw(_num(0.0, 20.0)),
            "ai_option_weight": draw(_num(0.0, 1.0)),
            "default_recovery": draw(_num(0.0, 1.0)),
            "fire_sale_discount": draw(_num(0.0, 1.0)),
            "asset_sale_fraction": draw(_num(0.0, 1.0)),
            "site_usd_per_mw": draw(_num(0.0, 3e6)),
            "curtailment": draw(st.booleans()),
        },
        "fringe": fringe,
        "policy": {
            "hurdle_payback_days": draw(_num(100.0, 2000.0)),
            "max_leverage": draw(_num(0.0, 1.0)),
            "discount_rate": draw(_num(0.0, 0.3)),
            "cash_buffer_months": draw(_num(0.0, 12.0)),
            "max_ai_fraction": draw(_num(0.0, 1.0)),
            "sell_fraction": draw(_num(0.0, 1.0)),
            "planning_horizon_days": draw(_num(30.0, 2000.0)),
            "ai_step_fraction": draw(_num(0.0, 1.0)),
            "ai_loan_to_cost": draw(_num(0.0, 1.0)),
        },
    }
    return ScenarioFiles(document, miners, debt, ai)


# ------------------------------------------------------------------------------- mechanisms

#: Blocks a day at 600 s per block, and the halving interval (blocks).
BLOCKS_PER_DAY = 144
HALVING_INTERVAL = 210_000


def _has_public_hashrate(files: ScenarioFiles) -> bool:
    return any(float(row["hashrate_ehs"]) > 0 for row in files.miners)


@st.composite
def mechanism_scenarios(
    draw: st.DrawFn, min_days: int = 365, max_days: int = 1100
) -> ScenarioFiles:
    """A valid scenario (as :func:`valid_scenarios`, with a public miner that mines) made long
    and favourable enough that the model's mechanisms occur in a good share of draws: a horizon
    of ``min_days`` to ``max_days``; a start height before a halving that falls inside the
    horizon in about 60% of draws; AI leasing enabled and worth converting to; credit windows
    that close only in BTC drawdowns of 60-95% (they stay open most days, for borrowing); power
    contracts that end inside the horizon (renewals); and, for about half of the miners, a
    secured note larger than their cash maturing inside the horizon (borrowing, then defaults).
    tests/test_mechanism_reach.py measures the shares."""
    files = draw(valid_scenarios(max_days=120).filter(_has_public_hashrate))
    doc = files.document
    start = doc["scenario"]["start_date"]
    days = draw(st.integers(min_days, max_days))
    doc["scenario"]["end_date"] = start + dt.timedelta(days=days)
    # the next halving in 0.1-1.5 horizons of blocks (hypothesis leans to small integers, so the
    # share is set by a list): inside the horizon in 5 of 7 cases
    fraction = draw(st.sampled_from([0.1, 1.2, 0.3, 1.5, 0.5, 0.7, 0.9]))
    before = int(fraction * days * BLOCKS_PER_DAY)

    next_halving = draw(st.integers(2, 32)) * HALVING_INTERVAL  # minus "before" stays >= 0
    doc["chain"]["height"] = max(next_halving - before, 0)
    doc["market"]["ai"].update(
        enabled=True,
        lease_usd_per_mw_year=draw(_num(2e6, 6e6)),
        demand_mw_per_year=draw(_num(2000.0, 10_000.0)),
        capex_usd_per_mw=draw(_num(3e6, 8e6)),
        lead_time_days=draw(st.integers(30, 365)),
    )
    doc["miners"]["policy"] = draw(st.sampled_from(["ai_first", "rational"]))
    doc["policy"].update(
        max_ai_fraction=draw(_num(0.5, 1.0)),
        ai_step_fraction=draw(_num(0.1, 0.5)),
        max_leverage=draw(_num(0.5, 0.9)),
    )
    rates = doc["market"]["rates"]  # reopening stays at most the closing drawdown (schema)
    rates["credit_close_drawdown"] = draw(_num(0.6, 0.95))
    rates["credit_reopen_drawdown"] = min(rates["credit_reopen_drawdown"], 0.5)
    for row in files.miners:
        # no stated strategy: the policy parameters drawn above apply to every miner
        row["strategy"] = row["ai_offer_fraction"] = ""
        row["contract_end"] = (start + draw(_days(30, max(days - 30, 31)))).isoformat()
        if draw(st.booleans()):
            principal = float(row["cash_usd"]) * draw(_num(2.0, 10.0)) + draw(_num(1e8, 2e9))
            files.debt.append(
                _row_text(
                    {
                        "miner": row["name"],
                        "instrument": "senior_secured",
                        "principal_usd": principal,
                        "coupon": draw(_num(0.05, 0.15)),
                        "issue_date": start - dt.timedelta(days=365),
                        "maturity": start + draw(_days(60, max(days - 60, 61))),
                        "conversion_price_usd": "",
                        "amortization_per_year": 0.0,
                        "source": "generated",
                    }
                )
            )
    return files


def mechanisms_seen(result, start_height: int) -> set[str]:
    """Which mechanisms a run shows: ``halving`` (the chain crossed a halving height),
    ``ai_conversion`` (a public miner's action), ``borrowing`` (the action, or a public miner's
    debt rising from one epoch to the next: machines bought on equipment loans, project notes),
    ``default``, ``renewal`` (a public miner's power price changed, as it does when its contract
    renews)."""
    seen: set[str] = set()
    epochs, miners = result.epochs, result.miners
    if len(epochs):
        first = start_height // 2016 * 2016
        if int(epochs["height"].iloc[-1]) // HALVING_INTERVAL > first // HALVING_INTERVAL:
            seen.add("halving")
    public = miners[miners["kind"] == "public"]
    actions = set(public["action"])
    for action, name in (("convert_ai", "ai_conversion"), ("borrow", "borrowing")):
        if action in actions:
            seen.add(name)
    if (public.groupby("miner_id")["debt_usd"].diff() > 0).any():
        seen.add("borrowing")
    if public["defaulted"].any():
        seen.add("default")
    prices = public.groupby("miner_id")["power_price_usd_mwh"].nunique()
    if (prices > 1).any():
        seen.add("renewal")
    return seen
