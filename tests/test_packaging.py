"""The package stands alone: every subpackage and every bundled file is in the wheel, and a wheel
installed in a clean environment runs a bundled scenario, a report and an experiment from
another folder.

The slow test builds the wheel from a copy of the project (so the checkout gets no build/ folder),
installs it with ``pip --no-deps`` into a fresh venv whose only other path is a ``.pth`` line to
the test environment's site-packages (the dependencies; a .pth-added folder's own .pth files are
not run, so the editable install there stays inactive), and checks that ``sim`` is imported from
the wheel.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
#: Where each data package lives in the repository (pyproject's package-dir).
DATA_PACKAGES = {"sim.scenarios": "scenarios", "sim.data": "data"}
#: Files in the data folders that are not package data.
NOT_SHIPPED = ("__init__.py", "*.pyc")


def _package_folders() -> dict[str, Path]:
    """Package name -> folder, for sim's code subpackages and the mapped data packages."""
    found = {
        ".".join(path.parent.relative_to(ROOT).parts): path.parent
        for path in (ROOT / "sim").rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    for package, folder in DATA_PACKAGES.items():
        found[package] = ROOT / folder
        for sub in (ROOT / folder).iterdir():
            if sub.is_dir() and sub.name != "__pycache__":
                found[f"{package}.{sub.name}"] = sub
    return found


def _shipped_files() -> list[tuple[str, Path]]:
    """(package, file) of every file the data folders hold, except NOT_SHIPPED."""
    files = []
    for package, folder in _package_folders().items():
        if package.startswith(tuple(DATA_PACKAGES)):
            for path in folder.iterdir():
                if path.is_file() and not any(fnmatch.fnmatch(path.name, p) for p in NOT_SHIPPED):
                    files.append((package, path))
    return files


def test_every_package_is_listed_in_pyproject():
    assert sorted(SETUPTOOLS["packages"]) == sorted(_package_folders())
    for package, folder in DATA_PACKAGES.items():
        assert SETUPTOOLS["package-dir"][package] == folder


def test_every_bundled_file_is_package_data():
    patterns = SETUPTOOLS["package-data"]
    missing = [
        str(path.relative_to(ROOT))
        for package, path in _shipped_files()
        if not any(fnmatch.fnmatch(path.name, p) for p in patterns.get(package, []))
    ]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
    assert "py.typed" in patterns["sim"] and (ROOT / "sim" / "py.typed").is_file()


def test_paths_point_at_the_bundled_folders():
    from sim import paths

    assert (paths.SCENARIOS_DIR / "baseline.toml").is_file()
    assert (paths.HISTORY_DIR / "difficulty.csv").is_file()
    assert paths.SOURCES_FILE.read_text().startswith("#")


def _copy_project(dest: Path) -> Path:
    shutil.copytree(
        ROOT,
        dest,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            ".hypothesis",
            ".*_cache",
            "__pycache__",
            "*.egg-info",
            "build",
            "results",
            "test-artifacts",
            "tests",
        ),
    )
    return dest


def _run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_wheel_runs_a_bundled_scenario_and_a_report_from_another_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    source = _copy_project(tmp_path / "source")
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("minersim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, path in _shipped_files():
        inside = "/".join([*package.split("."), path.name])
        assert inside in names, f"{inside} is not in the wheel"
    assert "sim/py.typed" in names

    clean = tmp_path / "clean-venv"
    venv.EnvBuilder(with_pip=False).create(clean)
    python = clean / "bin" / "python"
    site = Path(
        subprocess.check_output(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([*pip, "--python", str(python), "install", "--no-deps", "-q", str(wheel)], tmp_path, env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [python, "-c", "import sim, sim.paths as p; print(sim.__file__, p.SCENARIOS_DIR)"],
        elsewhere,
        env,
    )
    assert where.stdout.startswith(str(site)) and str(ROOT) not in where.stdout
    minersim = str(clean / "bin" / "minersim")
    _run([minersim, "run", "demo", "--set", "scenario.end_date=2026-03-01"], elsewhere, env)
    (run_folder,) = (elsewhere / "results").iterdir()
    _run([minersim, "report", str(run_folder)], elsewhere, env)
    assert (run_folder / "figures" / "network.png").stat().st_size > 1000
    meta = json.loads((run_folder / "metadata.json").read_text())
    assert meta["scenario_source"].startswith(str(site))
    # an experiment that reads the history files and a replayed price path
    _run([minersim, "experiment", "backtest", "--runs", "1", "--out", "exp"], elsewhere, env)
    page = (elsewhere / "exp" / "backtest" / "backtest.md").read_text()
    assert "of the realised 143.47 T" in page
