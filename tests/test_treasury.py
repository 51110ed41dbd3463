"""The ETH/SOL treasury on the balance sheets: marked to market each epoch, gains and losses in
book equity, part of the assets, and the invariants of tests/invariants.py with it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from golden.record import CRASH
from invariants import assert_clear, check_balance_sheet, check_run, check_treasury, run_checked

from sim import finance, treasury
from sim.engine import settle
from sim.engine.epoch import run_epoch
from sim.errors import MinersimError
from sim.finance import BalanceSheets
from sim.input.scenario import load_scenario, with_overrides
from sim.model import MiningModel
from sim.treasury import TreasuryRules

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


# ----------------------------------------------------------------- the treasury lever
def treasury_overrides(**rule) -> dict:
    return {**DEMO, **{f"policy.treasury.{key}": value for key, value in rule.items()}}


def run_demo(overrides: dict, seed: int = 1):
    model = MiningModel("demo", seed=seed, overrides=overrides)
    return model, run_checked(model)


def test_a_miner_converts_its_share_of_mined_btc_and_the_invariants_hold():
    _, result = run_demo(treasury_overrides(mined_share=0.5, eth_weight=0.7, cost_bps=50.0))
    public = result.miners[result.miners["kind"] == "public"]
    # every miner converts (one may later sell its treasury to pay for machines: the waterfall
    # sells ETH and SOL before it borrows or issues equity)
    held = public.groupby("name")[["eth_held", "sol_held"]].max()
    assert (held > 0).all().all()
    prices = result.epochs.set_index("epoch")
    # the first epoch's purchase is 0.5 x BTC mined x the BTC close, less 50 bps, 70% in ETH
    first = public[public["epoch"] == 0].iloc[0]
    usd = 0.5 * first["btc_mined"] * prices.loc[0, "btc_price_usd"] * (1 - 50e-4)
    assert first["eth_held"] == pytest.approx(0.7 * usd / prices.loc[0, "eth_price_usd"], rel=1e-9)
    assert first["sol_held"] == pytest.approx(0.3 * usd / prices.loc[0, "sol_price_usd"], rel=1e-9)


def test_per_miner_overrides_replace_the_defaults_field_by_field():
    model = MiningModel("demo", seed=1, overrides=DEMO)
    one, other = model.state.names[0], model.state.names[1]
    overrides = {
        **DEMO,
        "policy.treasury.eth_weight": 1.0,
        f"policy.treasury.miners.{one}": {"mined_share": 0.3},
    }
    _, result = run_demo(overrides)
    public = result.miners[result.miners["kind"] == "public"]
    mine = public[public["name"] == one]
    assert (mine["eth_held"].iloc[-1] > 0) and (mine["sol_held"] == 0).all()
    assert (public[public["name"] == other][["eth_held", "sol_held"]] == 0).all().all()


def test_an_override_for_an_unknown_miner_is_a_one_line_error():
    with pytest.raises(MinersimError, match="unknown miner") as error:
        load_scenario("demo", overrides={"policy.treasury.miners.NOPE": {"mined_share": 0.1}})
    assert "\n" not in str(error.value)


def test_the_waterfall_sells_the_treasury_when_cash_is_short():
    """In the demo's crash (BTC to $8,000, credit shut), miners that built a treasury sell
    some of it to meet their bills: holdings fall in some epoch though they never sell by rule."""
    crash = {**CRASH, "scenario.end_date": "2026-09-30", "policy.treasury.mined_share": 1.0}
    _, result = run_demo(crash, seed=2)
    public = result.miners[result.miners["kind"] == "public"].sort_values(["miner_id", "epoch"])
    fell = (public.groupby("miner_id")["eth_held"].diff() < 0) & ~public["defaulted"]
    assert fell.any()
    assert (public.loc[fell, "action"].astype(str) != "default").all()


def test_buy_and_sell_move_value_by_the_trading_cost_only():
    books = BalanceSheets.zeros(2)
    books.btc_held[:] = [1.0, 0.0]
    books.cash_usd[:] = [0.0, 50_000.0]
    rules = TreasuryRules(
        mined_share=np.ones(2),
        cash_share=np.zeros(2),
        cash_floor_usd=np.zeros(2),
        eth_weight=np.array([0.5, 1.0]),
        cost=np.full(2, 0.01),
        start_day=np.full(2, -np.inf),
        end_day=np.full(2, np.inf),
        min_btc_usd=np.zeros(2),
    )
    spent = treasury.buy(books, rules, np.array([150_000.0, 80_000.0]), 100_000.0, 4_000.0, 200.0)
    np.testing.assert_allclose(spent, [100_000.0, 50_000.0])  # BTC held, then cash, both capped
    np.testing.assert_allclose(books.cash_usd, [0.0, 0.0])
    np.testing.assert_allclose(books.eth_held, [99_000.0 * 0.5 / 4_000.0, 49_500.0 / 4_000.0])
    np.testing.assert_allclose(books.equity_usd, [-1_000.0, -500.0])
    treasury.sell(books, rules, np.array([49_005.0, 1e9]), 4_000.0, 200.0)
    np.testing.assert_allclose(books.cash_usd, [49_005.0, 49_500.0 * 0.99])
    np.testing.assert_allclose(books.eth_held, [99_000.0 * 0.25 / 4_000.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(books.equity_usd, [-1_000.0 - 495.0, -500.0 - 495.0])


def test_the_market_cap_counts_the_treasury():
    """After a few epochs of conversions, a miner's equity value is its value without the
    treasury plus the treasury at market (settle.equity_value, as value_equity prices it)."""
    model = MiningModel("demo", seed=1, overrides=treasury_overrides(mined_share=1.0))
    for _ in range(4):
        scratch = run_epoch(model.params, model.state, model.world)
    params, state, world = model.params, model.state, model.world
    b = state.books
    cash_flow = (scratch.btc_mined * scratch.p_end - scratch.power_cost_usd - scratch.opex_usd) / (
        scratch.years
    )
    args = (params, state, world, cash_flow, scratch.debt_usd, scratch.p_end, scratch.day)
    with_it = settle.equity_value(*args)
    held = finance.treasury_usd(b, state.prev_eth_price, state.prev_sol_price)
    assert (held[state.is_public & ~b.defaulted] > 0).all()
    b.eth_held[:], b.sol_held[:] = 0.0, 0.0
    without = settle.equity_value(*args)
    np.testing.assert_allclose(with_it.market_cap_usd - without.market_cap_usd, held, rtol=1e-9)


# ----------------------------------------------------------------- the experiment's helpers
def test_experiment_strategies_differ_only_for_the_small_miners():
    from sim.experiments import treasury_diversification as td

    base = load_scenario("baseline")
    names = td.small_miners(base)
    assert len(names) == 3 and set(names) <= set(base.miners["name"])
    assert (
        base.miners.set_index("name")["hashrate_ehs"][names].max()
        <= np.sort(base.miners["hashrate_ehs"])[2]
    )
    diversified = td.strategy_overrides("diversified", names)
    assert diversified["miners.policies"] == dict.fromkeys(names, "hodl")
    assert set(diversified["policy.treasury.miners"]) == set(names)
    assert "policy.treasury.miners" not in td.strategy_overrides("btc_only", names)
    assert td.strategy_overrides("ai_pivot", names)["miners.policies"] == dict.fromkeys(
        names, "ai_first"
    )


def test_experiment_correlation_uses_only_epochs_without_defaults():
    from sim.experiments import treasury_diversification as td

    rng = np.random.default_rng(0)
    btc = np.exp(np.cumsum(rng.normal(0, 0.1, 40)))
    run = pd.DataFrame(
        {"btc_price_usd": btc, "market_cap_usd": 2 * btc**0.5, "defaulted": np.zeros(40)}
    )
    assert td.btc_correlation(run, 3) == pytest.approx(1.0)
    run.loc[30:, "defaulted"] = 1
    run.loc[30:, "market_cap_usd"] = 1.0  # after a default: not counted
    assert td.btc_correlation(run, 3) == pytest.approx(1.0)
    assert np.isnan(td.btc_correlation(run.iloc[:5], 3))


# ----------------------------------------------------------------- the cash rule
def two_rules(**fields) -> TreasuryRules:
    """Rules of two agents, always on; ``fields`` (arrays of 2) replace the defaults."""
    base = {
        "mined_share": np.zeros(2),
        "cash_share": np.zeros(2),
        "cash_floor_usd": np.zeros(2),
        "eth_weight": np.full(2, 0.5),
        "cost": np.full(2, 0.002),
        "start_day": np.full(2, -np.inf),
        "end_day": np.full(2, np.inf),
        "min_btc_usd": np.zeros(2),
    }
    return TreasuryRules(**{**base, **fields})


def test_the_cash_rule_converts_its_share_of_cash_above_the_floor_at_a_cost():
    """Agent 0: 40% of the USD 6m above its USD 4m floor; agent 1 is below its floor. The USD
    converted leaves cash, buys ETH/SOL at the weights less the cost, and only the cost leaves
    book equity and net assets (cash + BTC + treasury at the same prices)."""
    prices = (100_000.0, 4_000.0, 200.0)
    books = BalanceSheets.zeros(2)
    books.cash_usd[:] = [10e6, 3e6]
    books.btc_held[:] = [2.0, 0.0]
    rules = two_rules(
        cash_share=np.array([0.4, 0.9]),
        cash_floor_usd=np.array([4e6, 5e6]),
        eth_weight=np.array([0.25, 0.5]),
    )

    def net_assets() -> np.ndarray:
        return (
            books.cash_usd
            + books.btc_held * prices[0]
            + finance.treasury_usd(books, prices[1], prices[2])
        )

    before = net_assets()
    mined, from_cash = treasury.convert(books, rules, np.zeros(2), np.ones(2, bool), 10, prices)
    np.testing.assert_array_equal(mined, [0.0, 0.0])
    np.testing.assert_allclose(from_cash, [2.4e6, 0.0])
    np.testing.assert_allclose(books.cash_usd, [7.6e6, 3e6])
    assert books.btc_held[0] == 2.0  # the cash rule never sells BTC
    net = 2.4e6 * (1 - 0.002)
    np.testing.assert_allclose(books.eth_held, [0.25 * net / 4_000.0, 0.0])
    np.testing.assert_allclose(books.sol_held, [0.75 * net / 200.0, 0.0])
    cost = np.array([2.4e6 * 0.002, 0.0])
    np.testing.assert_allclose(books.equity_usd, -cost)
    np.testing.assert_allclose(before - net_assets(), cost, rtol=1e-12, atol=1e-6)


def test_the_cash_rule_runs_after_the_mined_rule_and_keeps_to_the_schedule():
    """The mined-BTC rule spends first (BTC held, then cash); the cash rule takes its share of
    what cash is left above the floor; outside the date window or below the BTC price condition
    neither converts anything."""
    prices = (50_000.0, 2_000.0, 100.0)
    books = BalanceSheets.zeros(2)
    books.cash_usd[:] = [1e6, 1e6]
    rules = two_rules(
        mined_share=np.ones(2),
        cash_share=np.full(2, 0.5),
        cash_floor_usd=np.full(2, 0.2e6),
        start_day=np.array([0.0, 30.0]),
    )
    btc_mined = np.full(2, 4.0)  # USD 200k each at the close, no BTC held: paid from cash
    mined, from_cash = treasury.convert(books, rules, btc_mined, np.ones(2, bool), 14, prices)
    np.testing.assert_allclose(mined, [200e3, 0.0])
    np.testing.assert_allclose(from_cash, [0.5 * (800e3 - 200e3), 0.0])
    np.testing.assert_allclose(books.cash_usd, [500e3, 1e6])
    rules = two_rules(cash_share=np.ones(2), min_btc_usd=np.full(2, 60_000.0))
    _, from_cash = treasury.convert(books, rules, btc_mined, np.ones(2, bool), 14, prices)
    np.testing.assert_array_equal(from_cash, [0.0, 0.0])
    _, from_cash = treasury.convert(
        books, two_rules(cash_share=np.ones(2)), btc_mined, np.array([True, False]), 14, prices
    )
    np.testing.assert_allclose(from_cash, [500e3, 0.0])  # a defaulted agent converts nothing


def test_a_cash_rule_scenario_keeps_the_accounting_identity_and_the_invariants():
    """The demo with every public miner converting 20% of its cash above USD 50m a epoch, one
    miner overridden to none: the invariants hold (assets - liabilities = equity, ETH/SOL
    valued at market, no negative cash), the miners with the rule build a treasury, the one
    without holds none."""
    model = MiningModel("demo", seed=1, overrides=DEMO)
    one = model.state.names[0]
    overrides = {
        **treasury_overrides(cash_share=0.2, cash_floor_usd=50e6, eth_weight=0.6),
        f"policy.treasury.miners.{one}": {"cash_share": 0.0},
    }
    _, result = run_demo(overrides)
    public = result.miners[result.miners["kind"] == "public"]
    others = public[public["name"] != one]
    last = others[others["epoch"] == others["epoch"].max()]
    assert (last["treasury_usd"] > 0).any()
    assert (public[public["name"] == one][["eth_held", "sol_held"]] == 0).all().all()
    mixed = last[last["treasury_usd"] > 0]
    eth_usd = mixed["eth_held"] * result.epochs["eth_price_usd"].iloc[-1]
    assert ((eth_usd > 0) & (eth_usd < mixed["treasury_usd"])).all()  # ETH and SOL both held


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"policy.treasury.cash_share": 1.5}, "policy.treasury.cash_share"),
        ({"policy.treasury.cash_floor_usd": -1.0}, "policy.treasury.cash_floor_usd"),
        (
            {"policy.treasury.miners.NAME": {"cash_floor_usd": "lots"}},
            "policy.treasury.miners.NAME.cash_floor_usd",
        ),
        (
            {"policy.treasury.start_date": "2026-06-01", "policy.treasury.end_date": "2026-01-01"},
            "policy.treasury",
        ),
    ],
)
def test_a_bad_cash_rule_is_a_one_line_error_naming_its_key(overrides, key):
    name = load_scenario("demo").miners["name"].iloc[0]
    overrides = {k.replace("NAME", name): v for k, v in overrides.items()}
    with pytest.raises(MinersimError) as error:
        load_scenario("demo", overrides=overrides)
    assert_clear(error.value)
    assert error.value.key.startswith(key.replace("NAME", name)), error.value.key


def test_an_override_whose_dates_cross_the_defaults_is_a_one_line_error():
    name = load_scenario("demo").miners["name"].iloc[0]
    overrides = {
        "policy.treasury.start_date": "2026-06-01",
        f"policy.treasury.miners.{name}": {"end_date": "2026-01-01"},
    }
    with pytest.raises(MinersimError, match=f"miner {name}: treasury end_date") as error:
        load_scenario("demo", overrides=overrides)
    assert_clear(error.value)


def test_experiment_stress_lets_small_miners_default_and_keeps_alts_on_btcs_drift():
    """The funding freeze is where the default panel says something: ETH and SOL drift with
    BTC, credit shuts in 2027, and a small miner holding BTC defaults in some of three runs
    (in the baseline none does: the bundled runs of the report)."""
    from sim.experiments import treasury_diversification as td

    stress = td.setting_scenario("funding_freeze")
    market = stress.config.market
    assert market.btc.drift < 0
    assert market.eth.drift == market.sol.drift == market.btc.drift
    assert str(market.rates.closed_periods[0][0]) == "2027-04-01"
    names = td.small_miners(stress)
    btc_only = with_overrides(stress, td.strategy_overrides("btc_only", names))
    defaulted = [td.one_run(btc_only, seed)["defaulted"].iloc[-1] for seed in range(3)]
    assert max(defaulted) >= 1


def test_experiment_tables_have_a_row_per_setting_and_strategy():
    from sim.experiments import treasury_diversification as td

    def run(defaulted: int) -> pd.DataFrame:
        btc = np.exp(np.linspace(11, 11.5, 20))
        return pd.DataFrame(
            {
                "btc_price_usd": btc,
                "market_cap_usd": btc,
                "treasury_usd": np.zeros(20),
                "defaulted": np.r_[np.zeros(15), np.full(5, defaulted)],
            }
        )

    results = {
        setting: {strategy: [run(k), run(0)] for k, strategy in enumerate(td.STRATEGIES)}
        for setting in td.SETTINGS
    }
    tab = td.table(td.per_run(results, 3))
    assert list(zip(tab["setting"], tab["strategy"], strict=True)) == [
        (s, k) for s in td.SETTINGS for k in td.STRATEGIES
    ]
    assert tab["p_any_default"].tolist() == [0.0, 0.5, 0.5] * len(td.SETTINGS)
    assert tab["mean_defaulted_share"].tolist() == pytest.approx([0, 1 / 6, 2 / 6] * 2)
