"""A fixed sample of mutants, run in minutes: does a test fail for each rule the sample breaks?

``tests/mutation.py`` runs mutmut over whole modules (hours for the engine). This script runs a
hand-picked sample instead (:data:`MUTANTS`): one small change to one rule each, the survivors
that issue 27 lists (interest-only debt service, a run file whose id equals the batch size, p95
computed as p90, an end date equal to the start date, equal piecewise dates, the 30-year limit,
the covenant cure with a leverage ceiling above the covenant) and the rules only the goldens
guarded (the midpoint site price of fringe orders, the default recovery factor, the convertible
premium's sign). Each mutant is applied to a scratch copy of a tree, and the tests of its
module (:data:`TESTS`, without the goldens and the compiled-loop oracles, which catch any
change but state no rule) run against it; a failure or a timeout kills it.

One command gives the scores per module, for the tree at a git revision and for the worktree::

    .venv/bin/python tests/mutation_sample.py --before 1b764c9    # about 10 minutes, 1 core

``--before REV`` also scores the tree at ``REV`` (tests and code as committed there), so the
two columns compare the suite before and after a change. The tree's own tests must pass
unmutated, or its column is void. tests/README.md records the scores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from mutation import COPIED, ROOT, copy_worktree

#: Seconds a mutant's tests may take before the mutant counts as killed (a hang).
TIMEOUT_S = 300

#: Module -> the test files run against its mutants (those present in the tree).
TESTS = {
    "sim/engine/waterfall.py": ("test_default.py", "test_rules_by_hand.py"),
    "sim/engine/execute.py": ("test_default.py", "test_finance.py", "test_rules_by_hand.py"),
    "sim/fringe.py": ("test_fringe.py", "test_rules_by_hand.py"),
    "sim/finance.py": ("test_finance.py", "test_boundaries.py", "test_public_miners.py"),
    "sim/batch/store.py": ("test_batch_damage.py", "test_boundaries.py"),
    "sim/analysis/summary.py": ("test_grid.py", "test_boundaries.py"),
    "sim/analysis/style.py": ("test_grid.py", "test_boundaries.py"),
    "sim/analysis/markdown.py": ("test_grid.py", "test_boundaries.py"),
    "sim/input/schema.py": ("test_scenario.py", "test_boundaries.py"),
}


@dataclass(frozen=True)
class Mutant:
    module: str
    old: str
    new: str
    rule: str


MUTANTS = (
    Mutant(
        "sim/finance.py",
        "    if secured:\n        out = np.minimum(out, room(",
        "    if False:\n        out = np.minimum(out, room(",
        "secured credit may open a covenant breach (a cure may borrow)",
    ),
    Mutant(
        "sim/engine/waterfall.py",
        "resale * params.default_recovery",
        "resale",
        "defaulted machines sell at full resale value",
    ),
    Mutant(
        "sim/engine/execute.py",
        "amortization_years=years if amortising else np.inf",
        "amortization_years=np.inf",
        "equipment loans never amortise",
    ),
    Mutant(
        "sim/fringe.py",
        "active + 0.5 * order_mw",
        "active + order_mw",
        "orders sited at the end of the order",
    ),
    Mutant(
        "sim/fringe.py",
        "active + 0.5 * order_mw",
        "active",
        "orders sited at today's marginal price",
    ),
    Mutant(
        "sim/finance.py",
        "minimum(principal_usd[i], amortization_usd_per_year[i] * years)",
        "maximum(principal_usd[i], amortization_usd_per_year[i] * years)",
        "interest-only debt repaid at once",
    ),
    Mutant(
        "sim/finance.py",
        "matures = maturity_day[i] <= day_end",
        "matures = maturity_day[i] < day_end",
        "a note maturing on the epoch's last day waits",
    ),
    Mutant(
        "sim/batch/store.py",
        "run_id < total_runs)",
        "run_id <= total_runs)",
        "a run file whose id equals the batch size is read",
    ),
    Mutant(
        "sim/analysis/summary.py",
        "QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)",
        "QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.9)",
        "fan p95 computed as p90",
    ),
    Mutant(
        "sim/analysis/style.py",
        "np.asarray(runs, dtype=float), (5, 25, 50, 75, 95), axis=0",
        "np.asarray(runs, dtype=float), (5, 25, 50, 75, 90), axis=0",
        "band p95 computed as p90",
    ),
    Mutant(
        "sim/analysis/markdown.py",
        "q=(5, 50, 95)",
        "q=(5, 50, 90)",
        "table p95 computed as p90",
    ),
    Mutant(
        "sim/input/schema.py",
        "if self.end_date <= self.start_date:",
        "if self.end_date < self.start_date:",
        "an end date equal to the start date",
    ),
    Mutant(
        "sim/input/schema.py",
        "later <= earlier for earlier, later",
        "later < earlier for earlier, later",
        "equal piecewise dates",
    ),
    Mutant(
        "sim/input/schema.py",
        "(self.end_date - self.start_date).days > 366 * 30",
        "(self.end_date - self.start_date).days > 366 * 31",
        "a 31-year limit",
    ),
    Mutant(
        "sim/input/schema.py",
        "(self.end_date - self.start_date).days > 366 * 30",
        "(self.end_date - self.start_date).days >= 366 * 30",
        "the 30-year limit itself refused",
    ),
)


def tree(label: str, revision: str | None, workdir: Path) -> Path:
    """A scratch copy of the worktree (``revision`` None) or of the tree at ``revision``."""
    scratch = workdir / label
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    if revision is None:
        copy_worktree(scratch)
    else:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", revision, *COPIED],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(scratch, filter="data")
    return scratch


def tests_pass(scratch: Path, module: str) -> bool:
    """Whether the module's tests (those in the tree) pass on the tree as it is now."""
    files = [f"tests/{name}" for name in TESTS[module] if (scratch / "tests" / name).exists()]
    env = {
        **os.environ,
        "PYTHONPATH": str(scratch),  # before the editable install's finder
        "NUMBA_CACHE_DIR": str(scratch / ".numba"),
    }
    command = [sys.executable, "-m", "pytest", *files, "-x", "-q", "-p", "no:xdist"]
    command += ["-p", "no:cacheprovider", "-m", "not slow"]
    try:
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def score(scratch: Path) -> dict[str, tuple[int, int, list[str]]]:
    """Per module: (mutants killed, mutants applied, the rules of the survivors)."""
    results: dict[str, tuple[int, int, list[str]]] = {}
    for module in dict.fromkeys(m.module for m in MUTANTS):
        if not tests_pass(scratch, module):
            print(f"{scratch.name}: {module}: its tests fail unmutated: void", flush=True)
            continue
        killed, applied, survivors = 0, 0, []
        for mutant in (m for m in MUTANTS if m.module == module):
            path = scratch / module
            original = path.read_text()
            if mutant.old not in original:
                print(f"{scratch.name}: {module}: not found: {mutant.old!r}", flush=True)
                continue
            path.write_text(original.replace(mutant.old, mutant.new, 1))
            try:
                dead = not tests_pass(scratch, module)
            finally:
                path.write_text(original)
            applied += 1
            killed += dead
            if not dead:
                survivors.append(mutant.rule)
            print(f"{scratch.name}: {'killed' if dead else 'SURVIVED'}: {mutant.rule}", flush=True)
        results[module] = (killed, applied, survivors)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="REV", help="also score the tree at this revision")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/minersim-mutation-sample"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    columns = {}
    if args.before:
        columns[f"before ({args.before})"] = score(tree("before", args.before, args.workdir))
    columns["after (worktree)"] = score(tree("after", None, args.workdir))
    print(f"\n{len(MUTANTS)} mutants, {(time.perf_counter() - started) / 60:.1f} min")
    for label, results in columns.items():
        total_killed = sum(k for k, _, _ in results.values())
        total = sum(n for _, n, _ in results.values())
        print(f"\n{label}: {total_killed}/{total} killed")
        for module, (killed, applied, survivors) in results.items():
            left = f"; survived: {', '.join(survivors)}" if survivors else ""
            print(f"  {module}: {killed}/{applied}{left}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
