"""The bundled scenarios (TOML) and their CSV tables, installed as package data ``sim.scenarios``
(see sim/paths.py). Nothing to import here."""
