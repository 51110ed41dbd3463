"""Results folders on disk: a single run's folder, safe output folders, and what a folder holds.

A run folder (``minersim run``, ``minersim main``)::

    DIR/epochs.parquet, DIR/miners.parquet    the run's tables (docs/outputs.md)
    DIR/metadata.json                         what produced them (:func:`run_metadata`)
    DIR/report.md, DIR/figures/               written by ``minersim report`` / ``--report``
    DIR/mc/                                   ``minersim main``: a Monte Carlo batch folder
    DIR/experiments/NAME/                     ``minersim main``: the experiments' outputs

A batch folder (``minersim mc`` / ``sweep``) has the layout of :mod:`sim.batch.store`.

Nothing is overwritten silently: :func:`prepare_output` refuses a folder that already holds
results unless it is told to replace them (a batch folder, never), and then the old report goes
with them, so a report never describes a run that is no longer there. A run folder is written
under the folder's lock into a temporary folder and moved into place when complete
(:func:`run_folder`), so it is complete or absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from sim.batch.store import (
    MAX_METADATA_BYTES,
    METADATA_FILE,
    frame_to_parquet,
    json_normalized,
)
from sim.errors import MinersimError
from sim.input.files import read_json as read_json_file
from sim.outputs import atomic_write, staged_folder

RUN_FORMAT = "minersim-run/1"
BATCH_FORMAT_PREFIX = "minersim-batch/"
RUN_TABLES = ("epochs.parquet", "miners.parquet")
#: What a run folder may hold that minersim wrote (and may replace).
OWNED = (*RUN_TABLES, METADATA_FILE, "report.md", "figures", "mc", "experiments", "tables")


def default_run_folder(scenario_name: str, seed: int, overrides: Mapping[str, object]) -> Path:
    """``results/NAME-seedS`` or, with overrides, ``results/NAME-seedS-HASH``: HASH is the first 8
    hex digits of the SHA-256 of the overrides as sorted JSON, so each variant gets its folder."""
    folder = f"{scenario_name}-seed{seed}"
    if overrides:
        text = json.dumps(json_normalized(dict(overrides)), sort_keys=True)
        folder += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return Path("results") / folder


def read_json(path: Path) -> dict | None:
    """A metadata file's content (a bounded read of a regular file holding a JSON object), or
    None if the file is absent."""
    if not path.exists() and not path.is_symlink():
        return None
    return read_json_file(path, MAX_METADATA_BYTES, shown=str(path))


def folder_kind(root: Path) -> str:
    """``"run"`` (a single run's tables) or ``"batch"`` (a Monte Carlo or sweep folder)."""
    meta = read_json(root / METADATA_FILE) or {}
    if str(meta.get("format", "")).startswith(BATCH_FORMAT_PREFIX):
        return "batch"
    for name in RUN_TABLES:  # readers open them: a FIFO would hang, /dev/zero never end
        table = root / name
        if (table.exists() or table.is_symlink()) and not table.is_file():
            raise MinersimError(f"{table} is not a regular file: not a run's table")
    if (root / "epochs.parquet").is_file():
        return "run"
    if not root.is_dir():
        raise MinersimError(f"{root}: no such folder")
    raise MinersimError(
        f"{root}: not a results folder (no epochs.parquet of a run, no metadata.json of a batch); "
        f"write one with `minersim run SCENARIO --out {root}` or `minersim mc SCENARIO --out {root}`"
    )


def prepare_output(out: Path, replace: bool, replaceable_command: str | None = None) -> list[str]:
    """Check that ``out`` may receive new results, never overwriting old ones silently; return
    the names of the old results the new ones replace (:func:`run_folder` removes them
    only once the new results are on disk).

    A folder that does not exist or holds no results is used as it is. One that holds a run's
    results (its tables, its metadata.json) is refused unless ``replace`` is true or its
    metadata says it was written by ``replaceable_command`` (``minersim main`` re-runs into its
    own folder); then what minersim wrote there (:data:`OWNED`) is replaced, the old report
    included. A batch folder is never replaced by a run, not even with ``replace``.
    """
    if out.exists() and not out.is_dir():
        raise MinersimError(f"{out} exists and is not a folder")
    present = [name for name in OWNED if (out / name).exists() or (out / name).is_symlink()]
    holds_results = any(name in present for name in (*RUN_TABLES, METADATA_FILE))
    if not holds_results:
        return present if replace else []
    meta = read_json(out / METADATA_FILE) or {}
    if str(meta.get("format", "")).startswith(BATCH_FORMAT_PREFIX) or (out / "epochs").is_dir():
        raise MinersimError(
            f"{out} holds a Monte Carlo or sweep batch; a run never replaces one, not even "
            "with --force: use another --out folder"
        )
    written_by = meta.get("command_kind")
    if not replace and (replaceable_command is None or written_by != replaceable_command):
        raise MinersimError(
            f"{out} already holds results ({_describe(meta)}); pass --force to replace "
            "them, or --out for another folder"
        )
    print(f"replacing the results in {out} ({_describe(meta)})")
    return present


@contextlib.contextmanager
def run_folder(out: Path, replace: bool, replaceable_command: str | None = None) -> Iterator[Path]:
    """Lock the run folder ``out``, check it under the lock (:func:`prepare_output`) and yield
    the temporary folder to write the run into: its files replace the old results in ``out``
    when the block ends without an error, metadata.json last
    (:func:`sim.outputs.staged_folder`). A failed run leaves ``out`` as it was, or absent."""

    def replaced() -> list[str]:
        return prepare_output(out, replace, replaceable_command)

    hint = "wait for it to finish or use another --out folder"
    with staged_folder(out, "run", hint, replaced, METADATA_FILE) as stage:
        yield stage


def _describe(meta: dict) -> str:
    if not meta:
        return "written by an older minersim, with no metadata.json"
    what = meta.get("scenario_name", "?")
    if "seed" in meta:
        what += f", seed {meta['seed']}"
    if meta.get("overrides"):
        what += ", " + ", ".join(f"{k}={v}" for k, v in meta["overrides"].items())
    when = meta.get("finished") or meta.get("created")
    return f"{what}, {when}" if when else what


def run_metadata(
    scenario,
    seed: int,
    overrides: Mapping[str, object],
    started: datetime,
    finished: datetime,
    stalled: bool,
    epochs: pd.DataFrame,
    command: str,
    command_kind: str,
    data_dirs: Sequence[str | os.PathLike] = (),
) -> dict:
    """What a run folder's metadata.json records: enough to reproduce and to trust the run
    (``data_dirs``: the folders besides its own that the scenario was allowed to read)."""
    import numba
    import numpy

    import sim

    last = pd.Timestamp(epochs["date"].iloc[-1]) if len(epochs) else None
    return {
        "format": RUN_FORMAT,
        "command": command,
        "command_kind": command_kind,
        "scenario_name": scenario.name,
        "scenario_hash": scenario.content_hash,
        "scenario_source": str(scenario.source) if scenario.source else None,
        "seed": int(seed),
        "overrides": json_normalized(dict(overrides)),
        "data_dirs": [str(Path(folder).resolve()) for folder in data_dirs],
        "package_version": sim.__version__,
        "python": platform.python_version(),
        "libraries": {
            "numpy": numpy.__version__,
            "numba": numba.__version__,
            "pandas": pd.__version__,
        },
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "seconds": round((finished - started).total_seconds(), 3),
        "epochs": len(epochs),
        "last_epoch_date": last.date().isoformat() if last is not None else None,
        "end_date": scenario.config.scenario.end_date.isoformat(),
        "stalled": bool(stalled),
    }


def write_run(result, folder: Path, metadata: dict) -> None:
    """The run's tables and its metadata.json, each written atomically (metadata last)."""
    for name, frame in (("epochs.parquet", result.epochs), ("miners.parquet", result.miners)):
        atomic_write(folder / name, frame_to_parquet(frame))
    atomic_write(folder / METADATA_FILE, (json.dumps(metadata, indent=2) + "\n").encode())


def now() -> datetime:
    """The current time in UTC (metadata times are UTC, ISO 8601)."""
    return datetime.now(UTC)


__all__ = [
    "RUN_FORMAT",
    "default_run_folder",
    "folder_kind",
    "now",
    "prepare_output",
    "read_json",
    "run_folder",
    "run_metadata",
    "write_run",
]
