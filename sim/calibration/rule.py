"""The network fit's adoption rule (docs/calibration.md), written before the fit, as code.

A fit's statistics (``<name>.fit.json``, :func:`sim.calibration.read_fit`) pass when, on the fit's
own seeds:

1. the RMSE of monthly log difficulty over the whole fit window is at most WHOLE_RMSE;
2. the RMSE over each of its sub-periods (SUB_PERIODS) is at most PART_RMSE;
3. the rolling-origin run (the spec's ``[validation]``) has an RMSE of at most ORIGIN_RMSE;
4. each halving in the fit window is within HALVING_POINTS percentage points of history's
   drawdown and HALVING_DAYS days of its recovery;
5. the factories' output in each shipment period of the fit window (data/asic_market_mw.csv)
   lies within the data's band widened by a factor SHIPMENT_FACTOR either way (attempt 4 on).

:func:`judge` lists what fails; the report and the docs quote it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.calibration.moments import shipment_miss

WHOLE_RMSE = 0.15
PART_RMSE = 0.20
ORIGIN_RMSE = 0.20
HALVING_POINTS = 5.0
HALVING_DAYS = 45.0
SHIPMENT_FACTOR = 1.5
#: The fit window's sub-periods (first and last month, inclusive).
SUB_PERIODS = (("2016-01-01", "2019-12-01"), ("2020-01-01", "2021-12-01"))


@dataclass(frozen=True)
class Verdict:
    """Whether a fit passes the rule, and each failed clause in words."""

    passes: bool
    failures: tuple[str, ...]


def _rmse(stats: dict, first: str, last: str) -> float:
    """RMSE of the mean-over-seeds monthly log difficulty against history on [first, last]."""
    paths = stats["paths"]
    months = np.array(paths["months"])
    keep = (months >= first) & (months <= last)
    error = np.mean(np.array(paths["runs"], dtype=float), axis=0) - np.array(paths["history"])
    return float(np.sqrt(np.mean(error[keep] ** 2)))


def judge(fit: dict) -> Verdict:
    """The rule applied to a fit's statistics (the dict of its ``.fit.json``)."""
    failures = []
    whole = fit["fit"]["rmse_log_difficulty"]
    if whole > WHOLE_RMSE:
        failures.append(f"RMSE over the fit window {whole:.3f} > {WHOLE_RMSE}")
    for first, last in SUB_PERIODS:
        part = _rmse(fit["fit"], first, last)
        if part > PART_RMSE:
            failures.append(f"RMSE {first[:7]}..{last[:7]} {part:.3f} > {PART_RMSE}")
    origin = fit.get("validation")
    if origin and origin["rmse_log_difficulty"] > ORIGIN_RMSE:
        failures.append(
            f"RMSE from the rolling origin {origin['rmse_log_difficulty']:.3f} > {ORIGIN_RMSE}"
        )
    for height, h in fit["fit"]["halvings"].items():
        points = abs(h["sim_drawdown_pct"] - h["history_drawdown_pct"])
        days = abs(h["sim_recovery_days"] - h["history_recovery_days"])
        if points > HALVING_POINTS or days > HALVING_DAYS:
            failures.append(
                f"halving {int(height):,}: {h['sim_drawdown_pct']:+.1f}% / "
                f"{h['sim_recovery_days']:.0f} d against history's "
                f"{h['history_drawdown_pct']:+.1f}% / {h['history_recovery_days']:.0f} d"
            )
    for period, s in fit["fit"].get("shipments", {}).items():
        if shipment_miss(s["sim_mw"], s["low_mw"], s["high_mw"]) > math.log(SHIPMENT_FACTOR):
            failures.append(
                f"machines shipped {period}: {s['sim_mw']:,.0f} MW against "
                f"{s['low_mw']:,.0f}-{s['high_mw']:,.0f} (x{SHIPMENT_FACTOR} allowed)"
            )
    return Verdict(passes=not failures, failures=tuple(failures))


__all__ = ["Verdict", "judge"]
