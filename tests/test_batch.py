"""Batches: seeds independent of workers and backends, streaming and bounded memory, resume
after Ctrl-C and SIGKILL, metadata checks, CLI errors, samplers and summaries."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.analysis.summary import FAN_COLUMNS, fan_quantiles, summarize
from sim.batch import monte_carlo, run_seed, store, sweep
from sim.batch import runner as batch
from sim.batch.worker import ScenarioParcel
from sim.cli import main
from sim.errors import MinersimError
from sim.results import EPOCH_EXTRA_COLUMNS

ROOT_SEED = 11
RUNS = 6
CLI = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]


def dataset_hash(root: Path) -> str:
    """Content hash of a batch's epoch rows, sorted by run and epoch."""
    frame = store.read_epochs(root)
    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(rows.tobytes() + repr(list(frame.columns)).encode()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """Monte Carlo of the demo scenario on two local worker processes, with the miner table."""
    out = tmp_path_factory.mktemp("batch") / "reference"
    monte_carlo("demo", RUNS, ROOT_SEED, out, workers=2, miners=True, progress=False)
    return out


# --------------------------------------------------------------------------------------------
# Seeds and backends


def test_run_seeds_are_the_spawned_children_of_the_root_seed():
    children = np.random.SeedSequence(ROOT_SEED).spawn(50)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in children]
    seeds = [run_seed(ROOT_SEED, i) for i in range(50)]
    assert seeds == expected
    assert len(set(seeds)) == 50
    assert all(0 <= s < 2**63 for s in seeds)


def test_reference_dataset_has_one_file_per_run_and_the_run_seeds(reference):
    frame = store.read_epochs(reference)
    assert sorted(os.listdir(reference / "epochs")) == [store.run_file_name(i) for i in range(RUNS)]
    seeds = frame.groupby("run")["seed"].first()
    assert seeds.tolist() == [run_seed(ROOT_SEED, i) for i in range(RUNS)]
    assert (frame["point"] == 0).all()
    assert list(frame.columns[:4]) == ["run", "seed", "point", "stalled"]
    assert list(frame.columns[4:]) == list(sim.EPOCH_COLUMNS + EPOCH_EXTRA_COLUMNS)
    assert not frame["stalled"].any()
    # different seeds give different paths (else the seed comparisons below prove nothing)
    assert frame.groupby("run")["btc_price_usd"].last().nunique() == RUNS
    miners = store.read_miners(reference)
    agents = miners["miner_id"].nunique()
    assert len(miners) == len(frame) * agents
    assert set(sim.MINER_COLUMNS) <= set(miners.columns)


def test_one_worker_gives_the_same_dataset_as_two(reference, tmp_path):
    monte_carlo("demo", RUNS, ROOT_SEED, tmp_path / "one", workers=1, progress=False)
    assert dataset_hash(tmp_path / "one") == dataset_hash(reference)


def test_run_results_do_not_depend_on_the_number_of_runs_or_the_scenario_form(reference, tmp_path):
    """Run i's seed is child i of the root: a 3-run batch repeats the first 3 runs, whether
    the scenario is given by name or as a Scenario object."""
    scenario = sim.load_scenario("demo")
    monte_carlo(scenario, 3, ROOT_SEED, tmp_path / "three", workers=1, progress=False)
    head = store.read_epochs(reference).query("run < 3").reset_index(drop=True)
    pd.testing.assert_frame_equal(store.read_epochs(tmp_path / "three"), head)


def test_a_modified_scenario_object_runs_as_its_overrides(tmp_path):
    overrides = {"market.btc.volatility": 0.3}
    monte_carlo("demo", 2, 4, tmp_path / "by_name", workers=1, overrides=overrides, progress=False)
    modified = sim.load_scenario(sim.load_scenario("demo"), overrides)
    monte_carlo(modified, 2, 4, tmp_path / "by_object", workers=1, progress=False)
    assert dataset_hash(tmp_path / "by_object") == dataset_hash(tmp_path / "by_name")
    recorded = store.read_metadata(tmp_path / "by_object")["scenario_hash"]
    assert recorded == modified.content_hash != sim.load_scenario("demo").content_hash


@pytest.mark.cluster
@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_dataset(reference, tmp_path):
    out = tmp_path / "dask"
    monte_carlo(
        "demo", RUNS, ROOT_SEED, out, workers=2, dask_local=True, miners=True, progress=False
    )
    assert dataset_hash(out) == dataset_hash(reference)


# --------------------------------------------------------------------------------------------
# Streaming: bounded work in flight, errors name the run


class CountingExecutor(cf.ThreadPoolExecutor):
    """Records the largest number of submitted-but-unfinished futures."""

    def __init__(self):
        super().__init__(max_workers=2)
        self.lock = threading.Lock()
        self.outstanding = self.peak = 0

    def submit(self, fn, /, *args, **kwargs):
        with self.lock:
            self.outstanding += 1
            self.peak = max(self.peak, self.outstanding)
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future):
        with self.lock:
            self.outstanding -= 1


def _fake_run(task: batch.RunTask) -> batch.RunOutput:
    if task.run_id == 37:
        raise MinersimError("bad value")
    time.sleep(0.001)
    return batch.RunOutput(task.run_id, f"epochs {task.run_id}".encode(), None, 0.0)


def _tasks(runs: int):
    plan = batch.monte_carlo_plan(runs)
    scenario = sim.load_scenario("demo")
    template = batch.RunTask(ScenarioParcel.of(scenario), -1, -1, -1, {}, {}, False)
    return (batch._task_for(template, plan, ROOT_SEED, i) for i in range(runs))


def test_stream_keeps_a_bounded_window_and_writes_every_run(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "execute_run", _fake_run)
    batch_store = store.BatchStore(tmp_path)
    batch_store.epochs_dir.mkdir()
    with CountingExecutor() as executor:
        written = list(batch._stream(executor, _tasks(30), window=4, store=batch_store))
    assert sorted(written) == list(range(30))
    assert 1 <= executor.peak <= 4
    assert (tmp_path / "epochs" / store.run_file_name(29)).read_bytes() == b"epochs 29"


def test_run_files_reach_the_disk_once_per_chunk_of_runs_and_at_close(tmp_path, monkeypatch):
    flushed: list[str] = []
    monkeypatch.setattr(store, "fsync_file", lambda path: flushed.append(path.name))
    runs = 2 * store.SYNC_EVERY_RUNS + 3
    with store.BatchStore(tmp_path) as batch_store:
        batch_store.epochs_dir.mkdir()
        for run_id in range(runs):
            batch_store.write_run(run_id, f"epochs {run_id}".encode(), None)
        chunks = flushed.count(store.LEDGER_FILE)
        assert chunks == 2  # the ledger last in each chunk, after its run files
        assert flushed[store.SYNC_EVERY_RUNS] == store.LEDGER_FILE
    assert flushed.count(store.LEDGER_FILE) == 3  # closing flushes the last, partial chunk
    assert sorted(set(flushed) - {store.LEDGER_FILE}) == [
        store.run_file_name(i) for i in range(runs)
    ]
    assert store.BatchStore(tmp_path).read_ledger().keys() == set(range(runs))


def test_a_failing_run_stops_the_batch_and_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "execute_run", _fake_run)
    batch_store = store.BatchStore(tmp_path)
    batch_store.epochs_dir.mkdir()
    with CountingExecutor() as executor, pytest.raises(MinersimError, match=r"run 37 .*bad value"):
        for _ in batch._stream(executor, _tasks(100), window=4, store=batch_store):
            pass
    assert len(os.listdir(tmp_path / "epochs")) < 100


# --------------------------------------------------------------------------------------------
# Resume after Ctrl-C and after SIGKILL


def _start_cli(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        CLI + args,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,  # its own process group: the workers can be killed with it
        cwd=Path(sim.__file__).parent.parent,
    )


def _wait_for_runs(folder: Path, at_least: int, proc: subprocess.Popen, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if folder.is_dir() and sum(n.startswith("run-") for n in os.listdir(folder)) >= at_least:
            return
        if proc.poll() is not None:
            pytest.fail(f"batch exited early with status {proc.returncode}")
        time.sleep(0.01)
    pytest.fail(f"fewer than {at_least} runs after {timeout} s")


def _group_is_gone(pgid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.slow
def test_resume_after_ctrl_c_and_sigkill_equals_an_uninterrupted_batch(tmp_path):
    runs, seed = 40, 5
    out = tmp_path / "interrupted"
    args = ["mc", "demo", "--runs", str(runs), "--seed", str(seed), "--out", str(out)]
    args += ["--workers", "2"]

    # 1. Ctrl-C (SIGINT to the parent only, as a terminal would also send it to the workers,
    #    which ignore it): clean stop, exit 130, a message on how to resume, no stray process.
    proc = _start_cli(args, tmp_path / "first.log")
    _wait_for_runs(out / "epochs", 2, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130
    message = (tmp_path / "first.log").read_text()
    assert "Run the same command again to resume" in message, message
    assert _group_is_gone(proc.pid)
    after_ctrl_c = len(os.listdir(out / "epochs"))
    assert after_ctrl_c < runs

    # 2. Resume, then SIGKILL the whole process group (parent and workers) mid-batch.
    proc = _start_cli(args, tmp_path / "second.log")
    _wait_for_runs(out / "epochs", after_ctrl_c + 3, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    killed_at = len([n for n in os.listdir(out / "epochs") if n.startswith("run-")])
    assert after_ctrl_c < killed_at < runs
    stale = out / "epochs" / ".tmp-run-000039.parquet.999.deadbeef"
    stale.write_bytes(b"PAR1 half a file")  # what a kill during a write leaves

    # 3. Resume to the end in this process: only the missing runs run.
    assert main(args) == 0
    assert not stale.exists()
    names = sorted(os.listdir(out / "epochs"))
    assert names == [store.run_file_name(i) for i in range(runs)]

    uninterrupted = tmp_path / "uninterrupted"
    monte_carlo("demo", runs, seed, uninterrupted, workers=2, progress=False)
    assert dataset_hash(out) == dataset_hash(uninterrupted)


def test_resume_runs_only_missing_runs_and_ignores_temp_files(reference, tmp_path):
    out = tmp_path / "copy"
    (out / "epochs").mkdir(parents=True)
    (out / "miners").mkdir()
    metadata = store.read_metadata(reference)
    metadata["code_sha256"] = "0" * 64  # as if the simulator was edited since
    (out / "metadata.json").write_text(json.dumps(metadata))
    for run_id in (0, 2, 3, 5):
        name = store.run_file_name(run_id)
        for table in ("epochs", "miners"):
            (out / table / name).write_bytes((reference / table / name).read_bytes())
    (out / "epochs" / ".tmp-run-000001.parquet.1.abc").write_bytes(b"junk")
    assert len(store.read_epochs(out)["run"].unique()) == 4  # the temp file is not read
    with pytest.warns(UserWarning, match="source changed"):
        result = monte_carlo("demo", RUNS, ROOT_SEED, out, workers=2, miners=True, progress=False)
    assert (result.skipped_runs, result.completed_runs) == (4, 2)
    assert dataset_hash(out) == dataset_hash(reference)
    assert not list((out / "epochs").glob(".tmp-*"))


# --------------------------------------------------------------------------------------------
# Metadata and CLI errors


def test_resuming_with_different_settings_is_refused(reference):
    before = dataset_hash(reference)
    with pytest.raises(MinersimError, match="root_seed is 11 there but 12 now"):
        monte_carlo("demo", RUNS, 12, reference, miners=True, progress=False)
    with pytest.raises(MinersimError, match="scenario_hash"):
        monte_carlo(
            "demo",
            RUNS,
            ROOT_SEED,
            reference,
            miners=True,
            overrides={"market.btc.volatility": 0.6},
            progress=False,
        )
    assert dataset_hash(reference) == before


def test_cli_metadata_mismatch_is_one_line_and_exit_2(reference, capsys):
    args = ["mc", "demo", "--runs", str(RUNS), "--seed", str(ROOT_SEED), "--out", str(reference)]
    assert main([*args, "--miners", "--set", "market.btc.volatility=0.6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minersim: error:")
    assert "different batch" in err and "scenario_hash" in err and "--out" in err


@pytest.mark.parametrize(
    "design",
    [
        ["--grid", "market.btc.volatility"],
        ["--grid", "market.btc.volatility="],
        ["--grid", "market.btc.volatility=0.3,,0.5"],
        ["--grid", "market..volatility=0.3,0.5"],
        ["--grid", "market.btc.volatilty=0.3,0.5"],
        ["--grid", "market.btc.volatility=0.3,0.3"],
        ["--grid", "market.btc.volatility=-1,0.5"],
        ["--grid", "market.btc.volatility=0.3,0.5", "--range", "market.btc.volatility=0:1"],
        ["--lhs", "4"],
        ["--lhs", "4", "--range", "market.btc.volatility=0.1"],
        ["--lhs", "4", "--range", "market.btc.volatility=a:b"],
        ["--lhs", "4", "--range", "market.btc.volatility=0.8:0.2"],
        ["--lhs", "4", "--range", "market.btc.volatility=0:nan"],
        ["--lhs", "0", "--range", "market.btc.volatility=0.1:0.5"],
        ["--sobol", "6", "--range", "market.btc.volatility=0.1:0.5"],
    ],
)
def test_bad_sweep_arguments_exit_2_with_one_line(design, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["sweep", "demo", *design, "--runs", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minersim: error:"), err
    assert not out.exists()


def test_bad_batch_numbers_exit_2(tmp_path, capsys):
    assert main(["mc", "demo", "--runs", "0", "--out", str(tmp_path / "a")]) == 2
    assert main(["mc", "demo", "--runs", "2", "--seed", "-1", "--out", str(tmp_path / "b")]) == 2
    assert main(["mc", "demo", "--runs", "2", "--workers", "0", "--out", str(tmp_path / "c")]) == 2
    assert capsys.readouterr().err.count("minersim: error:") == 3


# --------------------------------------------------------------------------------------------
# Samplers


def test_latin_hypercube_has_one_point_per_stratum_and_follows_the_seed():
    ranges = {"a": (0.1, 0.9), "b": (-5.0, 5.0)}
    plan = batch.lhs_plan(20, ranges, 3, ROOT_SEED)
    values = np.array(plan.points)
    assert plan.total_runs == 60 and values.shape == (20, 2)
    for j, (lo, hi) in enumerate(ranges.values()):
        strata = np.floor((values[:, j] - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata) == list(range(20))
    assert batch.lhs_plan(20, ranges, 3, ROOT_SEED).points == plan.points
    assert batch.lhs_plan(20, ranges, 3, ROOT_SEED + 1).points != plan.points


def test_sobol_plan_is_saltelli_design_with_d_plus_2_points_per_base_point():
    ranges = {"a": (0.0, 1.0), "b": (10.0, 20.0), "c": (-1.0, 1.0)}
    plan = batch.sobol_plan(8, ranges, 1, ROOT_SEED)
    values = np.array(plan.points).reshape(8, 5, 3)  # A, AB_a, AB_b, AB_c, B per base point
    a, b = values[:, 0], values[:, 4]
    for j in range(3):
        expected = a.copy()
        expected[:, j] = b[:, j]
        np.testing.assert_array_equal(values[:, 1 + j], expected)
    lows, highs = np.array([0.0, 10.0, -1.0]), np.array([1.0, 20.0, 1.0])
    assert ((values >= lows) & (values <= highs)).all()


# --------------------------------------------------------------------------------------------
# Progress


def _fake_clock(step: float):
    now = [0.0]

    def clock():
        now[0] += step
        return now[0]

    return clock


def test_progress_prints_a_line_every_tenth_when_not_a_terminal():
    stream = io.StringIO()
    progress = batch.Progress(100, stream=stream, clock=_fake_clock(0.01))
    for _ in range(100):
        progress.advance()
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    pattern = r"progress: (\d+)/100 runs, [\d.]+ runs/s, ETA \d+ s"
    assert [int(re.fullmatch(pattern, line).group(1)) for line in lines] == list(range(10, 101, 10))


def test_progress_prints_every_10_seconds_on_slow_batches():
    stream = io.StringIO()
    progress = batch.Progress(1000, done=500, stream=stream, clock=_fake_clock(2.5))
    for _ in range(20):
        progress.advance()
    lines = stream.getvalue().splitlines()
    assert 4 <= len(lines) <= 6  # 20 runs x 2.5 s = 50 s
    assert lines[-1].startswith("progress: 520/1000 runs, 0.4 runs/s")


# --------------------------------------------------------------------------------------------
# Sweeps and summaries


def test_grid_sweep_stores_parameters_and_summarize_draws_fans_and_heat_maps(tmp_path):
    out = tmp_path / "grid"
    grid = {"market.btc.volatility": [0.3, 0.7], "market.power.base_usd_mwh": [40, 60.0]}
    result = sweep("demo", 2, ROOT_SEED, out, grid=grid, workers=2, progress=False)
    assert result.total_runs == 8
    frame = store.read_epochs(out)
    per_run = frame.groupby("run")[["point", "seed", *grid]].first()
    assert (per_run["point"] == per_run.index // 2).all()
    assert per_run["seed"].tolist() == [run_seed(ROOT_SEED, i) for i in range(8)]
    assert frame["market.power.base_usd_mwh"].dtype == np.float64  # one type per column
    points = pd.read_csv(out / "points.csv")
    assert points[["market.btc.volatility", "market.power.base_usd_mwh"]].values.tolist() == [
        [0.3, 40.0],
        [0.3, 60.0],
        [0.7, 40.0],
        [0.7, 60.0],
    ]

    paths = summarize(out, fan_columns=("hashrate_ehs",), final_columns=("hashrate_ehs",))
    for key in ("quantiles_csv", "fan_hashrate_ehs", "final_values_csv"):
        assert paths[key].exists()
    heat = [p for k, p in paths.items() if k.startswith("heatmap_hashrate_ehs")]
    assert len(heat) == 1
    for path in [p for p in paths.values() if p.suffix == ".png"]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    quantiles = pd.read_csv(paths["quantiles_csv"], parse_dates=["date"])
    q = quantiles[["p5", "p25", "p50", "p75", "p95"]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9 * np.abs(q[:, 1:])).all()
    # p50 at a mid-batch date equals the median over runs of each run's epoch covering that
    # date: its first epoch ending on or after it (sim.analysis.grid)
    hashrate = quantiles[quantiles["column"] == "hashrate_ehs"].reset_index(drop=True)
    when = hashrate["date"].iloc[len(hashrate) // 2]
    covering = frame[frame["date"] >= when].groupby("run")["hashrate_ehs"].first()
    assert len(covering) == 8
    assert hashrate["p50"].iloc[len(hashrate) // 2] == pytest.approx(covering.median())

    medians = pd.read_csv(
        out / "summary" / "heatmap_market.btc.volatility__market.power.base_usd_mwh.csv"
    )
    finals = frame.groupby("run").last()
    expected = finals.groupby(list(grid))["hashrate_ehs"].median().to_numpy()
    np.testing.assert_allclose(medians["hashrate_ehs"].to_numpy(), expected)


def test_fan_quantiles_read_each_run_on_a_common_date_grid():
    dates = pd.to_datetime(["2026-01-01", "2026-01-15", "2026-01-29", "2026-01-03", "2026-01-20"])
    frame = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1],
            "epoch": [0, 1, 2, 0, 1],
            "date": dates,
            "x": [1.0, 2.0, 3.0, 10.0, 20.0],
        }
    )
    table = fan_quantiles(frame, ["x"], step_days=7)
    # common span: 2026-01-03 (latest start) to 2026-01-20 (earliest end)
    assert table["date"].dt.strftime("%m-%d").tolist() == ["01-03", "01-10", "01-17", "01-20"]
    # the epoch covering each date (sim.analysis.grid): run 0: 2, 2, 3, 3; run 1: 10, 20, 20, 20
    np.testing.assert_allclose(table["p50"], [6.0, 11.0, 11.5, 11.5])
    np.testing.assert_allclose(table["p5"], [2 + 0.05 * 8, 2 + 0.05 * 18, 3.85, 3.85])


def test_sobol_sweep_writes_indices_for_every_parameter_and_column(tmp_path):
    out = tmp_path / "sobol"
    ranges = {"market.btc.volatility": (0.2, 0.8), "market.power.base_usd_mwh": (30.0, 70.0)}
    result = sweep("demo", 1, ROOT_SEED, out, sobol=2, ranges=ranges, workers=2, progress=False)
    assert result.total_runs == 2 * (2 + 2)
    columns = ("hashrate_ehs", "btc_price_usd")
    paths = summarize(out, fan_columns=("hashrate_ehs",), final_columns=columns)
    indices = pd.read_csv(paths["sobol_csv"])
    assert list(zip(indices["column"], indices["parameter"], strict=True)) == [
        (c, p) for c in columns for p in ranges
    ]
    assert np.isfinite(indices[["S1", "ST"]].to_numpy()).all()
    assert paths["sobol_png"].read_bytes()[:4] == b"\x89PNG"


def test_summarize_cli_lists_the_files(reference, capsys):
    assert main(["summarize", str(reference), "--column", "hashrate_ehs"]) == 0
    listed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert Path(listed["quantiles_csv"]).exists()
    assert all(Path(listed[f"fan_{column}"]).exists() for column in FAN_COLUMNS)
    assert not any(key.startswith(("heatmap", "sobol")) for key in listed)
