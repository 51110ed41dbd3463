"""Seeds of a batch: one root :class:`numpy.random.SeedSequence`, one child per run.

Results depend only on (scenario, overrides, sampler, root seed): not on the backend, the number
of workers or the order in which runs finish.
"""

from __future__ import annotations

import numpy as np

from sim.errors import MinersimError

#: Entropy word mixed with the root seed for the samplers (LHS, Sobol'), so that their stream
#: is independent of the runs' seeds (children of ``SeedSequence(root_seed)``).
SAMPLER_ENTROPY = 0x53414D50  # "SAMP"


def run_seed(root_seed: int, run_id: int) -> int:
    """Seed (an int in [0, 2**63)) of run ``run_id`` of a batch with root seed ``root_seed``.

    Equal to ``int(SeedSequence(root_seed).spawn(total_runs)[run_id].generate_state(1,
    dtype=np.uint64)[0] >> 1)`` for any ``total_runs > run_id``, computed without spawning the
    other children.
    """
    child = np.random.SeedSequence(root_seed, spawn_key=(run_id,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> 1)


def sampler_seed(root_seed: int) -> int:
    """Seed of the LHS / Sobol' sampler, derived from the root seed (a 32-bit int)."""
    state = np.random.SeedSequence([root_seed, SAMPLER_ENTROPY]).generate_state(1)
    return int(state[0])


def check_seed(seed: object) -> int:
    """A root seed: a whole number >= 0 (MinersimError otherwise)."""
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def check_count(name: str, value: object, limit: int | None = None) -> int:
    """A count: a whole number >= 1 (and <= ``limit``)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise MinersimError(f"{name} must be a whole number >= 1, got {value!r}")
    if limit is not None and value > limit:
        raise MinersimError(f"{name} must be at most {limit:,}, got {int(value):,}")
    return int(value)
