"""Extreme markets (issue 8): the demo scenario under BTC at $100 and at $10M, a 90% hashrate
collapse, zero AI demand, fees above the subsidy and a tenfold power price.

Each market runs on two fleets: the demo's, and a "fragile" one in which two miners owe a
bullet note far larger than anything they can raise (USD 1 trillion due 2025-12-15), so that
defaults happen in every market. Every run is stepped with the capacity and cash checks after
each epoch and must complete with finite outputs and the invariants of tests/invariants.py
(balance sheet, BTC conservation, subsidy schedule, 4x retarget clamp, defaulted miners mine
nothing). Market paths are scripted with ``process = "piecewise"`` and volatility 0.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from invariants import run_checked
from strategies import copy_demo

from sim import consensus
from sim.model import MiningModel
from sim.results import RunResult

START = dt.date(2025, 10, 1)
END = dt.date(2026, 10, 1)  # the demo's horizon
PIECEWISE = {"market.btc.process": "piecewise", "market.btc.volatility": 0.0}
FRAGILE_NOTES = ("MARA", "Riot")
#: A bullet note no miner can repay, refinance or cover with 30% dilution (USD).
FRAGILE_PRINCIPAL_USD = 1e12


@pytest.fixture(scope="module")
def fleets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    demo = copy_demo(tmp_path_factory.mktemp("demo"))
    fragile = copy_demo(tmp_path_factory.mktemp("fragile"))
    debt = fragile.parent / "demo_debt.csv"
    rows = "".join(
        f"{name},senior_secured,{FRAGILE_PRINCIPAL_USD:.0f},0.0,2025-01-01,2025-12-15,,0,test\n"
        for name in FRAGILE_NOTES
    )
    debt.write_text(debt.read_text() + rows)
    return {"demo": demo, "fragile": fragile}


def run_market(path: Path, overrides: dict, seed: int = 0) -> tuple[MiningModel, RunResult]:
    """Step the scenario to its end with every invariant checked; it must reach its horizon."""
    model = MiningModel(path, seed=seed, overrides=overrides)
    result = run_checked(model)
    assert not result.meta["stalled"], "the run stalled"
    assert result.epochs["date"].iloc[-1] >= np.datetime64(END), "the run stopped early"
    return model, result


def start_ehs(model: MiningModel) -> float:
    """Network hashrate at the start, EH/s: public miners + fringe classes."""
    fringe = sum(c.hashrate_ehs for c in model.cfg.fringe.classes)
    return float(model.spec.miners["hashrate_ehs"].sum()) + fringe


def assert_fragile_miners_defaulted(fleet: str, result: RunResult) -> None:
    """On the fragile fleet both over-indebted miners default (and the invariants held)."""
    if fleet != "fragile":
        return
    last = result.miners[result.miners["epoch"] == result.epochs["epoch"].iloc[-1]]
    defaulted = set(last.loc[last["defaulted"], "name"])
    assert set(FRAGILE_NOTES) <= defaulted, defaulted


FLEETS = pytest.mark.parametrize("fleet", ["demo", "fragile"])


@FLEETS
def test_btc_falls_to_100_usd_then_rises_to_10_million(fleets, fleet):
    points = [[START, 118_649.0], [dt.date(2026, 1, 1), 100.0], [dt.date(2026, 6, 1), 1e7]]
    model, result = run_market(fleets[fleet], {**PIECEWISE, "market.btc.points": points})
    days = (END - START).days
    path = model.world.markets.btc_price_usd[:days]
    assert path.min() == pytest.approx(100.0, rel=1e-9)
    assert path.max() == pytest.approx(1e7, rel=1e-9)
    assert_fragile_miners_defaulted(fleet, result)


@FLEETS
def test_hashrate_collapse_stretches_epochs_and_difficulty_falls_4x_per_retarget(fleets, fleet):
    # BTC at $1,000 from November: only the must-run fringe (5% of 891.4 EH/s) covers its costs,
    # so hashrate falls by more than 90% and an epoch at the old difficulty lasts months.
    points = [[START, 118_649.0], [dt.date(2025, 11, 1), 1000.0]]
    model, result = run_market(fleets[fleet], {**PIECEWISE, "market.btc.points": points})
    e = result.epochs
    assert e["hashrate_ehs"].min() <= 0.1 * start_ehs(model)
    assert e["epoch_days"].max() > 30
    # An epoch longer than 8 weeks (+ margin for its first block interval) hits the clamp:
    # the next difficulty is exactly a quarter (compact rounding can only raise it, < 2**-15).
    initial = consensus.bits_to_difficulty(consensus.difficulty_to_bits(model.cfg.chain.difficulty))
    difficulty = np.concatenate([[initial], e["difficulty"].to_numpy()])
    ratio = difficulty[1:] / difficulty[:-1]
    clamped = (e["epoch_days"] > 70).to_numpy()
    assert clamped.any()
    assert np.all((ratio[clamped] >= 0.25) & (ratio[clamped] <= 0.25 * (1 + 2**-15)))
    assert_fragile_miners_defaulted(fleet, result)


@FLEETS
def test_zero_ai_demand_signs_no_new_ai_capacity(fleets, fleet):
    # A lease rate of $20M/MW-year makes AI far better than mining: with demand the miners
    # convert (the control run), with zero demand they cannot.
    rich = {"market.ai.lease_usd_per_mw_year": 2e7}
    model, result = run_market(fleets[fleet], {**rich, "market.ai.demand_mw_per_year": 0.0})
    contracted = model.spec.ai_contracts.groupby("miner")["mw"].sum()
    public = result.miners[result.miners["kind"] == "public"]
    limit = public["name"].map(contracted).fillna(0.0)
    assert (public["ai_mw"] <= limit + 1e-9).all()
    _, control = run_market(fleets[fleet], rich)
    assert control.epochs["ai_capacity_mw"].max() > contracted.sum() + 100
    assert_fragile_miners_defaulted(fleet, result)


@FLEETS
def test_fees_larger_than_the_subsidy(fleets, fleet):
    mean_fee_btc = 10.0
    _, result = run_market(fleets[fleet], {"market.fees.mean_btc_per_block": mean_fee_btc})
    e = result.epochs
    assert (e["fees_btc"] > e["subsidy_btc"]).all()
    # Mean-one lognormal (sigma 1) per block: the run's mean fee per block is within a few
    # percent of 10 BTC + the bursts' 0.0005 x 5 BTC (std of one epoch's mean ~ 2.9%).
    per_block = e["fees_btc"].sum() / (2016 * len(e))
    assert per_block == pytest.approx(mean_fee_btc + 0.0005 * 5.0, rel=0.05)
    assert_fragile_miners_defaulted(fleet, result)


@FLEETS
def test_power_price_ten_times_higher(fleets, fleet):
    model, result = run_market(fleets[fleet], {"market.power.shock_multiplier": 10.0})
    m = result.miners
    fringe = m[m["kind"] == "fringe"]
    base = {c.name: c.power_price_usd_mwh for c in model.cfg.fringe.classes}
    class_price = fringe["name"].str.rsplit("-", n=1).str[0].map(base)
    # Fringe power = class price x market / base; market = base x 10 x exp(OU), whose stationary
    # log std is 0.3 / sqrt(2 x 2) = 0.15: the median factor lies within 10 x exp(+-3 x 0.15).
    factor = (fringe["power_price_usd_mwh"] / class_price).median()
    assert 10 * np.exp(-0.45) <= factor <= 10 * np.exp(0.45)
    # Public contracts run to 2028: their price does not move.
    public = m[(m["kind"] == "public") & ~m["defaulted"]]
    initial = public["name"].map(model.spec.miners.set_index("name")["power_price_usd_mwh"])
    np.testing.assert_allclose(public["power_price_usd_mwh"], initial)
    # No fringe class covers 10x its power cost at the starting hashprice: only the must-run
    # fringe (5% of 891.4 EH/s) keeps mining, and the public miners, whose contracted power
    # does not move: they fill their sites with frontier machines (issue 25: converting no
    # longer stops purchases, and they replace old machines, sold to the fringe), at most
    # their 5,412 MW at the frontier's ~13 J/TH: ~420 EH/s. The network falls below 45% of
    # its start (1,057.5 EH/s).
    assert result.epochs["hashrate_ehs"].min() <= 0.45 * start_ehs(model)
    assert_fragile_miners_defaulted(fleet, result)
