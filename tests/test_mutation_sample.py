"""The fixed mutation sample (tests/mutation_sample.py) stays aimed at the code: each mutant's
text occurs exactly once in its module, and each module has tests to run against it. A mutant
whose text the code no longer has is skipped by the script, so without this check a refactor
would quietly shrink the sample (two of the fringe's mutants did, until this test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutation_sample import MUTANTS, TESTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.rule)
def test_each_mutant_changes_its_module_at_exactly_one_place(mutant):
    text = (ROOT / mutant.module).read_text()
    assert text.count(mutant.old) == 1
    assert mutant.new != mutant.old


def test_each_mutated_module_has_tests_in_the_tree():
    for module in {m.module for m in MUTANTS}:
        assert all((ROOT / "tests" / name).is_file() for name in TESTS[module]), module
