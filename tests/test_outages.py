"""Exogenous outages (sim.outages): the share off over time, exposure, the permanent loss."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sim import fleet
from sim.input.schema import Outage
from sim.outages import OutageDays, OutageSchedule

START = dt.date(2021, 1, 1)
BAN = Outage(
    start=dt.date(2021, 5, 21),
    full=dt.date(2021, 7, 3),
    share=0.46,
    return_start=dt.date(2021, 7, 3),
    return_end=dt.date(2021, 11, 22),
    return_share=0.74,
)


def test_the_share_off_ramps_in_holds_and_partly_returns():
    o = OutageDays.of(BAN, START)
    assert o.offline_share(o.start - 1) == 0.0
    assert o.offline_share((o.start + o.full) / 2) == pytest.approx(0.23)
    assert o.offline_share(o.full) == pytest.approx(0.46)
    # half way through the return, half of the 74% that comes back is back
    mid = (o.return_start + o.return_end) / 2
    assert o.offline_share(mid) == pytest.approx(0.46 - 0.5 * 0.46 * 0.74)
    assert o.lost_share == pytest.approx(0.46 * 0.26)
    assert o.offline_share(o.return_end) == 0.0  # the rest is scrapped then


def test_units_installed_before_the_start_are_exposed_and_lose_the_share_at_the_end():
    f = fleet.new_fleet_table()
    fleet.add_units(f, np.array([0, 1]), np.array([100.0, 50.0]), 30.0, 1000.0, 40.0)
    schedule = OutageSchedule([BAN], START)
    o = schedule.outages[0]
    assert schedule.step(f, o.start - 14) == (0.0, 0.0) and not f.exposed.any()
    share, lost = schedule.step(f, o.full)
    assert share == pytest.approx(0.46) and lost == 0.0 and f.exposed.all()
    fleet.add_units(f, 0, 10.0, 30.0, 100.0, 40.0)  # delivered during the ban: not exposed
    np.testing.assert_allclose(fleet.running_ths(f, share), [54.0, 27.0, 10.0])
    share, lost = schedule.step(f, o.return_end + 1)
    assert share == 0.0 and lost == pytest.approx(0.46 * 0.26)
    book = fleet.lose_share(f, f.exposed, lost, 2)
    np.testing.assert_allclose(f.hashrate_ths, [100.0 * (1 - lost), 50.0 * (1 - lost), 10.0])
    np.testing.assert_allclose(book, [1000.0 * lost, 1000.0 * lost])  # the new unit keeps its own


def test_outage_dates_must_be_in_order():
    with pytest.raises(ValueError, match="outage dates"):
        Outage(**{**BAN.model_dump(), "full": dt.date(2021, 5, 1)})
