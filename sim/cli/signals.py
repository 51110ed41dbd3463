"""Signals the command line reports: Ctrl-C (SIGINT) and SIGTERM end a command alike, with one
line (a batch also says how many runs are saved) and the shell's exit status for the signal."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is (so a batch stops and saves as on Ctrl-C)."""


#: Exit status and word for each way of being stopped (128 + the signal's number).
STOPPED = {Terminated: (128 + signal.SIGTERM, "terminated")}
INTERRUPTED = (128 + signal.SIGINT, "interrupted")


def stopped(exc: BaseException) -> tuple[int, str]:
    """(exit status, word) for a KeyboardInterrupt, or one caused by a Terminated."""
    while exc is not None:
        for kind, outcome in STOPPED.items():
            if isinstance(exc, kind):
                return outcome
        exc = exc.__cause__ or exc.__context__
    return INTERRUPTED


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
