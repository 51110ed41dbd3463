"""The parameter reference: every scenario key with its unit, default, bounds, status and source.

One source of truth: the schema (:mod:`sim.input.schema`: types, defaults, bounds and
descriptions) and :mod:`sim.input.assumptions` (status and source of each default). Printed by
``minersim params [SECTION]`` and written to ``docs/parameters.md`` by
``python -m sim.input.reference --write`` (``tests/test_reference.py`` regenerates it and fails
when the page is out of date).

Units: a field whose description starts with a unit says it; otherwise the unit is read from the
key's ending (:data:`UNIT_SUFFIXES`: ``_usd_mwh`` is $/MWh, ``_days`` days, ...), and fractions
(0 to 1) say so. Keys of list items (``fringe.classes``) have ``*`` for the index.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.errors import MinersimError
from sim.input.assumptions import DEFAULTS, LIST_ITEM
from sim.input.schema import ScenarioConfig

#: The unit a key's ending implies (the longest matching ending wins).
UNIT_SUFFIXES = (
    ("_usd_per_mw_year", "USD/MW-year"),
    ("_usd_per_th_day", "USD/(TH/s)/day"),
    ("_usd_per_ph_day", "$/PH/day"),
    ("_usd_per_mw", "USD/MW"),
    ("_usd_per_th", "USD/(TH/s)"),
    ("_usd_per_w", "USD/W"),
    ("_usd_mwh", "$/MWh"),
    ("_mw_per_year", "MW/year"),
    ("_per_year", "1/year"),
    ("_per_epoch", "1/epoch"),
    ("_usd", "USD"),
    ("_btc", "BTC"),
    ("_ehs", "EH/s"),
    ("_jth", "J/TH"),
    ("_mw", "MW"),
    ("_days", "days"),
    ("_years", "years"),
    ("_epochs", "epochs"),
    ("_months", "months"),
    ("_date", "date"),
    ("_csv", "file"),
    ("_btc_per_block", "BTC/block"),
    ("drift", "1/year (log)"),
    ("volatility", "1/√year (log)"),
    ("jump_intensity", "1/year"),
    ("jump_mean", "log"),
    ("jump_std", "log"),
    ("_rate", "1/year"),
    ("_growth", "1/year"),
    ("_decline", "1/year (log)"),
    ("_multiple", "x"),
    ("_multiplier", "x"),
    ("_bps", "bps"),
    ("height", "blocks"),
)
#: The page in a checkout (``--write`` writes it; a wheel has no docs folder).
DOCS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "parameters.md"
#: Bound constraints of the schema's fields: (annotated_types class, operator, attribute).
LIMITS = (
    (annotated_types.Gt, ">", "gt"),
    (annotated_types.Ge, ">=", "ge"),
    (annotated_types.Lt, "<", "lt"),
    (annotated_types.Le, "<=", "le"),
)
#: What a required key (no default) says in the status column.
REQUIRED = "required"
COLUMNS = ("key", "unit", "default", "bounds", "status", "source or basis", "description")


def parameters(section: str | None = None) -> list[dict[str, str]]:
    """One row per scenario key (:data:`COLUMNS`), in the schema's order; ``section``: only the
    keys under it (``"market"``, ``"market.btc"``, ``"fringe.classes"``), else a one-line error
    naming the sections."""
    rows = [_row(key, field) for key, field in _fields(ScenarioConfig, "")]
    if section is None:
        return rows
    chosen = [r for r in rows if r["key"] == section or r["key"].startswith(f"{section}.")]
    if not chosen:
        raise MinersimError(f"no section {section!r}; sections: {', '.join(sections())}")
    return chosen


def sections() -> list[str]:
    """The top-level and second-level sections (``market``, ``market.btc``, ...)."""
    seen: dict[str, None] = {}
    for key, _ in _fields(ScenarioConfig, ""):
        parts = key.split(".")
        seen[parts[0]] = None
        if len(parts) > 2:
            seen[".".join(parts[:2])] = None
    return list(seen)


def markdown() -> str:
    """docs/parameters.md: one table per top-level section."""
    lines = [
        "# Scenario parameters",
        "",
        "Generated from the schema (`sim/input/schema.py`: units, defaults, bounds, descriptions) "
        "and `sim/input/assumptions.py` (status and source of each default) by "
        "`python -m sim.input.reference --write`; `minersim params [SECTION]` prints the same. "
        "Do not edit by hand: `tests/test_reference.py` fails when this page is out of date.",
        "",
        "Status: **sourced** (a figure of `data/sources.md`, cited as cal §x.y), **calibrated** "
        "(fitted to history, docs/calibration.md), **assumption** (no source gives it: the basis "
        "is stated), **option** (an absent input or a switch), **required** (every scenario "
        "sets it). Keys of list items have `*` for the index (`fringe.classes.0.agents` in "
        "`--set`).",
        "",
    ]
    return "\n".join(lines) + markdown_rows(parameters())


def markdown_rows(rows: list[dict[str, str]]) -> str:
    """The rows as Markdown: one table per top-level section."""
    lines = []
    for top in dict.fromkeys(r["key"].split(".")[0] for r in rows):
        lines += [f"## `{top}`", "", "| " + " | ".join(COLUMNS) + " |"]
        lines.append("|" + "---|" * len(COLUMNS))
        for r in rows:
            if r["key"].split(".")[0] == top:
                cells = [f"`{r['key']}`", *(r[c] for c in COLUMNS[1:])]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def text_table(rows: list[dict[str, str]]) -> str:
    """The rows as plain text for a terminal: key, unit, default, bounds, status, then the
    source or basis and the description indented below."""
    width = {c: max([len(c), *(len(r[c]) for r in rows)]) for c in COLUMNS[:5]}
    head = "  ".join(c.ljust(width[c]) for c in COLUMNS[:5]).rstrip()
    out = [head, "-" * len(head)]
    for r in rows:
        out.append("  ".join(r[c].ljust(width[c]) for c in COLUMNS[:5]).rstrip())
        for label, column in (("basis", "source or basis"), ("means", "description")):
            if r[column]:
                out.append(f"    {label}: {r[column]}")
    return "\n".join(out)


def _fields(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo]]:
    """(dotted key, field) of every leaf field below ``model``; list items keyed with ``*``."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        section = _model(field.annotation)
        if section is not None:
            yield from _fields(section, f"{key}.")
            continue
        yield key, field
        item = _list_item(field.annotation)
        if item is not None:
            yield from _fields(item, f"{key}.{LIST_ITEM}.")


def _row(key: str, field: FieldInfo) -> dict[str, str]:
    required = field.is_required()
    status, basis = (REQUIRED, "") if required else DEFAULTS[key]
    default = "" if required else _value_text(field.get_default(call_default_factory=True))
    return {
        "key": key,
        "unit": _unit(key, field),
        "default": default,
        "bounds": _bounds(field),
        "status": status,
        "source or basis": basis,
        "description": (field.description or "").strip(),
    }


def _unit(key: str, field: FieldInfo) -> str:
    name = key.rsplit(".", 1)[-1]
    if name.startswith("correlation"):
        return "correlation"
    if field.annotation is bool:
        return "true/false"
    for suffix, unit in sorted(UNIT_SUFFIXES, key=lambda pair: -len(pair[0])):
        if name.endswith(suffix):
            return unit
    bounds = _limits(field)
    if bounds.get(">=") == 0 and bounds.get("<=") == 1 and field.annotation is float:
        return "fraction"
    return ""


def _bounds(field: FieldInfo) -> str:
    choices = _choices(field.annotation)
    if choices:
        return "one of " + ", ".join(choices)
    limits = _limits(field)
    return ", ".join(f"{op} {_number(v)}" for op, v in limits.items())


def _limits(field: FieldInfo) -> dict[str, float]:
    out = {}
    for item in field.metadata:
        for kind, op, attribute in LIMITS:
            if isinstance(item, kind):
                out[op] = getattr(item, attribute)
    return dict(sorted(out.items(), key=lambda kv: kv[0][0] == "<"))


def _choices(annotation: object) -> list[str]:
    if typing.get_origin(annotation) is typing.Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return []


def _number(value: object) -> str:
    """Plain numbers: 0.5, 100,000, 1e+09, 2e-05."""
    if isinstance(value, float) and (abs(value) >= 1e6 or 0 < abs(value) < 1e-3):
        return f"{value:g}"
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else str(value)


def _value_text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (list, tuple, dict)) and not value:
        return "empty"
    return str(value)


def _model(annotation: object) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _list_item(annotation: object) -> type[BaseModel] | None:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and len(args) == 1:
        return _model(args[0])
    return None


def main(argv: list[str] | None = None) -> int:
    """Print docs/parameters.md, or with ``--write`` write it."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sim.input.reference", description=main.__doc__)
    parser.add_argument("--write", action="store_true", help="write docs/parameters.md")
    args = parser.parse_args(argv)
    if not args.write:
        print(markdown())
        return 0
    path = DOCS_PAGE
    path.write_text(markdown() + "\n", encoding="utf-8")
    print(f"wrote {len(parameters())} keys into {path}")
    return 0


__all__ = [
    "COLUMNS",
    "DOCS_PAGE",
    "REQUIRED",
    "UNIT_SUFFIXES",
    "markdown",
    "markdown_rows",
    "parameters",
    "sections",
    "text_table",
]

if __name__ == "__main__":
    raise SystemExit(main())
