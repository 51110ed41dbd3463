"""Errors a user can act on. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations

#: Most characters of a user's input (a key, a value) an error message repeats.
MAX_ECHO_CHARS = 200


def echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` as an error message repeats it: cut to ``limit`` characters, with the number
    of characters cut (a 100 KB key is not sent back in full)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


class MinersimError(Exception):
    """Base class: a problem with the user's input, reported without a traceback."""


class ScenarioError(MinersimError):
    """A scenario file, override or data file is invalid.

    The message names the file and, where there is one, the dotted key (``market.btc.volatility``)
    or the CSV row and column.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        where = ": ".join(echo(part) for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
