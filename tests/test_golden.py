"""The model reproduces its golden outputs exactly (tests/golden/record.py recorded them).

Every result column, the final per-agent state and the chain state of 16 runs must be
bit-identical: ``np.array_equal`` (NaN equal to NaN), no tolerance. A change that moves code
without changing the economics keeps them; a change to the economics re-records them on purpose.
"""

from __future__ import annotations

import numpy as np
import pytest
from golden.record import CASES, path_of, run_case


@pytest.mark.parametrize(
    ("case", "scenario", "seed", "overrides"), CASES, ids=[c[0] for c in CASES]
)
def test_run_matches_its_golden(case, scenario, seed, overrides):
    with np.load(path_of(case), allow_pickle=False) as golden:
        expected = {key: golden[key] for key in golden.files}
    got = run_case(scenario, seed, overrides)
    assert sorted(got) == sorted(expected)
    different = []
    for key, want in expected.items():
        have = got[key]
        numeric = want.dtype.kind in "fc"
        same = have.shape == want.shape and (
            np.array_equal(have, want, equal_nan=True) if numeric else np.array_equal(have, want)
        )
        if not same:
            different.append(key)
    assert not different, f"{case}: differs from its golden in {different}"


def test_every_golden_file_has_its_case():
    recorded = {path.stem for path in path_of("x").parent.glob("*.npz")}
    assert recorded == {case for case, *_ in CASES}
