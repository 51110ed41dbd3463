"""Plans of a batch: which points (parameter values) run, and how many runs each.

A batch is a list of *points* (one empty point for Monte Carlo), each run ``runs_per_point``
times: run ``r`` of point ``p`` is *replicate* ``r``. Designs: every combination of listed values
(grid), a Latin hypercube (scipy.stats.qmc), Saltelli's design for Sobol' indices or Morris'
trajectories for elementary effects (SALib). Sizes are checked before anything is built: at most
:data:`MAX_POINTS` points and :data:`MAX_RUNS` runs.

Run ids follow the batch's *layout*: the sizes ``(points, runs_per_point)`` it has had, one pair
per call that made it grow (:func:`grown`). The first pair numbers its runs point by point
(run ``i`` is replicate ``i % R`` of point ``i // R``); each later pair appends the runs it adds,
again point by point: first the new replicates of the old points, then every replicate of the new
points. So a batch extended in place keeps its first runs' ids, and with them their seeds.

Levers and uncertainties (:func:`with_levers`): a sweep may cross a few lever settings (a miner's
policy) with an uncertainty design; point ``u * L + l`` is lever setting ``l`` in future ``u``,
so that growing the uncertainty design appends points.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sim.batch.seeds import check_count, sampler_seed
from sim.batch.store import json_normalized
from sim.errors import MinersimError

SOBOL_IMPLEMENTATION = "SALib.sample.sobol.sample (Saltelli's scheme on scipy.stats.qmc.Sobol)"
MORRIS_IMPLEMENTATION = "SALib.sample.morris.sample (Morris' one-at-a-time trajectories)"
#: Grid levels of a Morris design (SALib's default; the step is levels / (2 (levels - 1))).
MORRIS_LEVELS = 4
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
    #: Sizes (points, runs per point) the batch has had, oldest first; () = this plan's only.
    layout: tuple[tuple[int, int], ...] = ()
    #: Common random numbers: replicate r of every point gets the same seed.
    crn: bool = False

    def __post_init__(self) -> None:
        if self.total_runs > MAX_RUNS:
            raise MinersimError(
                f"{len(self.points):,} points x {self.runs_per_point:,} runs = "
                f"{self.total_runs:,} runs; a batch may have at most {MAX_RUNS:,}"
            )
        size = (len(self.points), self.runs_per_point)
        layout = tuple(tuple(map(int, step)) for step in self.layout) or (size,)
        if layout[-1] != size or any(
            a[0] > b[0] or a[1] > b[1] for a, b in itertools.pairwise(layout)
        ):
            raise ValueError(f"layout {layout} does not grow to {size}")
        object.__setattr__(self, "layout", layout)

    @property
    def total_runs(self) -> int:
        return len(self.points) * self.runs_per_point

    def point_of(self, run_id: int) -> int:
        return self.locate(run_id)[0]

    def replicate_of(self, run_id: int) -> int:
        return self.locate(run_id)[1]

    def seed_index(self, run_id: int) -> int:
        """Index of the run's seed among the root seed's children: the run id, or with common
        random numbers the replicate (run r of every point shares its seed)."""
        return self.replicate_of(run_id) if self.crn else run_id

    def locate(self, run_id: int) -> tuple[int, int]:
        """(point, replicate) of a run id, following the layout."""
        offsets = self._offsets
        step = bisect.bisect_right(offsets, run_id) - 1
        if not 0 <= run_id < self.total_runs:
            raise IndexError(f"run {run_id} is not in a batch of {self.total_runs} runs")
        (p0, r0), (_, r1) = ((0, 0), *self.layout)[step : step + 2]
        local = run_id - offsets[step]
        if local < p0 * (r1 - r0):  # new replicates of the points the batch had
            return local // (r1 - r0), r0 + local % (r1 - r0)
        local -= p0 * (r1 - r0)  # every replicate of the new points
        return p0 + local // r1, local % r1

    def run_table(self) -> pd.DataFrame:
        """One row per run id: ``run``, ``point``, ``replicate`` (:func:`layout_table`)."""
        return layout_table(self.layout)

    @functools.cached_property
    def _offsets(self) -> list[int]:
        sizes = [p * r for p, r in self.layout]
        return [0, *sizes[:-1]]

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

    def points_sha256(self, first: int | None = None) -> str:
        """SHA-256 of the points (of the ``first`` ones only, to check an extension)."""
        points = self.points if first is None else self.points[:first]
        text = json.dumps([list(p) for p in points], default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def layout_table(layout: Sequence[Sequence[int]]) -> pd.DataFrame:
    """One row per run id of a batch with this layout: ``run``, ``point``, ``replicate``
    (:meth:`Plan.locate` for every run at once)."""
    points, replicates = [], []
    for (p0, r0), (p1, r1) in itertools.pairwise(((0, 0), *layout)):
        old_p, old_r = np.divmod(np.arange(p0 * (r1 - r0)), max(r1 - r0, 1))
        new_p, new_r = np.divmod(np.arange((p1 - p0) * r1), max(r1, 1))
        points += [old_p, p0 + new_p]
        replicates += [r0 + old_r, new_r]
    point = np.concatenate(points).astype(np.int64)
    replicate = np.concatenate(replicates).astype(np.int64)
    return pd.DataFrame({"run": np.arange(len(point)), "point": point, "replicate": replicate})


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


def lhs_plan(
    n: int,
    ranges: Mapping[str, tuple[float, float]],
    runs: int,
    root_seed: int,
    grown_from: Sequence[int] = (),
) -> Plan:
    """``n`` points of a Latin hypercube (scipy.stats.qmc.LatinHypercube) over ``ranges``.

    ``grown_from``: the sizes the batch's design has had (``sampler["sizes"]`` of its metadata,
    or ``[n]`` of its first call). A Latin hypercube of ``m`` points grows in place to a whole
    multiple ``k m`` (:func:`grow_latin_hypercube`): the first ``m`` points stay, and the union
    is again a Latin hypercube. The design is rebuilt by replaying those sizes.
    """
    from scipy.stats import qmc

    n = check_count("--lhs N", n, MAX_POINTS)
    lows, highs = _check_ranges(ranges)
    sizes = [int(size) for size in grown_from]
    if sizes and n < sizes[-1]:
        raise MinersimError(
            f"--lhs {n}: the batch's Latin hypercube already has {sizes[-1]} points; "
            "a design grows in place but never shrinks"
        )
    if not sizes or sizes[-1] != n:
        sizes.append(n)
    seed = sampler_seed(root_seed)
    unit = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed)).random(sizes[0])
    for step, (before, after) in enumerate(itertools.pairwise(sizes), start=1):
        if after % before:
            raise MinersimError(
                f"--lhs {after}: a Latin hypercube of {before} points grows in place only to a "
                f"whole multiple of {before} ({2 * before}, {3 * before}, ...)"
            )
        rng = np.random.default_rng([seed, step])
        unit = grow_latin_hypercube(unit, after // before, rng)
    sampler = {
        "kind": "lhs",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "implementation": "scipy.stats.qmc.LatinHypercube",
        "sampler_seed": seed,
    }
    if len(sizes) > 1:
        sampler["sizes"] = sizes
        sampler["growth"] = "Sallaberry, Helton and Hora (2008) LHS extension by whole multiples"
    return Plan(sampler, tuple(ranges), _rows(qmc.scale(unit, lows, highs)), _runs(runs))


def grow_latin_hypercube(unit: np.ndarray, factor: int, rng: np.random.Generator) -> np.ndarray:
    """A Latin hypercube of ``n`` points in [0, 1)^d grown to ``factor * n`` points.

    Sallaberry, Helton and Hora (2008, Reliab. Eng. Syst. Saf. 93(7)): cut each axis into
    ``factor * n`` equal strata; the ``n`` points occupy one stratum in each group of
    ``factor``; the new points fill the empty strata, matched at random across axes, uniform
    within their strata. Returns the old points followed by the new ones.
    """
    n, d = unit.shape
    strata = n * factor
    new = np.empty((n * (factor - 1), d))
    for j in range(d):
        taken = np.floor(unit[:, j] * strata).astype(np.int64)
        empty = np.setdiff1d(np.arange(strata), taken)
        if len(np.unique(taken)) != n or len(empty) != len(new):
            raise MinersimError("the batch's design is not a Latin hypercube: it cannot grow")
        new[:, j] = (rng.permutation(empty) + rng.random(len(new))) / strata
    return np.vstack([unit, new])


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
    _check_design_size("--sobol", n, ranges, per_unit=len(ranges) + 2)
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


def morris_plan(
    n: int, ranges: Mapping[str, tuple[float, float]], runs: int, root_seed: int
) -> Plan:
    """Morris' screening design: ``n`` one-at-a-time trajectories of ``D + 1`` points on a
    grid of :data:`MORRIS_LEVELS` levels (SALib), read back in point order by
    :func:`SALib.analyze.morris.analyze` for the elementary effects (mu*, sigma)."""
    from SALib.sample import morris

    n = check_count("--morris N", n, MAX_POINTS)
    if n < 2:
        raise MinersimError("--morris N needs at least 2 trajectories (sigma needs two effects)")
    _check_design_size("--morris", n, ranges, per_unit=len(ranges) + 1)
    seed = sampler_seed(root_seed)
    values = morris.sample(sobol_problem(ranges), n, num_levels=MORRIS_LEVELS, seed=seed)
    sampler = {
        "kind": "morris",
        "n": n,
        "ranges": {k: list(v) for k, v in ranges.items()},
        "num_levels": MORRIS_LEVELS,
        "implementation": MORRIS_IMPLEMENTATION,
        "sampler_seed": seed,
    }
    return Plan(sampler, tuple(ranges), _rows(values), _runs(runs))


def with_levers(plan: Plan, levers: Mapping[str, Sequence[object]]) -> Plan:
    """Cross lever settings (every combination of the listed values) with ``plan``'s points,
    the uncertainties: point ``u * L + l`` is setting ``l`` in future ``u`` (``L`` settings).
    Parameters: the levers, then the uncertainties. Sobol' and Morris designs keep their own
    point order for their estimators, so they take no levers."""
    if not levers:
        return plan
    if plan.sampler["kind"] in ("sobol", "morris"):
        raise MinersimError(
            f"--lever goes with --grid, --lhs or Monte Carlo runs, not with --{plan.sampler['kind']}"
        )
    for key, values in levers.items():
        if len(values) == 0:
            raise MinersimError(f"--lever {key}: no values")
        if len(set(map(repr, values))) != len(values):
            raise MinersimError(f"--lever {key}: a value is repeated")
        if key in plan.parameters:
            raise MinersimError(f"'{key}' is both a lever and an uncertainty; drop one of them")
    settings = list(itertools.product(*levers.values()))
    if len(settings) * len(plan.points) > MAX_POINTS:
        raise MinersimError(
            f"{len(settings):,} lever settings x {len(plan.points):,} points is more than "
            f"{MAX_POINTS:,} points"
        )
    points = tuple((*setting, *u) for u in plan.points for setting in settings)
    sampler = {**plan.sampler, "levers": {k: list(v) for k, v in levers.items()}}
    return Plan(sampler, (*levers, *plan.parameters), points, plan.runs_per_point, crn=plan.crn)


def lhs_history(previous: Mapping | None, ranges: Mapping, root_seed: int) -> list[int]:
    """Sizes of the Latin hypercube of the batch folder whose metadata is ``previous``, when it
    is the same design (same ranges and sampler seed), for :func:`lhs_plan`'s ``grown_from``."""
    sampler = (previous or {}).get("sampler")
    if not isinstance(sampler, Mapping) or sampler.get("kind") != "lhs":
        return []
    same = sampler.get("ranges") == json_normalized({k: list(v) for k, v in ranges.items()})
    if not same or sampler.get("sampler_seed") != sampler_seed(root_seed):
        return []
    return [int(size) for size in sampler.get("sizes") or [sampler["n"]]]


def lever_names(sampler: Mapping) -> list[str]:
    """The lever parameters of a batch's sampler (metadata ``sampler``), in order."""
    return list(sampler.get("levers") or {})


#: Sampler keys that record a design's size: they may change when a batch grows in place.
SIZE_KEYS = ("n", "sizes", "growth")


def grown(plan: Plan, previous: Mapping | None) -> tuple[Plan, bool]:
    """``plan`` continued from the batch folder whose metadata is ``previous``.

    Same design and size: the plan takes the folder's layout (a resume). Same design, more
    points or runs: the layout gains this size and ``True`` is returned (the batch grows in
    place; its first points must be the folder's, its first runs keep their ids and seeds).
    Another design, or no folder: ``plan`` unchanged (the store then names what differs).
    """
    if not previous or not _same_design(previous, plan):
        return plan, False
    old = previous.get("layout") or [[previous.get("points"), previous.get("runs_per_point")]]
    layout = tuple((int(p), int(r)) for p, r in old)
    (old_points, old_runs), size = layout[-1], (len(plan.points), plan.runs_per_point)
    if size == (old_points, old_runs):
        return replace(plan, layout=layout), False
    if size[0] < old_points or size[1] < old_runs:
        raise MinersimError(
            f"the batch folder holds {old_points:,} points x {old_runs:,} runs; a batch grows "
            f"in place but never shrinks (asked for {size[0]:,} x {size[1]:,})"
        )
    if size[0] > old_points and plan.sampler["kind"] == "grid":
        raise MinersimError("a grid cannot grow in place: only --runs can (use a new --out)")
    if plan.points_sha256(first=old_points) != previous.get("points_sha256"):
        raise MinersimError(
            f"this design's first {old_points:,} points are not the folder's: it cannot be "
            "extended in place (same ranges and --seed needed)"
        )
    return replace(plan, layout=(*layout, size)), True


def _same_design(previous: Mapping, plan: Plan) -> bool:
    def bare(sampler: object) -> dict:
        sampler = sampler if isinstance(sampler, Mapping) else {}
        return {k: v for k, v in sampler.items() if k not in SIZE_KEYS}

    same_parameters = list(previous.get("parameters") or []) == list(plan.parameters)
    return same_parameters and bare(previous.get("sampler")) == json_normalized(bare(plan.sampler))


def sobol_problem(ranges: Mapping[str, Sequence[float]]) -> dict:
    """The SALib problem definition of a Sobol' sweep (names and bounds, in order)."""
    return {
        "num_vars": len(ranges),
        "names": list(ranges),
        "bounds": [[float(lo), float(hi)] for lo, hi in ranges.values()],
    }


def _check_design_size(option: str, n: int, ranges: Mapping, per_unit: int) -> None:
    """Ranges valid and ``n * per_unit`` points at most :data:`MAX_POINTS`."""
    _check_ranges(ranges)
    if n * per_unit > MAX_POINTS:
        raise MinersimError(
            f"{option} {n} with {len(ranges)} ranges makes {n * per_unit:,} points; "
            f"a sweep may have at most {MAX_POINTS:,}"
        )


def _check_ranges(ranges: Mapping[str, tuple[float, float]]) -> tuple[list, list]:
    if not ranges:
        raise MinersimError("--lhs and --sobol need at least one --range key=lo:hi")
    for key, (lo, hi) in ranges.items():
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise MinersimError(f"--range {key}={lo}:{hi}: need finite numbers with lo < hi")
    return [lo for lo, _ in ranges.values()], [hi for _, hi in ranges.values()]


def _rows(values: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in values)
