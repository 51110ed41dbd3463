"""The epoch engine: a run's parameters, state and phases, in numpy and numba only.

- :mod:`sim.engine.params` -- the scenario's constants, one flat bundle built once;
- :mod:`sim.engine.state` -- every per-agent array, table and the chain state; a read-only view;
- :mod:`sim.engine.world` -- the market processes, and an epoch's scratch values;
- :mod:`sim.engine.build` -- set-up from a scenario and a seed;
- :mod:`sim.engine.operate`, :mod:`~sim.engine.decide`, :mod:`~sim.engine.execute`,
  :mod:`~sim.engine.waterfall`, :mod:`~sim.engine.settle`, :mod:`~sim.engine.record` -- the phases;
- :mod:`sim.engine.epoch` -- the phase order (``PHASES``) and ``run_epoch``.

:class:`sim.model.MiningModel` is a Mesa adapter over it; :func:`sim.runner.run` drives it
without Mesa. Nothing here imports Mesa, pandas or pydantic.
"""
