"""A batch folder as tables in memory: ``batch = sim.open_batch(DIR)``.

- ``batch.experiments``: one row per finished run: ``run``, ``point``, ``replicate``, ``seed``,
  ``stalled`` and the point's parameter values (levers first, then uncertainties);
- ``batch.outcomes(...)``: one row per finished run: ``run`` and one column per outcome
  (:mod:`sim.analysis.outcomes`: every epoch column's final value by default);
- ``batch.results(...)``: both, from one read, row for row (EMA Workbench's ``experiments,
  outcomes`` pair);
- ``batch.epochs(columns)``, ``batch.miners(columns)``: the stored rows themselves.

Nothing is read when the batch is opened but its metadata: each call reads the runs finished
so far from the Parquet dataset (only the columns it needs), so the tables of a batch still
running grow from one call to the next.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

import pandas as pd

from sim.analysis import outcomes as outcome_module
from sim.analysis.outcomes import Outcome
from sim.batch.plans import layout_table, lever_names
from sim.batch.store import read_epochs, read_metadata, read_miners
from sim.errors import MinersimError
from sim.results import EPOCH_COLUMNS

#: Columns of ``experiments`` before the parameters.
RUN_FIELDS = ("run", "point", "replicate", "seed", "stalled")
#: Epoch columns every outcome computation reads.
CLOCK_COLUMNS = ("run", "epoch", "date", "height", "epoch_days")


class Batch:
    """The results of one batch folder (written by ``minersim mc`` / ``sweep``, or by
    :func:`sim.monte_carlo` / :func:`sim.sweep`), read lazily."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.metadata = read_metadata(self.root)

    def __repr__(self) -> str:
        meta = self.metadata
        return (
            f"<Batch {self.root}: {meta['sampler']['kind']} of {meta.get('scenario_name')}, "
            f"{meta['points']} points x {meta['runs_per_point']} runs>"
        )

    # ------------------------------------------------------------------ design
    @property
    def parameters(self) -> list[str]:
        """Swept parameters (dotted scenario keys): levers first, then uncertainties."""
        return list(self.metadata["parameters"])

    @property
    def levers(self) -> list[str]:
        """Parameters marked as levers (``--lever``); empty for other batches."""
        return lever_names(self.metadata["sampler"])

    @property
    def uncertainties(self) -> list[str]:
        """Swept parameters that are not levers."""
        return [p for p in self.parameters if p not in self.levers]

    @property
    def total_runs(self) -> int:
        return int(self.metadata["total_runs"])

    @cached_property
    def runs_table(self) -> pd.DataFrame:
        """Every run id of the design (finished or not): run, point, replicate."""
        meta = self.metadata
        layout = meta.get("layout") or [[meta["points"], meta["runs_per_point"]]]
        return layout_table(layout)

    # ------------------------------------------------------------------ tables
    @property
    def experiments(self) -> pd.DataFrame:
        """One row per finished run: run, point, replicate, seed, stalled, parameters."""
        return self._experiments(self.epochs(self._run_columns()))

    def epochs(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored epoch rows of the finished runs (``columns`` only, when given)."""
        return read_epochs(self.root, columns=list(columns) if columns else None)

    def miners(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored per-agent rows (batches run with ``--miners``)."""
        if not self.metadata.get("miners"):
            raise MinersimError(f"{self.root} was run without --miners: it holds no miners table")
        return read_miners(self.root, columns=list(columns) if columns else None)

    def outcomes(
        self, outcomes: Iterable[Outcome | str] | None = None, declared: Iterable[Outcome] = ()
    ) -> pd.DataFrame:
        """One row per finished run: ``run`` and each outcome (objects, or names of epoch
        columns, standard outcomes or ``declared`` ones; default: all of the first two)."""
        return self.results(outcomes, declared)[1]

    def results(
        self, outcomes: Iterable[Outcome | str] | None = None, declared: Iterable[Outcome] = ()
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(experiments, outcomes)`` of the same finished runs, row for row, from one read."""
        columns = self.epoch_columns()
        outputs = [c for c in EPOCH_COLUMNS if c in columns and c not in ("epoch", "date")]
        chosen = outcome_module.resolve(outcomes, outputs, declared)
        wanted = [*self._run_columns(), *CLOCK_COLUMNS]
        wanted += [o.column for o in chosen if o.table == "epochs"]
        frame = self.epochs([c for c in dict.fromkeys(wanted) if c in columns])
        per_miner = [o for o in chosen if o.table == "miners"]
        miners = None
        if per_miner:
            miner_columns = ["run", "epoch", "name", *(o.column for o in per_miner)]
            miners = self.miners(list(dict.fromkeys(miner_columns)))
            miners = miners[miners["run"].isin(frame["run"].unique())]
        values = outcome_module.compute(frame, chosen, miners)
        experiments = self._experiments(frame)
        return experiments, values.reset_index(drop=True)

    def epoch_columns(self) -> list[str]:
        """Names of the stored epoch columns (read from one run file's schema)."""
        import pyarrow.parquet as pq

        from sim.batch.store import run_files

        present, _ = run_files(self.root / "epochs", self.total_runs)
        if not present:
            raise MinersimError(f"{self.root / 'epochs'} holds no finished runs yet")
        return list(pq.read_schema(next(iter(present.values()))).names)

    def _run_columns(self) -> list[str]:
        return ["run", "seed", "point", "stalled", *self.parameters]

    def _experiments(self, frame: pd.DataFrame) -> pd.DataFrame:
        first = frame.groupby("run", sort=True).first().reset_index()
        layout = self.runs_table.set_index("run")["replicate"]
        first["replicate"] = layout.reindex(first["run"]).to_numpy()
        return first[[*RUN_FIELDS, *self.parameters]]


def open_batch(root: str | os.PathLike) -> Batch:
    """Open a batch folder for analysis (nothing but its metadata is read yet)."""
    return Batch(root)


__all__ = ["Batch", "open_batch"]
