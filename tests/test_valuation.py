"""Equity valuation (sim/valuation.py): mining, signed AI leases and the AI option on
convertible capacity, by hand and in a run where only the AI market differs."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import miner_row, write_world

import sim
from sim.valuation import MARKET_CAP_FLOOR_USD, equity_value, lease_value_usd_per_mw


def test_lease_value_is_noi_at_the_ai_multiple_less_capex():
    assert lease_value_usd_per_mw(1.8e6, 0.85, 12.0, 10e6) == pytest.approx(12 * 1.53e6 - 10e6)
    assert lease_value_usd_per_mw(0.5e6, 0.85, 12.0, 10e6) < 0  # not worth building


def test_equity_value_parts_by_hand():
    lease = 8.36e6  # USD per MW
    value = equity_value(
        mining_cash_flow_usd_per_year=np.array([100e6, -50e6, 100e6]),
        ai_noi_usd_per_year=np.array([20e6, 0.0, 0.0]),
        ai_capex_remaining_usd=np.array([50e6, 0.0, 0.0]),
        convertible_mw=np.array([100.0, 200.0, -5.0]),
        non_ai_mw=np.array([200.0, 400.0, 0.0]),
        lease_value_usd_per_mw=lease,
        btc_value_usd=np.array([30e6, 0.0, 0.0]),
        net_debt_usd=np.array([40e6, 1e12, 0.0]),
        mining_multiple=4.0,
        ai_multiple=12.0,
        ai_option_weight=0.5,
    )
    np.testing.assert_allclose(value.mining_usd, [400e6, 0.0, 400e6])  # negative CF: nothing
    np.testing.assert_allclose(value.ai_leases_usd, [12 * 20e6 - 50e6, 0.0, 0.0])
    # Agent 0: mining is worth 400e6 / 200 MW = 2e6 per MW, so converting gains 6.36e6 per MW.
    # Agent 1 mines at a loss: the full lease value. Agent 2 has no convertible MW.
    np.testing.assert_allclose(
        value.ai_option_usd, [0.5 * 100 * (lease - 2e6), 0.5 * 200 * lease, 0.0]
    )
    expected0 = 400e6 + 190e6 + 0.5 * 100 * (lease - 2e6) + 30e6 - 40e6
    assert value.market_cap_usd[0] == pytest.approx(expected0)
    assert value.market_cap_usd[1] == MARKET_CAP_FLOOR_USD  # debt far above the value


def test_option_is_worth_nothing_when_mining_is_worth_more_than_a_lease():
    value = equity_value(
        np.array([1e9]), np.zeros(1), np.zeros(1), np.array([100.0]), np.array([100.0]),
        lease_value_usd_per_mw=8e6, btc_value_usd=np.zeros(1), net_debt_usd=np.zeros(1),
        mining_multiple=4.0, ai_multiple=12.0, ai_option_weight=1.0,
    )  # fmt: skip
    assert value.ai_option_usd[0] == 0.0  # 4e9 / 100 MW = 40e6 per MW mining > 8e6 leased


def test_signing_a_lease_turns_the_weighted_option_into_the_full_value():
    """One MW signed at today's rate is valued as a lease at exactly the value the option
    weighs: the market's doubt resolves, nothing appears from nowhere."""
    lease_rate, margin, multiple, capex = 1.8e6, 0.85, 12.0, 10e6
    per_mw = lease_value_usd_per_mw(lease_rate, margin, multiple, capex)
    common = dict(
        mining_cash_flow_usd_per_year=np.zeros(1), non_ai_mw=np.array([10.0]),
        lease_value_usd_per_mw=per_mw, btc_value_usd=np.zeros(1), net_debt_usd=np.zeros(1),
        mining_multiple=4.0, ai_multiple=multiple, ai_option_weight=1.0,
    )  # fmt: skip
    unsigned = equity_value(
        ai_noi_usd_per_year=np.zeros(1), ai_capex_remaining_usd=np.zeros(1),
        convertible_mw=np.array([1.0]), **common,
    )  # fmt: skip
    signed = equity_value(
        ai_noi_usd_per_year=np.array([lease_rate * margin]),
        ai_capex_remaining_usd=np.array([capex]), convertible_mw=np.zeros(1), **common,
    )  # fmt: skip
    assert unsigned.market_cap_usd[0] == pytest.approx(signed.market_cap_usd[0])


@pytest.fixture(scope="module")
def ai_on_off(tmp_path_factory):
    """The same mining-only world with the AI market on and off (no opex, so the mining value
    is revenue less power from the output columns)."""
    runs = {}
    for enabled in (True, False):
        folder = tmp_path_factory.mktemp(f"ai_{enabled}")
        path = write_world(folder, miner_row(), ai_enabled=enabled, credit_closed=False)
        result = sim.run(path, seed=0, overrides={"miners.opex_usd_per_mw_year": 0.0})
        runs[enabled] = result.miners[result.miners["name"] == "Alpha"].reset_index(drop=True)
    return runs


def test_the_market_prices_convertible_capacity_only_when_the_ai_market_is_on(ai_on_off):
    on, off = ai_on_off[True], ai_on_off[False]
    # Identical operations: the AI market changes no decision of a mining-only miner ...
    np.testing.assert_array_equal(on["cash_usd"], off["cash_usd"])
    assert (on["ai_mw"] == 0).all()
    # ... so the market caps differ by the option alone: weight 0.5 x 0.8 x 1,500 MW x (the
    # lease value per MW of site at the schema's AI defaults - the mining value per MW), the
    # mining value being the no-AI world's market cap less its cash (no BTC, no debt). A MW
    # of site carries 1 / 1.35 MW of IT load (PUE): rent and fit-out capex per IT MW / 1.35.
    lease = lease_value_usd_per_mw(1.8e6 / 1.35, 0.85, 12.0, 10e6 / 1.35)
    mining_per_mw = (off["market_cap_usd"] - off["cash_usd"]) / 1500.0
    option = 0.5 * 0.8 * 1500.0 * np.maximum(lease - mining_per_mw, 0.0)
    np.testing.assert_allclose(on["market_cap_usd"] - off["market_cap_usd"], option, rtol=1e-9)
    assert (option > 3e9).all()  # the premise: AI potential is most of this miner's value


def test_the_eth_sol_treasury_adds_its_market_value_to_the_market_cap():
    """USD for USD, like BTC: two agents alike but for a USD 25M treasury differ by 25M."""
    parts = {
        "mining_cash_flow_usd_per_year": np.array([10e6, 10e6]),
        "ai_noi_usd_per_year": np.zeros(2),
        "ai_capex_remaining_usd": np.zeros(2),
        "convertible_mw": np.zeros(2),
        "non_ai_mw": np.full(2, 50.0),
        "lease_value_usd_per_mw": 0.0,
        "btc_value_usd": np.full(2, 5e6),
        "net_debt_usd": np.full(2, 20e6),
        "mining_multiple": 4.0,
        "ai_multiple": 12.0,
        "ai_option_weight": 0.5,
    }
    value = equity_value(**parts, treasury_value_usd=np.array([0.0, 25e6]))
    np.testing.assert_allclose(value.market_cap_usd, [25e6, 50e6])
    np.testing.assert_array_equal(
        equity_value(**parts).market_cap_usd, value.market_cap_usd[[0, 0]]
    )
