"""Clear failures (issue 26): a script without the ``__main__`` guard is named before any worker
starts; ``read_miners`` on a batch run without ``--miners`` says so."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest
from serial_backend import use_serial_backend

import sim
from sim.batch.store import read_miners
from sim.cli import main
from sim.errors import MinersimError
from sim.main_guard import unguarded_script

ROOT = Path(__file__).resolve().parents[1]
GUARDED = 'import sim\n\nif __name__ == "__main__":\n    sim.monte_carlo("demo", 2, 1, "out")\n'


def test_an_unguarded_script_is_named_before_any_worker_starts(tmp_path):
    script = tmp_path / "my_batch.py"
    script.write_text(f'import sim\nsim.monte_carlo("demo", runs=2, seed=1, out="{tmp_path}/mc")\n')
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert "my_batch.py calls sim.monte_carlo without an `if __name__ ==" in last
    assert not (tmp_path / "mc").exists()  # refused before the batch folder was made


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        (GUARDED, False),
        (GUARDED.replace('__name__ == "__main__"', '"__main__" == __name__'), False),
        ('import sim\nsim.sweep("demo", 2, 1, "out")\n', True),
        ("def main():\n    pass\n\nmain()\n", True),
    ],
)
def test_the_guard_is_read_from_the_script(tmp_path, monkeypatch, source, flagged):
    script = tmp_path / "script.py"
    script.write_text(source)
    main = types.ModuleType("__main__")
    main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert (unguarded_script() == script) is flagged


def test_interactive_sessions_need_no_guard(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # no __file__
    assert unguarded_script() is None


def test_read_miners_says_the_batch_ran_without_miners(tmp_path, monkeypatch):
    use_serial_backend(monkeypatch)
    sim.monte_carlo("demo", 1, 0, tmp_path / "mc", progress=False)
    with pytest.raises(MinersimError, match="run without --miners"):
        read_miners(tmp_path / "mc")


# ------------------------------------------------------------------ the command line


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"minersim {sim.__version__}"


@pytest.mark.parametrize("argv", [["experiment"], ["experiment", "cost_to_mine"]])
def test_experiment_help_is_plain_text_with_minersim_usage(argv, capsys):
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":mod:" not in text and "python -m" not in text
    assert text.startswith(f"usage: minersim {' '.join(argv)}")


@pytest.mark.parametrize("compiling", [True, False])
def test_run_says_compiles_only_when_numba_will_compile(compiling, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sim.compiled.needs_compiling", lambda: compiling)
    argv = ["run", "demo", "--out", str(tmp_path / "r"), "--set", "scenario.end_date=2025-11-01"]
    assert main(argv) == 0
    assert ("numba compiles" in capsys.readouterr().out) is compiling


def test_the_compile_check_reads_numba_cache(monkeypatch, tmp_path):
    from sim.compiled import needs_compiling

    sim.run("demo", seed=0, overrides={"scenario.end_date": "2025-11-01"})  # warm (or fill) it
    assert needs_compiling() is False


def test_mc_suggests_report_as_the_readme_does(tmp_path, monkeypatch, capsys):
    use_serial_backend(monkeypatch)
    out = tmp_path / "mc"
    assert (
        main(
            [
                "mc",
                "demo",
                "--runs",
                "1",
                "--out",
                str(out),
                "--set",
                "scenario.end_date=2025-11-01",
            ]
        )
        == 0
    )
    assert f"Next: minersim report {out}" in capsys.readouterr().out


def test_hashprice_is_written_one_way():
    from sim.analysis import style
    from sim.units import HASHPRICE_UNIT

    assert HASHPRICE_UNIT == "$/PH/day"
    assert style.quantity("hashprice_usd_per_ph_day").unit == HASHPRICE_UNIT
    for module in ("sim/ui/charts.py", "sim/analysis/plots.py", "sim/analysis/report.py"):
        assert "PH/s per day" not in (ROOT / module).read_text()
