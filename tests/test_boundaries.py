"""Boundaries that only a test at the boundary can guard (issue 27: survivors of a mutation
sample). Each test sits exactly on a rule's edge, so that ``<`` for ``<=``, p90 for p95 or a
limit moved by one fails it: interest-only debt, a run file whose id equals the batch size, the
p95 of the fans and tables, an end date on the start date, equal piecewise dates, the 30-year
horizon."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from invariants import assert_clear

from sim.analysis import markdown, style
from sim.analysis.summary import fan_quantiles
from sim.batch import store
from sim.errors import ScenarioError
from sim.finance import SECURED, new_debt_table, service_debt
from sim.input.scenario import load_scenario

START = dt.date(2025, 10, 1)  # the demo's start date


# ---------------------------------------------------------------- interest-only debt
def test_interest_only_debt_pays_its_coupon_and_keeps_its_principal():
    d = new_debt_table()
    d.append(
        owner=0,
        instrument=SECURED,
        principal_usd=1000.0,
        coupon=0.1,
        maturity_day=3650.0,
        conversion_price_usd=np.nan,
        amortization_usd_per_year=0.0,
    )
    s = service_debt(d, day_end=182.625, years=0.5, share_price_usd=np.zeros(1), n=1)
    assert s.interest_usd[0] == pytest.approx(50.0)  # 1,000 x 10% x half a year
    assert s.repaid_usd[0] == 0.0 and s.matured_usd[0] == 0.0
    assert d.n == 1 and d.principal_usd[0] == 1000.0


def test_amortisation_beyond_the_principal_repays_the_principal_only():
    d = new_debt_table()
    d.append(
        owner=0,
        instrument=SECURED,
        principal_usd=30.0,
        coupon=0.0,
        maturity_day=3650.0,
        conversion_price_usd=np.nan,
        amortization_usd_per_year=100.0,
    )
    s = service_debt(d, day_end=182.625, years=0.5, share_price_usd=np.zeros(1), n=1)
    assert s.repaid_usd[0] == 30.0 and d.n == 0  # repaid in full: the note is gone


def test_a_note_maturing_on_the_last_day_of_the_epoch_matures():
    d = new_debt_table()
    d.append(
        owner=0,
        instrument=SECURED,
        principal_usd=200.0,
        coupon=0.0,
        maturity_day=40.0,
        conversion_price_usd=np.nan,
        amortization_usd_per_year=0.0,
    )
    s = service_debt(d, day_end=40.0, years=0.1, share_price_usd=np.zeros(1), n=1)
    assert s.matured_usd[0] == 200.0 and d.n == 0


# ---------------------------------------------------------------- run files of a batch
def test_a_run_file_whose_id_equals_the_batch_size_is_a_stray(tmp_path):
    for run_id in (0, 2, 3):
        (tmp_path / store.run_file_name(run_id)).write_bytes(b"x")
    present, strays = store.run_files(tmp_path, total_runs=3)
    assert sorted(present) == [0, 2] and strays == [store.run_file_name(3)]
    present, strays = store.run_files(tmp_path)  # without a size: every canonical name
    assert sorted(present) == [0, 2, 3] and strays == []


# ---------------------------------------------------------------- p95
def test_percentiles_of_the_tables_are_p5_p50_p95():
    values = np.arange(101.0) + 0.5  # not whole: linear interpolation
    assert markdown.percentiles(values).tolist() == [5.5, 50.5, 95.5]
    counts = np.arange(101.0)  # whole: nearest rank
    assert markdown.percentiles(counts).tolist() == [5.0, 50.0, 95.0]


def test_percentiles_of_the_bands_are_p5_to_p95():
    runs = np.arange(101.0)[:, None] * np.ones((1, 2))
    bands = style.percentiles(runs)
    assert {k: v.tolist() for k, v in bands.items()} == {
        5: [5.0, 5.0],
        25: [25.0, 25.0],
        50: [50.0, 50.0],
        75: [75.0, 75.0],
        95: [95.0, 95.0],
    }


def test_fan_quantiles_are_p5_to_p95():
    dates = pd.to_datetime(["2025-10-01", "2025-10-15"])
    frame = pd.DataFrame(
        {
            "run": np.repeat(np.arange(101), 2),
            "epoch": np.tile([0, 1], 101),
            "date": np.tile(dates, 101),
            "x": np.repeat(np.arange(101.0), 2),
        }
    )
    table = fan_quantiles(frame, ["x"], step_days=7)
    assert (table["p5"] == 5.0).all() and (table["p95"] == 95.0).all()
    assert (table["p25"] == 25.0).all() and (table["p75"] == 75.0).all()
    assert (table["runs"] == 101).all()


# ---------------------------------------------------------------- dates of a scenario
def refused(overrides: dict, match: str) -> None:
    with pytest.raises(ScenarioError, match=match) as info:
        load_scenario("demo", overrides)
    assert_clear(info.value)


def test_an_end_date_on_the_start_date_is_refused_and_a_day_later_is_not():
    refused({"scenario.end_date": START}, "must be after start_date")
    assert load_scenario("demo", {"scenario.end_date": START + dt.timedelta(days=1)})


def test_the_30_year_limit_is_366_x_30_days():
    last = START + dt.timedelta(days=366 * 30)
    assert load_scenario("demo", {"scenario.end_date": last})
    refused({"scenario.end_date": last + dt.timedelta(days=1)}, "longer than 30 years")


def piecewise(days: list[int]) -> dict:
    points = [[START + dt.timedelta(days=d), 100_000.0 + d] for d in days]
    return {"market.btc.process": "piecewise", "market.btc.points": points}


def test_equal_piecewise_dates_are_refused_and_a_day_apart_are_not():
    refused(piecewise([0, 30, 30, 60]), "strictly increasing")
    refused(piecewise([0, 30, 29]), "strictly increasing")
    assert load_scenario("demo", piecewise([0, 30, 31, 60]))
