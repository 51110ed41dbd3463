"""The discovery experiment (sim.experiments.default_drivers): its page, figure and table come
from the batch it runs, worded from the numbers; too few futures for discovery are said so."""

from __future__ import annotations

import pandas as pd
import pytest
from serial_backend import use_serial_backend

from sim.experiments import default_drivers


@pytest.fixture(autouse=True)
def serial(monkeypatch):
    use_serial_backend(monkeypatch)


def test_a_tiny_run_writes_its_outputs_and_says_discovery_needs_more_futures(tmp_path):
    default_drivers.main(["--runs", "3", "--out", str(tmp_path)])
    folder = tmp_path / default_drivers.NAME
    page = (folder / f"{default_drivers.NAME}.md").read_text()
    assert "3 futures are too few (at least 20" in page
    assert (folder / f"{default_drivers.NAME}.png").is_file()
    runs = pd.read_csv(folder / f"{default_drivers.NAME}.csv")
    assert len(runs) == 3 and set(default_drivers.UNCERTAINTIES) <= set(runs.columns)
    # the page's counts are the CSV's
    for label in default_drivers.GROUPS:
        count = int((runs[f"{label}_defaults_after_halving"] >= 1).sum())
        assert (
            f"**{label} miners**: at least one default after the 2028 halving in {count} of 3"
            in page
        )


@pytest.mark.slow
def test_the_default_size_scores_every_uncertainty_for_both_groups(tmp_path):
    default_drivers.main(["--runs", "24", "--out", str(tmp_path)])
    page = (tmp_path / default_drivers.NAME / f"{default_drivers.NAME}.md").read_text()
    assert "feature scores rank" in page
    for key in default_drivers.UNCERTAINTIES:
        assert key in page
