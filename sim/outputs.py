"""Writing outputs: the one way minersim puts a file or a results folder on disk.

* :func:`atomic_write`: a file is written under a temporary name starting with
  :data:`TEMP_PREFIX` in its folder, flushed to disk (fsync), renamed into place with
  :func:`os.replace` (atomic) and the folder flushed, so a reader sees the old file or the new
  one, never a part; :func:`save_figure` writes a figure this way.
* :class:`FolderLock`: an advisory lock (``flock`` on ``DIR/.lock``) held by the one process
  that writes a results folder (a batch, a run); a second process stops at once with one line
  naming the first. The lock file records what holds it (``batch pid 123``).
* :func:`staged_folder`: a folder's new content is written into a temporary folder inside it
  and moved into place only when all of it is on disk (its ``metadata.json`` last, the mark of a
  complete folder); on any failure the temporary folder goes, and so does the folder itself if
  this call created it. So a failed or interrupted write leaves the old content or nothing,
  never a half folder and never an empty one.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from sim.errors import MinersimError

TEMP_PREFIX = ".tmp-"
LOCK_FILE = ".lock"


def atomic_write(path: Path, data: bytes, sync: bool = True) -> None:
    """Write ``data`` to a temporary file next to ``path``, flush it to disk, rename it into
    place and flush the folder (so that the rename survives a power cut). With ``sync`` False
    the flushes to disk are left to the caller (:func:`fsync_file`, :func:`fsync_folder`; a
    batch makes them once per chunk of runs): a killed process still leaves the old file or the
    new one, a power cut may leave the new one empty or torn."""
    temp = temp_name(path)
    try:
        with temp.open("wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    if sync:
        fsync_folder(path.parent)


def fsync_file(path: Path) -> None:
    """Flush a file already written and closed to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_figure(figure, path: Path, **options) -> Path:
    """A matplotlib ``figure`` saved at ``path`` (format from its suffix; ``options`` as
    ``savefig``'s), rendered in memory and written with :func:`atomic_write`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=Path(path).suffix.lstrip(".") or "png", **options)
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)


def check_can_create(folder: Path) -> None:
    """MinersimError unless ``folder`` exists or could be created now (its nearest existing
    ancestor is a writable folder); creates nothing, so a command that fails later leaves no
    empty folder behind."""
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise MinersimError(f"cannot create {folder}: {ancestor} is not a folder")
            if not os.access(ancestor, os.W_OK | os.X_OK):
                raise MinersimError(f"cannot create {folder}: {ancestor} is not writable")
            return


def temp_name(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (``.tmp-NAME.PID.RANDOM``)."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk, where the OS allows it."""
    with contextlib.suppress(OSError, AttributeError):  # not on every OS / filesystem
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FolderLock:
    """The writer's lock on a results folder (``DIR/.lock``), taken without waiting.

    ``kind`` ("batch", "run") is recorded in the lock file and named to a second writer.
    """

    def __init__(self, root: Path, kind: str, hint: str):
        self.root, self.kind, self.hint = Path(root), kind, hint
        self._handle = None

    def acquire(self) -> None:
        """Take the lock, or MinersimError naming the process that holds it."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here
            return
        path = self.root / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise MinersimError(f"cannot lock {self.root}: {exc.strerror}") from None
        handle = os.fdopen(fd, "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(handle.read(200))
            handle.close()
            raise MinersimError(
                f"another minersim {holder} is writing to {self.root}; {self.hint}"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{self.kind} pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file releases the flock
            self._handle = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(text: str) -> str:
    """``batch (pid 123)`` from the lock file's ``batch pid 123`` (``pid 123``: older batches)."""
    words = text.split()
    if len(words) == 2 and words[0] == "pid" and words[1].isdigit():
        return f"batch (pid {words[1]})"
    if len(words) == 3 and words[1] == "pid" and words[2].isdigit() and words[0].isalpha():
        return f"{words[0]} (pid {words[2]})"
    return "process"


def remove_temp_entries(folder: Path) -> int:
    """Delete the ``.tmp-*`` files and folders left in ``folder`` by killed writers (call it
    while holding the folder's lock); return how many there were."""
    removed = 0
    if not folder.is_dir():
        return removed
    for entry in os.scandir(folder):
        if not entry.name.startswith(TEMP_PREFIX):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed += 1
    return removed


@contextlib.contextmanager
def staged_folder(
    out: Path,
    kind: str,
    hint: str,
    replaced: Callable[[], Sequence[str]] = tuple,
    last: str | None = None,
) -> Iterator[Path]:
    """Lock ``out`` (creating it if need be), call ``replaced`` (under the lock: it checks that
    ``out`` may be written and names the old content that the new replaces) and yield an empty
    temporary folder inside ``out``; when the block ends without an exception, remove the old
    content and move everything from the temporary folder into ``out``, ``last`` last.

    On an exception (a full disk, Ctrl-C, an error), the temporary folder is deleted and, if
    this call created ``out``, ``out`` too: the old content stays as it was, or nothing is left.
    """
    created = _missing_folders(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MinersimError(f"cannot create the output folder {out}: {exc.strerror}") from None
    lock = FolderLock(out, kind, hint)
    try:
        lock.acquire()
        old = list(replaced())
        remove_temp_entries(out)
        stage = temp_name(out / kind)
        stage.mkdir()
        try:
            yield stage
            _commit(stage, out, old, last)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        _remove_if_empty(created, out)
        raise
    finally:
        lock.release()


def _commit(stage: Path, out: Path, replaced: Sequence[str], last: str | None) -> None:
    for name in replaced:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    names = sorted(os.listdir(stage), key=lambda name: name == last)
    for name in names:
        os.replace(stage / name, out / name)
    fsync_folder(out)


def _missing_folders(out: Path) -> list[Path]:
    """``out`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (out, *out.parents):
        if folder.exists() or folder.is_symlink():
            break
        missing.append(folder)
    return missing


def _remove_if_empty(created: list[Path], out: Path) -> None:
    """Remove the folders this call created (deepest first) while they are empty (``out``
    with only its lock file counts as empty)."""
    with contextlib.suppress(OSError):
        if created:
            (out / LOCK_FILE).unlink(missing_ok=True)
        for folder in created:
            folder.rmdir()  # fails, and stops, at the first folder that is not empty


__all__ = [
    "LOCK_FILE",
    "TEMP_PREFIX",
    "FolderLock",
    "atomic_write",
    "check_can_create",
    "fsync_file",
    "fsync_folder",
    "remove_temp_entries",
    "save_figure",
    "staged_folder",
    "temp_name",
]
