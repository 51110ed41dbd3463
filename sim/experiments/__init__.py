"""The research questions as importable modules: ``python -m sim.experiments.NAME`` runs one
(``--help`` lists its options); :mod:`sim.experiments.run_all` runs them all."""
