"""Shared pytest fixtures.

So far only the browser set-up for pytest-playwright (tests marked ``browser``); keep this file
minimal and add other shared fixtures below it. Fixture names to avoid: ``solara_server``,
``solara_app``, ``solara_test`` and ``page_session`` belong to solara's auto-loaded
pytest-ipywidgets plugin, and a fixture of ours with one of those names silently replaces it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Debian's chromium (apt-get install chromium). Never `playwright install`: it downloads a
#: browser, which fails on machines without general internet access.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system chromium."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "headless": True,
    }
