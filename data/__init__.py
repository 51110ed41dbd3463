"""The historical series (history/) and the sources document (sources.md), installed as package
data ``sim.data`` (see sim/paths.py). Nothing to import here."""
