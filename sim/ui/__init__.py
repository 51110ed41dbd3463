"""The browser UI: a Mesa SolaraViz page for :class:`sim.model.MiningModel`.

``minersim ui [SCENARIO]`` serves :mod:`sim.ui.app` with ``solara run``. :mod:`sim.ui.params`
maps the page's sliders to scenario overrides (no Solara import, so it is cheap to test);
:mod:`sim.ui.charts` draws the charts and the miners' view.
"""

#: Environment variable naming the scenario (bundled name or TOML path) the page starts with.
SCENARIO_ENV = "MINERSIM_UI_SCENARIO"
#: Environment variable naming a folder whose TOML scenarios the page may also run.
SCENARIO_DIR_ENV = "MINERSIM_UI_SCENARIO_DIR"
