"""Fast start: what ``import sim`` and the light commands import, checked in a fresh process.

Each check runs Python in a subprocess (this test process has imported everything already) and
reads ``sys.modules`` at the end. ``minersim run`` drives the engine (:mod:`sim.runner`)
without Mesa (numba imports SciPy's top package itself when installed, but not scipy.linalg:
:func:`sim.compiled.start_compiler`); pandas 3 imports pyarrow's core (``pandas.compat.pyarrow``)
as it starts, so only the Parquet modules count for pyarrow.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: Packages that are never needed to load a scenario or to run one.
NOT_FOR_RUN = ("solara", "dask", "distributed", "SALib", "ipywidgets")
#: Packages ``minersim validate`` does not need (besides those above).
NOT_FOR_VALIDATE = ("mesa", "scipy", "numba", "matplotlib", "pyarrow.parquet", "pyarrow.dataset")


def modules_after(code: str, cwd: Path) -> set[str]:
    """Names in sys.modules after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def cli(*args: str) -> str:
    """Code that runs ``minersim ARGS`` in-process, its output silenced."""
    return (
        "import contextlib, io\nfrom sim.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    code = main({list(args)!r})\n"
        "assert code == 0, code"
    )


def present(modules: set[str], names) -> list[str]:
    return [n for n in names if n in modules]


def test_import_sim_imports_nothing_heavy(tmp_path):
    modules = modules_after("import sim", tmp_path)
    heavy = ("numpy", "pandas", "pydantic", *NOT_FOR_VALIDATE, *NOT_FOR_RUN)
    assert present(modules, heavy) == []
    assert not any(m.startswith("sim.") and m != "sim.lazy" for m in modules), sorted(
        m for m in modules if m.startswith("sim.")
    )


def test_public_names_are_imported_on_first_use(tmp_path):
    modules = modules_after("import sim\nsim.load_scenario", tmp_path)
    assert "sim.input.scenario" in modules
    assert present(modules, ("mesa", "numba", "sim.model")) == []
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        import sim

        sim.nothing  # noqa: B018


def test_the_command_line_parser_imports_no_scientific_package(tmp_path):
    modules = modules_after("from sim.cli import build_parser\nbuild_parser()", tmp_path)
    heavy = ("numpy", "pandas", "pydantic", *NOT_FOR_VALIDATE, *NOT_FOR_RUN)
    assert present(modules, heavy) == []


def test_validate_loads_no_engine_ui_or_cluster(tmp_path):
    modules = modules_after(cli("validate", "demo"), tmp_path)
    assert present(modules, (*NOT_FOR_VALIDATE, *NOT_FOR_RUN)) == []


def test_run_loads_no_ui_or_cluster(tmp_path):
    modules = modules_after(cli("run", "demo", "--out", str(tmp_path / "run")), tmp_path)
    assert "sim.runner" in modules  # it did run
    # SciPy's top package comes with numba (numba imports it when installed), not from Mesa:
    # no Mesa here; numba's BLAS check ran without importing scipy.linalg.
    assert present(modules, (*NOT_FOR_RUN, "mesa", "sim.model", "scipy.linalg")) == []


def test_numba_starts_without_scipy_linalg_and_blas_stays_usable(tmp_path):
    code = (
        "import sys\nfrom sim.compiled import BLAS_MODULE, start_compiler\nstart_compiler()\n"
        "assert 'scipy.linalg' not in sys.modules and BLAS_MODULE not in sys.modules\n"
        "import numpy as np\nfrom numba import njit\n"
        "a = np.arange(9.0).reshape(3, 3)\n"
        "assert np.array_equal(njit(lambda x: np.dot(x, x))(a), a @ a)  # BLAS, loaded now\n"
    )
    assert "scipy.linalg.cython_blas" in modules_after(code, tmp_path)
