"""Scenario input: the typed schema (:mod:`sim.input.schema`) and the loading of scenario files.

:mod:`sim.input.scenario` (the Scenario, loading, overrides, hashing) builds on
:mod:`sim.input.files` (confined, bounded file reading), :mod:`sim.input.documents` (TOML,
``extends``, dotted keys), :mod:`sim.input.tables` (the CSV tables) and :mod:`sim.input.sanity`
(unit mistakes, memory limits).
"""
