"""Where the files minersim ships live: bundled scenarios, historical data, the sources document.

Scenario files cite the sources document as "cal §x.y" (its section numbers).
"""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCENARIOS_DIR = PROJECT_DIR / "scenarios"
DATA_DIR = PROJECT_DIR / "data"
#: Daily network and price series to 2021-12-31 (BTC price to 2026-02-13), with provenance.
HISTORY_DIR = DATA_DIR / "history"
#: The dated real-world figures and their sources; "cal §x.y" cites its sections.
SOURCES_FILE = DATA_DIR / "sources.md"
