"""Batch results on disk: a Parquet dataset written one run at a time, and its metadata.

Layout of a batch folder ``DIR``::

    DIR/metadata.json              what produced the results (written once, before any run)
    DIR/points.csv                 parameter values of each point (sweeps only)
    DIR/epochs/run-000123.parquet  one row per epoch of run 123
    DIR/miners/run-000123.parquet  one row per agent per epoch of run 123 (with --miners)

Every file is written under a temporary name starting with ``.tmp-`` in the same folder and then
renamed with :func:`os.replace`, which is atomic: a run file that exists is complete, and a killed
process leaves at most a ``.tmp-`` file, which readers ignore (pyarrow skips names starting with
``.``) and :meth:`BatchStore.open` deletes. A run counts as done when its epochs file exists (its
miners file, when asked for, is written first).
"""

from __future__ import annotations

import io
import json
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import MinersimError

METADATA_FILE = "metadata.json"
POINTS_FILE = "points.csv"
TEMP_PREFIX = ".tmp-"
RUN_PREFIX = "run-"
RUN_SUFFIX = ".parquet"

#: Metadata keys that must be equal for a batch to resume in an existing folder.
RESUME_KEYS = (
    "scenario_name",
    "scenario_hash",
    "package_version",
    "sampler",
    "parameters",
    "points_sha256",
    "root_seed",
    "runs_per_point",
    "points",
    "total_runs",
    "overrides",
    "miners",
)

#: Metadata keys that may differ on resume, with a warning: the simulator's source files changed
#: since the batch started (same package version), so old and new runs may not be comparable.
WARN_KEYS = ("code_sha256",)


def run_file_name(run_id: int) -> str:
    """``run-000123.parquet`` (six digits, more when needed)."""
    return f"{RUN_PREFIX}{run_id:06d}{RUN_SUFFIX}"


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    """A DataFrame as the bytes of a Parquet file (no index)."""
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def json_normalized(value: object) -> object:
    """``value`` as it reads back from JSON (tuples become lists, dates become strings)."""
    return json.loads(json.dumps(value, default=str))


class BatchStore:
    """The folder of one batch: metadata, run files, resume bookkeeping."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.epochs_dir = self.root / "epochs"
        self.miners_dir = self.root / "miners"
        self.metadata_path = self.root / METADATA_FILE

    def open(self, metadata: dict, points: pd.DataFrame | None = None) -> None:
        """Start or resume a batch: write ``metadata`` (and the points table), or check that the
        metadata already there describes the same batch; delete temp files of killed runs.

        Raises MinersimError naming every setting that differs from the existing metadata.
        """
        metadata = json_normalized(metadata)
        try:
            for folder in (self.root, self.epochs_dir, self.miners_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MinersimError(f"cannot create the batch folder {self.root}: {exc}") from None
        if self.metadata_path.exists():
            self._check_same_batch(read_metadata(self.root), metadata)
            self.remove_temp_files()
        else:
            self.remove_temp_files()
            if any(self.epochs_dir.iterdir()):
                raise MinersimError(
                    f"{self.epochs_dir} holds run files but {self.metadata_path} is missing; "
                    "use an empty --out folder"
                )
            if points is not None:
                atomic_write(self.root / POINTS_FILE, points.to_csv(index=False).encode())
            atomic_write(self.metadata_path, (json.dumps(metadata, indent=2) + "\n").encode())

    def _check_same_batch(self, old: dict, new: dict) -> None:
        differences = [
            f"{key} is {_short(old.get(key))} there but {_short(new.get(key))} now"
            for key in RESUME_KEYS
            if old.get(key) != new.get(key)
        ]
        if differences:
            raise MinersimError(
                f"{self.metadata_path} belongs to a different batch, so it cannot be resumed: "
                + "; ".join(differences)
                + ". Use a new --out folder, or repeat the original command to resume."
            )
        for key in WARN_KEYS:
            if old.get(key) != new.get(key):
                warnings.warn(
                    f"{self.metadata_path}: {key} differs (the simulator's source changed since "
                    "the batch started): runs made before and after may differ",
                    stacklevel=4,
                )

    def remove_temp_files(self) -> int:
        """Delete ``.tmp-*`` files left by killed processes; return how many there were."""
        removed = 0
        for folder in (self.root, self.epochs_dir, self.miners_dir):
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if entry.name.startswith(TEMP_PREFIX) and entry.is_file():
                    Path(entry.path).unlink(missing_ok=True)
                    removed += 1
        return removed

    def done_mask(self, total_runs: int, miners: bool) -> np.ndarray:
        """Boolean array: ``mask[run_id]`` is True when that run's files are complete on disk."""
        done = self._run_ids_in(self.epochs_dir, total_runs)
        if miners:
            done &= self._run_ids_in(self.miners_dir, total_runs)
        return done

    @staticmethod
    def _run_ids_in(folder: Path, total_runs: int) -> np.ndarray:
        present = np.zeros(total_runs, dtype=bool)
        for entry in os.scandir(folder):
            name = entry.name
            if name.startswith(RUN_PREFIX) and name.endswith(RUN_SUFFIX):
                digits = name[len(RUN_PREFIX) : -len(RUN_SUFFIX)]
                if digits.isdigit() and int(digits) < total_runs:
                    present[int(digits)] = True
        return present

    def write_run(self, run_id: int, epochs: bytes, miners: bytes | None) -> None:
        """Store one finished run (Parquet bytes); the miners file first, so that an existing
        epochs file always means a complete run."""
        name = run_file_name(run_id)
        if miners is not None:
            atomic_write(self.miners_dir / name, miners)
        atomic_write(self.epochs_dir / name, epochs)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` and rename it into place."""
    temp = path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def read_metadata(root: str | os.PathLike) -> dict:
    """The ``metadata.json`` of a batch folder."""
    path = Path(root) / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise MinersimError(f"{path} not found: not a minersim batch folder") from None
    except json.JSONDecodeError as exc:
        raise MinersimError(f"{path} is not valid JSON: {exc}") from None


def read_epochs(root: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """All finished runs' epoch rows (columns run, seed, point, parameters, epoch columns),
    sorted by run and epoch. ``columns`` limits what is read (less memory for big batches)."""
    return _read_table(Path(root) / "epochs", columns, ["run", "epoch"])


def read_miners(root: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """All finished runs' per-agent rows (batches run with ``miners=True``), sorted by run,
    epoch and miner id."""
    return _read_table(Path(root) / "miners", columns, ["run", "epoch", "miner_id"])


def _read_table(folder: Path, columns: list[str] | None, order: list[str]) -> pd.DataFrame:
    if not folder.is_dir():
        raise MinersimError(f"{folder} not found: not a minersim batch folder")
    dataset = ds.dataset(folder, format="parquet")
    if not dataset.files:
        raise MinersimError(f"{folder} holds no finished runs yet")
    missing = sorted(set(columns or ()) - set(dataset.schema.names))
    if missing:
        raise MinersimError(f"{folder}: no such column(s): {', '.join(missing)}")
    frame = dataset.to_table(columns=columns).to_pandas()
    by = [c for c in order if c in frame.columns]
    return frame.sort_values(by, ignore_index=True) if by else frame


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "METADATA_FILE",
    "POINTS_FILE",
    "RESUME_KEYS",
    "BatchStore",
    "atomic_write",
    "frame_to_parquet",
    "read_epochs",
    "read_metadata",
    "read_miners",
    "run_file_name",
]
