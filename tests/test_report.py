"""Results folders and their report: run folders that never overwrite silently and say where they
came from (metadata.json), reports of single runs, Monte Carlo and sweep folders, the backtest
caveat quoted from the experiment's own table, and the number format of the tables."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

import sim
from sim.analysis import markdown, style
from sim.analysis.report import write_report
from sim.batch.store import read_epochs
from sim.cli import main
from sim.cli.run import STALLED_EXIT
from sim.errors import MinersimError

SHORT = {"scenario.end_date": "2026-02-01"}  # demo, about 9 epochs
SHORT_SET = ["--set", "scenario.end_date=2026-02-01"]


def cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------- run folders


def test_run_without_out_writes_a_folder_named_by_scenario_and_seed(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(["run", "demo", "--seed", "3", *SHORT_SET], capsys)
    assert code == 0, err
    overrides = {"scenario.end_date": "2026-02-01"}
    digest = hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:8]
    folder = tmp_path / "results" / f"demo-seed3-{digest}"
    epochs = pd.read_parquet(folder / "epochs.parquet")
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["scenario_name"] == "demo"
    assert meta["scenario_hash"] == sim.load_scenario("demo", SHORT).content_hash
    assert meta["seed"] == 3 and meta["overrides"] == overrides
    assert meta["package_version"] == sim.__version__
    assert meta["epochs"] == len(epochs) and meta["stalled"] is False
    assert meta["last_epoch_date"] == f"{epochs['date'].iloc[-1]:%Y-%m-%d}"
    started, finished = (datetime.fromisoformat(meta[k]) for k in ("started", "finished"))
    assert started <= finished
    assert meta["command"] == "minersim run demo --seed 3 --set scenario.end_date=2026-02-01"
    # the recorded run is the one the API gives for the same inputs
    again = sim.run(sim.load_scenario("demo", SHORT), seed=3).epochs
    pd.testing.assert_frame_equal(epochs, again)


def test_a_folder_with_results_is_never_overwritten_without_force(tmp_path, capsys):
    out = tmp_path / "r"
    assert cli(["run", "demo", "--out", str(out), *SHORT_SET, "--report"], capsys)[0] == 0
    before = (out / "epochs.parquet").read_bytes()
    code, _, err = cli(["run", "demo", "--out", str(out), "--seed", "1", *SHORT_SET], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "already holds results" in err and "--force" in err
    assert (out / "epochs.parquet").read_bytes() == before  # untouched
    code, out_text, _ = cli(
        ["run", "demo", "--out", str(out), "--seed", "1", "--force", *SHORT_SET], capsys
    )
    assert code == 0 and "replacing" in out_text
    assert json.loads((out / "metadata.json").read_text())["seed"] == 1
    assert not (out / "report.md").exists()  # the old report described the old run


def test_different_overrides_go_to_different_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for volatility in ("0.5", "0.8"):
        argv = ["run", "demo", *SHORT_SET, "--set", f"market.btc.volatility={volatility}"]
        assert cli(argv, capsys)[0] == 0
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2 and all(f.startswith("demo-seed0-") for f in folders)


def test_a_stalled_run_is_recorded_and_reported(tmp_path, monkeypatch, capsys):
    real = sim.run(sim.load_scenario("demo", SHORT), seed=0)
    stalled = sim.RunResult(real.epochs.iloc[:3], real.miners, meta={"stalled": True})
    monkeypatch.setattr("sim.runner.run", lambda scenario, seed, **_: stalled)
    code, _, err = cli(["run", "demo", "--out", str(tmp_path), *SHORT_SET], capsys)
    assert code == STALLED_EXIT
    assert "stalled" in err
    assert json.loads((tmp_path / "metadata.json").read_text())["stalled"] is True
    assert "stopped early" in write_report(tmp_path).read_text()


# ------------------------------------------------------------------------------- reports


def test_report_of_a_run_with_an_experiment(tmp_path):
    result = sim.run("demo", seed=0, overrides=SHORT)
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
    assert "| MARA" in page  # the public miners at the end
    assert "![toy](experiments/toy/toy.png)" in page
    assert "#### Toy experiment" in page.splitlines()  # nested under the report's headings
    assert "No metadata.json" in page  # tables written by hand: provenance unknown, said so
    assert "was not run for this report" in page  # no backtest here: the caveat says so


def test_report_lists_the_defaults_the_scenario_relies_on(tmp_path, capsys):
    from sim.input.assumptions import assumptions_used

    assert cli(["run", "demo", "--out", str(tmp_path), *SHORT_SET], capsys)[0] == 0
    page = write_report(tmp_path).read_text()
    expected = assumptions_used(sim.load_scenario("demo", SHORT))
    assert f"`demo` leaves {len(expected)} values at the schema's defaults" in page
    for key in expected["key"]:
        assert f"| {key} " in page
    listed = pd.read_csv(tmp_path / "tables" / "assumptions.csv")
    assert listed["key"].tolist() == expected["key"].tolist()
    assert "has changed since" not in page


def test_report_of_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(MinersimError, match=r"not a results folder \(no epochs\.parquet"):
        write_report(tmp_path)


@pytest.mark.slow
def test_monte_carlo_report_bands_are_the_runs_percentiles(tmp_path):
    out = tmp_path / "mc"
    sim.monte_carlo("demo", runs=4, seed=1, out=out, workers=1, overrides=SHORT, progress=False)
    page = write_report(out).read_text()
    assert "Headline: 4 runs" in page
    frame = read_epochs(out)
    finals = frame.sort_values("epoch").groupby("run").tail(1)
    low, mid, high = np.percentile(finals["hashrate_ehs"], (5, 50, 95))
    row = next(line for line in page.splitlines() if line.startswith("| network hashrate, EH/s"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    first = frame.sort_values("epoch").groupby("run").head(1)["hashrate_ehs"].median()
    decimals = markdown.decimals_for([first, low, mid, high])
    assert cells[2:5] == [markdown.number(v, decimals) for v in (mid, low, high)]
    for name in ("network", "price_vs_cost", "hashprice", "debt_and_capacity"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    assert (out / "tables" / "yearly.csv").is_file()


def test_a_batch_with_miners_draws_each_miner_as_bands_over_runs(tmp_path):
    out = tmp_path / "mc"
    sim.monte_carlo("demo", 3, 1, out, workers=1, overrides=SHORT, miners=True, progress=False)
    page = write_report(out).read_text()
    assert "## Public miners (3 runs: median and p5-p95)" in page
    assert (out / "figures" / "public_miners.png").stat().st_size > 1000
    table = pd.read_csv(out / "tables" / "public_miners_end.csv")
    assert list(table.columns[:5]) == [
        "company",
        "market cap, $bn",
        "debt, $m",
        "AI/HPC share, %",
        "defaulted, % of runs (95% interval)",
    ]
    assert table["market cap, $bn"].str.fullmatch(r"[\d.,]+ \([\d.,]+ to [\d.,]+\)").all()
    assert (
        table["defaulted, % of runs (95% interval)"].str.fullmatch(r"\d+% \(\d+% to \d+%\)").all()
    )
    assert "default in " in page and "of runs (95% Wilson interval)" in page
    assert len(table) == len(sim.load_scenario("demo").miners)


def test_wilson_interval_by_hand():
    """3 defaults in 20 runs: p = 0.15, z = 1.96; centre (0.15 + 0.0960) / 1.1921 = 0.2064,
    half 1.96 x sqrt(0.006375 + 0.002401) / 1.1921 = 0.1540: 5.2% to 36.0%. None of 20: 0 to
    16.1% (the interval the issue asked for "0% of runs")."""
    low, high = markdown.wilson_interval(3, 20)
    assert (low, high) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3604, abs=1e-4))
    assert markdown.wilson_interval(0, 20) == (0.0, pytest.approx(0.1611, abs=1e-4))
    assert markdown.share_cell([True] * 3 + [False] * 17) == "15% (5% to 36%)"


@pytest.mark.slow
def test_sweep_report_lists_its_points(tmp_path):
    out = tmp_path / "grid"
    grid = {"market.btc.volatility": [0.3, 0.9]}
    sim.sweep(
        "demo", runs=2, seed=1, out=out, grid=grid, workers=1, overrides=SHORT, progress=False
    )
    page = write_report(out).read_text()
    assert "grid sweep" in page and "## Points" in page
    points = [line for line in page.splitlines() if re.match(r"\|\s+[01]\s+\|\s+0\.[39]", line)]
    assert len(points) == 2, page
    assert (out / "tables" / "points.csv").is_file()


def test_the_caveat_quotes_the_backtest_table(tmp_path):
    result = sim.run("demo", seed=0, overrides=SHORT)
    result.epochs.to_parquet(tmp_path / "epochs.parquet")
    folder = tmp_path / "experiments" / "backtest"
    folder.mkdir(parents=True)
    pd.DataFrame(
        {
            "date": ["2025-09-01", "2025-10-01"],
            "sim_difficulty_t_median": [48.0, 50.0],
            "sim_difficulty_t_p5": [38.0, 40.0],
            "sim_difficulty_t_p95": [58.0, 60.0],
            "observed_difficulty_t": [np.nan, 125.0],
        }
    ).to_csv(folder / "backtest.csv", index=False)
    page = write_report(tmp_path).read_text()
    assert "on 2025-10-01 is 0.40 of the realised 125.00 T" in page
    assert "p5-p95 0.32 to 0.48" in page


# ------------------------------------------------------------------------------- number format


def test_numbers_share_decimals_within_a_column_and_never_use_exponents():
    assert markdown.number_column([10_445_413_119.9, 5.0]) == ["10,445,413,120", "5"]
    assert markdown.number_column([0.000092, 0.5]) == ["0.000", "0.500"]
    assert markdown.number_column([45.67, 3.2]) == ["45.7", "3.2"]
    assert markdown.number_column([3.0, 7.0]) == ["3", "7"]  # counts
    assert markdown.number_column([float("nan"), 1.0]) == [markdown.MISSING, "1"]


def test_markdown_tables_right_align_numbers_and_bands():
    frame = pd.DataFrame(
        {"name": ["a", "b"], "value": [1.5, 22.25], "band": ["1.0 (0.5 to 2.0)", "n/a"]}
    )
    separator = markdown.markdown_table(frame).splitlines()[1]
    assert re.fullmatch(r"\|:-+\|-+:\|-+:\|", separator), separator


def test_count_bands_are_observed_values():
    assert markdown.band_cell([0, 1, 2, 3]) == "2 (0 to 3)"  # nearest rank: no 1.5
    assert markdown.band_cell([1.0, 2.0, 3.0, 4.0, 5.5]) == "3.00 (1.20 to 5.20)"


def test_ticks_are_plain_numbers():
    from matplotlib.figure import Figure

    fig = Figure()
    linear, log = fig.subplots(1, 2)
    linear.plot([0, 1], [2.1e10, 2.4e10])
    style.plain_ticks(linear)
    log.plot([0, 1], [2e4, 3e5])
    style.log_ticks(log)
    fig.canvas.draw()
    labels = [t.get_text() for ax in (linear, log) for t in ax.get_yticklabels()]
    assert labels and not any(re.search(r"e\+|10\^|\$", text) for text in labels), labels
    assert linear.yaxis.get_offset_text().get_text() == ""
    assert "50,000" in labels or "100,000" in labels
    assert style.number_text(60_000) == "60,000" and style.number_text(0.25) == "0.25"


@pytest.mark.slow
def test_main_writes_a_banded_report_and_replaces_only_its_own_folder(tmp_path, capsys):
    out = tmp_path / "main"
    argv = [
        "main",
        "--scenario",
        "demo",
        "--runs",
        "3",
        "--experiment-runs",
        "0",
        "--out",
        str(out),
    ]
    assert cli(argv, capsys)[0] == 0
    page = (out / "report.md").read_text()
    assert "## Headline: 3 runs" in page and "seed 0, one example run" in page
    assert json.loads((out / "metadata.json").read_text())["command_kind"] == "main"
    assert read_epochs(out / "mc")["run"].nunique() == 3
    code, text, _ = cli(argv, capsys)  # a re-run replaces what main wrote, and says so
    assert code == 0 and "replacing" in text
    ran = tmp_path / "ran"
    assert cli(["run", "demo", "--out", str(ran), *SHORT_SET], capsys)[0] == 0
    code, _, err = cli([*argv[:-1], str(ran)], capsys)  # not main's folder: refused
    assert code == 2 and "--force" in err


def test_the_report_leaves_stalled_runs_out_and_says_which_and_why(tmp_path):
    from sim.analysis.report import HEADLINE_COLUMNS, _sound_runs

    epochs = sim.run("demo", seed=0, overrides=SHORT).epochs
    runs = [epochs.assign(run=k, point=0, stalled=k > 0) for k in range(3)]
    runs[2].loc[runs[2].index[1], "epoch_days"] = 400.0  # degenerate: one epoch of 400 days
    frame = pd.concat(runs, ignore_index=True)[
        ["run", "point", "epoch", "date", "stalled", "epoch_days", *HEADLINE_COLUMNS]
    ]
    (tmp_path / "tables").mkdir()
    used, lines = _sound_runs(frame, tmp_path)
    assert sorted(used["run"].unique()) == [0]
    text = " ".join(lines)
    assert "Runs used: 1 of 3" in text
    assert "run 1: the chain stopped" in text and "run 2: an epoch lasted 400 days" in text
    assert pd.read_csv(tmp_path / "tables" / "runs_excluded.csv")["run"].tolist() == [1, 2]
    kept, lines = _sound_runs(frame.assign(stalled=False), tmp_path)
    assert len(kept) == len(frame) and "all 3; none stalled" in lines[0]
