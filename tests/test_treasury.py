"""The ETH/SOL treasury on the balance sheets: marked to market each epoch, gains and losses in
book equity, part of the assets, and the invariants of tests/invariants.py with it."""

from __future__ import annotations

import numpy as np
from invariants import check_balance_sheet, check_run, check_treasury

from sim.model import MiningModel

DEMO = {"scenario.end_date": "2026-06-30"}


def test_a_treasury_is_marked_to_market_into_equity_and_assets():
    """Give one miner 1,000 ETH and 10,000 SOL as contributed capital at the start prices: the
    assets carry them at each epoch's closing prices, so the balance-sheet identity holds only
    if book equity moves by their change in market value (check_balance_sheet)."""
    model = MiningModel("demo", seed=1, overrides=DEMO)
    state = model.state
    b = state.books
    b.eth_held[0], b.sol_held[0] = 1_000.0, 10_000.0
    b.equity_usd[0] += 1_000.0 * state.prev_eth_price + 10_000.0 * state.prev_sol_price
    while model.running:
        model.step()
    result = model.result()
    check_run(result)
    check_balance_sheet(result)
    check_treasury(result)
    first = result.miners[result.miners["name"] == state.names[0]]
    assert (first["eth_held"] == 1_000.0).all() and (first["sol_held"] == 10_000.0).all()
    assert len(first) > 5 and np.ptp(first["treasury_usd"]) > 0  # the prices moved


def test_treasury_invariant_catches_a_misvalued_treasury():
    result = MiningModel("demo", seed=1, overrides=DEMO)
    while result.running:
        result.step()
    out = result.result()
    out.miners.loc[out.miners.index[0], "eth_held"] = 5.0  # held, but not valued
    try:
        check_treasury(out)
    except AssertionError as error:
        assert "treasury_usd" in str(error)
    else:
        raise AssertionError("check_treasury accepted a treasury not valued at market")
