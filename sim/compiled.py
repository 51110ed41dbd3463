"""Whether numba's on-disk cache already holds this machine's compiled code for a run.

``minersim run`` says "compiles ... a minute or two" only when :func:`needs_compiling` is true:
a compiled entry point that every run calls has no cache entry for this CPU and this source (a
fresh checkout, an edited module, another CPU model, or ``NUMBA_CACHE_DIR`` pointing elsewhere).
Functions that only some runs reach (the waterfall's offers, the sorted retirement) are left out:
a run that does not reach them does not compile them, so counting them would repeat the message
on every short run after the first.
It reads numba's cache index (``Dispatcher._cache``, a private but long-stable part of numba);
if that cannot be read, it answers True (the message is then shown, as before).
"""

from __future__ import annotations

import importlib

#: The ``@njit(cache=True)`` functions every run calls, as (module, name); their callees are
#: compiled into them, and they hold nearly all of a first run's compile time.
RUN_ENTRY_POINTS = (
    ("sim.kernel", "simulate_epoch"),
    ("sim.engine.operate", "_book_agents"),
    ("sim.finance", "_service_instruments"),
    ("sim.hosting", "_step_contracts"),
)


def needs_compiling() -> bool:
    """True if any function of :data:`RUN_ENTRY_POINTS` lacks a cache entry for this machine
    (numba will compile it on first use)."""
    from numba.core.registry import cpu_target

    try:
        magic = cpu_target.target_context.codegen().magic_tuple()
        for module, name in RUN_ENTRY_POINTS:
            dispatcher = getattr(importlib.import_module(module), name)
            index = dispatcher._cache._cache_file._load_index()
            if not any(key[1] == magic for key in index):
                return True
    except Exception:  # numba's private cache layout changed: assume a compile
        return True
    return False


__all__ = ["RUN_ENTRY_POINTS", "needs_compiling"]
