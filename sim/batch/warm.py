"""Imported by the local pool's forkserver: load the engine's compiled code once, before the
workers fork from it.

A process's first run loads every numba function it calls from the on-disk cache (and numba's
own registries), about 0.6 s on a quiet 2-core machine against about 0.15 s for a whole
baseline run. Done here, once, the workers forked afterwards inherit the loaded machine code
and start at full speed instead of each paying it again. Warming is only an optimisation: a
failure here is ignored (the workers then load the code themselves, and report any real error
in their first run).
"""

from __future__ import annotations

#: The scenario run (to its end) to warm the engine: the small bundled one.
WARM_SCENARIO = "demo"


def warm_engine() -> bool:
    """Run ``WARM_SCENARIO`` once in this process; True if it ran."""
    try:
        from sim.runner import run

        run(WARM_SCENARIO, seed=0)
    except Exception:  # an optimisation only: the workers' own runs report real errors
        return False
    return True


warm_engine()
