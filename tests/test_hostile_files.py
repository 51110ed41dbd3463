"""Hostile files where minersim reads (issue 27, cause 1): every reader goes through
``sim.input.files.read_regular``, so none hangs, reads without end or raises a traceback.

Family 1, each file minersim reads (a batch's metadata.json, runs.jsonl and points.csv, a run
folder's metadata.json, a calibration spec and its statistics) replaced by a FIFO, a link to
/dev/zero, a folder, a sparse file one byte over the reader's limit, bytes that are not UTF-8,
JSON nested 100,000 deep, truncated JSON or nothing: one line (MinersimError), at once. The
ledger tolerates torn lines (a kill leaves them), so its content damages read.

Family 2, a batch's metadata.json with one value replaced by generated JSON (any key, the
layout's entries included): reading it gives the metadata or one line, and so does resuming
the batch (before, a damaged ``layout`` crashed sim/batch/plans.py with a traceback).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_clear
from serial_backend import use_serial_backend

import sim
from sim.analysis import folders
from sim.analysis.summary import summarize
from sim.batch import store
from sim.calibration import results as calibration_results
from sim.calibration.spec import load_spec
from sim.errors import MinersimError

RUNS, SEED = 3, 1
SHORT = {"scenario.end_date": "2025-11-01"}
FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CALIBRATION = Path(__file__).resolve().parents[1] / "scenarios" / "calibration"


def mc(out: Path) -> sim.batch.BatchSummary:
    return sim.monte_carlo("demo", RUNS, SEED, out, overrides=SHORT, progress=False)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_serial_backend(monkeypatch)
        out = tmp_path_factory.mktemp("reference") / "batch"
        mc(out)
    return out


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    from sim.cli import main

    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["run", "demo", "--set", "scenario.end_date=2025-10-20", "--out", str(out)]) == 0
    return out


# ---------------------------------------------------------------- family 1: what a file is
def fifo(path: Path) -> None:
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def folder(path: Path) -> None:
    path.mkdir()


def oversize(limit: int) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        with path.open("wb") as handle:
            handle.truncate(limit + 1)  # sparse: no disk used

    return make


def content(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


KINDS = {
    "fifo": fifo,
    "/dev/zero": dev_zero,
    "folder": folder,
    "not utf-8": content(b'{"format": "\xff\xfe"}'),
    "deep json": content(b"[" * 100_000 + b"]" * 100_000),
    "truncated json": content(b'{"format": "minersim-batch/2", "points": '),
    "empty": content(b""),
}
#: Kinds that only say what a file holds (a reader may tolerate them: the ledger does).
CONTENT_KINDS = ("not utf-8", "deep json", "truncated json", "empty")


def batch_reader(name: str, call: Callable[[Path], object], limit: int):
    def setup(tmp_path: Path, reference: Path, run: Path) -> tuple[Path, Callable[[], object]]:
        root = tmp_path / "batch"
        shutil.copytree(reference, root)
        (root / name).unlink(missing_ok=True)
        return root / name, lambda: call(root)

    return setup, limit


def _spec(tmp_path: Path, reference: Path, run: Path):
    spec = tmp_path / "spec.toml"
    return spec, lambda: load_spec(spec)


def _statistics(tmp_path: Path, reference: Path, run: Path):
    stats = tmp_path / "x.fit.json"
    return stats, lambda: calibration_results.read_fit(stats)


def _run_metadata(tmp_path: Path, reference: Path, run: Path):
    root = tmp_path / "r"
    shutil.copytree(run, root)
    (root / store.METADATA_FILE).unlink()
    return root / store.METADATA_FILE, lambda: folders.folder_kind(root)


READERS = {
    "batch metadata": batch_reader(store.METADATA_FILE, store.read_metadata, 1 << 20),
    "batch ledger": batch_reader(store.LEDGER_FILE, store.read_epochs, store.MAX_LEDGER_BYTES),
    "batch ledger (resume)": batch_reader(
        store.LEDGER_FILE, lambda root: mc(root), store.MAX_LEDGER_BYTES
    ),
    "summarize's metadata": batch_reader(store.METADATA_FILE, summarize, 1 << 20),
    "points": batch_reader(store.POINTS_FILE, store.read_points, store.MAX_POINTS_BYTES),
    "run metadata": (_run_metadata, 1 << 20),
    "calibration spec": (_spec, 1 << 20),
    "calibration statistics": (_statistics, calibration_results.MAX_STATISTICS_BYTES),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", [*KINDS, "oversize"])
@pytest.mark.parametrize("reader", list(READERS))
def test_a_hostile_file_is_one_line_at_once(reader, kind, tmp_path, reference, run_folder):
    setup, limit = READERS[reader]
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_serial_backend(monkeypatch)
        path, call = setup(tmp_path, reference, run_folder)
        (oversize(limit) if kind == "oversize" else KINDS[kind])(path)
        if reader.startswith("batch ledger") and kind in CONTENT_KINDS:
            call()  # torn lines are skipped; the runs verify against their stamps
            return
        with pytest.raises(MinersimError) as info:
            call()
    assert_clear(info.value)
    assert path.name in str(info.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "folder"])
@pytest.mark.parametrize("table", ["epochs.parquet", "miners.parquet"])
def test_a_run_table_that_is_not_a_file_is_one_line(table, kind, tmp_path, run_folder):
    root = tmp_path / "r"
    shutil.copytree(run_folder, root)
    (root / table).unlink()
    KINDS[kind](root / table)
    with pytest.raises(MinersimError, match=table) as info:
        folders.folder_kind(root)
    assert_clear(info.value)


# ---------------------------------------------------------------- family 2: metadata values
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@st.composite
def damaged_metadata(draw: st.DrawFn, metadata: dict) -> dict:
    damaged = json.loads(json.dumps(metadata))
    key = draw(st.sampled_from(sorted(damaged)))
    if key == "layout" and draw(st.booleans()):
        step = draw(st.integers(0, len(damaged["layout"]) - 1))
        index = draw(st.integers(0, 1))
        damaged["layout"][step][index] = draw(json_values)
    else:
        damaged[key] = draw(json_values)
    return damaged


@pytest.mark.timeout(600)
def test_damaged_metadata_values_read_or_resume_in_one_line(reference, tmp_path):
    metadata = store.read_metadata(reference)

    @FAST
    @given(data=st.data())
    def check(data):
        root = tmp_path / "batch"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(reference, root)
        damaged = data.draw(damaged_metadata(metadata))
        (root / store.METADATA_FILE).write_text(json.dumps(damaged))
        for call in (store.read_metadata, mc):
            try:
                call(root)
            except MinersimError as error:
                assert_clear(error)

    with pytest.MonkeyPatch.context() as monkeypatch:
        use_serial_backend(monkeypatch)
        check()


@pytest.mark.parametrize(
    "layout", [[[3, "x"]], [[3]], "3x1", [[1, 1], [3, 1], [2, 1]], [[3, 2]], [], [[-3, -1]]]
)
def test_the_issues_damaged_layout_is_one_line(reference, tmp_path, layout):
    """Valid JSON with a damaged ``layout`` crashed resume in sim/batch/plans.py."""
    root = tmp_path / "batch"
    shutil.copytree(reference, root)
    metadata = json.loads((root / store.METADATA_FILE).read_text())
    (root / store.METADATA_FILE).write_text(json.dumps({**metadata, "layout": layout}))
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_serial_backend(monkeypatch)
        with pytest.raises(MinersimError, match="layout") as info:
            mc(root)
    assert_clear(info.value)
