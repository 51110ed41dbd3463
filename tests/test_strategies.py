"""The suite's own helpers (issue 14, family "the suite itself"): a generated test must fail only
on the code it tests, never on its helper. Each strategy of tests/strategies.py is drawn many
times and what the tests then do with a draw (write it as TOML or CSV, read it back, load the
valid scenarios) must work. Found: ``mutated_documents`` put integer keys into tables (a list
index under a table that had replaced the list), which tomli_w cannot write.
"""

from __future__ import annotations

import math
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    argv_for,
    document_paths,
    dump_toml,
    mutated_documents,
    mutated_tables,
    mutated_text,
    override_texts,
    subcommand_parsers,
    valid_scenarios,
    write_tables,
)

from sim.cli import build_parser
from sim.input.scenario import load_scenario

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _keys_are_text(node: object) -> bool:
    if isinstance(node, dict):
        return all(isinstance(k, str) and _keys_are_text(v) for k, v in node.items())
    if isinstance(node, list):
        return all(_keys_are_text(v) for v in node)
    return True


def _same(a: object, b: object) -> bool:
    """Equal as TOML values (NaN equals NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.timeout(300)
@FAST
@given(mutated_documents())
def test_mutated_documents_are_writable_toml(document):
    assert _keys_are_text(document)
    text = dump_toml(document)  # never raises: the helper must not fail the fuzz test
    try:
        again = tomllib.loads(text.decode())
    except ValueError:  # an integer of more than 4,300 digits: the loader's error to report
        return
    assert _same(again, document)


@pytest.mark.timeout(300)
@FAST
@given(mutated_text())
def test_mutated_text_is_bytes(data):
    assert isinstance(data, bytes)


@pytest.mark.timeout(300)
@FAST
@given(mutated_tables())
def test_mutated_tables_can_be_written(edit):
    tables, extra = edit
    with tempfile.TemporaryDirectory() as folder:
        write_tables(Path(folder), tables, extra)
        assert sorted(p.name for p in Path(folder).iterdir()) == sorted(tables)


@pytest.mark.timeout(300)
@FAST
@given(override_texts())
def test_override_texts_are_text(text):
    assert isinstance(text, str)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=100)
@given(data=st.data())
def test_argv_for_gives_tokens_of_text(data):
    parsers = subcommand_parsers(build_parser())
    name = data.draw(st.sampled_from(sorted(parsers)))
    argv = data.draw(argv_for(name, parsers[name], ["demo"], ["out"]))
    assert argv[0] == name and all(isinstance(token, str) for token in argv)


@pytest.mark.timeout(600)
@settings(FAST, max_examples=50)
@given(valid_scenarios())
def test_valid_scenarios_are_valid(files):
    # the property tests assume every draw loads: a draw that does not is a helper bug
    with tempfile.TemporaryDirectory() as folder:
        scenario = load_scenario(files.write(Path(folder)))
    assert len(scenario.miners) == len(files.miners)


def test_document_paths_cover_every_leaf():
    document = {"a": {"b": [1, {"c": 2}]}, "d": 3}
    assert document_paths(document) == [
        ("a",),
        ("a", "b"),
        ("a", "b", 0),
        ("a", "b", 1),
        ("a", "b", 1, "c"),
        ("d",),
    ]


def test_a_list_item_set_where_the_list_was_deleted_keeps_keys_text():
    # issue 14: the fuzz test failed once on its own helper. A mutation deleted
    # fringe.classes, a later one set fringe.classes.0.name: the index became an integer key.
    from strategies import _delete_path, _set_path, demo_document

    document = demo_document()
    _delete_path(document, ("fringe", "classes"))
    _set_path(document, ("fringe", "classes", 0, "name"), "x")
    assert document["fringe"]["classes"] == {"0": {"name": "x"}}
    assert tomllib.loads(dump_toml(document).decode())["fringe"]["classes"]["0"]["name"] == "x"
