"""Clear failures (issue 26): a script without the ``__main__`` guard is named before any worker
starts; ``read_miners`` on a batch run without ``--miners`` says so."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
from serial_backend import use_serial_backend

import sim
from sim.batch.store import read_miners
from sim.errors import MinersimError
from sim.main_guard import unguarded_script

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
