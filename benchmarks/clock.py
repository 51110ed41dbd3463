"""The benchmarks' one clock: CPU time (user + system), of this process or of a child process.

A ratio of two figures is taken on this clock, within one process, with the repetitions of its
two sides alternated: other work on the machine then slows both sides alike (wall time would
count the time this process waited for a core). Only a batch on several processes is timed on
the wall clock (its workers run side by side), and says so.

Other benchmark scripts import it after putting this folder on ``sys.path``.
"""

from __future__ import annotations

import resource
import subprocess
import time
from collections.abc import Callable, Sequence


def cpu_seconds(fn: Callable[[], object]) -> float:
    """CPU time (s) of this process during one call of ``fn``."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def child_cpu_seconds(argv: Sequence[str], **options) -> tuple[float, str]:
    """CPU time (s) of a child process running ``argv`` (with the children it waited for) and
    its standard output; ``options`` go to :func:`subprocess.run`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(list(argv), check=True, capture_output=True, text=True, **options)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done.stdout


def alternated(sides: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """``repeats`` measurements of each side (a function returning seconds), taken in turns:
    one of each side per round, so that a change of load hits every side alike."""
    out: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, measure in sides.items():
            out[name].append(measure())
    return out


__all__ = ["alternated", "child_cpu_seconds", "cpu_seconds"]
