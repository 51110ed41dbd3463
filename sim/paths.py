"""Where the files minersim ships live: bundled scenarios, historical data, the sources document.

In the repository they are the top-level folders ``scenarios/`` and ``data/``; the package maps
them as the subpackages ``sim.scenarios`` and ``sim.data`` (``package-dir`` in pyproject.toml),
so a wheel carries them as package data and an editable install reads the repository's
folders. Either way :func:`importlib.resources.files` finds them, and the two folders stay
siblings, so a scenario may cite ``../data/...``.

Scenario files cite the sources document as "cal §x.y" (its section numbers).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _package_folder(package: str) -> Path:
    """The folder of a data subpackage, as a real path (minersim is never run from a zip)."""
    folder = files(package)
    if not isinstance(folder, Path):  # pragma: no cover - a zipped or unusual install
        raise RuntimeError(f"{package} is not a folder on disk ({folder!r}): reinstall minersim")
    return folder


#: Bundled scenarios (TOML) and the CSV tables they read.
SCENARIOS_DIR = _package_folder("sim.scenarios")
#: Historical series and the sources document.
DATA_DIR = _package_folder("sim.data")
#: Daily network and price series to 2021-12-31 (BTC price to 2026-02-13), with provenance.
HISTORY_DIR = DATA_DIR / "history"
#: The dated real-world figures and their sources; "cal §x.y" cites its sections.
SOURCES_FILE = DATA_DIR / "sources.md"
