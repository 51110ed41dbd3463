"""Progress of a batch: runs done, rate and ETA."""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


class Progress:
    """Runs done, rate and ETA: a tqdm bar on a terminal, else a plain line every ~10% or 10 s
    (``progress: 120/1000 runs, 9.8 runs/s, ETA 90 s``)."""

    def __init__(
        self,
        total: int,
        done: int = 0,
        stream: TextIO | None = None,
        enabled: bool = True,
        clock=time.monotonic,
    ):
        self.total, self.done, self.initial = total, done, done
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.clock = clock
        self.started = self.last_line = clock()
        self.last_count = done
        self.next_line_at = self._next_threshold(done)
        self.bar = None
        if enabled and _is_tty(self.stream):
            from tqdm import tqdm

            self.bar = tqdm(
                total=total, initial=done, unit="run", file=self.stream, dynamic_ncols=True
            )

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled:
            now = self.clock()
            if self.done >= self.next_line_at or now - self.last_line >= 10.0:
                self._line(now)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.last_count != self.done:
            self._line(self.clock())

    def rate(self, now: float | None = None) -> float:
        """Runs per second finished by this process so far."""
        elapsed = (now if now is not None else self.clock()) - self.started
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    def _line(self, now: float) -> None:
        rate = self.rate(now)
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        print(
            f"progress: {self.done}/{self.total} runs, {rate:.1f} runs/s, ETA {eta}",
            file=self.stream,
            flush=True,
        )
        self.last_line, self.last_count = now, self.done
        self.next_line_at = self._next_threshold(self.done)

    def _next_threshold(self, done: int) -> int:
        step = max(1, math.ceil(self.total / 10))
        return (done // step + 1) * step


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
