"""Column tables that grow: the storage behind fleets, debt instruments and AI contracts.

The model keeps every per-agent quantity in numpy arrays (struct of arrays) so that an epoch's
accounting is a handful of vectorised operations over all agents instead of a Python loop per
agent. Rows that end (retired machines, repaid notes) are removed with :meth:`Table.keep`.
"""

from __future__ import annotations

import numpy as np
from numba import njit


class Table:
    """A set of equal-length numpy columns with amortised O(1) appends.

    ``columns`` maps a name to a dtype. Columns are exposed as attributes that view the filled
    part, e.g. ``table.owner``; writing into those views writes into the table.
    """

    def __init__(self, columns: dict[str, np.dtype | type], capacity: int = 16):
        self._dtypes = {name: np.dtype(dtype) for name, dtype in columns.items()}
        self._data = {name: np.zeros(capacity, dtype) for name, dtype in self._dtypes.items()}
        self.n = 0
        self._refresh_views()

    def __len__(self) -> int:
        return self.n

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._dtypes)

    def _refresh_views(self) -> None:
        """Expose each column's filled part as an instance attribute (a view into the storage).

        Plain attributes rather than ``__getattr__``: a column is read hundreds of times per
        epoch, and every change of ``n`` or of the storage goes through this method.
        """
        n = self.n
        for name, column in self._data.items():
            self.__dict__[name] = column[:n]

    def __getstate__(self) -> dict:
        """Pickle the storage only; the column views are rebuilt on unpickling (a pickled view
        would become an independent copy)."""
        return {key: self.__dict__[key] for key in ("_dtypes", "_data", "n")}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._refresh_views()

    def append(self, **values: np.ndarray | float | int | bool) -> None:
        """Append rows; each value is a scalar or an array (all arrays of one length)."""
        if values.keys() != self._dtypes.keys():
            missing = set(self._dtypes) - set(values)
            extra = set(values) - set(self._dtypes)
            raise ValueError(f"append needs every column: missing {missing}, unknown {extra}")
        lengths = set()
        for v in values.values():
            if type(v) is np.ndarray:  # the common case, without np.ndim's dispatch
                if v.ndim > 0:
                    lengths.add(v.size)
            elif type(v) not in (float, int, bool) and np.ndim(v) > 0:
                lengths.add(np.size(v))
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        k = lengths.pop() if lengths else 1
        self._reserve(self.n + k)
        for name, value in values.items():
            self._data[name][self.n : self.n + k] = value
        self.n += k
        self._refresh_views()

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true (order preserved)."""
        kept = int(np.count_nonzero(mask))
        if kept == self.n:
            return
        for _name, column in self._data.items():
            column[:kept] = column[: self.n][mask]
        self.n = kept
        self._refresh_views()

    def _reserve(self, size: int) -> None:
        capacity = len(next(iter(self._data.values())))
        if size <= capacity:
            return
        new_capacity = max(size, 2 * capacity)
        for name, column in self._data.items():
            grown = np.zeros(new_capacity, column.dtype)
            grown[: self.n] = column[: self.n]
            self._data[name] = grown


def sum_by_owner(owner: np.ndarray, values: np.ndarray, n_owners: int) -> np.ndarray:
    """Sum a per-row quantity by its owner index: one entry per agent."""
    return np.bincount(owner, weights=values, minlength=n_owners)


# Scalar twins of numpy's ufuncs for compiled loops that must give numpy's results bit for bit.
# Inlined into their callers' cached machine code: after editing them, delete the numba cache
# files (sim/__pycache__/*.nbi, *.nbc); numba does not track calls across files.


@njit(cache=True, inline="always")
def maximum(a, b):
    """``np.maximum`` of two floats: NaN propagates."""
    return a if (a >= b or a != a) else b


@njit(cache=True, inline="always")
def minimum(a, b):
    """``np.minimum`` of two floats: NaN propagates."""
    return a if (a <= b or a != a) else b


@njit(cache=True, inline="always")
def clip(a, lo, hi):
    """``np.clip`` of a float to [lo, hi]: NaN propagates."""
    return minimum(maximum(a, lo), hi)
