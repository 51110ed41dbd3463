"""Defaults and help texts of the analysis that the command line shows in its help: here, so
that building the ``minersim`` parser does not import the analysis (pandas, EMA Workbench).
:mod:`sim.analysis.discovery` and :mod:`sim.analysis.outcomes` use them from here."""

from __future__ import annotations

#: PRIM's smallest box (EMA Workbench's default): stop peeling at 5% of the runs.
MASS_MIN = 0.05
#: The chosen PRIM box: the largest coverage among the boxes at least this dense.
MIN_DENSITY = 0.8
#: The outcome specification :func:`sim.analysis.outcomes.parse_outcome` reads.
SPEC_HELP = (
    "NAME=REDUCER(COLUMN[MINERS], ARGS): final, mean (ARGS: start, end dates), max, min, "
    "max_drawdown, after_halving and halving_recovery (ARG: height), or "
    "time_to(COLUMN[MINERS] >= VALUE); [MINERS]: names from the miners table, comma-separated"
)

__all__ = ["MASS_MIN", "MIN_DENSITY", "SPEC_HELP"]
