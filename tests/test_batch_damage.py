"""Batch folders that check themselves (issue 14, family "damaged batch folders").

A reference Monte Carlo folder is damaged in generated ways: run files truncated, bytes flipped,
one run's file copied over another's, files deleted, ledger (runs.jsonl) lines lost or torn,
stray files (``run-000001 (copy).parquet``, a run id with seven digits, notes, a nested batch, a
symbolic link), leftover temp files, and metadata.json replaced by ``{}``, a list, null, another
JSON value, truncated JSON or bytes that are not UTF-8. Then:

* reading the folder (read_epochs, read_miners, read_metadata, summarize) either returns exactly
  the reference's rows of the runs present or fails with one line (a MinersimError), never
  another exception and never a run twice;
* resuming with the same call re-runs exactly what is damaged or missing and ends with a dataset
  equal to the reference, or (metadata.json damaged) refuses in one line without touching a
  file.

Each run gets at most one damage that touches its bytes, so that either its file or its ledger
line still says what the run should hold (losing both is beyond what a checksum can repair).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_clear
from serial_backend import use_serial_backend

import sim
from sim.batch import store
from sim.errors import MinersimError

RUNS, SEED = 5, 3
SHORT = {"scenario.end_date": "2025-12-01"}
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=150)


def run_batch(out: Path) -> sim.batch.BatchSummary:
    return sim.monte_carlo("demo", RUNS, SEED, out, overrides=SHORT, miners=True, progress=False)


def dataset_hash(frame: pd.DataFrame) -> str:
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + repr(list(frame.columns)).encode()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_serial_backend(monkeypatch)
        out = tmp_path_factory.mktemp("reference") / "batch"
        run_batch(out)
    return out


@pytest.fixture(scope="module")
def reference_tables(reference) -> dict[str, pd.DataFrame]:
    return {"epochs": store.read_epochs(reference), "miners": store.read_miners(reference)}


# ------------------------------------------------------------------------------- damage

RUN_DAMAGE = (
    "truncate",
    "flip",
    "other run",
    "delete",
    "empty",
    "lose ledger line",
    "tear ledger line",
)
#: Damage a checksum cannot see once the ledger line is gone (a flipped byte may leave a
#: readable file of wrong values): never combined with losing the whole ledger.
NEEDS_LEDGER = ("flip",)
FOLDER_DAMAGE = (
    "copy stray",
    "seven digits",
    "notes",
    "nested batch",
    "symlink",
    "temp file",
    "garbage ledger line",
    "no ledger",
)
METADATA_DAMAGE = ("{}", "[]", "null", "42", '"x"', "truncated", "not utf-8", "empty", "other")


@st.composite
def damages(draw: st.DrawFn) -> dict:
    runs = draw(st.lists(st.integers(0, RUNS - 1), unique=True, max_size=3))
    folder = draw(st.lists(st.sampled_from(FOLDER_DAMAGE), unique=True, max_size=3))
    kinds = [k for k in RUN_DAMAGE if "no ledger" not in folder or k not in NEEDS_LEDGER]
    return {
        "runs": {
            run: (draw(st.sampled_from(kinds)), draw(st.sampled_from(["epochs", "miners"])))
            for run in runs
        },
        "folder": folder,
        "metadata": draw(st.one_of(st.none(), st.none(), st.sampled_from(METADATA_DAMAGE))),
        "at": draw(st.floats(0.0, 1.0)),
    }


def _drop_ledger_line(root: Path, run: int, torn: bool = False) -> None:
    """Remove the run's ledger line; ``torn``: put back its first half at the end, as a kill
    in the middle of writing it would leave."""
    ledger = root / store.LEDGER_FILE
    if ledger.exists():
        lines = ledger.read_text().splitlines(keepends=True)
        mine = [x for x in lines if _run_of(x) == run]
        rest = "".join(x for x in lines if _run_of(x) != run)
        ledger.write_text(rest + (mine[0][: len(mine[0]) // 2] if torn and mine else ""))


def _run_of(line: str) -> int | None:
    """The run of a ledger line, None for a torn one (an earlier damage may have torn one)."""
    try:
        return json.loads(line)["run"]
    except ValueError:
        return None


def apply(root: Path, damage: dict) -> dict[int, str]:
    """Damage the folder; returns {run: kind} of the runs whose bytes were damaged."""
    at = damage["at"]
    original = {
        (table, run): (root / table / store.run_file_name(run)).read_bytes()
        for table in ("epochs", "miners")
        for run in range(RUNS)
    }
    for run, (kind, table) in damage["runs"].items():
        path = root / table / store.run_file_name(run)
        data = original[table, run]
        if kind == "truncate":
            path.write_bytes(data[: int(at * (len(data) - 1))])
        elif kind == "flip":
            index = int(at * (len(data) - 1))
            path.write_bytes(data[:index] + bytes([data[index] ^ 0x5A]) + data[index + 1 :])
        elif kind == "other run":
            path.write_bytes(original[table, (run + 1) % RUNS])
        elif kind == "delete":
            path.unlink()
        elif kind == "empty":
            path.write_bytes(b"")
        else:  # the file is intact; its ledger line is gone or torn
            _drop_ledger_line(root, run, torn=kind == "tear ledger line")
    epochs = root / "epochs"
    first = original["epochs", 0]
    for kind in damage["folder"]:
        if kind == "copy stray":
            (epochs / "run-000000 (copy).parquet").write_bytes(first)
        elif kind == "seven digits":
            (epochs / "run-0000000.parquet").write_bytes(first)

        elif kind == "notes":
            (epochs / "notes.txt").write_text("my notes\n")
        elif kind == "nested batch":
            shutil.copytree(root / "epochs", root / "epochs" / "nested", symlinks=True)
        elif kind == "symlink":
            (epochs / "run-000099.parquet").symlink_to("/etc/hostname")
        elif kind == "temp file":
            (epochs / ".tmp-run-000002.parquet.1.abcd").write_bytes(b"PAR1 half")
        elif kind == "garbage ledger line":
            with (root / store.LEDGER_FILE).open("ab") as handle:
                handle.write(b'{"run": "x"}\n\xff\xfe not json\n[1, 2]\n')
        elif kind == "no ledger":
            (root / store.LEDGER_FILE).unlink(missing_ok=True)
    meta = damage["metadata"]
    path = root / store.METADATA_FILE
    if meta == "truncated":
        path.write_bytes(path.read_bytes()[: int(at * 50) + 1])
    elif meta == "not utf-8":
        path.write_bytes(b"\xff\xfe\x00{")
    elif meta == "empty":
        path.write_bytes(b"")
    elif meta == "other":
        path.write_text(json.dumps({"format": "something-else/1", "total_runs": RUNS}))
    elif meta is not None:
        path.write_text(meta)
    return {run: kind for run, (kind, _) in damage["runs"].items()}


# ------------------------------------------------------------------------------- checks


def check_reading(root: Path, reference_tables: dict[str, pd.DataFrame]) -> None:
    """Readers return the reference's rows of the runs present, each once, or fail clearly."""
    for table, read in (("epochs", store.read_epochs), ("miners", store.read_miners)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # strays are reported with a warning
                frame = read(root)
        except MinersimError as error:
            assert_clear(error)
            continue
        expected = reference_tables[table]
        runs = sorted(frame["run"].unique())
        assert frame.groupby("run").size().to_dict() == {
            r: int((expected["run"] == r).sum()) for r in runs
        }, "a run read twice or cut"
        want = expected[expected["run"].isin(runs)].reset_index(drop=True)
        pd.testing.assert_frame_equal(frame.reset_index(drop=True), want)


def _stamps(root: Path) -> dict[Path, int]:
    """Modification times of the folder's files (the writer's lock file aside)."""
    files = (p for p in root.rglob("*") if p.is_file() and p.name != store.LOCK_FILE)
    return {p: p.stat().st_mtime_ns for p in files}


def check_damage(reference: Path, reference_tables, damage: dict, monkeypatch) -> None:
    use_serial_backend(monkeypatch)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "batch"
        shutil.copytree(reference, root, symlinks=True)
        damaged = apply(root, damage)
        check_reading(root, reference_tables)
        before = _stamps(root)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                summary = run_batch(root)
        except MinersimError as error:
            assert_clear(error)
            assert damage["metadata"] is not None, f"resume refused: {error}"
            assert _stamps(root) == before, "a refused resume changed files"
            return
        assert damage["metadata"] is None, "resumed a folder whose metadata.json is damaged"
        must_rerun = {r for r, kind in damaged.items() if "ledger" not in kind}

        assert summary.completed_runs >= len(must_rerun)
        assert summary.skipped_runs + summary.completed_runs == RUNS
        for table, expected in reference_tables.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # strays the damage left
                frame = store.read_epochs(root) if table == "epochs" else store.read_miners(root)
            assert dataset_hash(frame) == dataset_hash(expected), f"{table} differ after resume"


@pytest.mark.timeout(900)
@FAST
@given(damages())
def test_damaged_folders_read_clearly_and_resume_to_the_reference(
    reference, reference_tables, monkeypatch, damage
):
    check_damage(reference, reference_tables, damage, monkeypatch)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(damages())
def test_damaged_folders_read_clearly_and_resume_to_the_reference_many(
    reference, reference_tables, monkeypatch, damage
):
    check_damage(reference, reference_tables, damage, monkeypatch)


# ------------------------------------------------------------------------------- named cases


def test_truncated_run_file_is_rerun_on_resume_and_summarize_works(
    reference, tmp_path, monkeypatch
):
    # issue 14: a truncated run file counted as done, then summarize died with ArrowInvalid
    use_serial_backend(monkeypatch)
    root = tmp_path / "batch"
    shutil.copytree(reference, root)
    path = root / "epochs" / store.run_file_name(2)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(MinersimError, match=r"1 damaged run file\(s\) \(run-000002.parquet\)"):
        store.read_epochs(root)
    with pytest.warns(UserWarning, match="damaged run file"):
        summary = run_batch(root)
    assert (summary.skipped_runs, summary.completed_runs) == (RUNS - 1, 1)
    from sim.analysis.summary import summarize

    assert summarize(root, final_columns=("hashrate_ehs",))["quantiles_csv"].exists()


def test_a_copied_run_file_is_not_read_twice(reference, tmp_path):
    root = tmp_path / "batch"
    shutil.copytree(reference, root)
    shutil.copy(
        root / "epochs" / store.run_file_name(3), root / "epochs" / "run-000003 (copy).parquet"
    )
    with pytest.warns(UserWarning, match=r"ignoring 1 file\(s\).*run-000003 \(copy\)"):
        frame = store.read_epochs(root)
    assert not frame.duplicated(["run", "epoch"]).any()

    assert sorted(frame["run"].unique()) == list(range(RUNS))


@pytest.mark.parametrize(
    "content", [b"{}", b"[]", b"null", b"\xff\xfe", b'{"format": "minersim-batch/2"'], ids=repr
)
def test_malformed_metadata_is_one_line(reference, tmp_path, content):
    root = tmp_path / "batch"
    shutil.copytree(reference, root)
    (root / store.METADATA_FILE).write_bytes(content)
    with pytest.raises(MinersimError) as info:
        store.read_metadata(root)
    assert_clear(info.value)
    assert "metadata.json" in str(info.value)


def test_run_files_are_fsynced_before_rename(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    store.atomic_write(tmp_path / "x.bin", b"data")
    assert calls[:2] == ["fsync", "replace"] and calls.count("fsync") == 2  # file, then folder


#: The smallest metadata a batch's schema accepts: one run of an empty Monte Carlo design.
ONE_RUN = {
    "format": store.FORMAT,
    "scenario_name": "x",
    "sampler": {"kind": "monte_carlo"},
    "parameters": [],
    "points": 1,
    "runs_per_point": 1,
    "total_runs": 1,
    "root_seed": 0,
}


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(tmp_path):
    first = store.BatchStore(tmp_path / "b")
    first.open(ONE_RUN)
    try:
        with pytest.raises(MinersimError, match=rf"another minersim batch \(pid {os.getpid()}\)"):
            store.BatchStore(tmp_path / "b").open(ONE_RUN)
    finally:
        first.close()
    with store.BatchStore(tmp_path / "b") as again:  # released
        again.open(ONE_RUN)
