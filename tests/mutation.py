"""Mutation check of the tests that guard the consensus rules, the kernel and the accounting.

Runs mutmut (``pip install mutmut``; 3.8 used) on one target at a time, in a scratch copy of the
checkout (nothing in the worktree changes), with only the tests that target the module::

    .venv/bin/python tests/mutation.py consensus            # or kernel, accounting; several ok
    .venv/bin/python tests/mutation.py kernel --max-children 2 --workdir /tmp/mut

It prints, per target, the mutants killed, survived, timed out and not covered, the score
(killed + timed out over all mutants tested) and the time taken, and writes the surviving mutants'
diffs to ``WORKDIR/TARGET/survivors.txt``. ``tests/README.md`` records the scores and what was
done about the survivors.

Two rewrites of the scratch copy make mutmut's results mean what they say:

* The kernel's functions are numba ``@njit`` functions; mutmut does not mutate decorated
  functions, and a compiled mutant would need recompiling anyway. So the copy of
  ``sim/kernel.py`` has its ``@njit`` lines removed and the run sets ``NUMBA_DISABLE_JIT=1``: the
  functions run as the plain Python that numba would compile (the same semantics, slower).
* mutmut runs, for each mutant, only the tests its stats run saw calling the mutated function,
  and it charges a module-scoped fixture's calls to the first test that uses the fixture. A
  mutant that only a later test can detect (test_model.py's balance-sheet check reads a
  module-scoped run) was then reported as surviving. The copy's module-scoped fixtures are made
  function-scoped, so each test builds its own inputs and is charged with what it calls.

``--minutes M`` bounds a target's run: mutmut is stopped after M minutes and the score is over
the mutants tested by then (the count not reached is printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("sim", "tests", "scenarios", "data", "pyproject.toml")

#: target -> (modules mutated, tests run, environment, mutant name patterns or () for all)
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], dict[str, str], tuple[str, ...]]] = {
    "consensus": (("sim/consensus.py",), ("tests/test_consensus.py",), {}, ()),
    "kernel": (
        ("sim/kernel.py",),
        # the two slowest tests (14 s and 5 s in plain Python) are left out to bound the run
        (
            "tests/test_kernel.py",
            "-k",
            "not test_long_run_interval_with_retargeting and not another_process",
        ),
        {"NUMBA_DISABLE_JIT": "1"},
        # the simulation itself; run_epoch and _checked_array (233 mutants, argument checks) are not
        # mutated here
        ("sim.kernel.x_simulate_epoch*", "sim.kernel.x__[a-bd-z]*", "sim.kernel.x_subsidy_sat*"),
    ),
    "accounting": (
        ("sim/finance.py", "sim/fleet.py", "sim/hosting.py", "sim/tables.py"),
        ("tests/test_finance.py", "tests/test_model.py"),
        {},
        (),
    ),
}


def copy_worktree(scratch: Path) -> None:
    """Copy the checkout's COPIED files and folders into ``scratch`` (an existing, empty folder),
    without caches."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", "*.nbi", "*.nbc")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=ignore)
        else:
            shutil.copy2(source, scratch / name)


def prepare(target: str, workdir: Path) -> Path:
    """A scratch copy of the checkout with a setup.cfg that points mutmut at ``target``."""
    modules, tests, _, _ = TARGETS[target]
    scratch = workdir / target
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    copy_worktree(scratch)
    if target == "kernel":
        kernel = scratch / "sim" / "kernel.py"
        kernel.write_text(re.sub(r"^@njit\(.*\)\n", "", kernel.read_text(), flags=re.M))
    for test in (scratch / "tests").glob("test_*.py"):
        text = test.read_text()
        test.write_text(text.replace('@pytest.fixture(scope="module")', "@pytest.fixture"))
    lines = [
        "[mutmut]",
        "source_paths = sim/",
        "only_mutate =",
        *(f"    {module}" for module in modules),
        "pytest_add_cli_args_test_selection =",
        *(f"    {test}" for test in tests),
        "pytest_add_cli_args =",
        *(f"    {arg}" for arg in ("-p", "no:xdist", "-x", "-q")),
        "also_copy =",
        *(f"    {name}" for name in ("scenarios", "data")),
    ]
    (scratch / "setup.cfg").write_text("\n".join(lines) + "\n")
    return scratch


def run(target: str, workdir: Path, max_children: int, minutes: float) -> dict[str, object]:
    scratch = prepare(target, workdir)
    # `import sim` must find the mutated copy before the editable install of the checkout (whose
    # finder comes after sys.path); mutmut drops its own working directory from sys.path, so the
    # copy is put on PYTHONPATH through a link (subprocesses of the tests get it too).
    link = scratch / "import-path"
    link.mkdir()
    (link / "sim").symlink_to(scratch / "mutants" / "sim")
    env = {**os.environ, **TARGETS[target][2], "PYTHONPATH": str(link)}
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.perf_counter()
    patterns = TARGETS[target][3]
    with subprocess.Popen(
        [str(mutmut), "run", "--max-children", str(max_children), *patterns],
        cwd=scratch,
        env=env,
        start_new_session=True,  # its forked mutants can be stopped with it
    ) as proc:
        try:
            proc.wait(timeout=60 * minutes)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    elapsed = time.perf_counter() - started
    results = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=scratch,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    counts: dict[str, int] = {}
    survivors = []
    for line in results.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
    with (scratch / "survivors.txt").open("w") as out:
        for name in survivors:
            diff = subprocess.run(
                [str(mutmut), "show", name], cwd=scratch, env=env, capture_output=True, text=True
            ).stdout
            out.write(diff + "\n")
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    tested = killed + counts.get("survived", 0) + counts.get("suspicious", 0)
    if patterns:  # mutants outside the patterns were never meant to run
        counts = {k: v for k, v in counts.items() if k != "not checked"}
        counts["not checked (in the patterns)"] = _count_unchecked(results, patterns)
    return {
        "target": target,
        "counts": counts,
        "score": killed / tested if tested else float("nan"),
        "minutes": elapsed / 60,
        "survivors": scratch / "survivors.txt",
    }


def _count_unchecked(results: str, patterns: tuple[str, ...]) -> int:
    import fnmatch

    return sum(
        1
        for line in results.splitlines()
        if line.strip().endswith(": not checked")
        and any(fnmatch.fnmatch(line.strip().rpartition(": ")[0], p) for p in patterns)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="+", choices=sorted(TARGETS))
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/minersim-mutation"))
    parser.add_argument("--minutes", type=float, default=600.0, help="stop a target after M min")
    args = parser.parse_args(argv)
    for target in args.targets:
        report = run(target, args.workdir, args.max_children, args.minutes)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(report["counts"].items()))
        print(
            f"{target}: score {report['score']:.1%} ({counts}) in {report['minutes']:.1f} min; "
            f"survivors: {report['survivors']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
