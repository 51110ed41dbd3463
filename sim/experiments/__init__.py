"""The research questions as importable modules: ``python -m sim.experiments.NAME`` runs one
(``--help`` lists its options); :mod:`sim.experiments.run_all` runs them all."""

from pathlib import Path

#: The experiments, in the order ``minersim experiment all`` runs them (one module each).
EXPERIMENTS = (
    "cost_to_mine",
    "debt_surge",
    "ai_pivot",
    "decoupling",
    "small_vs_large",
    "treasury_diversification",
    "halving_2028",
    "default_drivers",
    "backtest",
)
#: Output root of the experiments (files go to DEFAULT_OUT/NAME/).
DEFAULT_OUT = Path("results") / "experiments"
