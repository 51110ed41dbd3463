"""Whether numba's on-disk cache already holds this machine's compiled code for a run, and
starting numba's compiler without the scipy import of its BLAS check.

``minersim run`` says "compiles ... a minute or two" only when :func:`needs_compiling` is true:
a compiled entry point that every run calls has no cache entry for this CPU and this source (a
fresh checkout, an edited module, another CPU model, or ``NUMBA_CACHE_DIR`` pointing elsewhere).
Functions that only some runs reach (the waterfall's offers, the sorted retirement) are left out:
a run that does not reach them does not compile them, so counting them would repeat the message
on every short run after the first.
It reads numba's cache index (``Dispatcher._cache``, a private but long-stable part of numba);
if that cannot be read, it answers True (the message is then shown, as before).

:func:`start_compiler` loads numba's registries of compiled implementations (which numba does on
the first call of any compiled function, even from its cache) while the import of
:data:`BLAS_MODULE` is refused. numba's check of whether ``np.dot`` may call BLAS imports it,
and with it all of ``scipy.linalg`` (about 0.15-0.25 s, most of numba's start-up); no compiled
code of the engine calls BLAS. It uses Python's documented import rule (a module set to None in
``sys.modules`` raises ImportError), not numba's internals: numba then takes BLAS as absent for
the ``np.correlate``/``np.convolve`` inner products only (a plain loop), while ``np.dot`` and
``np.linalg`` still import scipy when a function using them is compiled.
"""

from __future__ import annotations

import importlib
import sys

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


#: The module numba's BLAS check imports (and with it all of ``scipy.linalg``).
BLAS_MODULE = "scipy.linalg.cython_blas"


def start_compiler() -> None:
    """Load numba's registries of compiled implementations now, refusing the import of
    :data:`BLAS_MODULE` meanwhile unless scipy.linalg is already loaded (then the check costs
    nothing). Idempotent; a run calls it before its first compiled call."""
    from numba.core.registry import cpu_target

    blocked = "scipy.linalg" not in sys.modules and BLAS_MODULE not in sys.modules
    if blocked:
        sys.modules[BLAS_MODULE] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        cpu_target.target_context.refresh()
    finally:
        if blocked and sys.modules.get(BLAS_MODULE, False) is None:
            del sys.modules[BLAS_MODULE]


__all__ = ["BLAS_MODULE", "RUN_ENTRY_POINTS", "needs_compiling", "start_compiler"]
