"""minersim's browser page: ``solara run sim/ui/app.py`` (``minersim ui [SCENARIO]`` does this).

The scenario the page opens with comes from the ``MINERSIM_UI_SCENARIO`` environment variable
(a bundled name or a TOML path; default baseline, or demo when baseline is not bundled);
``MINERSIM_UI_SCENARIO_DIR`` names a folder whose TOML files the page may run too. The page runs
no other scenario (see :mod:`sim.ui.params`).
"""

from __future__ import annotations

import os

import matplotlib
import solara
from mesa.visualization import SolaraViz

from sim.ui import SCENARIO_DIR_ENV, SCENARIO_ENV
from sim.ui.charts import COMPONENTS
from sim.ui.params import default_scenario, model_params, page_defaults, page_model_class

matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: charts render faster and smaller

DEFAULTS = page_defaults(
    os.environ.get(SCENARIO_ENV) or default_scenario(), os.environ.get(SCENARIO_DIR_ENV) or None
)
PageModel = page_model_class(DEFAULTS)
PARAMS = model_params(DEFAULTS)


@solara.component
def Page():
    """One model per browser session (the module itself runs once per server)."""
    model = solara.use_memo(PageModel, dependencies=[])
    SolaraViz(
        model,
        components=list(COMPONENTS),
        model_params=PARAMS,
        name="minersim: Bitcoin mining industry",
    )
