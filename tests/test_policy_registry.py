"""Policies registered by name from outside the package (sim.register_policy), the scenario's
check of the names, and docs/policies.md's worked example run in-process and in 2 workers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_policies import context, decide

import sim
from sim import policy_registry
from sim.batch import map_runs
from sim.errors import MinersimError, ScenarioError
from sim.input.scenario import load_scenario
from sim.policies import AI, ASIC
from sim.runner import run

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
EXAMPLE = "sell_below_breakeven"
#: The example's policy on the demo, with BTC falling fast enough for its rule to bite, and a
#: year's costs kept in cash: fleets that renew (issue 25) spend spare cash, and a miner with
#: none left in the trough pays the same bills with BTC whether its rule or the waterfall sells.
TROUGH = {"market.btc.drift": -2.0, "policy.cash_buffer_months": 12.0}
USE_EXAMPLE = {"miners.policy_modules": [EXAMPLE], "miners.policy": EXAMPLE, **TROUGH}


@pytest.fixture
def registry(monkeypatch):
    """A scratch copy of the registry: the names a test registers go with it."""
    monkeypatch.setattr(policy_registry, "_REGISTRY", dict(policy_registry._REGISTRY))
    return policy_registry


@pytest.fixture
def example(monkeypatch):
    """docs/examples on sys.path; the example module imported (it registers its policy)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    sys.modules.pop(EXAMPLE, None)  # imported afresh: it registers in the registry in use
    policy_registry.import_policy_modules([EXAMPLE])
    return sys.modules[EXAMPLE]


def sells_half(ctx, idx, out):
    out.sell_btc[idx] = 0.5 * ctx.btc_mined[idx]


def test_a_registered_function_decides_and_its_reasons_state_its_proposals(registry):
    assert sim.register_policy("sells_half", sells_half) is sells_half
    assert "sells_half" in registry.registered_policies()
    out = decide("sells_half", context())
    np.testing.assert_array_equal(out.sell_btc, 5.0)
    assert np.all(out.reasons.ai_verdict == AI["own_rule_keeps"])
    assert np.all(out.reasons.asic_verdict == ASIC["own_rule_buys_none"])
    assert out.explain(0) == (
        "Follows its own rule (no reasons given): converts nothing to AI; buys no machines; "
        "sells 50% of the BTC it mined."
    )


def test_the_decorator_registers_and_returns_the_function(registry):
    @sim.register_policy("buys_one_ph")
    def buys(ctx, idx, out):
        out.buy_ths[idx] = 1000.0

    assert callable(buys)
    out = decide("buys_one_ph", context())
    np.testing.assert_array_equal(out.buy_ths, 1000.0)
    assert out.explain(2).startswith("Follows its own rule") and "buys 0.001 EH/s" in out.explain(2)


def test_a_second_registration_needs_replace_unless_it_is_the_same_definition(registry):
    sim.register_policy("sells_half", sells_half)
    sim.register_policy("sells_half", sells_half)  # a module imported again
    with pytest.raises(MinersimError, match=r"already registered \(.*:sells_half\).*replace=True"):
        sim.register_policy("sells_half", lambda ctx, idx, out: None)
    sim.register_policy("sells_half", lambda ctx, idx, out: None, replace=True)
    assert not decide("sells_half", context()).sell_btc.any()


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("rational", sells_half, "built in and cannot be replaced"),
        ("fringe", sells_half, "reserved"),
        ("two words", sells_half, "Python identifier"),
        ("not_a_rule", 3.0, "must be a function decide"),
        ("no_attribute", "just_a_module", "must be a function decide"),
    ],
)
def test_bad_registrations_fail_in_one_line(registry, name, target, message):
    with pytest.raises(MinersimError, match=message):
        sim.register_policy(name, target, replace=True)


def test_an_unknown_name_lists_the_registered_ones(registry):
    with pytest.raises(MinersimError, match=r"unknown policy 'gamble' .*hodl, mining_only"):
        registry.policy("gamble")
    with pytest.raises(ScenarioError, match=r"miners.policy: unknown policy 'gamble' \(registered"):
        load_scenario("demo", {"miners.policy": "gamble"})


def test_the_scenario_imports_its_policy_modules_before_checking_the_names(registry, example):
    del registry._REGISTRY[EXAMPLE]  # as in a process that has not imported it
    sys.modules.pop(EXAMPLE)
    scenario = load_scenario("demo", {"miners.policy_modules": [EXAMPLE], "miners.policy": EXAMPLE})
    assert scenario.config.miners.policy == EXAMPLE and EXAMPLE in registry.registered_policies()
    with pytest.raises(ScenarioError, match=r"cannot import policy module 'no_such_policies'"):
        load_scenario("demo", {"miners.policy_modules": ["no_such_policies"]})
    with pytest.raises(ScenarioError, match=r"'lib/mine.py' is not a module name"):
        load_scenario("demo", {"miners.policy_modules": ["lib/mine.py"]})


def test_the_engine_imports_the_modules_a_pickled_scenario_names(registry, example):
    """A batch worker unpickles the scenario (no validation, no imports): the engine imports
    miners.policy_modules itself when it meets a name it does not know."""
    del registry._REGISTRY[EXAMPLE]
    sys.modules.pop(EXAMPLE)
    assert registry.policy(EXAMPLE, [EXAMPLE]).rule is sys.modules[EXAMPLE].decide


def test_the_example_sells_below_breakeven_and_hodls_above(example):
    # breakeven: 13.5 J/TH x 24e-6 x $/MWh + 80,000 / 365.25 x 13.5e-6 (demo opex) per TH-day
    power = np.array([30.0, 45.0, 200.0])
    breakeven = 13.5 * 24e-6 * power + 80_000 / 365.25 * 13.5e-6
    ctx = context(expected_hashprice_usd_per_th_day=float(breakeven[1]) + 1e-6)
    out = decide(EXAMPLE, ctx)
    np.testing.assert_array_equal(out.sell_btc, [0.0, 0.0, 10.0])  # only $200 power is below
    assert not out.may_borrow.any()
    rich = context(expected_hashprice_usd_per_th_day=0.1)  # above breakeven everywhere: hodl
    for field in ("sell_btc", "buy_ths", "convert_mw", "may_borrow", "replace_above_jth"):
        want = getattr(decide("hodl", rich), field)
        np.testing.assert_array_equal(getattr(decide(EXAMPLE, rich), field), want)
    assert decide(EXAMPLE, rich).buy_ths[0] > 0
    assert "sells 100% of the BTC" in out.explain(2) and "keeps the BTC" in out.explain(0)


def final_btc_held(result) -> pd.Series:
    miners = result.miners[result.miners["kind"] == "public"]
    return miners.groupby("name")["btc_held"].last()


def test_the_example_runs_through_sim_run(example):
    mine = run("demo", 0, USE_EXAMPLE)
    hodl = run("demo", 0, {"miners.policy": "hodl", **TROUGH})
    pd.testing.assert_frame_equal(mine.epochs.iloc[:5], hodl.epochs.iloc[:5])  # above breakeven
    sold = final_btc_held(hodl) - final_btc_held(mine)
    # it sold in the trough (the others' BTC differs by rounding only), hodl did not
    assert (sold > -1e-6).all() and (sold > 100).any(), sold


def in_fresh_process(code: str, cwd: Path) -> None:
    """Run ``code`` in a new interpreter with docs/examples on PYTHONPATH only (as a user's would
    be), so its worker processes can import the example but none inherit this test's import."""
    env = {**os.environ, "PYTHONPATH": str(EXAMPLES)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_two_worker_map_runs_imports_the_policy_module_in_the_workers(example, tmp_path):
    code = (
        "from sim.batch import map_runs\nfrom sim.runner import run\n"
        f"results = map_runs(run, 'demo', 2, 7, workers=2, overrides={USE_EXAMPLE!r})\n"
        f"for i, r in enumerate(results): r.miners.to_parquet('{tmp_path}/run%d.parquet' % i)\n"
    )
    in_fresh_process(code, tmp_path)
    here = map_runs(run, "demo", 2, 7, workers=1, overrides=USE_EXAMPLE)
    for i, result in enumerate(here):
        there = pd.read_parquet(tmp_path / f"run{i}.parquet")
        pd.testing.assert_frame_equal(there, result.miners, check_dtype=False)


@pytest.mark.slow
def test_minersim_mc_with_two_workers_runs_the_example(example, tmp_path):
    sets = [f"--set=miners.policy_modules=['{EXAMPLE}']", f"--set=miners.policy={EXAMPLE}"]
    sets += [f"--set={key}={value}" for key, value in TROUGH.items()]
    code = (
        "import sys\nfrom sim.cli import main\n"
        f"sys.exit(main(['mc', 'demo', '--runs', '2', '--workers', '2', '--out', 'mc', "
        f"'--miners', *{sets!r}]))"
    )
    in_fresh_process(code, tmp_path)
    batch = sim.open_batch(tmp_path / "mc")
    miners = batch.miners()
    first = miners[(miners["run"] == 0) & (miners["kind"] == "public")]
    seed = int(first["seed"].iloc[0])
    alone = run("demo", seed, USE_EXAMPLE).miners
    np.testing.assert_array_equal(
        first["btc_held"].to_numpy(), alone[alone["kind"] == "public"]["btc_held"].to_numpy()
    )
