"""Imported by the worker pool's forkserver only (the first of its preloaded modules).

When a batch stops (Ctrl-C, SIGTERM, an error) while the pool is starting workers, a worker the
forkserver has just forked finds its parent's start-up data gone (a semaphore unlinked, a pipe
closed) and the forkserver printed that worker's traceback (FileNotFoundError, EOFError) under
the batch's one-line message. Such errors of a worker that has not started are silenced here;
any other error is printed as before. (A worker that did start reports its failures to the
batch through its results.)
"""

from __future__ import annotations

import sys

#: What a worker raises when the batch that started it stopped before it could start.
STARTED_TOO_LATE = (OSError, EOFError)


def _quiet_start_failures(kind, value, traceback) -> None:
    if issubclass(kind, STARTED_TOO_LATE):
        return
    sys.__excepthook__(kind, value, traceback)


sys.excepthook = _quiet_start_failures
