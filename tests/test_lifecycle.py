"""Machines' life cycle (sim.lifecycle): mothball under water, restart when it pays, scrap."""

from __future__ import annotations

import numpy as np

from sim import fleet, lifecycle
from sim.input.schema import Hardware

CONFIG = Hardware(mothball_after_epochs=2, scrap_after_epochs=3, restart_cost_usd_per_th=0.91)


def _fleet(must_run=(False, False)):
    f = fleet.new_fleet_table()
    fleet.add_units(f, [0, 0], [10.0, 10.0], [20.0, 30.0], [100.0, 100.0], 45.0, list(must_run))
    return f


def test_a_unit_is_mothballed_after_the_set_number_of_epochs_under_water():
    f = _fleet()
    margin = np.array([-0.01, 0.02])
    assert not lifecycle.review(f, margin, CONFIG).mothballed.any()
    step = lifecycle.review(f, margin, CONFIG)
    np.testing.assert_array_equal(step.mothballed, [True, False])
    np.testing.assert_array_equal(f.mothballed, [True, False])


def test_one_good_epoch_resets_the_count():
    f = _fleet()
    lifecycle.review(f, np.array([-0.01, -0.01]), CONFIG)
    lifecycle.review(f, np.array([0.01, 0.01]), CONFIG)
    assert not lifecycle.review(f, np.array([-0.01, -0.01]), CONFIG).mothballed.any()


def test_must_run_units_are_never_mothballed():
    f = _fleet(must_run=(True, False))
    for _ in range(5):
        lifecycle.review(f, np.array([-1.0, -1.0]), CONFIG)
    assert not f.mothballed[0] and f.mothballed[1]


def test_restart_when_a_quarter_of_margin_covers_its_cost():
    f = _fleet()
    f.mothballed[:] = True
    # 91 days x 0.0099 = 0.90 < 0.91 (stay off); 91 x 0.0101 = 0.919 >= 0.91 (restart)
    step = lifecycle.review(f, np.array([0.0099, 0.0101]), CONFIG)
    np.testing.assert_array_equal(step.restarted, [False, True])
    np.testing.assert_array_equal(f.mothballed, [True, False])


def test_scrapped_after_the_set_number_of_epochs_mothballed():
    f = _fleet()
    f.mothballed[:] = True
    scrapped = [lifecycle.review(f, np.array([-1.0, 1.0]), CONFIG).scrapped[0] for _ in range(3)]
    assert scrapped == [False, False, True]
