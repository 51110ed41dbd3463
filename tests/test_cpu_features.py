"""Reproducibility across CPU features (issue 26): a run gives the same bits whichever SIMD
versions NumPy picks, because the simulation computes exp, log, expm1, log1p and powers of arrays
with the C library's functions (:mod:`sim.libm`), not NumPy's dispatched SIMD loops.

Checked here: the baseline run in a subprocess with every SIMD feature above NumPy's baseline
that this CPU has switched off (``NPY_DISABLE_CPU_FEATURES``) equals the same run without, in
every column of both tables; and NumPy's own ``np.exp`` does differ under that setting on such
a CPU (so the comparison can fail). Skipped on a CPU with no dispatchable feature.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

#: The dispatchable SIMD features this CPU has (NumPy would use them).
PRESENT = [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]

#: Prints a digest of each column of a baseline run (and of np.exp on a fixed array).
RUN = """
import hashlib, json, numpy as np, sim
r = sim.run("baseline", seed=0)
def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
out = {f"epochs.{c}": digest(r.epochs[c].to_numpy()) for c in r.epochs.columns if c != "date"}
out |= {f"miners.{c}": digest(r.miners[c].to_numpy()) for c in r.miners.select_dtypes("number")}
out["np.exp"] = digest(np.exp(np.random.default_rng(0).uniform(-5, 5, 4096)))
print(json.dumps(out))
"""


def _digests(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not PRESENT, reason="this CPU has no SIMD feature above NumPy's baseline")
def test_a_run_is_the_same_with_numpys_simd_features_switched_off():
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    native = _digests(env)
    plain = _digests({**env, "NPY_DISABLE_CPU_FEATURES": " ".join(PRESENT)})
    differ = [k for k in native if native[k] != plain[k] and k != "np.exp"]
    assert not differ, f"columns that depend on NumPy's SIMD dispatch: {differ}"
    if {"X86_V4", "AVX512_SKX"} & set(PRESENT):  # NumPy's AVX-512 exp rounds differently
        assert native["np.exp"] != plain["np.exp"], "the setting changed nothing: no test"
    assert len(native) > 50 and np.all([len(v) == 64 for v in native.values()])
