"""Calibration: fit named scenario parameters to historical series (docs/calibration.md).

- :mod:`sim.calibration.spec` -- the spec file: parameters (dotted keys) and bounds, windows,
  moment weights, the optimiser's budget;
- :mod:`sim.calibration.moments` -- moments of difficulty paths (monthly log difficulty, halving
  responses) for runs and for history, and the objective's terms;
- :mod:`sim.calibration.objective` -- candidates -> runs over common seeds -> loss, on any
  executor;
- :mod:`sim.calibration.driver` -- :func:`calibrate`: differential evolution, then the fit and
  validation statistics;
- :mod:`sim.calibration.results` -- the fragment file scenarios ``extends`` and its statistics;
- :mod:`sim.calibration.figure` -- simulated bands and the benchmark against history.
"""

from sim.calibration.driver import calibrate
from sim.calibration.results import CalibrationResult, read_fit
from sim.calibration.spec import CalibrationSpec, load_spec

__all__ = ["CalibrationResult", "CalibrationSpec", "calibrate", "load_spec", "read_fit"]
