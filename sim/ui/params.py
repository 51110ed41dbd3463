"""The page's model parameters and how they become scenario overrides.

SolaraViz builds its sliders and inputs from :func:`model_params` and, on Reset, calls the model
class with their values as keywords. :class:`UiMiningModel` turns those keywords into
``MiningModel(scenario, seed, overrides)``. Sliders start at the launched scenario's values; only
a parameter the user moved away from its starting value becomes an override, so picking another
scenario without touching the sliders runs that scenario exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, get_args

from sim.errors import MinersimError
from sim.input.scenario import Scenario, list_scenarios, load_scenario, resolve_scenario_path
from sim.input.schema import Miners
from sim.model import MiningModel

#: Policies a scenario may give its public miners (from the schema, so new ones appear here).
POLICY_CHOICES: tuple[str, ...] = get_args(Miners.model_fields["policy"].annotation)
POLICY_KEY = "miners.policy"


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


def default_scenario() -> str:
    """The scenario ``minersim ui`` opens without an argument: baseline if bundled, else demo."""
    names = list_scenarios()
    return "baseline" if "baseline" in names else "demo"


def scenario_choices(launched: str) -> list[str]:
    """Bundled scenario names, plus the launched one when it is a TOML file of the user's."""
    names = list_scenarios()
    return names if launched in names else [*names, launched]


def config_value(scenario: Scenario, dotted_key: str) -> object:
    """The value of a dotted key (``"market.btc.drift"``) in a loaded scenario."""
    value: object = scenario.config
    for part in dotted_key.split("."):
        value = getattr(value, part)
    return value


def slider_value(scenario: Scenario, slider: SliderSpec) -> float:
    """A scenario's value of a slider's key, in the slider's unit."""
    return round(float(config_value(scenario, slider.key)) / slider.scale, 9)


def page_defaults(launched: str) -> PageDefaults:
    """Read the launched scenario (a bundled name or a TOML path) for the page's starting values.

    Raises :class:`sim.errors.MinersimError` if the scenario cannot be found or is invalid.
    """
    name = launched if launched in list_scenarios() else str(resolve_scenario_path(launched))
    spec = load_scenario(name)
    sliders = {s.name: slider_value(spec, s) for s in SLIDERS}
    return PageDefaults(name, sliders, str(config_value(spec, POLICY_KEY)))


def model_params(defaults: PageDefaults) -> dict[str, dict]:
    """SolaraViz ``model_params``: scenario selector, seed input, sliders and the policy select."""
    params: dict[str, dict] = {
        "scenario_name": {
            "type": "Select",
            "label": "Scenario",
            "value": defaults.scenario,
            "values": scenario_choices(defaults.scenario),
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
        "values": list(POLICY_CHOICES),
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


def ui_overrides(
    sliders: dict[str, float | None], policy: str | None, defaults: PageDefaults
) -> dict[str, object]:
    """Dotted-key overrides for the parameters moved away from the page's starting values.

    Slider values are rounded to 9 decimals (browser sliders add float noise to their steps).
    """
    overrides: dict[str, object] = {}
    for s in SLIDERS:
        value = sliders.get(s.name)
        if value is None:
            continue
        value = round(float(value), 9)
        if value != defaults.sliders[s.name]:
            overrides[s.key] = value * s.scale
    if policy is not None and policy != defaults.policy:
        overrides[POLICY_KEY] = policy
    return overrides


class UiMiningModel(MiningModel):
    """A :class:`MiningModel` built from the page's parameters.

    SolaraViz re-creates the model on Reset as ``type(model)(**parameters)``; subclasses made by
    :func:`page_model_class` carry the page's starting values in ``page_defaults``. (The keyword is
    ``scenario_name``, not ``scenario``: Mesa fills a ``scenario`` keyword with its own object.)
    """

    page_defaults: ClassVar[PageDefaults]

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
        defaults = self.page_defaults
        sliders = {
            "btc_drift": btc_drift,
            "btc_volatility": btc_volatility,
            "ai_lease_musd": ai_lease_musd,
            "power_shock": power_shock,
            "base_rate_pct": base_rate_pct,
        }
        self.ui_overrides = ui_overrides(sliders, policy, defaults)
        #: Problems with the page's inputs, shown on the page (an exception would replace the
        #: whole page with a traceback).
        self.ui_notes: list[str] = []
        try:
            seed_value = parse_seed(seed)
        except MinersimError as exc:
            seed_value = 0
            self.ui_notes.append(f"{exc}: ran seed 0 instead")
        super().__init__(
            scenario_name or defaults.scenario, seed=seed_value, overrides=self.ui_overrides
        )


def page_model_class(defaults: PageDefaults) -> type[UiMiningModel]:
    """A :class:`UiMiningModel` subclass whose parameters default to ``defaults``."""
    return type("PageMiningModel", (UiMiningModel,), {"page_defaults": defaults})
