"""minersim's browser page: ``solara run sim/ui/app.py`` (``minersim ui [SCENARIO]`` does this).

The scenario the page opens with comes from the ``MINERSIM_UI_SCENARIO`` environment variable
(a bundled name or a TOML path; default baseline, or demo when baseline is not bundled);
``MINERSIM_UI_SCENARIO_DIR`` names a folder whose TOML files the page may run too. The page runs
no other scenario (see :mod:`sim.ui.params`).

The page is made of Mesa's SolaraViz parts: its ``ModelController`` (Reset, Play, Step and the
play loop) drives the model; the parameters, the miner selector, the reasons panel and the charts
(SVG from :mod:`sim.ui.charts`) are the page's. Play steps the model in one thread and redraws
the page in another, each redraw showing every epoch recorded by then.
"""

from __future__ import annotations

import html
import os
import threading

import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import update_counter

from sim.ui import SCENARIO_DIR_ENV, SCENARIO_ENV, charts, data
from sim.ui.params import (
    default_scenario,
    model_params,
    page_defaults,
    page_model_class,
    page_values,
)

TITLE = "minersim: Bitcoin mining industry, epoch by epoch"
#: Pause between epochs while playing, ms (Mesa's default of 100 ms alone caps Play at 10/s).
PLAY_INTERVAL_MS = 40
GRID = "display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:4px"

DEFAULTS = page_defaults(
    os.environ.get(SCENARIO_ENV) or default_scenario(), os.environ.get(SCENARIO_DIR_ENV) or None
)
PageModel = page_model_class(DEFAULTS)
PARAMS = model_params(DEFAULTS)


@solara.component
def ParameterInputs(values: solara.Reactive[dict]):
    """The model's parameters; each slider's value is shown beside it (they apply on Reset).
    Choosing a scenario moves the sliders and the policy to that scenario's own values."""
    for name, spec in PARAMS.items():

        def set_value(value, name=name):
            moved = page_values(value) if name == "scenario_name" else {}
            values.set({**values.value, **moved, name: value})

        current = values.value.get(name, spec["value"])
        if spec["type"] == "SliderFloat":
            with solara.Row(style="align-items:center"):
                solara.SliderFloat(
                    spec["label"],
                    value=current,
                    on_value=set_value,
                    min=spec["min"],
                    max=spec["max"],
                    step=spec["step"],
                )
                shown = f"{current:g}" if isinstance(current, (int, float)) else str(current)
                solara.Text(shown, classes=["minersim-slider-value"])
        elif spec["type"] == "Select":
            solara.Select(
                spec["label"],
                value=current,
                values=spec["values"],
                on_value=set_value,
                classes=[f"minersim-param-{name}"],
            )
        else:
            solara.InputText(spec["label"], value=str(current), on_value=set_value)


class _ComparedRun:
    """The run compared with the page's: the same parameters with another seed, stepped up to the
    page model's epoch whenever the page draws (the lock keeps two draws from stepping it at
    once while Play runs)."""

    def __init__(self, model, seed: int):
        self.model = type(model)(**{**model.page_kwargs, "seed": seed})
        self._lock = threading.Lock()

    def catch_up(self, epoch: int):
        with self._lock:
            while self.model.running and self.model.epoch < epoch:
                self.model.step()
        return self.model


def _compared_run(model, seed_text: str) -> _ComparedRun | None:
    """The run compared with ``model`` (None without a valid seed other than its own)."""
    try:
        seed = int(seed_text.strip())
    except ValueError:
        return None
    if seed < 0 or seed == model.seed:
        return None
    return _ComparedRun(model, seed)


def _heading(text: str) -> None:
    solara.HTML(tag="h3", unsafe_innerHTML=html.escape(text), style="margin:12px 0 0")


@solara.component
def Dashboard(model, compare_seed: str):
    """Heading, miners' table, the selected miner's reasons and history, the network charts."""
    update_counter.get()  # redraw after every Step / Play epoch (Mesa's force_update)
    selection, set_selection = solara.use_state(0)
    shown_epoch, set_shown_epoch = solara.use_state(None)  # None: follow the latest epoch
    compared = solara.use_memo(lambda: _compared_run(model, compare_seed), [model, compare_seed])
    run = data.RunView(model)  # the epochs recorded now: Play may step the model meanwhile
    other = data.RunView(compared.catch_up(run.epoch)) if compared is not None else None
    choices = {a.name: a.index for a in run.miner_agents[: run.n_public]}
    if (~run.view.is_public).any():
        choices[charts.selection_name(run, charts.FRINGE)] = charts.FRINGE
    names = {v: k for k, v in choices.items()}
    with solara.Column(style="padding:8px;gap:4px"):
        solara.HTML(tag="div", unsafe_innerHTML=charts.heading_html(run))
        with solara.Row(style="flex-wrap:wrap;gap:12px;align-items:flex-start"):
            solara.HTML(
                tag="div",
                unsafe_innerHTML=charts.miners_table_html(run, selection),
                style="overflow:auto",
            )
            with solara.Column(style="min-width:420px;flex:1"):
                solara.Select(
                    "Miner",
                    value=names[selection],
                    values=list(choices),
                    on_value=lambda name: set_selection(choices[name]),
                    classes=["minersim-miner-select"],
                )
                epoch = EpochPicker(run.epoch, shown_epoch, set_shown_epoch)
                solara.HTML(tag="div", unsafe_innerHTML=charts.reasons_html(run, selection, epoch))
        _heading("History of the selected miner (actions marked on the time axis)")
        solara.HTML(tag="div", unsafe_innerHTML=charts.actions_legend_html())
        solara.HTML(
            tag="div",
            unsafe_innerHTML="".join(charts.miner_charts(run, selection)),
            style=GRID,
            classes=["minersim-history"],
        )
        _heading("The network" + (f" (dashed: {charts.compare_label(other)})" if other else ""))
        solara.HTML(
            tag="div",
            unsafe_innerHTML="".join(charts.network_charts(run, other)),
            style=GRID,
            classes=["minersim-network"],
        )


def EpochPicker(latest: int, shown: int | None, set_shown) -> int | None:
    """Buttons and a slider choosing the epoch whose reasons the "Why" panel shows (None, the
    default, follows the latest epoch); returns the epoch shown."""
    epoch = latest if shown is None or shown > latest else shown
    if latest < 1:
        return None
    with solara.Row(style="align-items:center;gap:4px", classes=["minersim-epoch-picker"]):
        solara.Text("Why at epoch:")
        solara.Button("◀ earlier", on_click=lambda: set_shown(max(1, epoch - 1)), small=True)
        solara.Button("later ▶", on_click=lambda: set_shown(min(latest, epoch + 1)), small=True)
        solara.Button("latest", on_click=lambda: set_shown(None), small=True)
    if latest > 1:
        solara.SliderInt("", value=epoch, min=1, max=latest, on_value=set_shown, thumb_label=True)
    return epoch


@solara.component
def Page():
    """One model per browser session (the module itself runs once per server)."""
    first = solara.use_memo(PageModel, dependencies=[])
    model = solara.use_reactive(first)
    parameters = solara.use_reactive({name: spec["value"] for name, spec in PARAMS.items()})
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    # Play steps the model in one thread and draws in another (Mesa's use_threads): drawing
    # while the model steps on keeps the page responsive, and a draw shows the epochs recorded
    # by then. (ModelController needs these as reactives, whatever its signature says.)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(True)
    compare_seed = solara.use_reactive("")
    solara.Title(TITLE)
    with solara.AppBar():  # solara puts the page in its app layout: bar, sidebar, main area
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        with solara.Card("Controls"):
            ModelController(
                model,
                model_parameters=parameters,
                play_interval=play_interval,
                render_interval=render_interval,
                use_threads=use_threads,
            )
            with solara.Row(style="align-items:center"):
                solara.SliderInt(
                    "Pause between epochs (ms)", value=play_interval, min=0, max=500, step=5
                )
                solara.Text(f"{play_interval.value}", classes=["minersim-slider-value"])
        with solara.Card("Model parameters (apply on Reset)"):
            ParameterInputs(parameters)
        with solara.Card("Compare two runs"):
            solara.InputText(
                "Compare with seed (blank: none)", value=compare_seed, continuous_update=False
            )
    Dashboard(model.value, compare_seed.value)
