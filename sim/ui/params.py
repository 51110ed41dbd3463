"""The page's model parameters and how they become scenario overrides.

SolaraViz builds its sliders and inputs from :func:`model_params` and, on Reset, calls the model
class with their values as keywords. :class:`UiMiningModel` turns those keywords into
``MiningModel(scenario, seed, overrides)``. Sliders start at the launched scenario's values and
move to a scenario's own values when it is chosen (:func:`page_values`); only a parameter the
user moved away from the chosen scenario's value becomes an override, so picking another scenario
without touching the sliders runs that scenario exactly as written. A slider value that is not a
number is shown as a note in red and the scenario's value runs instead.

The page runs only the scenarios of its list: the bundled ones, the one it was launched with and
the TOML files of a folder named at launch (``minersim ui --scenario-dir DIR``). Any other value
the page sends, and any scenario that fails to load, is refused on the page (a note in red, the
launched scenario runs instead), never with a traceback.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sim.errors import MinersimError
from sim.input.scenario import Scenario, list_scenarios, load_scenario, resolve_scenario_path
from sim.model import MiningModel
from sim.policy_registry import registered_policies

POLICY_KEY = "miners.policy"


def policy_choices() -> list[str]:
    """Policies the page offers for the public miners: every registered one (the built-in rules
    and those the launched scenario's ``policy_modules`` register), from the policy registry."""
    return registered_policies()


@dataclass(frozen=True)
class SliderSpec:
    """One slider: a keyword of :class:`UiMiningModel` bound to a dotted scenario key.

    ``scale`` converts the slider's unit to the scenario's (a slider in USD M per MW-year feeds a
    key in USD per MW-year with ``scale=1e6``).
    """

    name: str
    key: str
    label: str
    low: float
    high: float
    step: float
    scale: float = 1.0


SLIDERS: tuple[SliderSpec, ...] = (
    SliderSpec("btc_drift", "market.btc.drift", "BTC drift (annual, log)", -1.0, 1.0, 0.05),
    SliderSpec(
        "btc_volatility", "market.btc.volatility", "BTC volatility (annual)", 0.0, 1.5, 0.05
    ),
    SliderSpec(
        "ai_lease_musd",
        "market.ai.lease_usd_per_mw_year",
        "AI lease (USD M per MW-year)",
        0.5,
        4.0,
        0.05,
        1e6,
    ),
    SliderSpec(
        "power_shock",
        "market.power.shock_multiplier",
        "Power price shock (x market)",
        0.25,
        3.0,
        0.05,
    ),
    SliderSpec(
        "base_rate_pct",
        "market.rates.base_rate",
        "Base interest rate (% a year)",
        0.0,
        15.0,
        0.25,
        0.01,
    ),
)


@dataclass(frozen=True)
class PageDefaults:
    """What the page starts with: the launched scenario and its slider and policy values
    (slider values in the sliders' units)."""

    scenario: str
    sliders: dict[str, float]
    policy: str
    #: The scenarios the page may run (its selector's values).
    choices: tuple[str, ...] = ()


def default_scenario() -> str:
    """The scenario ``minersim ui`` opens without an argument: baseline if bundled, else demo."""
    names = list_scenarios()
    return "baseline" if "baseline" in names else "demo"


def scenario_choices(launched: str, scenario_dir: str | os.PathLike | None = None) -> list[str]:
    """Bundled scenario names, the launched one when it is a TOML file of the user's, and the
    TOML files of ``scenario_dir``."""
    names = list_scenarios()
    choices = names if launched in names else [*names, launched]
    if scenario_dir is not None:
        folder = Path(scenario_dir)
        if not folder.is_dir():
            raise MinersimError(f"--scenario-dir {folder} is not a folder")
        found = (str(path.resolve()) for path in sorted(folder.glob("*.toml")) if path.is_file())
        choices += [path for path in found if path not in choices]
    return choices


def config_value(scenario: Scenario, dotted_key: str) -> object:
    """The value of a dotted key (``"market.btc.drift"``) in a loaded scenario."""
    value: object = scenario.config
    for part in dotted_key.split("."):
        value = getattr(value, part)
    return value


def slider_value(scenario: Scenario, slider: SliderSpec) -> float:
    """A scenario's value of a slider's key, in the slider's unit."""
    return round(float(config_value(scenario, slider.key)) / slider.scale, 9)


@functools.lru_cache(maxsize=64)
def scenario_values(name: str) -> tuple[dict[str, float], str]:
    """A scenario's own slider values (in the sliders' units) and policy: where the sliders go
    when it is chosen, and what a slider must differ from to become an override."""
    spec = load_scenario(name)
    return {s.name: slider_value(spec, s) for s in SLIDERS}, str(config_value(spec, POLICY_KEY))


def page_values(name: str) -> dict[str, object]:
    """The page's parameter values for scenario ``name``: its sliders and policy (the page moves
    the sliders there when the scenario is chosen); {} if it does not load (Reset then says
    why on the page)."""
    try:
        sliders, policy = scenario_values(name)
    except MinersimError:
        return {}
    return {**sliders, "policy": policy}


def page_defaults(launched: str, scenario_dir: str | os.PathLike | None = None) -> PageDefaults:
    """Read the launched scenario (a bundled name or a TOML path) for the page's starting values;
    ``scenario_dir``: a folder whose TOML files the page may run too.

    Raises :class:`sim.errors.MinersimError` if the scenario cannot be found or is invalid.
    """
    name = launched if launched in list_scenarios() else str(resolve_scenario_path(launched))
    sliders, policy = scenario_values(name)
    choices = tuple(scenario_choices(name, scenario_dir))
    return PageDefaults(name, dict(sliders), policy, choices)


def model_params(defaults: PageDefaults) -> dict[str, dict]:
    """SolaraViz ``model_params``: scenario selector, seed input, sliders and the policy select."""
    params: dict[str, dict] = {
        "scenario_name": {
            "type": "Select",
            "label": "Scenario",
            "value": defaults.scenario,
            "values": list(defaults.choices or scenario_choices(defaults.scenario)),
        },
        "seed": {"type": "InputText", "label": "Seed (whole number >= 0)", "value": "0"},
    }
    for s in SLIDERS:
        value = defaults.sliders[s.name]
        params[s.name] = {
            "type": "SliderFloat",
            "label": s.label,
            "value": value,
            "min": min(s.low, value),
            "max": max(s.high, value),
            "step": s.step,
        }
    params["policy"] = {
        "type": "Select",
        "label": "Policy of public miners",
        "value": defaults.policy,
        "values": policy_choices(),
    }
    return params


def parse_seed(seed: object) -> int:
    """A seed from the page (the text input gives a string) as an int >= 0."""
    try:
        value = int(str(seed).strip())
    except ValueError:
        value = -1
    if value < 0:
        raise MinersimError(f"seed must be a whole number >= 0, got {seed!r}")
    return value


def slider_number(spec: SliderSpec, value: object) -> float:
    """A slider's value as a finite number, rounded to 9 decimals (browser sliders add float
    noise to their steps), or a one-line :class:`MinersimError` naming the slider."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise MinersimError(f"{spec.label}: {shown} is not a number")
    return round(number, 9)


def ui_overrides(
    sliders: dict[str, object], policy: str | None, base: PageDefaults, notes: list[str]
) -> dict[str, object]:
    """Dotted-key overrides for the parameters moved away from ``base``'s values (the chosen
    scenario's). A slider value that is not a number is left out with a note in ``notes``
    (shown in red on the page) instead of raising."""
    overrides: dict[str, object] = {}
    for s in SLIDERS:
        value = sliders.get(s.name)
        if value is None:
            continue
        try:
            number = slider_number(s, value)
        except MinersimError as exc:
            notes.append(f"{exc}: ran the scenario's {base.sliders[s.name]:g} instead")
            continue
        if number != base.sliders[s.name]:
            overrides[s.key] = number * s.scale
    if policy is not None and policy != base.policy:
        overrides[POLICY_KEY] = policy
    return overrides


class UiMiningModel(MiningModel):
    """A :class:`MiningModel` built from the page's parameters.

    SolaraViz re-creates the model on Reset as ``type(model)(**parameters)``; subclasses made by
    :func:`page_model_class` carry the page's starting values in ``page_defaults``. (The keyword is
    ``scenario_name``, not ``scenario``: Mesa fills a ``scenario`` keyword with its own object.)
    """

    page_defaults: ClassVar[PageDefaults]
    explains_by_default = True  # the policies return their reasons for the page's "Why" panel

    def __init__(
        self,
        scenario_name: str | None = None,
        seed: int | str = 0,
        btc_drift: float | None = None,
        btc_volatility: float | None = None,
        ai_lease_musd: float | None = None,
        power_shock: float | None = None,
        base_rate_pct: float | None = None,
        policy: str | None = None,
    ):
        sliders = {
            "btc_drift": btc_drift,
            "btc_volatility": btc_volatility,
            "ai_lease_musd": ai_lease_musd,
            "power_shock": power_shock,
            "base_rate_pct": base_rate_pct,
        }
        #: The keywords this model was built with (a compared run changes only the seed).
        self.page_kwargs = {
            "scenario_name": scenario_name,
            "seed": seed,
            **sliders,
            "policy": policy,
        }
        #: Problems with the page's inputs, shown on the page (an exception would replace the
        #: whole page with a traceback).
        self.ui_notes: list[str] = []
        try:
            seed_value = parse_seed(seed)
        except MinersimError as exc:
            seed_value = 0
            self.ui_notes.append(f"{exc}: ran seed 0 instead")
        spec = self._page_scenario(scenario_name, sliders, policy)
        super().__init__(spec, seed=seed_value)

    def _page_scenario(
        self, scenario_name: object, sliders: dict[str, object], policy: str | None
    ) -> Scenario:
        """The scenario to run: one of the page's choices with the sliders moved away from its
        own values as overrides (``self.ui_overrides``), or (with a note) the launched
        scenario."""
        defaults = self.page_defaults
        choices = defaults.choices or tuple(scenario_choices(defaults.scenario))
        name = scenario_name if scenario_name is not None else defaults.scenario
        if name not in choices:
            shown = repr(name) if len(repr(name)) <= 60 else repr(name)[:57] + "..."
            self.ui_notes.append(
                f"scenario {shown} is not one of this page's scenarios: ran "
                f"{defaults.scenario} instead"
            )
            name = defaults.scenario
        self.ui_overrides: dict[str, object] = {}
        try:
            own_sliders, own_policy = scenario_values(name)
            base = PageDefaults(name, own_sliders, own_policy)
            self.ui_overrides = ui_overrides(sliders, policy, base, self.ui_notes)
            return load_scenario(name, self.ui_overrides)
        except MinersimError as exc:
            if name == defaults.scenario and not self.ui_overrides:
                raise  # the launched scenario itself no longer loads: nothing to fall back to
            self.ui_notes.append(f"{exc}: ran {defaults.scenario} as launched instead")
            self.ui_overrides = {}
            return load_scenario(defaults.scenario)


def page_model_class(defaults: PageDefaults) -> type[UiMiningModel]:
    """A :class:`UiMiningModel` subclass whose parameters default to ``defaults``."""
    return type("PageMiningModel", (UiMiningModel,), {"page_defaults": defaults})
