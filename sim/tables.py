"""Column tables that grow: the storage behind fleets, debt instruments and AI contracts.

The model keeps every per-agent quantity in numpy arrays (struct of arrays) so that an epoch's
accounting is a handful of vectorised operations over all agents instead of a Python loop per
agent. Rows that end (retired machines, repaid notes) are removed with :meth:`Table.keep`.
"""

from __future__ import annotations

import numpy as np


class Table:
    """A set of equal-length numpy columns with amortised O(1) appends.

    ``columns`` maps a name to a dtype. Columns are exposed as attributes that view the filled
    part, e.g. ``table.owner``; writing into those views writes into the table.
    """

    def __init__(self, columns: dict[str, np.dtype | type], capacity: int = 16):
        self._dtypes = {name: np.dtype(dtype) for name, dtype in columns.items()}
        self._data = {name: np.zeros(capacity, dtype) for name, dtype in self._dtypes.items()}
        self.n = 0

    def __len__(self) -> int:
        return self.n

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self._dtypes)

    def __getattr__(self, name: str) -> np.ndarray:
        data = self.__dict__.get("_data")
        if data is None or name not in data:
            raise AttributeError(name)
        return data[name][: self.n]

    def append(self, **values: np.ndarray | float | int | bool) -> None:
        """Append rows; each value is a scalar or an array (all arrays of one length)."""
        lengths = {np.size(v) for v in values.values() if np.ndim(v) > 0}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        k = lengths.pop() if lengths else 1
        if set(values) != set(self._dtypes):
            missing = set(self._dtypes) - set(values)
            extra = set(values) - set(self._dtypes)
            raise ValueError(f"append needs every column: missing {missing}, unknown {extra}")
        self._reserve(self.n + k)
        for name, value in values.items():
            self._data[name][self.n : self.n + k] = value
        self.n += k

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` is true (order preserved)."""
        kept = int(np.count_nonzero(mask))
        for _name, column in self._data.items():
            column[:kept] = column[: self.n][mask]
        self.n = kept

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
