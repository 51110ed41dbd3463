"""Errors a user can act on. The CLI prints them as one line and exits with status 2."""

from __future__ import annotations


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
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)
