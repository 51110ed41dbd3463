"""Signals the command line reports: Ctrl-C (SIGINT) and SIGTERM end a command alike, with one
line (a batch also says how many runs are saved) and the shell's exit status for the signal."""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


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


#: Seconds between looks while a Ctrl-C waits for an import to finish.
IMPORT_RETRY_S = 0.05


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` and Ctrl-C raises KeyboardInterrupt
    outside imports (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        raise Terminated

    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, raise_terminated),
        signal.SIGINT: signal.signal(signal.SIGINT, interrupt_outside_imports),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interrupt_outside_imports(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C's handler: KeyboardInterrupt, unless the program is importing a module.

    An exception raised inside an import can land in C code that swallows it (pandas' import
    printed "Exception ignored in PyObject_HasAttr" and a traceback, and the batch went on), so
    while an import runs the interrupt is delivered again IMPORT_RETRY_S later, until it lands
    outside one."""
    if _importing(frame):
        timer = threading.Timer(IMPORT_RETRY_S, _thread.interrupt_main, args=(signum,))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` or a caller of it runs the import machinery."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False
