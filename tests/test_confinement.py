"""Files outside the scenario (issue 14, family 1): what a scenario may open, and what errors say.

A scenario reads files only inside its own folder tree, the bundled scenarios and folders named
with ``data_dirs`` / ``--data-dir``; only regular files, up to a size limit; and an error never
quotes a file that failed to parse as a table. Checked with generated inputs:

* path expressions (absolute, ``..`` chains, redundant segments, symbolic links to files and to
  folders outside, FIFOs, devices, /proc, folders, oversized files) given as a CSV path or an
  ``extends`` parent, in the TOML file, in an ``extends`` parent, as a Python override or as
  ``--set``: a path outside is refused before anything is opened (an audit hook records every
  ``open``), a path inside loads;
* malformed tables inside the folder whose header or bad cell holds a marker: the marker never
  appears in the error;
* values the browser page may send as its scenario: anything not in the page's list is refused
  on the page (a note), never with an exception.
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_clear
from strategies import copy_demo, write_csv

from sim.cli import main
from sim.errors import MinersimError, ScenarioError
from sim.input.files import MAX_TABLE_BYTES
from sim.input.scenario import MINER_COLUMNS, REPLAY_COLUMNS, load_scenario, parse_overrides
from sim.paths import SCENARIOS_DIR

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=600)
MARKER = "SECRET-7f3a9c"
CSV_KEYS = ("miners.csv", "miners.debt_csv", "miners.ai_contracts_csv", "market.btc.path_csv")
REPLAY = {"market.btc.process": "replay"}

# ------------------------------------------------------------------------------- opened files

_OPENED: list[str] = []
_RECORDING = [False]


def _audit(event: str, args: tuple) -> None:
    if _RECORDING[0] and event == "open" and args and isinstance(args[0], str | bytes):
        path = args[0].decode(errors="replace") if isinstance(args[0], bytes) else args[0]
        _OPENED.append(os.path.realpath(path))


sys.addaudithook(_audit)  # hooks cannot be removed: this one records only while asked to


class Opened:
    """Every path opened (``open`` audit event) inside the ``with`` block, resolved."""

    def __enter__(self) -> list[str]:
        _OPENED.clear()
        _RECORDING[0] = True
        return _OPENED

    def __exit__(self, *exc: object) -> None:
        _RECORDING[0] = False


# ------------------------------------------------------------------------------- a small world


@dataclass
class World:
    """A scenario folder (a demo copy), a folder outside it with secrets, and traps."""

    root: Path
    scenario: Path  # scen/demo.toml
    inside: Path  # scen/
    outside: Path  # outside/ (never to be opened)
    fifo: Path
    big: Path
    folder: Path

    @property
    def forbidden(self) -> list[str]:
        """Resolved paths (prefixes) that must never be opened."""
        return [
            os.path.realpath(self.outside),
            "/etc",
            "/dev",
            "/proc",
            *(os.path.realpath(p) for p in (self.fifo, self.big, self.folder)),
        ]


def make_world(root: Path) -> World:
    inside, outside = root / "scen", root / "outside"
    inside.mkdir()
    outside.mkdir()
    scenario = copy_demo(inside)
    (inside / "sub").mkdir()
    # a valid miners table with a marked ticker: if it were ever read, the load would succeed
    with (inside / "demo_miners.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("ticker")] = MARKER
    write_csv(outside / "secret.csv", rows)
    (outside / "secret.toml").write_text(
        scenario.read_text().replace('name = "demo"', f'name = "{MARKER}"')
    )
    (inside / "link_file.csv").symlink_to(outside / "secret.csv")
    (inside / "link_dir").symlink_to(outside, target_is_directory=True)
    (inside / "link_zero.csv").symlink_to("/dev/zero")
    fifo = inside / "fifo.csv"
    os.mkfifo(fifo)
    big = inside / "big.csv"
    with big.open("wb") as handle:  # sparse: no disk used
        handle.truncate(MAX_TABLE_BYTES + 1)
    folder = inside / "folder.csv"
    folder.mkdir()
    return World(root, scenario, inside, outside, fifo, big, folder)


#: (path expression relative to the scenario folder or absolute, is it inside?)
def _targets(world: World) -> list[tuple[str, bool]]:
    out = world.outside
    return [
        (str(out / "secret.csv"), False),
        ("../outside/secret.csv", False),
        ("sub/../../outside/secret.csv", False),
        ("link_file.csv", False),
        ("link_dir/secret.csv", False),
        ("link_zero.csv", False),
        ("/etc/passwd", False),
        ("/dev/zero", False),
        ("/proc/self/environ", False),
        ("fifo.csv", True),  # inside, but not a regular file
        ("big.csv", True),  # inside, but too large
        ("folder.csv", True),  # inside, but a folder
        ("demo_miners.csv", True),
        ("sub/../demo_miners.csv", True),
        ("./demo_miners.csv", True),
        (str(world.inside / "demo_miners.csv"), True),
    ]


REDUNDANT = st.sampled_from(["", "./", "sub/../", ".//"])


def _decorate(prefix: str, path: str) -> str:
    return path if path.startswith("/") else prefix + path


def _expect_refused(world: World, load, what: str) -> None:
    """``load()`` fails with a clear error that quotes nothing outside, having opened nothing
    forbidden."""
    with Opened() as opened:
        try:
            load()
        except MinersimError as error:
            message = str(error)
            assert_clear(error)
        else:
            pytest.fail(f"{what}: loaded")
    assert MARKER not in message and "root:" not in message, message
    bad = [p for p in opened if any(p == f or p.startswith(f + os.sep) for f in world.forbidden)]
    assert not bad, f"{what}: opened {bad}"


@st.composite
def path_cases(draw: st.DrawFn, world: World) -> tuple[str, str, bool, str]:
    """(key, path text, inside?, how it is given)."""
    path, inside = draw(st.sampled_from(_targets(world)))
    path = _decorate(draw(REDUNDANT), path)
    key = draw(st.sampled_from(CSV_KEYS))
    how = draw(st.sampled_from(["override", "toml", "extends-parent", "set"]))
    return key, path, inside, how


def _load_with(world: World, key: str, path: str, how: str):
    """A function loading the world's scenario with ``key = path`` given in the way ``how``."""
    extra = REPLAY if key == "market.btc.path_csv" else {}
    if how == "override":
        return lambda: load_scenario(world.scenario, {**extra, key: path})
    if how == "set":
        texts = [f"{k}={v}" for k, v in extra.items()] + [f'{key}="{path}"']
        return lambda: load_scenario(world.scenario, parse_overrides(texts))
    section, _, name = key.rpartition(".")
    lines = [f"[{section}]", f'{name} = "{path}"']
    if extra:
        lines.insert(1, 'process = "replay"')
    body = "\n".join(lines) + "\n"
    if how == "toml":
        child = world.inside / "child.toml"
        child.write_text('extends = "demo.toml"\n' + body)
    else:  # the path is named by a parent the child extends
        (world.inside / "parent.toml").write_text('extends = "demo.toml"\n' + body)
        child = world.inside / "child.toml"
        child.write_text('extends = "parent.toml"\n')
    return lambda: load_scenario(child)


def check_path_case(world: World, case: tuple[str, str, bool, str]) -> None:
    key, path, inside, how = case
    load = _load_with(world, key, path, how)
    if inside and os.path.basename(path) == "demo_miners.csv":
        if key == "miners.csv":
            assert len(load().miners) == 4  # the demo's miners, read from inside
        else:  # a miners table where another table is expected: read, then a clear error
            with pytest.raises(ScenarioError) as info:
                load()
            assert "outside the folders" not in str(info.value)
        return
    _expect_refused(world, load, f"{how} {key}={path}")


@pytest.fixture(scope="module")
def template_world(tmp_path_factory) -> World:
    return make_world(tmp_path_factory.mktemp("world"))


@pytest.mark.timeout(600)
@FAST
@given(data=st.data())
def test_paths_outside_are_refused_before_opening_and_inside_load(template_world, data):
    check_path_case(template_world, data.draw(path_cases(template_world)))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(data=st.data())
def test_paths_outside_are_refused_before_opening_and_inside_load_many(template_world, data):
    check_path_case(template_world, data.draw(path_cases(template_world)))


@st.composite
def extends_cases(draw: st.DrawFn, world: World) -> tuple[str, bool]:
    out = world.outside
    path, inside = draw(
        st.sampled_from(
            [
                (str(out / "secret.toml"), False),
                ("../outside/secret.toml", False),
                ("link_dir/secret.toml", False),
                ("/etc/passwd", False),
                ("/dev/zero", False),
                ("fifo.csv", True),
                ("folder.csv", True),
                ("demo.toml", True),
                ("sub/../demo.toml", True),
                ("demo", True),  # a bundled name
            ]
        )
    )
    return _decorate(draw(REDUNDANT), path) if path != "demo" else path, inside


def check_extends_case(world: World, case: tuple[str, bool]) -> None:
    path, _ = case
    child = world.inside / "child.toml"
    child.write_text(f'extends = "{path}"\n')
    if path.endswith("demo.toml") or path == "demo":
        assert load_scenario(child).name == "demo"
        return
    _expect_refused(world, lambda: load_scenario(child), f"extends = {path}")


@pytest.mark.timeout(300)
@settings(FAST, max_examples=30)
@given(data=st.data())
def test_extends_outside_is_refused_and_bundled_names_load(template_world, data):
    check_extends_case(template_world, data.draw(extends_cases(template_world)))


def test_a_folder_named_with_data_dirs_may_be_read(tmp_path: Path):
    world = make_world(tmp_path)
    overrides = {"miners.csv": str(world.outside / "secret.csv")}
    with pytest.raises(ScenarioError, match="outside the folders"):
        load_scenario(world.scenario, overrides)
    loaded = load_scenario(world.scenario, overrides, data_dirs=[world.outside])
    assert MARKER in set(loaded.miners["ticker"])
    # an override of the loaded scenario keeps its folders: the file is read (and is no debt
    # table), not refused
    with pytest.raises(ScenarioError, match="missing column") as info:
        load_scenario(loaded, {"miners.debt_csv": str(world.outside / "secret.csv")})
    assert "outside the folders" not in str(info.value)


def test_cli_refuses_etc_passwd_in_one_line_without_its_contents(tmp_path: Path, capsys):
    world = make_world(tmp_path)
    code = main(["validate", str(world.scenario), "--set", "miners.csv=/etc/passwd"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "outside the folders" in err
    assert "root:" not in err
    secret = f"miners.csv={world.outside / 'secret.csv'}"
    code = main(
        ["validate", str(world.scenario), "--set", secret, "--data-dir", str(world.outside)]
    )
    assert code == 0, capsys.readouterr().err


# ------------------------------------------------------------------------------- table contents

_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters=',"\r\n'), max_size=10)


@st.composite
def marked_tables(draw: st.DrawFn) -> tuple[str, str, list[list[str]]]:
    """(key, file name, rows): a table that cannot parse, with MARKER in its header or in the
    bad cell."""
    key = draw(st.sampled_from(CSV_KEYS[:1] + CSV_KEYS[3:]))
    columns = MINER_COLUMNS if key == "miners.csv" else REPLAY_COLUMNS
    header = [c.name for c in columns]
    good = {
        "miners.csv": (Path(SCENARIOS_DIR) / "demo_miners.csv").read_text().splitlines()[1],
        "market.btc.path_csv": "2025-09-01,100000",
    }[key]
    body = [good.split(",")]
    if draw(st.booleans()):  # the marker in the header: the header never matches
        at = draw(st.integers(0, len(header)))
        header.insert(at, draw(_TEXT) + MARKER + draw(_TEXT))
        if draw(st.booleans()):
            header.pop(draw(st.integers(0, len(header) - 1)))
        body = [[draw(_TEXT) for _ in header] for _ in range(draw(st.integers(0, 3)))]
    else:  # the marker in a number, date or flag cell: that cell does not parse
        typed = [i for i, c in enumerate(columns) if c.kind != "text" and c.name in header]
        row = list(body[0])
        row[header.index(columns[draw(st.sampled_from(typed))].name)] = draw(
            st.sampled_from([MARKER, f"1{MARKER}", f"{MARKER}2025-01-01", f"true{MARKER}"])
        )
        body = [row]
    return key, "marked.csv", [header, *body]


def check_marked_table(case: tuple[str, str, list[list[str]]]) -> None:
    key, name, rows = case
    with tempfile.TemporaryDirectory() as folder:
        scenario = copy_demo(Path(folder))
        write_csv(Path(folder) / name, rows)
        extra = REPLAY if key == "market.btc.path_csv" else {}
        try:
            load_scenario(scenario, {**extra, key: name})
        except MinersimError as error:
            assert_clear(error)
            assert MARKER not in str(error), str(error)
        else:
            pytest.fail(f"a table with {MARKER} in its header or a typed cell loaded")


@pytest.mark.timeout(300)
@FAST
@given(marked_tables())
def test_errors_never_quote_a_table_that_failed_to_parse(case):
    check_marked_table(case)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(marked_tables())
def test_errors_never_quote_a_table_that_failed_to_parse_many(case):
    check_marked_table(case)


# ------------------------------------------------------------------------------- the browser page


@pytest.fixture(scope="module")
def page_world(tmp_path_factory) -> tuple[World, type]:
    from sim.ui.params import page_defaults, page_model_class

    world = make_world(tmp_path_factory.mktemp("page"))
    (world.inside / "broken.toml").write_text(f'[scenario]\nname = "{MARKER}"\n')
    (world.outside / "other.toml").write_text(world.scenario.read_text())
    defaults = page_defaults("demo", scenario_dir=world.inside)
    return world, page_model_class(defaults)


@st.composite
def page_values(draw: st.DrawFn, world: World) -> object:
    return draw(
        st.one_of(
            st.sampled_from(
                [
                    "demo",
                    "baseline",
                    str(world.scenario),
                    str(world.inside / "broken.toml"),
                    str(world.outside / "other.toml"),
                    str(world.outside / "secret.toml"),
                    "/etc/passwd",
                    "../outside/other.toml",
                    "",
                    None,
                ]
            ),
            _TEXT,
            st.integers(),
        )
    )


def check_page_value(world: World, model_class: type, value: object) -> None:
    model = model_class(scenario_name=value)
    choices = model.page_defaults.choices
    allowed = value in choices or value is None
    notes = " ".join(model.ui_notes)
    assert MARKER not in notes
    if not allowed:
        assert model.spec.name == "demo" and "not one of this page's scenarios" in notes
    elif value == str(world.inside / "broken.toml"):
        assert model.spec.name == "demo" and "ran demo as launched instead" in notes
    elif value in ("demo", "baseline", None):
        assert not model.ui_notes and model.spec.name == (value or "demo")
    else:
        assert not model.ui_notes and model.spec.source == Path(value).resolve()


@pytest.mark.timeout(600)
@settings(FAST, max_examples=25)
@given(data=st.data())
def test_page_runs_only_its_scenarios_and_refuses_others_on_the_page(page_world, data):
    world, model_class = page_world
    check_page_value(world, model_class, data.draw(page_values(world)))


def test_page_lists_the_scenario_folder_but_nothing_outside(page_world):
    world, model_class = page_world
    choices = model_class.page_defaults.choices
    assert str(world.scenario.resolve()) in choices and "demo" in choices
    assert not any(str(world.outside) in choice for choice in choices)
