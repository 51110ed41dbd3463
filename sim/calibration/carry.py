"""The fit's end state carried into a later start: the factories' capacity on the last day.

With endogenous capacity (``machines.capacity_response_per_backlog_year`` > 0) the factories'
capacity is a state the history run builds from its 2016 level; a scenario that starts where the
fit window ends (the 2022 backtest) needs it as its own opening level. This reads it from the fit
runs themselves (the fitted values on the fit's seeds, nothing after the window)::

    python -m sim.calibration.carry scenarios/calibration/network.fit.json

prints the mean over the fit's seeds of ``machine_capacity_mw_per_year`` in the last epoch of the
fit scenario, MW of machines a year.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sim.calibration.results import read_fit
from sim.calibration.spec import load_spec
from sim.input.scenario import load_scenario
from sim.runner import run


def capacity_at_end(fit_json: str) -> float:
    """Mean over the fit's seeds of the factories' capacity in the fit scenario's last epoch,
    MW of machines a year, with the fitted values and the spec's fixed keys."""
    stats = read_fit(fit_json)
    spec = load_spec(Path(fit_json).with_name(Path(stats["spec"]).name))  # beside its fit
    overrides = {**stats["fixed"], **stats["fitted"]}
    scenario = load_scenario(spec.fit.scenario, overrides)
    ends = [
        float(run(scenario, seed=seed).epochs["machine_capacity_mw_per_year"].iloc[-1])
        for seed in stats["seeds"]
    ]
    return float(np.mean(ends))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.calibration.carry",
        description="The factories' capacity at the end of a fit's window (MW a year).",
    )
    parser.add_argument("fit_json", help="a fit's statistics (<name>.fit.json)")
    args = parser.parse_args(argv)
    print(f"{capacity_at_end(args.fit_json):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
