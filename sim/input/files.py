"""Reading files: regular files only, bounded; a scenario's files also confined to allowed folders.

:func:`read_regular` (and :func:`read_text`, :func:`read_json` on it) is how minersim reads any
file; :func:`read_bytes` adds the confinement of the files a scenario names.

A scenario file may read other files (its ``extends`` parent, its CSV tables) only inside:

* the folder of the scenario file the user named, and everything below it;
* the bundled scenarios folder (:data:`sim.paths.SCENARIOS_DIR`);
* folders the user names explicitly (``--data-dir DIR`` on the command line, ``data_dirs=`` in
  :func:`sim.load_scenario`).

Paths are compared after resolving symbolic links and ``..``, so a link inside the folder that
points outside is outside. The check uses the path alone, before anything is opened, so an error
never tells whether a file outside exists. Only regular files are opened (a FIFO, a device, a
socket or a folder is refused before ``open``, and the open itself does not block), and at most
``limit`` bytes are read.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sim.errors import MinersimError, ScenarioError
from sim.paths import SCENARIOS_DIR

#: Largest scenario TOML file read (bytes).
MAX_TOML_BYTES = 1 << 20
#: Largest CSV table read (bytes): a daily price replay of 270 years is about 3 MB.
MAX_TABLE_BYTES = 32 << 20

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer
    | getattr(os, "O_NOFOLLOW", 0)  # the resolved path may not be swapped for a link
    | getattr(os, "O_CLOEXEC", 0)
)


def display(path: Path | str) -> str:
    """A path as shown in messages: relative to the current folder when below it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def _real(path: Path | str) -> Path:
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class Confinement:
    """The folders (resolved, absolute) a scenario may read files from."""

    roots: tuple[Path, ...]

    @classmethod
    def for_scenario(
        cls, file: Path | None, data_dirs: Iterable[str | os.PathLike] = ()
    ) -> Confinement:
        """The scenario file's folder (if any), the bundled scenarios and ``data_dirs``."""
        roots = [Path(SCENARIOS_DIR)]
        if file is not None:
            roots.append(Path(file).parent)
        for folder in data_dirs:
            text = os.fspath(folder)
            if "\x00" in text:
                raise ScenarioError("a data folder cannot contain a NUL character")
            if not Path(text).is_dir():
                raise ScenarioError(f"data folder {display(text)} is not a folder")
            roots.append(Path(text))
        return cls(tuple(dict.fromkeys(_real(root) for root in roots)))

    def widened(self, data_dirs: Iterable[str | os.PathLike]) -> Confinement:
        """These roots plus ``data_dirs``."""
        extra = Confinement.for_scenario(None, data_dirs).roots
        return Confinement(tuple(dict.fromkeys((*self.roots, *extra))))

    def allows(self, path: Path | str) -> bool:
        real = _real(path)
        return any(real.is_relative_to(root) for root in self.roots)

    def check(self, path: Path | str, *, owner: str | None, key: str | None) -> Path:
        """The resolved path, or a ScenarioError if it lies outside every root."""
        if "\x00" in os.fspath(path):
            raise ScenarioError("a file path cannot contain a NUL character", file=owner, key=key)
        if not self.allows(path):
            folders = ", ".join(display(root) for root in self.roots)
            raise ScenarioError(
                f"{display(path)} is outside the folders a scenario may read ({folders}); "
                "name its folder with --data-dir DIR (data_dirs= in Python) to allow it",
                file=owner,
                key=key,
            )
        return _real(path)


def read_bytes(
    path: Path | str,
    confinement: Confinement,
    limit: int,
    *,
    owner: str | None = None,
    key: str | None = None,
) -> bytes:
    """The contents of a regular file inside ``confinement``, at most ``limit`` bytes.

    ``owner`` and ``key`` say where the path was given (the TOML file and its key) for errors.
    """
    real = confinement.check(path, owner=owner, key=key)

    def error(message: str) -> ScenarioError:
        return ScenarioError(message, file=owner, key=key)

    return read_regular(real, limit, shown=display(path), error=error)


def read_regular(
    path: Path | str,
    limit: int,
    *,
    shown: str | None = None,
    error: Callable[[str], MinersimError] = MinersimError,
) -> bytes:
    """The contents of ``path``, a regular file of at most ``limit`` bytes: the one way minersim
    reads a file (scenarios, batch metadata and ledgers, run folders, calibration specs and
    results, history data).

    A FIFO, a device, a socket or a folder is refused before it is opened (and the open itself
    does not block), a file larger than ``limit`` is refused before it is read and read no
    further than ``limit + 1`` bytes if it grows. Every problem is one line, raised as
    ``error(message)`` (a :class:`MinersimError`); ``shown`` is the path as messages give it.
    """
    shown = display(path) if shown is None else shown
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise error(f"file not found: {shown}") from None
    except (OSError, ValueError) as exc:
        raise error(f"cannot read {shown}: {_reason(exc)}") from None
    _check_regular(info, shown, error)
    _check_size(info.st_size, limit, shown, error)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise error(f"cannot read {shown}: {_reason(exc)}") from None
    try:
        _check_regular(os.fstat(fd), shown, error)  # the same file as the one checked
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise error(f"cannot read {shown}: {_reason(exc)}") from None
    finally:
        os.close(fd)
    _check_size(size, limit, shown, error)
    return b"".join(chunks)


def read_text(path: Path | str, limit: int, *, shown: str | None = None) -> str:
    """A regular file of UTF-8 text (:func:`read_regular`); MinersimError if it is not UTF-8."""
    shown = display(path) if shown is None else shown
    data = read_regular(path, limit, shown=shown)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MinersimError(f"{shown} is not UTF-8 text (byte {exc.start}): damaged?") from None


def read_json(path: Path | str, limit: int, *, shown: str | None = None) -> dict:
    """A regular file holding one JSON object (:func:`read_regular`); MinersimError, one line,
    if it is not UTF-8, not JSON, nested too deep or not an object."""
    shown = display(path) if shown is None else shown
    text = read_text(path, limit, shown=shown)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MinersimError(f"{shown} is not valid JSON (line {exc.lineno}): damaged?") from None
    except RecursionError:
        raise MinersimError(f"{shown} is nested too deeply to be minersim's JSON") from None
    if not isinstance(value, dict):
        raise MinersimError(f"{shown} does not hold a JSON object: damaged?")
    return value


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _check_regular(info: os.stat_result, shown: str, error: Callable[[str], MinersimError]) -> None:
    mode = info.st_mode
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a FIFO (named pipe)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise error(f"{shown} is {kind}, not a regular file")


def _check_size(size: int, limit: int, shown: str, error: Callable[[str], MinersimError]) -> None:
    if size > limit:
        raise error(f"{shown} is larger than the {_size_text(limit)} such a file may be")


def _size_text(limit: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if limit >= 1 << shift:
            return f"{limit / 2**shift:g} {unit}"
    return f"{limit} bytes"


__all__ = [
    "MAX_TABLE_BYTES",
    "MAX_TOML_BYTES",
    "Confinement",
    "display",
    "read_bytes",
    "read_json",
    "read_regular",
    "read_text",
]
