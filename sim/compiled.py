"""Whether numba's on-disk cache already holds this machine's compiled code for a run.

``minersim run`` says "compiles ... a minute or two" only when :func:`needs_compiling` is true:
some compiled function of the engine has no cache entry for this CPU and this source (a fresh
checkout, an edited module, another CPU model, or ``NUMBA_CACHE_DIR`` pointing elsewhere).
It reads numba's cache index (``Dispatcher._cache``, a private but long-stable part of numba);
if that cannot be read, it answers True (the message is then shown, as before).
"""

from __future__ import annotations

import importlib

#: The modules whose ``@njit(cache=True)`` functions a run calls.
COMPILED_MODULES = (
    "sim.kernel",
    "sim.engine.operate",
    "sim.engine.waterfall",
    "sim.finance",
    "sim.tables",
    "sim.hosting",
    "sim.fleet",
)


def needs_compiling() -> bool:
    """True if any compiled function of :data:`COMPILED_MODULES` lacks a cache entry for this
    machine (numba will compile it on first use)."""
    from numba.core.registry import cpu_target

    try:
        magic = cpu_target.target_context.codegen().magic_tuple()
        for name in COMPILED_MODULES:
            for value in vars(importlib.import_module(name)).values():
                if _cached_separately(value, name):
                    index = value._cache._cache_file._load_index()
                    if not any(key[1] == magic for key in index):
                        return True
    except Exception:  # numba's private cache layout changed: assume a compile
        return True
    return False


def _cached_separately(value, module: str) -> bool:
    """A compiled function of ``module`` that numba caches on its own (not inlined)."""
    from numba.core.registry import CPUDispatcher

    return (
        isinstance(value, CPUDispatcher)
        and value._cache is not None
        and value.py_func.__module__ == module
        and value.targetoptions.get("inline", "never") != "always"
    )


__all__ = ["COMPILED_MODULES", "needs_compiling"]
