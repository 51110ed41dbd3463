"""Shared pytest fixtures and the CI rule for skips.

The browser set-up for pytest-playwright (tests marked ``browser``), and: **with ``CI`` set
(``CI=true``, as CI runs ``.ci/run``) a skipped test fails.** A test that needs something the
machine lacks (Debian chromium, the ``dask`` executable, a data file) skips on a developer's
machine with a message saying what to install, but in CI the missing dependency must fail the
run instead of hiding the coverage it stands for. Keep this file minimal. Fixture names to avoid: ``solara_server``,
``solara_app``, ``solara_test`` and ``page_session`` belong to solara's auto-loaded
pytest-ipywidgets plugin, and a fixture of ours with one of those names silently replaces it.
"""

from __future__ import annotations

import os
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


def in_ci() -> bool:
    """Whether the suite runs in CI (``CI`` set to anything but an empty string, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI, report a skipped test (``pytest.skip``, ``skipif``, ``importorskip``) as failed."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI={os.environ['CI']!r}), which must not skip: {reason}"
