"""The new-machine market (sim.machines), each rule against a hand-worked example."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim.input.schema import Machines
from sim.machines import MAX_BACKLOG_YEARS, MAX_CAPACITY_MW_PER_YEAR, AsicMarket
from sim.units import YEAR_DAYS

START = dt.date(2020, 1, 1)


def _market(**config) -> AsicMarket:
    cfg = {
        "floor_usd_per_w": 0.8,
        "markup_per_backlog_year": 6.0,
        "base_lead_days": 30.0,
        "capacity_mw_per_year": 2000.0,
        "capacity_date": START,
        "capacity_break_date": dt.date(2021, 1, 1),
        "capacity_growth_per_year": 0.5,
        "capacity_growth_after_break": -0.2,
        **config,
    }
    return AsicMarket(Machines(**cfg), START)


def test_the_floor_and_the_markup_at_a_given_backlog():
    m = _market()
    assert m.usd_per_w(0.0) == 0.8  # no backlog: the manufacturing-cost floor
    m.book(1000.0)  # half a year of production at 2,000 MW a year
    # 0.8 x (1 + 6 x 0.5) = $3.20/W; a 20 J/TH machine: $64/TH
    assert m.usd_per_w(0.0) == pytest.approx(3.2)
    assert m.usd_per_th(0.0, 20.0) == pytest.approx(64.0)
    # with 500 MW more on order the backlog is 0.75 years: 0.8 x 5.5 = $4.40/W
    assert m.usd_per_w(0.0, extra_mw=500.0) == pytest.approx(4.4)


def test_the_lead_time_grows_with_the_backlog():
    m = _market()
    assert m.lead_time_days(0.0) == 30.0
    m.book(1500.0)  # three quarters of a year at 2,000 MW a year
    assert m.lead_time_days(0.0) == pytest.approx(30.0 + 0.75 * YEAR_DAYS)


def test_capacity_grows_at_each_rate_on_its_side_of_the_break():
    m = _market()
    assert m.capacity_mw_per_year(0.0) == 2000.0
    break_day = (dt.date(2021, 1, 1) - START).days  # 366 days (2020 is a leap year)
    at_break = 2000.0 * np.exp(0.5 * break_day / YEAR_DAYS)
    assert m.capacity_mw_per_year(break_day) == pytest.approx(at_break)
    # a year after the break it has shrunk at 0.2 a year; before the reference date, grown back
    assert m.capacity_mw_per_year(break_day + YEAR_DAYS) == pytest.approx(at_break * np.exp(-0.2))
    assert m.capacity_mw_per_year(-YEAR_DAYS) == pytest.approx(2000.0 * np.exp(-0.5))


def test_a_reference_date_after_the_break_runs_the_path_backwards_through_it():
    later = _market(capacity_date=dt.date(2022, 1, 1))
    day_2022 = (dt.date(2022, 1, 1) - START).days
    assert later.capacity_mw_per_year(day_2022) == 2000.0
    # back to 2021-01-01 at the post-break rate, then to 2020-01-01 at the pre-break rate
    expected = 2000.0 * np.exp(0.2 * 365 / YEAR_DAYS) * np.exp(-0.5 * 366 / YEAR_DAYS)
    assert later.capacity_mw_per_year(0.0) == pytest.approx(expected)


def test_capacity_can_be_held_flat_after_a_date():
    m = _market(capacity_flat_after=dt.date(2021, 1, 1))
    assert m.capacity_mw_per_year(366 + 1000) == m.capacity_mw_per_year(366)


def _responding_market(**config) -> AsicMarket:
    """2,000 MW a year with no exogenous path: response 0.5 a backlog-year, decay 0.1 a year of
    idle capacity."""
    return _market(
        capacity_growth_per_year=0.0,
        capacity_growth_after_break=0.0,
        capacity_response_per_backlog_year=0.5,
        capacity_decay_per_year=0.1,
        **config,
    )


def test_endogenous_capacity_grows_with_the_backlog_and_sheds_idle_lines():
    # 2,000 MW a year, response 0.5 a backlog-year, decay 0.1 a year of idle capacity. A tenth
    # of a year that leaves half a year of backlog keeps every line busy: capacity grows by
    # exp(0.5 x 0.5 x 0.1), nothing decays
    m = _responding_market()
    m.book(1200.0)
    m.produce(0.0, YEAR_DAYS / 10)  # 200 MW made, 1,000 MW left: half a year
    assert m.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * np.exp(0.25 * 0.1))
    # no orders: every line idle, exp(-0.1 x 0.1)
    idle = _responding_market()
    idle.produce(0.0, YEAR_DAYS / 10)
    assert idle.capacity_mw_per_year(500.0) == pytest.approx(2000.0 * np.exp(-0.01))
    # 50 MW ordered of the 200 it could make: three quarters idle, no backlog left
    slack = _responding_market()
    slack.book(50.0)
    assert slack.produce(0.0, YEAR_DAYS / 10) == pytest.approx(50.0)
    assert slack.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * np.exp(-0.1 * 0.75 * 0.1))


def test_with_time_to_build_capacity_answers_the_backlog_seen_that_long_ago():
    """Response 1.0, no decay, 100 days to build. 1,000 MW booked on day 0 at 2,000 MW a year:
    half a year of backlog. The first 50-day epoch makes 2,000 x 50 / 365.25 = 273.8 MW and sees
    (1,000 - 273.8) / 2,000 = 0.363 years left on day 50, but answers the backlog of day -50 (before
    the first look: the first, 0.363): capacity x exp(0.363 x 50 / 365.25). With nothing booked
    after, the second epoch (to day 100) answers day 0's backlog, again the first look's."""

    def responding(**lag):
        return _market(
            capacity_growth_per_year=0.0,
            capacity_growth_after_break=0.0,
            capacity_response_per_backlog_year=1.0,
            capacity_decay_per_year=0.0,
            **lag,
        )

    m = responding(capacity_build_days=100.0)
    m.book(1000.0)
    m.produce(0.0, 50.0)
    seen = (1000.0 - 2000.0 * 50.0 / YEAR_DAYS) / 2000.0
    growth = np.exp(seen * 50.0 / YEAR_DAYS)
    assert m.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * growth)
    m.produce(50.0, 100.0)
    assert m.backlog_seen(0.0) == pytest.approx(seen)
    assert m.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * growth**2)
    # a third epoch answers day 50's backlog, read between the looks of days 50 and 100: on day
    # 100, before the second response, 1,000 MW less both epochs' output at 2,000 x growth
    capacity = 2000.0 * growth
    left_at_100 = (1000.0 - 2000.0 * 50.0 / YEAR_DAYS - capacity * 50.0 / YEAR_DAYS) / capacity
    assert m.backlog_seen(75.0) == pytest.approx(0.5 * (seen + left_at_100))
    at_once = responding()
    at_once.book(1000.0)
    at_once.produce(0.0, 50.0)
    assert at_once.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * growth)  # the same look


def test_capacity_never_runs_past_its_ceiling():
    m = _market(capacity_growth_per_year=0.0, capacity_response_per_backlog_year=100.0)
    m.book(4 * 2000.0)
    for k in range(50):  # a queue answered at 100 a backlog-year would overflow exp()
        m.produce(k * 7.0, (k + 1) * 7.0)
        m.book(m.capacity_mw_per_year(k * 7.0))
    assert m.capacity_mw_per_year(400.0) == pytest.approx(MAX_CAPACITY_MW_PER_YEAR)


def test_buyers_served_from_stock_share_the_epochs_output_pro_rata():
    # 2,000 MW a year over a 0.05-year epoch: 100 MW of 20 J/TH machines = 5e6 TH/s in all
    m = _market(capacity_growth_per_year=0.0)
    wanted = np.array([6e6, 4e6, 0.0])  # 200 MW wanted: each gets half
    np.testing.assert_allclose(m.from_stock(wanted, 20.0, 0.0, 0.05), [3e6, 2e6, 0.0])
    small = np.array([1e6, 0.0, 0.0])  # 20 MW: within the output, served whole
    np.testing.assert_array_equal(m.from_stock(small, 20.0, 0.0, 0.05), small)


def test_production_works_the_backlog_off_at_capacity():
    m = _market(capacity_growth_per_year=0.0)
    m.book(300.0)
    made = m.produce(0.0, YEAR_DAYS / 10)  # a tenth of a year at 2,000 MW a year: 200 MW
    assert made == pytest.approx(200.0) and m.backlog_mw == pytest.approx(100.0)
    assert m.produce(YEAR_DAYS / 10, YEAR_DAYS) == pytest.approx(100.0)
    assert m.backlog_mw == 0.0 and m.produced_mw == pytest.approx(300.0)


def test_the_market_clears_where_demand_at_the_resulting_price_equals_the_orders():
    m = _market()
    m.book(1000.0)  # the price starts at $3.20/W

    def demand(usd_per_w: float) -> float:  # a linear demand, MW
        return max(0.0, 4000.0 - 1000.0 * usd_per_w)

    # by hand: Q = 4000 - 1000 x 0.8 x (1 + 6 (1000 + Q) / 2000) = 800 - 2.4 Q => Q = 800 / 3.4
    q, price = m.clear(demand, 0.0)
    assert q == pytest.approx(800.0 / 3.4, rel=1e-9)
    assert price == pytest.approx(0.8 * (1 + 6 * (1000.0 + q) / 2000.0), rel=1e-9)
    assert m.backlog_mw == 1000.0  # clearing books nothing; the caller does


def test_no_demand_at_todays_price_means_no_orders_at_todays_price():
    m = _market()
    assert m.clear(lambda price: 0.0, 0.0) == (0.0, 0.8)


def test_the_factories_book_at_most_their_horizon():
    m = _market()
    q, _ = m.clear(lambda price: float("inf"), 0.0)
    assert q == pytest.approx(MAX_BACKLOG_YEARS * 2000.0, rel=1e-9)


def test_resale_follows_the_new_price_and_relative_efficiency():
    m = _market(resale_exponent=2.0)
    m.book(1000.0)  # new machines at $3.20/W: $64/TH at a 20 J/TH frontier
    units = np.array([20.0, 40.0, 10.0])
    # a machine twice as hungry sells at a quarter; one better than the frontier is capped at 1
    np.testing.assert_allclose(m.resale_usd_per_th(units, 0.0, 20.0), [64.0, 16.0, 64.0])


def test_inside_a_capacity_freeze_a_backlog_adds_no_capacity():
    # 2,000 MW a year, response 0.5 a backlog-year, decay 0.1 of idle lines, frozen from day 100
    # to day 200. Half a year of backlog keeps every line busy: an epoch ending on day 150 leaves
    # the capacity as it was; one ending on day 250 (outside) grows by exp(0.5 x backlog x 0.1)
    def market():
        frozen = {"start": START + dt.timedelta(days=100), "end": START + dt.timedelta(days=200)}
        return _responding_market(capacity_frozen=[frozen])

    step = YEAR_DAYS / 10
    inside, outside = market(), market()
    for m, day_to in ((inside, 150.0), (outside, 250.0)):
        m.book(1200.0)
        m.produce(day_to - step, day_to)
    assert inside.frozen(100.0) and inside.frozen(200.0) and not inside.frozen(200.5)
    assert inside.capacity_mw_per_year(0.0) == pytest.approx(2000.0)
    seen = outside.backlog_seen(250.0)
    assert seen == pytest.approx(0.5)
    assert outside.capacity_mw_per_year(0.0) == pytest.approx(2000.0 * np.exp(0.5 * seen * 0.1))


def test_a_capacity_freeze_must_end_after_it_starts():
    with pytest.raises(ValueError, match="start <= end"):
        _market(capacity_frozen=[{"start": dt.date(2021, 1, 1), "end": dt.date(2020, 1, 1)}])
