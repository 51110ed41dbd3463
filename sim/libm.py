"""exp, log, expm1, log1p and power over arrays, compiled by numba: the C library's results.

NumPy picks SIMD versions of these functions by the CPU's features at run time (AVX-512 ones on
a CPU that has them; ``NPY_DISABLE_CPU_FEATURES`` switches them off), and those versions round
differently from each other in the last bits, so the same run gave different results on
different CPUs. These ufuncs (``numba.vectorize``, one float64 loop each) call the C library's
scalar functions instead, as the numba kernel already does: the simulation path uses them for
every transcendental function of an array (scalars go through NumPy's scalar code, which does
not depend on SIMD dispatch). README, "Reproducibility", says what is still machine-dependent.
"""

from __future__ import annotations

import math

from numba import float64, vectorize

from sim.compiled import start_compiler

start_compiler()  # the ufuncs below compile (or load) now: numba starts without scipy.linalg

SIGNATURE = [float64(float64)]


@vectorize(SIGNATURE, cache=True)
def exp(x):
    """e**x, elementwise."""
    return math.exp(x)


@vectorize(SIGNATURE, cache=True)
def log(x):
    """Natural logarithm, elementwise (-inf at 0, NaN below)."""
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


@vectorize(SIGNATURE, cache=True)
def expm1(x):
    """e**x - 1, elementwise (accurate near 0)."""
    return math.expm1(x)


@vectorize(SIGNATURE, cache=True)
def log1p(x):
    """log(1 + x), elementwise (accurate near 0)."""
    return math.log1p(x) if x > -1 else (-math.inf if x == -1 else math.nan)


@vectorize([float64(float64, float64)], cache=True)
def power(x, y):
    """x**y, elementwise (as NumPy's ``**`` on floats: NaN for a negative base and a
    non-integer exponent, inf for 0 to a negative power)."""
    return x**y


__all__ = ["exp", "expm1", "log", "log1p", "power"]
