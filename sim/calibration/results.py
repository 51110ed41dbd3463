"""A calibration's outcome and the two files it writes.

- the **fragment** (``<name>.fit.toml``): a TOML file holding only the fitted keys as nested
  tables, with the fit statistics in a comment block at the top. Scenarios take the fitted
  values with ``extends = "calibration/<name>.fit.toml"``. It is not a scenario itself (no
  ``[scenario]`` or ``[chain]``), which is why it lives outside ``scenarios/*.toml``;
- the **statistics** (``<name>.fit.json``, beside it): everything the comment block says plus
  per-generation progress, every run's monthly log difficulty path and history's, for figures
  (:mod:`sim.calibration.figure`) and for checking a re-run (:func:`read_fit`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tomli_w

from sim.errors import MinersimError
from sim.input.files import read_json, read_regular
from sim.outputs import atomic_write

#: The words on a fragment's first line that say minersim wrote it (and may replace it).
FRAGMENT_MARK = "written by `minersim calibrate`"
#: Largest fragment file read back (bytes).
MAX_FRAGMENT_BYTES = 1 << 20
#: Largest statistics file read (bytes): a fit's, with every run's monthly path, is ~30 kB.
MAX_STATISTICS_BYTES = 64 << 20


@dataclass(frozen=True)
class PeriodFit:
    """How the fitted values do on one period (the fit or the validation scenario)."""

    scenario: str
    scenario_hash: str
    window: tuple[str, str]  # ISO dates, inclusive
    months: int
    loss: float  # weighted loss with the spec's weights
    terms: dict[str, float]  # mean squared error of each moment (sim.calibration.moments.TERMS)
    rmse_log_difficulty: float
    bias_log_difficulty: float  # mean of (simulated - history), log points
    halvings: dict[str, dict[str, float | bool]]  # height -> drawdown %, recovery days, sim/hist
    paths: dict[str, list]  # months, history, runs (one list per seed): monthly log difficulty
    #: "start..end" -> the data's band (low_mw, high_mw) and the mean run's output (sim_mw), MW
    shipments: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted values and the statistics of one ``calibrate`` call."""

    name: str
    spec: str  # path of the spec file
    spec_sha256: str
    seed: int
    seeds: list[int]  # the common random numbers: one run per seed for every candidate
    parameters: dict[str, dict]  # key -> its bounds, scale and integrality from the spec
    fixed: dict[str, object]
    fitted: dict[str, float | int]
    objective: float
    moments: dict[str, float]  # the spec's weights
    budget: dict[str, object]  # optimizer settings used
    optimizer: dict[str, object]  # library, candidates, nit, success, message
    fit: PeriodFit
    validation: PeriodFit | None
    generations: list[dict]  # best loss and values after each generation
    timing: dict[str, float]
    environment: dict[str, str | None]  # package and library versions, code fingerprint, backend
    created: str
    written: tuple[str, str] | None = field(default=None, compare=False)  # fragment, statistics

    def to_json(self) -> dict:
        """The statistics file's content (everything but where the files were written)."""
        content = asdict(self)
        del content["written"]
        return _finite(content)


def fragment_text(result: CalibrationResult) -> str:
    """The fragment: the comment block, then the fitted keys as nested TOML tables."""
    return "\n".join(_comment_block(result)) + "\n\n" + tomli_w.dumps(_nested(result.fitted))


def output_paths(fragment: str | Path) -> tuple[Path, Path]:
    """The fragment file and its statistics file beside it (``.json``); MinersimError if either
    exists and was not written by ``minersim calibrate`` (it is never replaced)."""
    fragment = Path(fragment)
    if fragment.suffix != ".toml":
        raise MinersimError(f"the fragment file must end in .toml, got {fragment}")
    stats = fragment.with_suffix(".json")
    for path, ours in ((fragment, _is_fragment), (stats, _is_statistics)):
        if (path.exists() or path.is_symlink()) and not ours(path):
            raise MinersimError(
                f"{path} exists and was not written by minersim calibrate: it is not replaced "
                "(move it, or write the fit elsewhere with --out FILE)"
            )
    return fragment, stats


def write_outputs(result: CalibrationResult, fragment: str | Path) -> tuple[Path, Path]:
    """Write the fragment and its statistics (each atomically); their paths."""
    fragment, stats = output_paths(fragment)
    fragment.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(fragment, fragment_text(result).encode())
    stats_text = json.dumps(result.to_json(), indent=1, allow_nan=False) + "\n"
    atomic_write(stats, stats_text.encode())
    return fragment, stats


def read_fit(path: str | Path) -> dict:
    """The statistics of a written calibration: ``<name>.fit.json`` or its fragment's path."""
    file = Path(path)
    file = file.with_suffix(".json") if file.suffix == ".toml" else file
    if not file.exists() and not file.is_symlink():
        raise MinersimError(f"no calibration statistics at {file}")
    return read_json(file, MAX_STATISTICS_BYTES, shown=str(file))


def _is_fragment(path: Path) -> bool:
    """The file starts with the comment line :func:`fragment_text` writes."""
    try:
        head = read_regular(path, MAX_FRAGMENT_BYTES)[:200].decode("utf-8", errors="replace")
    except MinersimError:
        return False
    return head.startswith("# Calibration '") and FRAGMENT_MARK in head.splitlines()[0]


def _is_statistics(path: Path) -> bool:
    """The file holds the JSON object :meth:`CalibrationResult.to_json` writes."""
    try:
        content = read_json(path, MAX_STATISTICS_BYTES)
    except MinersimError:
        return False
    return {"spec_sha256", "fitted", "objective"} <= content.keys()


def _nested(fitted: dict[str, object]) -> dict:
    tree: dict = {}
    for key, value in fitted.items():
        node = tree
        *parents, last = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return tree


def _comment_block(result: CalibrationResult) -> list[str]:
    fit, val = result.fit, result.validation
    lines = [
        f"Calibration '{result.name}': fitted values, {FRAGMENT_MARK} on "
        f"{result.created}. Do not edit by hand: re-run the command below.",
        f"Command: minersim calibrate {result.spec} --seed {result.seed}"
        + "".join(f" --{k} {v}" for k, v in result.budget.items() if k in _BUDGET_FLAGS),
        f"Spec sha256 {result.spec_sha256[:16]}; minersim {result.environment['minersim']}, "
        f"scipy {result.environment['scipy']}, code {result.environment['code_sha256'][:12]}.",
        'Use: extends = "<path to this file>" in a scenario (its own values win over these).',
        "",
        f"Optimizer: {result.optimizer['library']} ({result.budget['strategy']}), seed "
        f"{result.seed}, population {result.budget['population']}, {result.optimizer['nit']} "
        f"generations, {result.optimizer['candidates']} candidates x {len(result.seeds)} seeds "
        f"(common random numbers: {', '.join(map(str, result.seeds))}); "
        f"{result.optimizer['message']}",
        f"Objective (weighted SMM loss): {result.objective:.6g}; weights "
        + ", ".join(f"{k} {v:g}" for k, v in result.moments.items()),
        f"Time: {result.timing['elapsed_s']:.0f} s, {result.timing['runs']} runs, "
        f"{result.timing['seconds_per_run']:.2f} s per run, "
        f"{result.timing['seconds_per_generation']:.1f} s per generation "
        f"({result.environment['backend']}).",
        "",
    ]
    lines += _period_lines("Fit", fit)
    if val is not None:
        lines += _period_lines("Validation", val)
    lines += ["", "Bounds: " + "; ".join(_bounds_text(k, v) for k, v in result.parameters.items())]
    return ["# " + line if line else "#" for line in lines]


_BUDGET_FLAGS = ("replications", "popsize", "maxiter")


def _period_lines(label: str, period: PeriodFit) -> list[str]:
    start, end = period.window
    lines = [
        f"{label}: {period.scenario}, {start}..{end} ({period.months} months): RMSE of monthly "
        f"log difficulty {period.rmse_log_difficulty:.4f} (bias {period.bias_log_difficulty:+.4f});"
        " terms " + ", ".join(f"{k} {v:.4g}" for k, v in period.terms.items())
    ]
    for height, h in period.halvings.items():
        lines.append(
            f"  halving at block {int(height):,}: drawdown {h['sim_drawdown_pct']:.1f}% "
            f"(history {h['history_drawdown_pct']:.1f}%), back above the peak after "
            f"{h['sim_recovery_days']:.0f} days (history {h['history_recovery_days']:.0f})"
            + (" [some runs censored at the window end]" if h["censored"] else "")
        )
    for dates, s in period.shipments.items():
        lines.append(
            f"  machines shipped {dates}: {s['sim_mw']:,.0f} MW (data {s['low_mw']:,.0f}-"
            f"{s['high_mw']:,.0f})"
        )
    return lines


def _bounds_text(key: str, spec: dict) -> str:
    scale = ", log" if spec.get("scale") == "log" else ""
    whole = ", integer" if spec.get("integer") else ""
    return f"{key} in [{spec['lower']:g}, {spec['upper']:g}]{scale}{whole}"


def _finite(value: object) -> object:
    """JSON-safe: non-finite floats become None, dates ISO text."""
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
