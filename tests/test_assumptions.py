"""Every schema default has a source or is marked as an assumption (sim.input.assumptions), and
``assumptions_used`` lists exactly the defaults a scenario relies on.

The keys a scenario sets are read here from its TOML files directly (following ``extends``), not
from pydantic's bookkeeping that ``assumptions_used`` uses, so the two derivations are independent.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from sim.input import assumptions
from sim.input.assumptions import (
    CALIBRATED,
    DEFAULTS,
    LIST_ITEM,
    OPTION,
    SOURCED,
    STATUSES,
    assumptions_used,
    default_fields,
)
from sim.input.scenario import list_scenarios, load_scenario, resolve_scenario_path, with_overrides
from sim.paths import SCENARIOS_DIR, SOURCES_FILE

CITATION = re.compile(r"§(\d+(?:\.\d+)?)")


def test_every_field_with_a_default_has_an_entry_and_no_entry_is_stale():
    fields = set(default_fields())
    missing = sorted(fields - set(DEFAULTS))
    assert not missing, f"schema defaults without a source or assumption entry: {missing}"
    stale = sorted(set(DEFAULTS) - fields)
    assert not stale, f"entries for keys the schema no longer has: {stale}"


def test_the_field_walk_finds_known_defaults_and_skips_required_fields():
    fields = default_fields()
    assert fields["market.ai.noi_margin"] == 0.85
    assert fields[f"fringe.classes.{LIST_ITEM}.agents"] == 1
    assert fields["market.rates.closed_periods"] == []
    for required in ("scenario.name", "chain.height", f"fringe.classes.{LIST_ITEM}.hashrate_ehs"):
        assert required not in fields
    assert "market" not in fields and "market.btc" not in fields  # sections are not fields


def sources_sections() -> set[str]:
    """Section numbers of data/sources.md: "## 3." and "### 3.9" headings, and the numbered
    items of a section without subsections ("4.1" is item 1 of "## 4.")."""
    sections, chapter = set(), None
    for line in SOURCES_FILE.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^## (\d+)\.", line):
            chapter = match[1]
            sections.add(chapter)
        elif match := re.match(r"^### (\d+\.\d+) ", line):
            sections.add(match[1])
        elif (match := re.match(r"^(\d+)\. ", line)) and chapter:
            sections.add(f"{chapter}.{match[1]}")
    return sections


def test_entries_have_a_status_and_a_basis_and_sources_cite_existing_sections():
    headings = sources_sections()
    assert {"3.9", "4.1", "4.8", "1.5"} <= headings
    for key, (status, basis) in DEFAULTS.items():
        assert status in STATUSES, key
        assert len(basis) > 10, key
        cited = CITATION.findall(basis)
        if status == SOURCED:
            assert basis.startswith("cal §"), f"{key}: a sourced default cites cal §x.y first"
        for section in cited:
            assert section in headings, f"{key} cites §{section}, not a section of sources.md"


# ------------------------------------------------------------------ what a scenario relies on


def toml_keys(path: Path) -> set[str]:
    """Dotted keys a scenario file sets, following ``extends``; list items keyed ``*``."""
    raw = tomllib.loads(path.read_text())
    keys = set(_flatten(raw, ""))
    if "extends" in raw:
        keys |= toml_keys(path.parent / raw["extends"])
    return keys - {"extends"}


def _flatten(table: dict, prefix: str):
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and name != "policies":  # miners.policies is one value
            yield from _flatten(value, f"{key}.")
            continue
        yield key
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                yield from _flatten(item, f"{key}.{LIST_ITEM}.")


def generic(key: str) -> str:
    return re.sub(r"\.\d+\.", f".{LIST_ITEM}.", key)


def tracked_scenarios() -> list[str]:
    """The bundled scenarios committed to git: a .toml that a user or another test left in
    scenarios/ is not one of the project's, and must not change what this file tests. Outside
    a git checkout (an installed package), every bundled scenario."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--", "*.toml"],
            cwd=SCENARIOS_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return list_scenarios()
    return sorted(Path(name).stem for name in listed if "/" not in name)


def test_tracked_scenarios_are_bundled_scenarios():
    assert set(tracked_scenarios()) <= set(list_scenarios())
    assert {"baseline", "demo"} <= set(tracked_scenarios())


@pytest.mark.parametrize("name", tracked_scenarios())
def test_assumptions_used_are_the_defaults_the_files_do_not_set(name):
    scenario = load_scenario(name)
    used = assumptions_used(scenario, include_options=True)
    given = toml_keys(resolve_scenario_path(name))
    expected = set(default_fields()) - given
    # list-item defaults appear once per item
    got = {generic(key) for key in used["key"]}
    assert got == expected
    assert list(used.columns) == ["key", "value", "status", "source"]
    defaults = default_fields()
    for key, value in zip(used["key"], used["value"], strict=True):
        assert value == defaults[generic(key)], key
    figures = assumptions_used(scenario)
    assert set(figures["status"]) <= {SOURCED, CALIBRATED, "assumption"}
    assert set(figures["key"]) == set(used.loc[used["status"] != OPTION, "key"])


def test_overridden_keys_are_not_defaults_any_more(tmp_path):
    plain = set(assumptions_used(load_scenario("demo"))["key"])
    assert {"policy.max_leverage", "machines.resale_exponent"} <= plain
    overrides = {"policy.max_leverage": 0.3}
    loaded = set(assumptions_used(load_scenario("demo", overrides))["key"])
    assert loaded == plain - {"policy.max_leverage"}
    # overriding an already loaded Scenario keeps track of what the files set
    again = set(assumptions_used(with_overrides(load_scenario("demo"), overrides))["key"])
    assert again == loaded


def test_list_items_are_reported_by_index(tmp_path):
    demo = SCENARIOS_DIR / "demo.toml"
    text = demo.read_text().replace('csv = "', f'csv = "{SCENARIOS_DIR}/')
    classes = tomllib.loads(text)["fringe"]["classes"]
    assert all("agents" in c for c in classes), "demo.toml sets agents on every class"
    # drop "agents" from the second class only
    second = classes[1]["name"]
    pattern = rf'(name = "{second}"[^\[]*?)agents = \d+\n'
    edited, n = re.subn(pattern, r"\1", text, flags=re.S)
    assert n == 1
    path = tmp_path / "one_class_default.toml"
    path.write_text(edited)
    used = assumptions_used(load_scenario(path), include_options=True)
    assert [k for k in used["key"] if k.startswith("fringe.classes.")] == [
        "fringe.classes.1.agents"
    ]


# ------------------------------------------------------------------ the docs table


def test_scenarios_readme_holds_the_generated_table():
    text = (SCENARIOS_DIR / "README.md").read_text(encoding="utf-8")
    assert assumptions.readme_with_table(text) == text, (
        "scenarios/README.md's defaults table is out of date: run "
        "`.venv/bin/python -m sim.input.assumptions --write`"
    )
    for key in DEFAULTS:
        assert f"| `{key}` |" in text


def test_readme_without_markers_is_refused():
    with pytest.raises(ValueError, match="markers"):
        assumptions.readme_with_table("# no table here\n")
