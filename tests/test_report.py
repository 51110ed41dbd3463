"""The report page of a results folder: the run's figures and tables, then any experiments."""

from __future__ import annotations

import pytest

import sim
from sim.analysis.report import write_report
from sim.errors import MinersimError


def test_report_of_a_run_with_an_experiment(tmp_path):
    result = sim.run("demo", seed=0, overrides={"scenario.end_date": "2026-02-01"})
    result.epochs.to_parquet(tmp_path / "epochs.parquet")
    result.miners.to_parquet(tmp_path / "miners.parquet")
    exp = tmp_path / "experiments" / "toy"
    exp.mkdir(parents=True)
    (exp / "toy.md").write_text("# Toy experiment\n\nsome text\n")
    (exp / "toy.png").write_bytes(b"\x89PNG")

    page = write_report(tmp_path).read_text()

    for name in ("network", "price_vs_cost", "hashprice", "debt_and_capacity", "public_miners"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 1000
        assert f"figures/{name}.png" in page
    assert "| MARA" in page  # the final public-miners table
    assert "![toy](experiments/toy/toy.png)" in page
    assert "#### Toy experiment" in page.splitlines()  # nested under the report's headings


def test_report_of_a_folder_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(MinersimError, match=r"no epochs\.parquet"):
        write_report(tmp_path)
