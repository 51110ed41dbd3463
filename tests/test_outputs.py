"""Writes confined, locked and atomic (issue 27, cause 2): run folders, batch folders, calibration
outputs, all through sim/outputs.py.

A run folder is written under the folder's lock into a temporary folder and moved into place
complete (metadata.json last), so a failure (a full disk, Ctrl-C) leaves the old results or no
folder; a second writer is refused while the first holds the folder; ``--force`` never
replaces a batch; a calibration writes only in its spec's folder (or ``--out``), never over a
file that minersim did not write.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_clear

from sim.analysis import folders
from sim.calibration import results as calibration_results
from sim.calibration.spec import load_spec
from sim.cli import main
from sim.errors import MinersimError, ScenarioError
from sim.outputs import LOCK_FILE, FolderLock, staged_folder

SHORT = ["--set", "scenario.end_date=2025-10-20"]
SPEC = Path(__file__).resolve().parents[1] / "scenarios" / "calibration" / "network.toml"


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["run", "demo", *SHORT, *argv])
    return code, capsys.readouterr().err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("minersim: error: "), err
    return lines[0]


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ---------------------------------------------------------------- run folders
def test_a_run_folder_is_complete_and_holds_no_temporary_entry(tmp_path, capsys):
    out = tmp_path / "r"
    assert run_cli(capsys, "--out", str(out))[0] == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([LOCK_FILE, "epochs.parquet", "miners.parquet", "metadata.json"])
    assert folders.folder_kind(out) == "run"


@pytest.mark.parametrize("fail_at", ["epochs.parquet", "miners.parquet", "metadata.json"])
def test_a_full_disk_leaves_no_folder(tmp_path, capsys, monkeypatch, fail_at):
    """The issue's full disk: before, a temp file and a folder with epochs.parquet only, which
    `report` presented as a run."""
    full_disk(monkeypatch, fail_at)
    out = tmp_path / "r"
    code, err = run_cli(capsys, "--out", str(out))
    assert code == 2 and "No space left" in one_error_line(err)
    assert not out.exists()


def test_a_failure_leaves_none_of_the_folders_it_created(tmp_path, capsys, monkeypatch):
    full_disk(monkeypatch, "epochs.parquet")
    code, err = run_cli(capsys, "--out", str(tmp_path / "a" / "b" / "r"))
    assert code == 2 and "No space left" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_while_replacing_keeps_the_old_run(tmp_path, capsys, monkeypatch):
    out = tmp_path / "r"
    assert run_cli(capsys, "--out", str(out))[0] == 0
    before = listing(out)
    full_disk(monkeypatch, "metadata.json")
    code, err = run_cli(capsys, "--out", str(out), "--force", "--seed", "5")
    assert code == 2 and "No space left" in one_error_line(err)
    assert listing(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]


def test_an_interrupted_run_leaves_no_folder(tmp_path, capsys, monkeypatch):
    import sim.runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.runner, "run", interrupted)
    out = tmp_path / "r"
    code, _ = run_cli(capsys, "--out", str(out))
    assert code == 130 and not out.exists()


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_writes(tmp_path, capsys):
    """The issue's two `minersim run` into the same new --out: both exited 0 and one result
    silently replaced the other."""
    out = tmp_path / "r"
    out.mkdir()
    with FolderLock(out, "run", "wait"):
        code, err = run_cli(capsys, "--out", str(out))
    assert code == 2 and f"another minersim run (pid {os.getpid()})" in one_error_line(err)
    assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
    code, err = run_cli(capsys, "--out", str(out))  # released
    assert code == 0, err


def test_force_never_replaces_a_batch(tmp_path, capsys):
    """The issue's `minersim run --force --out BATCHDIR` replaced the batch's metadata.json."""
    batch = tmp_path / "b"
    assert main(["mc", "demo", *SHORT, "--runs", "2", "--workers", "1", "--out", str(batch)]) == 0
    capsys.readouterr()
    before = (batch / "metadata.json").read_bytes()
    code, err = run_cli(capsys, "--out", str(batch), "--force")
    assert code == 2 and "batch" in one_error_line(err)
    assert (batch / "metadata.json").read_bytes() == before
    assert not (batch / "epochs.parquet").exists()


def test_force_is_refused_while_a_batch_holds_the_folder(tmp_path, capsys):
    batch = tmp_path / "b"
    batch.mkdir()
    with FolderLock(batch, "batch", "wait"):
        code, err = run_cli(capsys, "--out", str(batch), "--force")
    assert code == 2 and f"another minersim batch (pid {os.getpid()})" in one_error_line(err)


def test_staged_folder_keeps_what_minersim_did_not_write(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "old.bin").write_text("old")
    with staged_folder(out, "run", "wait", lambda: ["old.bin"], last="b") as stage:
        (stage / "b").write_text("b")
        (stage / "a").write_text("a")
    assert listing(out) == {LOCK_FILE: listing(out)[LOCK_FILE], "a": b"a", "b": b"b"} | {
        "notes.txt": b"mine"
    }


def full_disk(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make the atomic write of a file called ``name`` fail as on a full disk."""
    real = folders.atomic_write

    def write(path: Path, data: bytes) -> None:
        if path.name == name:
            path.with_name(".tmp-" + name).write_bytes(data[:10])  # what a full disk leaves
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(folders, "atomic_write", write)


# ---------------------------------------------------------------- calibration outputs
def spec_copy(tmp_path: Path, output: str) -> Path:
    """The bundled network spec with another ``output``, in a folder of its own."""
    text = SPEC.read_text()
    text = text.replace('output = "network.fit.toml"', f"output = {json.dumps(output)}")
    text = text.replace('"../', f'"{SPEC.parent.parent}/')
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    (folder / "spec.toml").write_text(text)
    return folder / "spec.toml"


@pytest.mark.parametrize(
    "output",
    [
        "../elsewhere/pyproject.toml",
        "../../x.fit.toml",
        "/tmp/x.fit.toml",
        "sub/../../x.fit.toml",
        "link/x.fit.toml",
    ],
)
def test_a_spec_cannot_send_its_output_outside_its_folder(tmp_path, output):
    """The issue's `output = "../elsewhere/pyproject.toml"` overwrote a file outside, exit 0."""
    spec = spec_copy(tmp_path, output)
    (spec.parent / "link").symlink_to(tmp_path)
    with pytest.raises(ScenarioError, match=r"calibration\.output") as info:
        load_spec(spec)
    assert_clear(info.value)


def test_a_spec_writes_below_its_folder(tmp_path):
    spec = load_spec(spec_copy(tmp_path, "fits/x.fit.toml"))
    assert spec.output == tmp_path.resolve() / "specs" / "fits" / "x.fit.toml"


@pytest.mark.parametrize("which", ["fragment", "statistics"])
def test_a_calibration_never_replaces_a_file_it_did_not_write(tmp_path, which):
    fragment = tmp_path / "x.fit.toml"
    target = fragment if which == "fragment" else fragment.with_suffix(".json")
    target.write_text('[project]\nname = "not minersim"\n')
    with pytest.raises(MinersimError, match="not written by minersim calibrate") as info:
        calibration_results.output_paths(fragment)
    assert_clear(info.value)
    assert target.read_text() == '[project]\nname = "not minersim"\n'


def test_a_calibration_replaces_its_own_files(tmp_path):
    committed = SPEC.with_name("network.fit.toml")
    fragment = tmp_path / "network.fit.toml"
    fragment.write_bytes(committed.read_bytes())
    fragment.with_suffix(".json").write_bytes(committed.with_suffix(".json").read_bytes())
    assert calibration_results.output_paths(fragment) == (fragment, fragment.with_suffix(".json"))


# ---------------------------------------------------------------- generated output paths
SEGMENTS = ("new", "file", "fifo", "batch", "run", "locked", "link-out", "..", ".", "x" * 300)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "r"
    assert main(["run", "demo", *SHORT, "--out", str(out)]) == 0
    return out


def sandbox(root: Path, finished_run: Path) -> tuple[Path, Path]:
    """A folder holding one of each hostile thing an --out may name, and a folder outside."""
    box, outside = root / "box", root / "outside"
    box.mkdir()
    outside.mkdir()
    (outside / "keep.txt").write_text("outside")
    (box / "file").write_text("a file")
    os.mkfifo(box / "fifo")
    (box / "batch").mkdir()
    (box / "batch" / "metadata.json").write_text(json.dumps({"format": "minersim-batch/2"}))
    (box / "batch" / "epochs").mkdir()
    shutil.copytree(finished_run, box / "run")
    (box / "locked").mkdir()
    (box / "link-out").symlink_to(outside)
    return box, outside


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every entry below ``root`` (links not followed): file contents, None for the rest."""
    entries = {}
    for path in sorted(root.rglob("*")):
        if path.name == LOCK_FILE:
            continue
        regular = path.is_file() and not path.is_symlink()
        entries[str(path.relative_to(root))] = path.read_bytes() if regular else None
    return entries


@pytest.mark.timeout(600)
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    segments=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3),
    force=st.booleans(),
)
def test_generated_output_paths_end_in_a_complete_run_or_one_line(
    segments, force, tmp_path_factory, finished_run, capsys
):
    """Any --out built from hostile parts: exit 0 and a complete run folder, or exit 2 and
    one line; nothing outside the sandbox changes, a batch's files are never touched, a locked
    folder never receives a run, and a failure leaves no new folder."""
    root = tmp_path_factory.mktemp("paths")
    box, outside = sandbox(root, finished_run)
    before_outside, before_box = snapshot(outside), snapshot(box)
    out = box.joinpath(*segments)
    with FolderLock(box / "locked", "run", "wait"):
        code, err = run_cli(capsys, "--out", str(out), *(["--force"] if force else []))
    assert code in (0, 2), err
    if code == 2:
        one_error_line(err)
        assert snapshot(box) == before_box  # no half run, no empty folder, nothing replaced
    else:
        assert {"epochs.parquet", "miners.parquet", "metadata.json"} <= set(os.listdir(out))
        assert folders.folder_kind(out) == "run"
        assert not [p for p in out.iterdir() if p.name.startswith(".tmp-")]
    assert snapshot(outside) == before_outside or out.resolve().is_relative_to(outside.resolve())
    after_box = snapshot(box)
    kept = ("batch", f"batch{os.sep}metadata.json", f"batch{os.sep}epochs")
    assert all(after_box.get(name) == before_box[name] for name in kept)  # the batch untouched
    assert not {"epochs.parquet", "metadata.json"} & set(os.listdir(box / "locked"))


def test_a_calibration_checks_its_folder_without_creating_it(tmp_path):
    from sim.outputs import check_can_create

    check_can_create(tmp_path / "a" / "b")  # could be made: nothing made yet
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(MinersimError, match="is not a folder"):
        check_can_create(tmp_path / "file" / "b")
