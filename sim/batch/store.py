"""Batch results on disk: a Parquet dataset written one run at a time, and its metadata.

Layout of a batch folder ``DIR``::

    DIR/metadata.json              what produced the results (written once, before any run)
    DIR/points.csv                 parameter values of each point (sweeps only)
    DIR/runs.jsonl                 one line per finished run: its files' sizes and SHA-256, and
                               whether its chain stalled
    DIR/epochs/run-000123.parquet  one row per epoch of run 123
    DIR/miners/run-000123.parquet  one row per agent per epoch of run 123 (with --miners)
    DIR/.lock                      held (flock) by the process writing the batch

Every file is written under a temporary name starting with ``.tmp-`` in the same folder and
renamed with :func:`os.replace`, which is atomic. Metadata is flushed to disk (fsync) at once;
run files and their ledger lines once per :data:`SYNC_EVERY_RUNS` runs and when the store
closes: a killed batch loses nothing written, a power cut at most the last chunk's runs, which
the checks below find damaged or missing and run again. Each Parquet file carries its run id
and row count in its key-value metadata. A run counts as done when its files exist and either
match their line in ``runs.jsonl`` (size and SHA-256) or, without a line (a copied file, or a
kill between the rename and the line), read as Parquet with the right run id and row count.
Anything else (a truncated or corrupted file, a file of another run under this name) is re-run
on resume, with a warning.

Only files named exactly ``run-NNNNNN.parquet`` for a run of the batch are read; anything else in
``epochs/`` or ``miners/`` (``run-000003 (copy).parquet``, a nested folder, notes) is ignored
with one warning. A second process that opens the same folder while a batch writes to it stops
with an error instead of redoing the same runs.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from sim.errors import MinersimError
from sim.input.files import read_json, read_regular
from sim.outputs import (
    LOCK_FILE,
    TEMP_PREFIX,
    FolderLock,
    atomic_write,
    fsync_file,
    fsync_folder,
    remove_temp_entries,
)

METADATA_FILE = "metadata.json"
POINTS_FILE = "points.csv"
LEDGER_FILE = "runs.jsonl"
RUN_PREFIX = "run-"
RUN_SUFFIX = ".parquet"
#: Format of the batch folder: 2 added the ``stalled`` column, run stamps and runs.jsonl.
FORMAT = "minersim-batch/2"
FORMAT_FAMILY = "minersim-batch/"
#: Key of the run's id and row count in each Parquet file's key-value metadata.
RUN_METADATA_KEY = b"minersim.run"
#: Runs written between two flushes to disk of the run files, their folders and the ledger.
SYNC_EVERY_RUNS = 16
#: Largest metadata.json read (bytes).
MAX_METADATA_BYTES = 1 << 20
#: Largest points.csv read (bytes): MAX_POINTS points of a few parameters.
MAX_POINTS_BYTES = 1 << 30
#: Largest runs.jsonl read (bytes): a line is about 250 bytes, a batch at most MAX_RUNS runs.
MAX_LEDGER_BYTES = 4 << 30
#: Largest run file read (bytes): a run's miners table with 10^5 agents over 30 years is < 1 GiB.
MAX_RUN_FILE_BYTES = 2 << 30
_RUN_NAME = re.compile(r"run-([0-9]{6,})\.parquet")

#: Metadata keys that must be equal for a batch to resume in an existing folder.
RESUME_KEYS = (
    "format",
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
    "crn",
    "layout",
)

#: Values of resume keys that folders written before the key existed do not record.
RESUME_DEFAULTS = {
    "crn": False,
    "layout": lambda meta: [[meta.get("points"), meta.get("runs_per_point")]],
}

#: Resume keys that change when a batch grows in place (more runs per point, a larger design):
#: the runner checks that the folder's runs stay what they were (sim.batch.plans.grown).
GROWTH_KEYS = ("sampler", "points", "points_sha256", "runs_per_point", "total_runs", "layout")

#: Metadata keys that may differ on resume, with a warning: the simulator's source files changed
#: since the batch started (same package version), so old and new runs may not be comparable.
WARN_KEYS = ("code_sha256",)


def run_file_name(run_id: int) -> str:
    """``run-000123.parquet`` (six digits, more when needed)."""
    return f"{RUN_PREFIX}{run_id:06d}{RUN_SUFFIX}"


def run_id_of(name: str) -> int | None:
    """The run id of a canonical run file name, else None (``run-000003 (copy).parquet``,
    ``run-0000003.parquet``, ``.tmp-...``)."""
    match = _RUN_NAME.fullmatch(name)
    if match is None:
        return None
    run_id = int(match.group(1))
    return run_id if run_file_name(run_id) == name else None


def frame_to_parquet(frame: pd.DataFrame, run_id: int | None = None) -> bytes:
    """A DataFrame as the bytes of a Parquet file (no index); with ``run_id``, the run's id
    and row count go into the file's key-value metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if run_id is not None:
        stamp = json.dumps({"run": int(run_id), "rows": table.num_rows}).encode()
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), RUN_METADATA_KEY: stamp}
        )
    sink = io.BytesIO()
    pq.write_table(table, sink, write_page_checksum=True)
    return sink.getvalue()


def json_normalized(value: object) -> object:
    """``value`` as it reads back from JSON (tuples become lists, dates become strings)."""
    return json.loads(json.dumps(value, default=str))


class BatchStore:
    """The folder of one batch: metadata, run files, resume bookkeeping, the writer's lock."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.epochs_dir = self.root / "epochs"
        self.miners_dir = self.root / "miners"
        self.metadata_path = self.root / METADATA_FILE
        self.ledger_path = self.root / LEDGER_FILE
        self._lock_handle = None
        self._unsynced: list[Path] = []  # run files written since the last flush to disk
        self._unsynced_runs = 0

    # ---------------------------------------------------------------- opening and locking
    def open(self, metadata: dict, points: pd.DataFrame | None = None, grows: bool = False) -> None:
        """Start or resume a batch: take the folder's lock, write ``metadata`` (and the points
        table), or check that the metadata already there describes the same batch; delete temp
        files of killed runs. ``grows``: the batch is extended in place, so its size keys
        (:data:`GROWTH_KEYS`) may differ; the metadata and points table are rewritten (the
        first ``created`` stays, ``extended`` lists when it grew).

        Raises MinersimError naming every setting that differs from the existing metadata, or
        saying which process holds the lock.
        """
        metadata = json_normalized(metadata)
        try:
            for folder in (self.root, self.epochs_dir, self.miners_dir):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MinersimError(f"cannot create the batch folder {self.root}: {exc}") from None
        self._lock()
        if self.metadata_path.exists():
            old = read_metadata(self.root)
            self._check_same_batch(old, metadata, GROWTH_KEYS if grows else ())
            self.remove_temp_files()
            if grows:
                extended = [*old.get("extended", []), _now()]
                metadata = {**metadata, "created": old.get("created"), "extended": extended}
                if points is not None:
                    atomic_write(self.root / POINTS_FILE, points.to_csv(index=False).encode())
                text = json.dumps(metadata, indent=2) + "\n"
                atomic_write(self.metadata_path, text.encode())
        else:
            self.remove_temp_files()
            if any(self.epochs_dir.iterdir()) or self.ledger_path.exists():
                raise MinersimError(
                    f"{self.epochs_dir} holds files but {self.metadata_path} is missing; "
                    "use an empty --out folder"
                )
            if points is not None:
                atomic_write(self.root / POINTS_FILE, points.to_csv(index=False).encode())
            atomic_write(self.metadata_path, (json.dumps(metadata, indent=2) + "\n").encode())
        self._end_ledger_line()

    def close(self) -> None:
        """Flush the runs written to disk (:meth:`sync`) and release the folder's lock."""
        try:
            self.sync()
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_handle is not None:
            self._lock_handle.release()
            self._lock_handle = None

    def discard(self) -> None:
        """Delete the folder of a batch that this process created and that holds no run (a
        batch that failed before its first run), then release the lock."""
        if any(run_files(self.epochs_dir)[0]) or any(run_files(self.miners_dir)[0]):
            return
        shutil.rmtree(self.root, ignore_errors=True)
        self.close()

    def __enter__(self) -> BatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lock(self) -> None:
        lock = FolderLock(
            self.root,
            "batch",
            "wait for it to finish (then the same command resumes) or use another --out folder",
        )
        lock.acquire()
        self._lock_handle = lock

    def _check_same_batch(self, old: dict, new: dict, growing: tuple[str, ...] = ()) -> None:
        differences = [
            f"{key} is {_short(_resume_value(old, key))} there but "
            f"{_short(_resume_value(new, key))} now"
            for key in RESUME_KEYS
            if key not in growing and _resume_value(old, key) != _resume_value(new, key)
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
        return sum(
            remove_temp_entries(folder) for folder in (self.root, self.epochs_dir, self.miners_dir)
        )

    # ---------------------------------------------------------------- resume
    def done_mask(self, total_runs: int, miners: bool) -> np.ndarray:
        """Boolean array: ``mask[run_id]`` is True when that run's files are complete and
        verified on disk. Damaged run files are reported in one warning (they are re-run)."""
        ledger = self.read_ledger()
        folders = [self.epochs_dir, *([self.miners_dir] if miners else [])]
        done = np.ones(total_runs, dtype=bool)
        damaged: list[str] = []
        for folder in folders:
            present, strays = run_files(folder, total_runs)
            _warn_strays(folder, strays)
            in_folder = np.zeros(total_runs, dtype=bool)
            for run_id, path in present.items():
                record = ledger.get(run_id, {}).get(folder.name)
                if _verified(path, run_id, record):
                    in_folder[run_id] = True
                else:
                    damaged.append(f"{folder.name}/{path.name}")
            done &= in_folder
        if damaged:
            shown = ", ".join(damaged[:5]) + (
                f" and {len(damaged) - 5} more" if len(damaged) > 5 else ""
            )
            warnings.warn(
                f"{self.root}: {len(damaged)} damaged run file(s) will be run again: {shown}",
                stacklevel=3,
            )
        return done

    def read_ledger(self) -> dict[int, dict]:
        """``runs.jsonl`` as {run id: {"epochs": {...}, "miners": {...}}}; torn lines skipped."""
        if not self.ledger_path.exists() and not self.ledger_path.is_symlink():
            return {}
        data = read_regular(self.ledger_path, MAX_LEDGER_BYTES, shown=str(self.ledger_path))
        text = data.decode("utf-8", errors="replace")
        ledger: dict[int, dict] = {}
        for line in text.splitlines():
            try:
                record = json.loads(line)
                ledger[int(record["run"])] = record
            except (ValueError, KeyError, TypeError, RecursionError):
                continue  # a line torn by a kill, or edited by hand
        return ledger

    def stalled_runs(self) -> int:
        """How many runs recorded in ``runs.jsonl`` stalled (their chain stopped early)."""
        return sum(bool(record.get("stalled")) for record in self.read_ledger().values())

    def _end_ledger_line(self) -> None:
        """After a kill in the middle of a ledger line, start the next line on a new line."""
        if not self.ledger_path.exists() and not self.ledger_path.is_symlink():
            return
        data = read_regular(self.ledger_path, MAX_LEDGER_BYTES, shown=str(self.ledger_path))
        if data and not data.endswith(b"\n"):
            with self.ledger_path.open("ab") as handle:
                handle.write(b"\n")

    # ---------------------------------------------------------------- writing runs
    def write_run(
        self, run_id: int, epochs: bytes, miners: bytes | None, stalled: bool = False
    ) -> None:
        """Store one finished run (Parquet bytes): the files first (miners before epochs),
        then its line in ``runs.jsonl``; flushed to disk with the chunk it ends, or at
        :meth:`close`."""
        name = run_file_name(run_id)
        record: dict[str, object] = {"run": int(run_id), "stalled": bool(stalled)}
        if miners is not None:
            atomic_write(self.miners_dir / name, miners, sync=False)
            self._unsynced.append(self.miners_dir / name)
            record["miners"] = _fingerprint(miners)
        atomic_write(self.epochs_dir / name, epochs, sync=False)
        self._unsynced.append(self.epochs_dir / name)
        record["epochs"] = _fingerprint(epochs)
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        with self.ledger_path.open("ab") as handle:
            handle.write(line)
        self._unsynced_runs += 1
        if self._unsynced_runs >= SYNC_EVERY_RUNS:
            self.sync()

    def sync(self) -> None:
        """Flush to disk the run files written since the last flush, their folders' entries,
        then the ledger."""
        if not self._unsynced:
            return
        for path in self._unsynced:
            fsync_file(path)
        for folder in {path.parent for path in self._unsynced}:
            fsync_folder(folder)
        fsync_file(self.ledger_path)
        self._unsynced.clear()
        self._unsynced_runs = 0


def _resume_value(metadata: dict, key: str) -> object:
    """``metadata[key]``, or for folders written before the key existed its implied value."""
    if key in metadata or key not in RESUME_DEFAULTS:
        return metadata.get(key)
    default = RESUME_DEFAULTS[key]
    return default(metadata) if callable(default) else default


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat(timespec="seconds")


def _fingerprint(data: bytes) -> dict:
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _verified(path: Path, run_id: int, record: dict | None) -> bool:
    """A run file is complete: it matches its ledger line (size and SHA-256), or (no line) it
    reads as Parquet, every page's checksum holds, and it is stamped with this run id and its
    row count."""
    try:
        data = read_regular(path, MAX_RUN_FILE_BYTES)
    except MinersimError:
        return False
    if isinstance(record, dict):
        return record == _fingerprint(data)
    return _stamp_matches(data, run_id)


def _stamp_matches(data: bytes, run_id: int) -> bool:
    try:
        table = pq.read_table(pa.BufferReader(data), page_checksum_verification=True)
        stamp = json.loads((table.schema.metadata or {}).get(RUN_METADATA_KEY, b"{}"))
    except (OSError, ValueError, pa.ArrowException):
        return False
    return stamp == {"run": run_id, "rows": table.num_rows}


def run_files(folder: Path, total_runs: int | None = None) -> tuple[dict[int, Path], list[str]]:
    """The canonical run files of a folder ({run id: path}) and the names of everything else
    (temp files excluded). With ``total_runs``, run ids beyond the batch are strays too."""
    present: dict[int, Path] = {}
    strays: list[str] = []
    if not folder.is_dir():
        return present, strays
    for entry in os.scandir(folder):
        if entry.name.startswith(TEMP_PREFIX):
            continue
        run_id = run_id_of(entry.name)
        ok = run_id is not None and (total_runs is None or run_id < total_runs)
        if ok and entry.is_file(follow_symlinks=False):
            present[run_id] = Path(entry.path)
        else:
            strays.append(entry.name)
    return dict(sorted(present.items())), sorted(strays)


def _warn_strays(folder: Path, strays: list[str]) -> None:
    if strays:
        shown = ", ".join(repr(s) for s in strays[:3]) + (", ..." if len(strays) > 3 else "")
        warnings.warn(
            f"{folder}: ignoring {len(strays)} file(s) that are not run files of this batch "
            f"({shown})",
            stacklevel=3,
        )


def read_metadata(root: str | os.PathLike) -> dict:
    """The ``metadata.json`` of a batch folder, checked against the batch schema
    (:func:`check_metadata`); MinersimError, one line, if it is missing, not a regular file,
    too large, damaged or not a minersim batch's metadata."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise MinersimError(f"{root} is not a folder")
    path = root / METADATA_FILE
    try:
        metadata = read_json(path, MAX_METADATA_BYTES, shown=str(path))
    except MinersimError as exc:
        if not path.exists() and not path.is_symlink():
            raise MinersimError(f"{path} not found: not a minersim batch folder") from None
        raise MinersimError(f"{exc}; not a minersim batch's metadata") from None
    kind = metadata.get("format")
    if not (isinstance(kind, str) and kind.startswith(FORMAT_FAMILY)):
        raise MinersimError(
            f'{path} is not the metadata of a minersim batch (no "format": "{FORMAT}"); '
            "use another --out folder, or run the batch again in an empty one"
        )
    check_metadata(metadata, str(path))
    return metadata


#: Keys every batch's metadata.json has, with the type of their value.
_REQUIRED = {
    "scenario_name": str,
    "sampler": dict,
    "parameters": list,
    "points": int,
    "runs_per_point": int,
    "total_runs": int,
    "root_seed": int,
}
#: Keys that folders written by older versions may lack, with the type of their value.
_OPTIONAL = {
    "layout": list,
    "points_sha256": str,
    "overrides": dict,
    "miners": bool,
    "crn": bool,
    "created": str,
    "extended": list,
}


def check_metadata(metadata: dict, shown: str) -> None:
    """MinersimError (one line) unless the keys that readers and resume use have the types of
    :data:`_REQUIRED` and :data:`_OPTIONAL` and agree: ``total_runs = points x runs_per_point``,
    the ``layout`` is a list of (points, runs per point) pairs that never shrink and end at
    the batch's size, the parameters are names."""

    def damaged(what: str) -> MinersimError:
        return MinersimError(f"{shown}: {what}; the batch's metadata is damaged")

    for key, kind in (*_REQUIRED.items(), *_OPTIONAL.items()):
        if key not in metadata and key not in _REQUIRED:
            continue
        value = metadata.get(key)
        if not _is(value, kind):
            raise damaged(f'"{key}" is {_short(value, 40)}, not {_KIND_NAMES[kind]}')
    points, runs, total = metadata["points"], metadata["runs_per_point"], metadata["total_runs"]
    if min(points, runs, total) < 0 or total != points * runs:
        raise damaged(f"{total} runs is not {points} points x {runs} runs per point")
    if not all(isinstance(name, str) for name in metadata["parameters"]):
        raise damaged('"parameters" holds something else than names')
    if not isinstance(metadata["sampler"].get("kind"), str):
        raise damaged('"sampler" has no "kind"')
    layout = metadata.get("layout", [[points, runs]])
    steps = [step for step in layout if _is_size(step)]
    if (
        len(steps) != len(layout)
        or not steps
        or list(steps[-1]) != [points, runs]
        or any(a[0] > b[0] or a[1] > b[1] for a, b in itertools.pairwise(steps))
    ):
        raise damaged(
            f'"layout" {_short(layout, 40)} is not a list of [points, runs per point] that grows '
            f"to [{points}, {runs}]"
        )


_KIND_NAMES = {
    str: "text",
    dict: "an object",
    list: "a list",
    int: "an integer",
    bool: "true or false",
}


def _is(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _is_size(step: object) -> bool:
    return isinstance(step, list) and len(step) == 2 and all(_is(n, int) and n >= 0 for n in step)


def read_points(root: str | os.PathLike) -> pd.DataFrame:
    """The ``points.csv`` of a sweep's folder (MinersimError, one line, if it is not a regular
    file, too large or not a table)."""
    path = Path(root) / POINTS_FILE
    data = read_regular(path, MAX_POINTS_BYTES, shown=str(path))
    try:
        frame = pd.read_csv(io.BytesIO(data))
    except (ValueError, pd.errors.ParserError) as exc:
        raise MinersimError(f"{path} is not a table of points: {exc}") from None
    if "point" not in frame.columns:
        raise MinersimError(f'{path} has no "point" column: not a table of points')
    return frame


def read_epochs(root: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """All finished runs' epoch rows (columns run, seed, point, stalled, parameters, epoch
    columns), sorted by run and epoch. ``columns`` limits what is read (less memory)."""
    return _read_table(Path(root), "epochs", columns, ["run", "epoch"])


def read_miners(root: str | os.PathLike, columns: list[str] | None = None) -> pd.DataFrame:
    """All finished runs' per-agent rows (batches run with ``miners=True``), sorted by run,
    epoch and miner id."""
    if (Path(root) / METADATA_FILE).is_file() and read_metadata(root).get("miners") is False:
        raise MinersimError(
            f"{root} was run without --miners (miners=False): it has no per-agent table; run the "
            "batch again with --miners into a new folder"
        )
    return _read_table(Path(root), "miners", columns, ["run", "epoch", "miner_id"])


def _read_table(
    root: Path, table: str, columns: list[str] | None, order: list[str]
) -> pd.DataFrame:
    folder = root / table
    if not folder.is_dir():
        raise MinersimError(f"{folder} not found: not a minersim batch folder")
    total = read_metadata(root).get("total_runs")
    present, strays = run_files(folder, total if isinstance(total, int) else None)
    _warn_strays(folder, strays)
    if not present:
        raise MinersimError(f"{folder} holds no finished runs yet")
    ledger = BatchStore(root).read_ledger()
    damaged = [
        path.name
        for run_id, path in present.items()
        if not _verified(path, run_id, ledger.get(run_id, {}).get(table))
    ]
    if damaged:
        more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
        raise MinersimError(
            f"{folder}: {len(damaged)} damaged run file(s) ({', '.join(damaged[:3])}{more}); "
            "run the same mc or sweep command again: it re-runs damaged runs"
        )
    files = [str(path) for path in present.values()]
    try:
        dataset = ds.dataset(files, format="parquet")
        missing = sorted(set(columns or ()) - set(dataset.schema.names))
        if missing:
            raise MinersimError(f"{folder}: no such column(s): {', '.join(missing)}")
        frame = dataset.to_table(columns=columns).to_pandas()
    except (OSError, pa.ArrowException) as exc:  # changed while being read
        raise MinersimError(f"{folder}: cannot read the run files: {exc}") from None

    by = [c for c in order if c in frame.columns]
    return frame.sort_values(by, ignore_index=True) if by else frame


def _short(value: object, limit: int = 80) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "LEDGER_FILE",
    "LOCK_FILE",
    "METADATA_FILE",
    "POINTS_FILE",
    "RESUME_KEYS",
    "BatchStore",
    "atomic_write",
    "frame_to_parquet",
    "read_epochs",
    "read_metadata",
    "read_miners",
    "read_points",
    "run_file_name",
    "run_files",
]
