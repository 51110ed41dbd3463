"""Scenario input: the typed schema (:mod:`sim.input.schema`) and loading, validation,
overrides and hashing of scenario files and their tables (:mod:`sim.input.scenario`)."""
