"""Calibration spec files: which scenario keys to fit, on which windows, against which moments.

A spec is a TOML file (``scenarios/calibration/*.toml``; docs/calibration.md shows one in full)::

    [calibration]
    name = "fringe"
    output = "fringe.fit.toml"           # the fragment to write, relative to this file

    [fit]                                 # the scenario the objective runs, and its window
    scenario = "../history_2016.toml"     # relative to this file, or a bundled scenario name
    start = 2016-01-01
    end = 2019-12-31

    [validation]                          # optional: judged after the fit, never fitted on
    scenario = "../history_2020.toml"
    start = 2020-01-01
    end = 2021-04-30

    [fixed]                               # optional: dotted keys set in every run
    "market.fees.mean_btc_per_block" = 0.5

    [parameters]                          # dotted scenario keys and their search bounds
    "fringe.max_deliveries_per_epoch" = { lower = 0.02, upper = 0.25 }
    "fringe.supply_elasticity" = { lower = 0.2, upper = 10.0, scale = "log", start = 0.9 }

    [moments]                             # weights of the objective's terms (sim.calibration.moments)
    log_difficulty = 1.0
    halving_drawdown = 1.0

    [optimizer]                           # scipy.optimize.differential_evolution's budget
    replications = 4                      # seeds per candidate (the same for every candidate)
    popsize = 5                           # population = popsize x number of parameters
    maxiter = 10                          # generations after the initial population

A ``start`` on every parameter (an earlier fit's values, say) puts that point into the initial
population (a warm start); with any parameter lacking one the population is all Latin hypercube.
Parameters are the dotted keys ``--set`` and :func:`sim.load_scenario` take; each is checked
against the scenario schema at both bounds before anything runs. Windows must end by
:data:`sim.history.LAST_FITTING_DAY` and lie inside their scenario's dates, and the scenarios
must end by it too (no run of a fit sees a later price). Every problem raises
a :class:`sim.errors.ScenarioError` naming the spec file and the key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim import history as sim_history
from sim.calibration.moments import TERMS, Window
from sim.errors import MinersimError, ScenarioError
from sim.input.files import MAX_TOML_BYTES, read_regular
from sim.input.scenario import Scenario, load_scenario, resolve_scenario_path
from sim.paths import SCENARIOS_DIR

Finite = Annotated[float, Field(allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Scalar = bool | int | float | str | dt.date


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalibrationInfo(_Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    output: str = Field(min_length=1, description="fragment file, relative to the spec file")


class WindowSpec(_Strict):
    scenario: str = Field(min_length=1, description="path relative to the spec, or a name")
    start: dt.date
    end: dt.date


class ParameterSpec(_Strict):
    lower: Finite
    upper: Finite
    scale: Literal["linear", "log"] = Field(
        default="linear", description="log: search log10(value) uniformly (bounds > 0)"
    )
    integer: bool = Field(default=False, description="search whole numbers only")
    start: Finite | None = Field(
        default=None,
        description="a starting value (e.g. an earlier fit's): when every parameter has one, "
        "the search's initial population includes that point",
    )

    @model_validator(mode="after")
    def _bounds(self) -> ParameterSpec:
        if not self.lower < self.upper:
            raise ValueError(f"lower {self.lower:g} must be below upper {self.upper:g}")
        if self.start is not None and not self.lower <= self.start <= self.upper:
            raise ValueError(
                f"start {self.start:g} must lie within [{self.lower:g}, {self.upper:g}]"
            )
        if self.scale == "log" and self.lower <= 0:
            raise ValueError("a log-scale parameter needs lower > 0")
        if self.integer and self.scale == "log":
            raise ValueError("an integer parameter cannot use scale = 'log'")
        if self.integer and not (self.lower.is_integer() and self.upper.is_integer()):
            raise ValueError("an integer parameter needs whole-number bounds")
        return self


class MomentWeights(_Strict):
    """Weights of the objective's terms (see :func:`sim.calibration.moments.loss_terms`)."""

    log_difficulty: Weight = 1.0
    growth: Weight = 0.0
    halving_drawdown: Weight = 0.0
    halving_recovery: Weight = 0.0
    shipments: Weight = 0.0

    @model_validator(mode="after")
    def _some_weight(self) -> MomentWeights:
        if not any(getattr(self, term) > 0 for term in TERMS):
            raise ValueError("at least one moment needs a weight > 0")
        return self


class OptimizerSpec(_Strict):
    """The budget of scipy.optimize.differential_evolution (its argument names)."""

    replications: int = Field(default=4, ge=1, le=10_000, description="seeds per candidate")
    popsize: int = Field(default=5, ge=1, le=1_000)
    maxiter: int = Field(default=10, ge=0, le=100_000, description="generations after the first")
    tol: Weight = 0.01
    atol: Weight = 0.0
    mutation: tuple[Weight, Weight] | Weight = (0.5, 1.0)
    recombination: Annotated[float, Field(ge=0, le=1)] = 0.7
    strategy: Literal[
        "best1bin", "best1exp", "rand1bin", "rand1exp", "rand2bin", "currenttobest1bin"
    ] = "best1bin"


class SpecFile(_Strict):
    calibration: CalibrationInfo
    fit: WindowSpec
    validation: WindowSpec | None = None
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    parameters: dict[str, ParameterSpec] = Field(min_length=1)
    moments: MomentWeights = MomentWeights()
    optimizer: OptimizerSpec = OptimizerSpec()


@dataclass(frozen=True)
class Period:
    """A scenario and the window its moments are compared on."""

    scenario: str  # absolute path of the TOML file, or a bundled scenario's name
    window: Window
    base: Scenario  # the scenario with the spec's fixed overrides


@dataclass(frozen=True)
class CalibrationSpec:
    """A loaded, checked spec. ``path`` is the spec file, ``sha256`` of its bytes."""

    path: Path
    sha256: str
    name: str
    description: str
    output: Path
    fit: Period
    validation: Period | None
    fixed: dict[str, Scalar]
    parameters: dict[str, ParameterSpec]
    moments: MomentWeights
    optimizer: OptimizerSpec

    def with_budget(self, **budget: int | None) -> CalibrationSpec:
        """The spec with some optimizer settings replaced (``None`` keeps the spec's)."""
        changes = {k: v for k, v in budget.items() if v is not None}
        if not changes:
            return self
        try:
            optimizer = OptimizerSpec.model_validate(self.optimizer.model_dump() | changes)
        except ValidationError as exc:
            raise MinersimError(_first_error(exc)) from None
        return dataclasses.replace(self, optimizer=optimizer)

    @property
    def population(self) -> int:
        """Members per generation (scipy keeps at least 5)."""
        return max(5, self.optimizer.popsize * len(self.parameters))

    @property
    def planned_runs(self) -> int:
        """Runs of a calibration that uses its whole budget (it stops earlier if it converges)."""
        fit = (self.optimizer.maxiter + 1) * self.population * self.optimizer.replications
        return fit + self.optimizer.replications * (2 if self.validation else 1)


def load_spec(path: str | Path) -> CalibrationSpec:
    """Read and check a calibration spec file (see the module docstring)."""
    file = Path(path)
    shown = str(file)
    data = read_regular(
        file,
        MAX_TOML_BYTES,
        shown="the calibration spec",
        error=lambda message: ScenarioError(message, file=shown),
    )
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"malformed TOML: {exc}", file=shown) from None
    except RecursionError:
        raise ScenarioError("malformed TOML: nested too deeply", file=shown) from None
    try:
        spec = SpecFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_first_error(exc), file=shown) from None
    here = file.resolve().parent
    fixed = dict(spec.fixed)
    fit = _period(spec.fit, here, fixed, shown, "fit")
    validation = _period(spec.validation, here, fixed, shown, "validation")
    _check_parameters(spec, fit, validation, shown)
    _check_moments(spec.moments, fit.window, shown)
    return CalibrationSpec(
        path=file.resolve(),
        sha256=hashlib.sha256(data).hexdigest(),
        name=spec.calibration.name,
        description=spec.calibration.description,
        output=_output(spec.calibration.output, here, shown),
        fit=fit,
        validation=validation,
        fixed=fixed,
        parameters=dict(spec.parameters),
        moments=spec.moments,
        optimizer=spec.optimizer,
    )


def _output(text: str, here: Path, shown: str) -> Path:
    """The fragment file a spec names: a ``.toml`` file in the spec's folder or below it (after
    resolving links and ``..``); anywhere else only with ``--out``."""
    path = here / text
    if "\x00" in text or not Path(os.path.realpath(path)).is_relative_to(here):
        raise ScenarioError(
            "must name a file in the spec's folder or below it (use --out FILE to write elsewhere)",
            file=shown,
            key="calibration.output",
        )
    return path


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = {"extra_forbidden": "unknown key", "missing": "missing required key"}.get(
        error["type"], str(error["msg"]).removeprefix("Value error, ")
    )
    return f"{where}: {message}" if where else message


def _period(
    spec: WindowSpec | None, here: Path, fixed: dict, shown: str, section: str
) -> Period | None:
    if spec is None:
        return None
    try:
        window = Window(spec.start, spec.end)
        sim_history.check_fitting_day(window.end, f"the {section} window")
    except MinersimError as exc:
        raise ScenarioError(str(exc), file=shown, key=f"{section}.end") from None
    relative = here / spec.scenario
    reference = str(relative.resolve()) if relative.is_file() else spec.scenario
    path = resolve_scenario_path(reference)
    base = load_scenario(path, fixed)
    info = base.config.scenario
    if info.end_date > sim_history.LAST_FITTING_DAY.date():
        raise ScenarioError(
            f"scenario '{base.name}' runs to {info.end_date}, past "
            f"{sim_history.LAST_FITTING_DAY.date()}: no run of a fit may see later prices "
            "(set scenario.end_date in [fixed])",
            file=shown,
            key=f"{section}.scenario",
        )
    if window.start.date() < info.start_date or window.end.date() > info.end_date:
        raise ScenarioError(
            f"window {window} is not inside scenario '{base.name}' ({info.start_date} to "
            f"{info.end_date})",
            file=shown,
            key=section,
        )
    name = path.stem if path.parent == SCENARIOS_DIR else str(path)  # names travel to workers
    return Period(scenario=name, window=window, base=base)


def _check_parameters(spec: SpecFile, fit: Period, validation: Period | None, shown: str) -> None:
    """Each key exists, is not also fixed, sits outside arrays, and validates at both bounds."""
    for key, bounds in spec.parameters.items():
        where = f"parameters.{key}"
        if key in spec.fixed:
            raise ScenarioError("is both fitted and fixed; drop one of them", file=shown, key=where)
        if any(part.isdigit() for part in key.split(".")):
            raise ScenarioError(
                "a fitted key cannot point into an array: the fragment file it is written to "
                "is merged by `extends`, which replaces arrays whole",
                file=shown,
                key=where,
            )
        for value in (bounds.lower, bounds.upper):
            value = int(value) if bounds.integer else value
            for period in (fit, validation):
                if period is not None:
                    try:
                        load_scenario(period.base, {key: value})
                    except ScenarioError as exc:
                        raise ScenarioError(
                            f"bound {value!r} does not validate: {exc}", file=shown, key=where
                        ) from None


def _check_moments(weights: MomentWeights, window: Window, shown: str) -> None:
    if (weights.halving_drawdown > 0 or weights.halving_recovery > 0) and not window.halvings():
        raise ScenarioError(
            f"halving moments have a weight, but no halving of the history files has its 14 days "
            f"before and 150 days after inside the fit window {window}",
            file=shown,
            key="moments",
        )
