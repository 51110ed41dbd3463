"""Scenario TOML documents: reading (with ``extends``), literal bounds, and dotted keys.

* :func:`read_with_extends` reads a scenario file and the chain of files it ``extends``
  (a file name relative to the file, or a bundled scenario's name such as ``"baseline"``),
  deep-merges them and records which file set each key. Chains are at most
  :data:`MAX_EXTENDS_DEPTH` files long; cycles are errors.
* Integer literals are bounded (:data:`MAX_INT_LITERAL`): beyond it a value cannot be a count, a
  height or an amount the schema accepts, and Python refuses to read integers of more than 4,300
  digits.
* :func:`schema_path` walks the schema along a dotted key (overrides, "did you mean" hints).
"""

from __future__ import annotations

import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from sim.errors import ScenarioError
from sim.input.files import MAX_TOML_BYTES, Confinement, display, read_bytes
from sim.input.schema import ScenarioConfig
from sim.paths import SCENARIOS_DIR

EXTENDS_KEY = "extends"
#: Keys whose values are file paths, relative to the file that names them.
PATH_KEYS = (
    ("miners", "csv"),
    ("miners", "debt_csv"),
    ("miners", "ai_contracts_csv"),
    ("market", "btc", "path_csv"),
)
#: Longest chain of scenario files linked by ``extends``.
MAX_EXTENDS_DEPTH = 16
#: Largest magnitude of an integer literal in a scenario or an override (2**63 - 1).
MAX_INT_LITERAL = 2**63 - 1
#: Deepest nesting of tables and arrays in a scenario document.
MAX_NESTING = 32


# --------------------------------------------------------------------------------------------
# Reading TOML


def parse_toml(data: bytes, shown: str) -> dict:
    """A TOML document from bytes; one-line errors for malformed, oversized or deep input."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded)", file=shown
        ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"malformed TOML: {exc}", file=shown) from None
    except ValueError:  # Python's limit on the digits of an integer literal
        raise ScenarioError(
            f"an integer literal is too long (more than {len(str(MAX_INT_LITERAL))} digits)",
            file=shown,
        ) from None
    except RecursionError:
        raise ScenarioError(
            f"arrays or tables nested too deeply (over {MAX_NESTING})", file=shown
        ) from None
    check_literals(document, shown)
    return document


def check_literals(value: object, shown: str | None, key: tuple = ()) -> None:
    """Integer literals within +-MAX_INT_LITERAL, nesting within MAX_NESTING, keys strings."""
    if len(key) > MAX_NESTING:
        raise ScenarioError(
            f"arrays or tables nested too deeply (over {MAX_NESTING})", file=shown, key=_dot(key)
        )
    if isinstance(value, bool):
        return
    if isinstance(value, int) and abs(value) > MAX_INT_LITERAL:
        raise ScenarioError(
            f"integer literal out of range (|value| > {MAX_INT_LITERAL:,})",
            file=shown,
            key=_dot(key) or None,
        )
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                raise ScenarioError("keys must be text", file=shown, key=_dot(key) or None)
            check_literals(item, shown, (*key, name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_literals(item, shown, (*key, index))


def _dot(key: tuple) -> str:
    return ".".join(str(part) for part in key)


def read_with_extends(
    file: Path, confinement: Confinement, chain: tuple[Path, ...] = ()
) -> tuple[dict, dict[tuple, str], dict[Path, str]]:
    """The file's TOML merged over its ``extends`` parents.

    Returns the merged document (CSV paths made absolute, relative to the file naming them),
    which file set each key (``origins``), and every file read (resolved path -> shown name).
    """
    file = confinement.check(file, owner=display(chain[-1]) if chain else None, key=None)
    label = display(file)
    if file in chain:
        cycle = " -> ".join(display(p) for p in (*chain, file))
        raise ScenarioError(f"extends cycle: {cycle}", file=display(chain[-1]), key=EXTENDS_KEY)
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            f"extends chain longer than {MAX_EXTENDS_DEPTH} files",
            file=display(chain[-1]),
            key=EXTENDS_KEY,
        )
    owner = display(chain[-1]) if chain else None
    data = read_bytes(
        file, confinement, MAX_TOML_BYTES, owner=owner, key=EXTENDS_KEY if chain else None
    )
    raw = parse_toml(data, label)
    _resolve_paths(raw, file.parent, label)
    parent_name = raw.pop(EXTENDS_KEY, None)
    if parent_name is None:
        merged, origins, read = {}, {}, {}
    else:
        parent = _parent_file(parent_name, file, label, confinement)
        merged, origins, read = read_with_extends(parent, confinement, (*chain, file))
    deep_merge(merged, raw, origins, label, ())
    origins[()] = label
    read[file] = label
    return merged, origins, read


def _parent_file(name: object, file: Path, label: str, confinement: Confinement) -> Path:
    """The file an ``extends`` value names: a path relative to ``file``, else a bundled name."""
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError(
            "must be a file name or a bundled scenario name (text)", file=label, key=EXTENDS_KEY
        )
    if "\x00" in name:
        raise ScenarioError(
            "a file name cannot contain a NUL character", file=label, key=EXTENDS_KEY
        )
    relative = file.parent / name
    bare = "/" not in name and "\\" not in name and not name.endswith(".toml")
    bundled = Path(SCENARIOS_DIR) / f"{name}.toml"
    if bare and not (confinement.allows(relative) and relative.exists()) and bundled.is_file():
        return bundled
    confinement.check(relative, owner=label, key=EXTENDS_KEY)
    if not relative.exists():  # a FIFO or a folder: read_bytes says what it is
        names = ", ".join(sorted(p.stem for p in Path(SCENARIOS_DIR).glob("*.toml")))
        raise ScenarioError(
            f"file not found: {display(relative)} (nor a bundled scenario: {names})",
            file=label,
            key=EXTENDS_KEY,
        )
    return relative


def _resolve_paths(raw: dict, base_dir: Path, label: str) -> None:
    """Make the CSV paths of one file absolute, relative to that file's directory."""
    for parts in PATH_KEYS:
        table = raw
        for part in parts[:-1]:
            table = table.get(part) if isinstance(table, dict) else None
        if isinstance(table, dict) and isinstance(table.get(parts[-1]), str):
            table[parts[-1]] = absolute(base_dir, table[parts[-1]], ".".join(parts), label)


def absolute(base_dir: Path, text: str, key: str, label: str | None) -> str:
    """A file path from a scenario, made absolute relative to ``base_dir`` (not resolved:
    confinement resolves links when the file is read)."""
    if "\x00" in text:
        raise ScenarioError("a file path cannot contain a NUL character", file=label, key=key)
    return str(Path(base_dir, text).absolute())


def deep_merge(into: dict, new: dict, origins: dict, label: str, prefix: tuple) -> None:
    """Merge ``new`` into ``into``: tables key by key, any other value replaced whole."""
    for key, value in new.items():
        path = (*prefix, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            deep_merge(into[key], value, origins, label, path)
            continue
        for old in [k for k in origins if k[: len(path)] == path]:
            del origins[old]
        into[key] = value
        origins[path] = label


# --------------------------------------------------------------------------------------------
# The schema along a dotted key


def unwrap(annotation: object) -> object:
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


def schema_path(key: str, label: str | None) -> tuple:
    """The override key split into parts (list indices as ints), or a ScenarioError naming
    the first part the schema does not have (with the closest key it has)."""
    parts: list[object] = []
    annotation: object = ScenarioConfig
    for part in key.split("."):
        annotation = unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = annotation.model_fields
            if part not in fields:
                raise ScenarioError(
                    f"unknown override key{did_you_mean(part, fields)}", file=label, key=key
                )
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


def model_at(loc: tuple) -> type[BaseModel] | None:
    """The schema section (a pydantic model) at a validation error's location, if any."""
    annotation: object = ScenarioConfig
    for part in loc:
        annotation = unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return None
            annotation = info.annotation
        elif origin in (list, tuple, dict):
            annotation = typing.get_args(annotation)[-1 if origin is dict else 0]
        else:
            return None
    annotation = unwrap(annotation)
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def did_you_mean(name: object, choices: typing.Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    hint = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""


def set_dotted(raw: dict, parts: tuple, value: object, key: str, label: str) -> None:
    """Set ``raw[parts]`` (creating tables on the way); errors name the override key."""
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


def plain(value: object) -> object:
    """An override value with numpy scalars made Python scalars and tuples made lists (as TOML
    gives them), so that the strict schema sees the same types as from a file."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return item()
    return value


__all__ = [
    "EXTENDS_KEY",
    "MAX_EXTENDS_DEPTH",
    "MAX_INT_LITERAL",
    "PATH_KEYS",
    "check_literals",
    "deep_merge",
    "did_you_mean",
    "model_at",
    "parse_toml",
    "plain",
    "read_with_extends",
    "schema_path",
    "set_dotted",
    "unwrap",
]
