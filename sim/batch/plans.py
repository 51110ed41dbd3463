"""Plans of a batch: which points (parameter values) run, and how many runs each.

A batch is a list of *points* (one empty point for Monte Carlo), each run ``runs_per_point``
times; run ``i`` belongs to point ``i // runs_per_point``. Designs: every combination of listed
values (grid), a Latin hypercube (scipy.stats.qmc) or Saltelli's design for Sobol' indices
(SALib). Sizes are checked before anything is built: at most :data:`MAX_POINTS` points and
:data:`MAX_RUNS` runs.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.batch.seeds import check_count, sampler_seed
from sim.errors import MinersimError

SOBOL_IMPLEMENTATION = "SALib.sample.sobol.sample (Saltelli's scheme on scipy.stats.qmc.Sobol)"
#: Most points a design may have (each is a tuple of values kept in memory and in points.csv).
MAX_POINTS = 1_000_000
#: Most runs a batch may have: at ~30 kB per stored run, 10 million runs are ~300 GB of files
#: and ~20 days of one machine's time at 6 runs/s.
MAX_RUNS = 10_000_000


@dataclass(frozen=True)
class Plan:
    """What a batch runs: ``points`` (one tuple of values of ``parameters`` per point), each
    repeated ``runs_per_point`` times; ``sampler`` describes how the points were made (JSON)."""

    sampler: dict
    parameters: tuple[str, ...]
    points: tuple[tuple, ...]
    runs_per_point: int

    def __post_init__(self) -> None:
        if self.total_runs > MAX_RUNS:
            raise MinersimError(
                f"{len(self.points):,} points x {self.runs_per_point:,} runs = "
                f"{self.total_runs:,} runs; a batch may have at most {MAX_RUNS:,}"
            )

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.runs_per_point

    def point_of(self, run_id: int) -> int:
        return run_id // self.runs_per_point

    def overrides_of(self, point: int) -> dict[str, object]:
        return dict(zip(self.parameters, self.points[point], strict=True))

    def column_values(self, point: int) -> dict[str, object]:
        """The point's values as stored in the dataset: one type per parameter column."""
        return {
            name: _as_column_value(value, self.column_kinds[name])
            for name, value in self.overrides_of(point).items()
        }

    @functools.cached_property
    def column_kinds(self) -> dict[str, type]:
        """bool, int, float or str per parameter, the same for every point."""
        return {
            name: _column_kind([point[i] for point in self.points])
            for i, name in enumerate(self.parameters)
        }

    def points_frame(self) -> pd.DataFrame:
        """One row per point: ``point`` and the parameter columns."""
        rows = [{"point": p, **self.column_values(p)} for p in range(len(self.points))]
        return pd.DataFrame(rows, columns=["point", *self.parameters])

    def points_sha256(self) -> str:
        text = json.dumps([list(p) for p in self.points], default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _column_kind(values: Sequence[object]) -> type:
    """bool, int, float or str: the type a parameter column is stored as."""
    if all(isinstance(v, bool) for v in values):
        return bool
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return int if all(isinstance(v, int) for v in values) else float
    return str


def _as_column_value(value: object, kind: type) -> object:
    return value if kind is bool else kind(value)


def _runs(runs: object) -> int:
    return check_count("runs", runs, MAX_RUNS)


def monte_carlo_plan(runs: int) -> Plan:
    """One point (the scenario as it is), ``runs`` times."""
    return Plan({"kind": "monte_carlo"}, (), ((),), _runs(runs))


def grid_plan(grid: Mapping[str, Sequence[object]], runs: int) -> Plan:
    """Every combination of the listed values (the first key varies slowest)."""
    if not grid:
        raise MinersimError("a grid sweep needs at least one --grid key=v1,v2,...")
    for key, values in grid.items():
        if len(values) == 0:
            raise MinersimError(f"--grid {key}: no values")
        if len(set(map(repr, values))) != len(values):
            raise MinersimError(f"--grid {key}: a value is repeated")
    size = math.prod(len(values) for values in grid.values())
    if size > MAX_POINTS:
        raise MinersimError(
            f"the grid has {size:,} points; a sweep may have at most {MAX_POINTS:,}"
        )
    points = tuple(itertools.product(*grid.values()))
    sampler = {"kind": "grid", "grid": {k: list(v) for k, v in grid.items()}}
    return Plan(sampler, tuple(grid), points, _runs(runs))


def lhs_plan(n: int, ranges: Mapping[str, tuple[float, float]], runs: int, root_seed: int) -> Plan:
    """``n`` points of a Latin hypercube (scipy.stats.qmc.LatinHypercube) over ``ranges``."""
    from scipy.stats import qmc

    n = check_count("--lhs N", n, MAX_POINTS)
    lows, highs = _check_ranges(ranges)
    seed = sampler_seed(root_seed)
    unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(n)
    sampler = {
        "kind": "lhs",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "implementation": "scipy.stats.qmc.LatinHypercube",
        "sampler_seed": seed,
    }
    return Plan(sampler, tuple(ranges), _rows(qmc.scale(unit, lows, highs)), _runs(runs))


def sobol_plan(
    n: int, ranges: Mapping[str, tuple[float, float]], runs: int, root_seed: int
) -> Plan:
    """Saltelli's design for Sobol' indices: ``n * (D + 2)`` points for ``D`` parameters
    (first- and total-order indices), made by SALib's sampler on a scrambled Sobol' sequence,
    so that :func:`SALib.analyze.sobol.analyze` can read the outputs in point order."""
    from SALib.sample import sobol

    n = check_count("--sobol N", n, MAX_POINTS)
    if n & (n - 1):
        raise MinersimError(f"--sobol N must be a power of 2 (Sobol' sequence balance), got {n}")
    _check_ranges(ranges)
    if n * (len(ranges) + 2) > MAX_POINTS:
        raise MinersimError(
            f"--sobol {n} with {len(ranges)} ranges makes {n * (len(ranges) + 2):,} points; "
            f"a sweep may have at most {MAX_POINTS:,}"
        )
    seed = sampler_seed(root_seed)
    problem = sobol_problem(ranges)
    values = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    sampler = {
        "kind": "sobol",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "calc_second_order": False,
        "implementation": SOBOL_IMPLEMENTATION,
        "sampler_seed": seed,
    }
    return Plan(sampler, tuple(ranges), _rows(values), _runs(runs))


def sobol_problem(ranges: Mapping[str, Sequence[float]]) -> dict:
    """The SALib problem definition of a Sobol' sweep (names and bounds, in order)."""
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[float(lo), float(hi)] for lo, hi in ranges.values()],
    }


def _check_ranges(ranges: Mapping[str, tuple[float, float]]) -> tuple[list, list]:
    if not ranges:
        raise MinersimError("--lhs and --sobol need at least one --range key=lo:hi")
    for key, (lo, hi) in ranges.items():
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise MinersimError(f"--range {key}={lo}:{hi}: need finite numbers with lo < hi")
    return [lo for lo, _ in ranges.values()], [hi for _, hi in ranges.values()]


def _rows(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in values)
