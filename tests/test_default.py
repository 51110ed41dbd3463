"""The financing waterfall and default: a miner defaults only when debt service, a maturity or
the covenant of its secured notes cannot be met after every option, in the documented order
(sell BTC, draw credit if the window is open, issue equity, sell machines, AI halls, sites).

Each test builds a one-miner world (tests/worlds.py: flat BTC at USD 100k, no volatility) and
steps it with every invariant of tests/invariants.py checked (balance sheet, cash, capacity,
defaulted miners mine nothing). Expected values come from the scenario's own numbers (the
amounts due, the dilution cap), not from the model's output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from invariants import run_checked
from worlds import BTC_USD, lease, miner_row, note, write_world

from sim.model import MiningModel
from sim.results import RunResult

#: Shut every way out but the credit window: no equity (the share trades below USD 1e6),
#: machines fetch nothing, halls and sites sell for nothing.
NO_WAY_OUT = {
    "market.rates.equity_min_share_price_usd": 1e6,
    "miners.fire_sale_discount": 1.0,
    "miners.asset_sale_fraction": 0.0,
}
#: The USD 20bn miner: 1,000 MW leased at USD 2.4M/MW-year (NOI 2.04bn/year x 12 = 24.5bn)
#: and USD 5bn of 8% senior secured notes due 2026-02-01.
BIG_LEASE = lease(1000, 2.4e6)
BIG_NOTE = note("senior_secured", 5e9, "2026-02-01", coupon=0.08)
MATURITY = pd.Timestamp("2026-02-01")


def run(path, overrides: dict | None = None) -> tuple[MiningModel, RunResult]:
    model = MiningModel(path, seed=0, overrides=overrides)
    return model, run_checked(model)


def alpha(result: RunResult) -> pd.DataFrame:
    """The public miner's rows, one per epoch, indexed by epoch end date."""
    rows = result.miners[result.miners["name"] == "Alpha"]
    return rows.set_index("date")


def epoch_of(rows: pd.DataFrame, day: pd.Timestamp) -> pd.Timestamp:
    """End date of the epoch in which ``day`` falls."""
    return rows.index[rows.index >= day][0]


def test_a_20bn_miner_with_5bn_of_debt_does_not_default_when_the_credit_window_is_closed(
    tmp_path,
):
    path = write_world(tmp_path, miner_row(), [BIG_NOTE], [BIG_LEASE], credit_closed=True)
    model, result = run(path, {"market.rates.equity_max_dilution_per_epoch": 0.3})
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    before = rows.loc[rows.index < due].iloc[-1]
    # The premise: a USD ~20bn market cap, USD 5bn of debt, and credit shut all along.
    assert 18e9 < before["market_cap_usd"] < 22e9 and before["debt_usd"] == pytest.approx(5e9)
    assert not model.world.markets.credit_open[: (rows.index[-1] - rows.index[0]).days].any()
    # The maturity is met by issuing shares at market: no default, no debt left.
    assert result.meta["defaults"] == []
    assert not rows["defaulted"].any()
    assert rows.loc[due, "action"] == "issue_equity"
    assert rows.loc[due, "debt_usd"] == 0.0
    shares = rows["market_cap_usd"] / rows["share_price_usd"]
    # The miner had about 0.8bn of cash against 5bn due: it sold ~4bn of shares at ~USD 19.
    new_shares = shares.loc[due] - before["market_cap_usd"] / before["share_price_usd"]
    assert 3.5e9 / 20.7 < new_shares < 4.5e9 / (20.0 * 0.9)


def test_with_the_credit_window_open_a_maturity_is_refinanced_without_dilution(tmp_path):
    path = write_world(tmp_path, miner_row(), [BIG_NOTE], [BIG_LEASE], credit_closed=False)
    _, result = run(path)
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    assert rows.loc[due, "action"] == "borrow"
    shares = (rows["market_cap_usd"] / rows["share_price_usd"]).to_numpy()
    np.testing.assert_allclose(shares, 1e9, rtol=1e-12)  # no shares issued
    # New secured notes replace the old ones, less the cash the miner had.
    assert 3.5e9 < rows.loc[due, "debt_usd"] < 5e9


def test_bitcoin_is_sold_before_any_share_is_issued(tmp_path):
    # 60,000 BTC (USD 6bn at 100k) cover the USD ~4.2bn due at maturity: no equity issued.
    miner = miner_row(btc_held=60_000.0)
    _, result = run(write_world(tmp_path, miner, [BIG_NOTE], [BIG_LEASE]))
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    shares = (rows["market_cap_usd"] / rows["share_price_usd"]).to_numpy()
    np.testing.assert_allclose(shares, 1e9, rtol=1e-12)
    before = rows.loc[rows.index < due].iloc[-1]
    sold_usd = (before["btc_held"] - rows.loc[due, "btc_held"]) * BTC_USD
    assert 4e9 < sold_usd < 5e9 and rows.loc[due, "action"] == "sell_btc"


def test_with_no_way_out_a_maturity_ends_in_default(tmp_path):
    path = write_world(tmp_path, miner_row(), [BIG_NOTE], [BIG_LEASE])
    _, result = run(path, NO_WAY_OUT)
    [event] = result.meta["defaults"]
    assert event["cause"] == "maturity" and not event["credit_open"]
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    assert rows.loc[due, "action"] == "default"
    ended = rows.loc[rows.index >= due]  # balances at the end of the default epoch onwards
    assert ended["defaulted"].all()
    for column in ("debt_usd", "mining_mw", "ai_mw", "assets_usd", "cash_usd", "btc_held"):
        assert (ended[column] == 0).all(), column
    after = rows.loc[rows.index > due]  # flows of the epochs after it
    assert (after["hashrate_ehs"] == 0).all() and (after["btc_mined"] == 0).all()


def test_with_no_way_out_unpaid_interest_ends_in_default(tmp_path):
    # USD 2bn of 50% convertibles due 2031: USD ~38M of interest an epoch against ~3M of
    # mining cash flow and USD 50M of cash: the second or third epoch cannot pay.
    notes = [note("convertible", 2e9, "2031-01-01", coupon=0.5, conversion_usd=100.0)]
    path = write_world(tmp_path, miner_row(cash_usd=5e7), notes)
    _, result = run(path, NO_WAY_OUT)
    [event] = result.meta["defaults"]
    assert event["cause"] == "debt_service"
    assert 1 <= event["epoch"] <= 3
    interest_per_epoch = 2e9 * 0.5 * 14 / 365.25
    assert 0 < event["unmet_usd"] < interest_per_epoch


def _opening_assets_usd(tmp_path, miner: str, leases: list[str]) -> float:
    """The miner's opening assets (no debt: opening equity = assets), USD."""
    return float(MiningModel(write_world(tmp_path, miner, [], leases)).view.equity_usd[0])


@pytest.mark.parametrize(
    ("cash_usd", "overrides", "outcome"),
    [
        (1e8, NO_WAY_OUT, "default"),  # the cure (a third of the assets) is out of reach
        (1e8, {}, "issue_equity"),  # shares sold at market fund the cure
        (1.5e9, NO_WAY_OUT, "cured from cash"),  # cash alone covers the repayment
    ],
)
def test_a_covenant_breach_is_cured_or_ends_in_default(tmp_path, cash_usd, overrides, outcome):
    miner, leases = miner_row(cash_usd=cash_usd), [lease(100, 2.4e6)]
    assets = _opening_assets_usd(tmp_path, miner, leases)
    limit = 0.85  # the schema default of market.rates.covenant_secured_to_assets
    secured = 0.9 * assets  # in breach from day 0; no coupon and no maturity to pay
    notes = [note("senior_secured", secured, "2030-01-01")]
    _, result = run(write_world(tmp_path, miner, notes, leases), overrides)
    rows = alpha(result)
    first = rows.iloc[0]
    if outcome == "default":
        [event] = result.meta["defaults"]
        assert event["cause"] == "covenant" and event["epoch"] == 0
        cure = (secured - limit * assets) / (1 - limit)  # about a third of the assets
        assert cure > 2 * cash_usd  # the premise: more than the cash the miner has
        assert 0 < event["unmet_usd"] < cure  # what is left after repaying with its cash
        return
    assert result.meta["defaults"] == []
    ratio = rows["debt_usd"] / rows["assets_usd"]
    assert (ratio <= limit * (1 + 1e-9)).all()
    assert ratio.iloc[0] == pytest.approx(limit, rel=1e-9)  # repaid down to the limit exactly
    if outcome == "issue_equity":
        assert first["action"] == "issue_equity"
    else:
        assert first["action"] != "issue_equity" and first["debt_usd"] < secured


def test_machines_then_halls_are_sold_before_a_default(tmp_path):
    # USD 1bn due on 2026-02-01 with credit and equity shut and no BTC: the machines (about
    # USD 0.1bn) go first, then part of the 100 MW hall (worth 0.7 x 24.5bn/10 = USD 1.7bn).
    notes = [note("convertible", 1e9, "2026-02-01", conversion_usd=1e3)]
    miner = miner_row(cash_usd=1e7)
    overrides = {"market.rates.equity_min_share_price_usd": 1e6}
    model, result = run(write_world(tmp_path, miner, notes, [lease(100, 2.4e6)]), overrides)
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    assert result.meta["defaults"] == []
    assert rows.loc[due, "action"] == "sell_assets"
    assert rows.loc[due, "mining_mw"] == 0.0  # every machine sold
    assert 0 < rows.loc[due, "ai_mw"] < 100  # part of the hall sold
    assert model.view.capacity_mw[0] == pytest.approx(1500 - (100 - rows.loc[due, "ai_mw"]))
    # the fringe bought them: its MW jump in that epoch by most of what alpha sold
    fringe = result.miners[result.miners["kind"] == "fringe"].groupby("date")["mining_mw"].sum()
    before = rows.index[rows.index.get_loc(due) - 1]
    sold = rows.loc[before, "mining_mw"]
    assert fringe.loc[due] - fringe.loc[before] > 0.5 * sold  # less its own scrapping


def test_idle_sites_are_sold_last(tmp_path):
    # No hall: after the machines, powered sites at 0.7 x USD 0.85M per MW pay the maturity.
    notes = [note("convertible", 3e8, "2026-02-01", conversion_usd=1e3)]
    overrides = {"market.rates.equity_min_share_price_usd": 1e6}
    model, result = run(write_world(tmp_path, miner_row(cash_usd=1e7), notes), overrides)
    rows = alpha(result)
    due = epoch_of(rows, MATURITY)
    assert result.meta["defaults"] == [] and rows.loc[due, "action"] == "sell_assets"
    sold_mw = 1500 - model.view.capacity_mw[0]
    # The sites paid what the machines and cash did not: at most the whole 3e8.
    assert 0 < sold_mw * 0.7 * 0.85e6 <= 3e8 * (1 + 1e-9)


def test_the_invariants_catch_debt_left_after_a_default(tmp_path):
    """check_defaulted_mine_nothing fails if a defaulted miner still owes anything."""
    from invariants import check_defaulted_mine_nothing

    path = write_world(tmp_path, miner_row(), [BIG_NOTE], [BIG_LEASE])
    _, result = run(path, NO_WAY_OUT)
    miners = result.miners.copy()
    row = miners.index[miners["defaulted"]][-1]
    miners.loc[row, "debt_usd"] = 1.0
    with pytest.raises(AssertionError, match="debt_usd"):
        check_defaulted_mine_nothing(RunResult(epochs=result.epochs, miners=miners))


def test_a_defaulted_miner_draws_no_note_scheduled_after_its_default(tmp_path):
    # A note the scenario issues on 2026-04-01, after the maturity default of 2026-02-01: the
    # company is gone, so no cash arrives and nothing is owed (the invariants of run_checked
    # once caught USD 78M of cash and debt on a defaulted miner: issue 14).
    later = "Alpha,senior_secured,300000000,0.05,2026-04-01,2027-06-30,,0,test"
    _, result = run(write_world(tmp_path, miner_row(), [BIG_NOTE, later], [BIG_LEASE]), NO_WAY_OUT)
    rows = alpha(result)
    assert rows.index[-1] > pd.Timestamp("2026-04-01")  # the run passes the issue date
    [event] = result.meta["defaults"]
    assert event["cause"] == "maturity"
    ended = rows.loc[rows.index >= epoch_of(rows, MATURITY)]
    assert (ended["debt_usd"] == 0).all() and (ended["cash_usd"] == 0).all()
