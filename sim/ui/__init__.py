"""The browser UI: a page built on Mesa's SolaraViz parts for :class:`sim.model.MiningModel`.

``minersim ui [SCENARIO]`` serves :mod:`sim.ui.app` with ``solara run``. :mod:`sim.ui.params`
maps the page's sliders to scenario overrides; :mod:`sim.ui.data` reads the recorded results;
:mod:`sim.ui.charts` makes the miners' table, the reasons panel and the charts, drawn by
:mod:`sim.ui.svg` (none of these three imports Solara, so they are cheap to test).
"""

#: Environment variable naming the scenario (bundled name or TOML path) the page starts with.
SCENARIO_ENV = "MINERSIM_UI_SCENARIO"
#: Environment variable naming a folder whose TOML scenarios the page may also run.
SCENARIO_DIR_ENV = "MINERSIM_UI_SCENARIO_DIR"
