"""Outcomes as declared objects: reducers against hand-computed values, per-miner sums, the
text forms, conditions, and ``sim.open_batch`` on a real batch (also one still running)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from serial_backend import use_serial_backend

import sim
from sim.analysis import outcomes as oc
from sim.batch import store, sweep
from sim.errors import MinersimError

START = np.datetime64("2028-01-01", "ns")
H = oc.HALVING_2028_HEIGHT


def series(values, days=None, heights=None) -> oc.Series:
    values = np.asarray(values, dtype=float)
    days = np.arange(1, len(values) + 1) * 14 if days is None else np.asarray(days)
    dates = START + days.astype("timedelta64[D]").astype("timedelta64[ns]")
    heights = np.arange(1, len(values) + 1) * 2016 if heights is None else np.asarray(heights)
    return oc.Series(values, dates, np.asarray(heights), START)


def test_reducers_give_the_hand_computed_values():
    s = series([1.0, 2.0, 1.0, 3.0, 0.6])
    assert oc.Final()(s) == 0.6 and oc.Max()(s) == 3.0 and oc.Min()(s) == 0.6
    assert oc.MaxDrawdown()(s) == pytest.approx(1 - 0.6 / 3.0)  # 0.8 beats 1 - 1/2
    assert oc.MaxDrawdown()(series([1.0, 2.0, 4.0])) == 0.0
    # epochs end on days 14, 28, 42, 56, 70: the window holds days 28 and 42
    assert oc.Mean("2028-01-29", "2028-02-12")(s) == pytest.approx(1.5)
    assert np.isnan(oc.Mean("2030-01-01")(s))
    assert oc.TimeTo(">=", 3)(s) == 56.0 and oc.TimeTo("<", 1)(s) == 70.0
    assert np.isnan(oc.TimeTo(">", 5)(s))


def test_halving_reducers_read_the_epoch_that_mines_the_halving_block():
    heights = [H - 4000, H - 2000, H + 16, H + 2032, H + 4048, H + 6064]
    defaulted = series([0, 1, 1, 2, 4, 4], heights=heights)
    assert oc.AfterHalving()(defaulted) == 3.0  # 4 at the end, 1 before the halving epoch
    hashrate = series([10, 12, 9, 11, 12.5, 13], heights=heights)
    # back at >= 12 at the 5th epoch (day 70), 42 days after the epoch before the halving (28)
    assert oc.HalvingRecovery()(hashrate) == 42.0
    assert np.isnan(oc.HalvingRecovery()(series([10, 12, 9, 11], heights=heights[:4])))
    early = series([0, 1, 2], heights=[1000, 3016, 5032])  # never reaches the halving
    assert np.isnan(oc.AfterHalving()(early)) and np.isnan(oc.HalvingRecovery()(early))


def _epochs(values_by_run: dict[int, list[float]]) -> pd.DataFrame:
    rows = []
    for run, values in values_by_run.items():
        for epoch, value in enumerate(values):
            date = pd.Timestamp("2028-01-01") + pd.Timedelta(days=14 * (epoch + 1))
            rows.append(
                {
                    "run": run,
                    "epoch": epoch,
                    "date": date,
                    "height": 2016 * (epoch + 1),
                    "epoch_days": 14.0,
                    "x": value,
                }
            )
    return pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # any row order


def test_compute_gives_one_row_per_run_and_sums_named_miners():
    epochs = _epochs({3: [1, 5, 2], 7: [4, 4, 8]})
    miners = pd.DataFrame(
        [
            {"run": run, "epoch": e, "name": name, "defaulted": flag}
            for run, flags in {
                3: {"A": [0, 1, 1], "B": [0, 0, 1], "C": [1, 1, 1]},
                7: {"A": [0, 0, 0], "B": [0, 1, 1], "C": [0, 0, 0]},
            }.items()
            for name, values in flags.items()
            for e, flag in enumerate(values)
        ]
    ).astype({"defaulted": bool})
    outcomes = [
        oc.Outcome("x_final", "x"),
        oc.Outcome("x_peak_day", "x", oc.TimeTo(">=", 5)),
        oc.Outcome("ab_defaults", "defaulted", oc.Final(), miners=("A", "B")),
        oc.Outcome("first_ab_default", "defaulted", oc.TimeTo(">=", 1), miners=("A", "B")),
    ]
    table = oc.compute(epochs, outcomes, miners)
    assert table["run"].tolist() == [3, 7]
    assert table["x_final"].tolist() == [2.0, 8.0]
    assert table["x_peak_day"].tolist() == [28.0, 42.0]  # from the start, 14 days before epoch 0
    assert table["ab_defaults"].tolist() == [2.0, 1.0]  # C is not counted
    assert table["first_ab_default"].tolist() == [28.0, 28.0]
    with pytest.raises(MinersimError, match="no miner named 'Z'"):
        oc.compute(epochs, [oc.Outcome("z", "defaulted", miners="Z")], miners)
    with pytest.raises(MinersimError, match="--miners"):
        oc.compute(epochs, [oc.Outcome("z", "defaulted", miners="A")], None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("peak=max(total_debt_usd)", oc.Outcome("peak", "total_debt_usd", oc.Max())),
        (
            "h=mean(hashrate_ehs, 2029-01-01, 2029-12-31)",
            oc.Outcome("h", "hashrate_ehs", oc.Mean("2029-01-01", "2029-12-31")),
        ),
        (
            "first=time_to(miners_defaulted >= 1)",
            oc.Outcome("first", "miners_defaulted", oc.TimeTo(">=", 1.0)),
        ),
        (
            "small=after_halving(defaulted[Hut 8, Bitfarms])",
            oc.Outcome("small", "defaulted", oc.AfterHalving(), miners=("Hut 8", "Bitfarms")),
        ),
        (
            "r=halving_recovery(hashrate_ehs, 840000)",
            oc.Outcome("r", "hashrate_ehs", oc.HalvingRecovery(840_000)),
        ),
        ("cap=final(market_cap_usd[MARA])", oc.Outcome("cap", "market_cap_usd", miners="MARA")),
    ],
)
def test_outcomes_parse_from_text(text, expected):
    assert oc.parse_outcome(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "peak",
        "peak=maximum(x)",
        "2x=max(x)",
        "t=time_to(x)",
        "t=time_to(x => 1)",
        "m=mean(x, not-a-date)",
        "m=max(x, 3)",
    ],
)
def test_bad_outcome_texts_are_one_line_errors(text):
    with pytest.raises(MinersimError) as error:
        oc.compute(_epochs({0: [1.0]}), [oc.parse_outcome(text)])
    assert "\n" not in str(error.value)


def test_conditions_select_runs_and_bad_ones_say_why():
    frame = pd.DataFrame({"run": [0, 1, 2], "miners_defaulted": [0, 3, 5], "x": [1.0, 0.5, 2]})
    assert oc.condition(frame, "miners_defaulted >= 3").tolist() == [False, True, True]
    assert oc.condition(frame, "(miners_defaulted >= 3) & (x > 1)").tolist() == [False, False, True]
    for bad in ("miners_defaulted +", "nonesuch > 1", "x * 2"):
        with pytest.raises(MinersimError, match="--where"):
            oc.condition(frame, bad)
    with pytest.raises(MinersimError, match="unknown outcome 'nonesuch'"):
        oc.resolve(["nonesuch"], ["x"])


# --------------------------------------------------------------------------------------------
# sim.open_batch


@pytest.fixture(scope="module")
def small_batch(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    use_serial_backend(monkeypatch)
    out = tmp_path_factory.mktemp("view") / "lhs"
    ranges = {"market.btc.volatility": (0.2, 0.8)}
    sweep(
        "demo",
        2,
        9,
        out,
        lhs=3,
        ranges=ranges,
        miners=True,
        progress=False,
        overrides={"scenario.end_date": dt.date(2025, 12, 1)},
    )
    monkeypatch.undo()
    return out


def test_open_batch_gives_one_row_per_run_with_parameters_and_final_values(small_batch):
    batch = sim.open_batch(small_batch)
    experiments, outcomes = batch.results(
        ["miners_defaulted", "btc_price_usd", oc.Outcome("mara_btc", "btc_held", miners="MARA")]
    )
    assert experiments["run"].tolist() == outcomes["run"].tolist() == list(range(6))
    assert experiments["point"].tolist() == [0, 0, 1, 1, 2, 2]
    assert experiments["replicate"].tolist() == [0, 1] * 3
    points = pd.read_csv(small_batch / "points.csv")
    np.testing.assert_allclose(
        experiments["market.btc.volatility"], np.repeat(points["market.btc.volatility"], 2)
    )
    epochs = store.read_epochs(small_batch)
    last = epochs.sort_values("epoch").groupby("run").tail(1).sort_values("run")
    np.testing.assert_array_equal(outcomes["btc_price_usd"], last["btc_price_usd"])
    assert experiments["seed"].tolist() == last["seed"].tolist()
    miners = store.read_miners(small_batch)
    mara = miners[miners["name"] == "MARA"].sort_values("epoch").groupby("run").tail(1)
    np.testing.assert_array_equal(outcomes["mara_btc"], mara.sort_values("run")["btc_held"])
    assert batch.levers == [] and batch.uncertainties == ["market.btc.volatility"]


def test_open_batch_reads_what_a_running_batch_has_finished(small_batch, tmp_path):
    import shutil

    running = tmp_path / "running"
    shutil.copytree(small_batch, running)
    for table in ("epochs", "miners"):
        (running / table / store.run_file_name(4)).unlink()  # run 4 not written yet
    batch = sim.open_batch(running)
    assert batch.experiments["run"].tolist() == [0, 1, 2, 3, 5]
    assert batch.outcomes(["hashrate_ehs"])["run"].tolist() == [0, 1, 2, 3, 5]
    assert len(batch.runs_table) == batch.total_runs == 6
