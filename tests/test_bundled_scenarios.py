"""The bundled scenarios: every file validates, and the calibrated data keep to their sources.

Targets come from data/sources.md (cited per test); checks against the raw history
files (data/history) always run.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas
import pytest

from sim import history
from sim.cli import main
from sim.input.scenario import SCENARIOS_DIR, list_scenarios, load_scenario

VARIANTS = {  # variant -> the top-level sections it may change besides [scenario]
    "btc_bear": {"market"},
    "btc_bull": {"market"},
    "ai_boom": {"market"},
    "ai_bust": {"market"},
    "power_shock": {"market"},
    "credit_crunch": {"market"},
    "crash_2022": {"market"},
    "no_ai": {"market"},
    "jpm_method": {"market", "miners", "fringe"},
}
EXPECTED = {"demo", "baseline", "backtest_2022", *VARIANTS}


def network(scenario) -> tuple[float, float, int]:
    """Total EH/s, hashrate-weighted J/TH and number of agents (public + fringe)."""
    miners, classes = scenario.miners, scenario.config.fringe.classes
    ehs = miners["hashrate_ehs"].sum() + sum(c.hashrate_ehs for c in classes)
    joules = (miners["hashrate_ehs"] * miners["efficiency_jth"]).sum() + sum(
        c.hashrate_ehs * c.efficiency_jth for c in classes
    )
    return float(ehs), float(joules / ehs), len(miners) + sum(c.agents for c in classes)


def csv_rows(name: str) -> list[dict]:
    with (SCENARIOS_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_expected_scenario_is_bundled():
    assert EXPECTED <= set(list_scenarios())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bundled_scenario_validates(name: str, capsys: pytest.CaptureFixture[str]):
    assert main(["validate", name]) == 0
    assert load_scenario(name).content_hash in capsys.readouterr().out


def test_scenario_hashes_differ():
    hashes = [load_scenario(name).content_hash for name in sorted(EXPECTED)]
    assert len(set(hashes)) == len(hashes)


def test_baseline_matches_calibration():
    """cal §3.1: 1,057.5 EH/s, 143.47 T, $118,649 on 2025-10-01; cal §3.5: ~20 J/TH; ~100 agents."""
    scenario = load_scenario("baseline")
    config = scenario.config
    ehs, jth, agents = network(scenario)
    assert ehs == pytest.approx(1057.5, rel=0.005)
    assert jth == pytest.approx(20.0, abs=0.5)
    assert 90 <= agents <= 110
    assert config.chain.height == 917_280 and config.chain.height % 2016 == 0
    assert config.chain.difficulty == pytest.approx(143.47e12)
    assert config.market.btc.initial_usd == pytest.approx(118_649)
    public_share = scenario.miners["hashrate_ehs"].sum() / ehs
    assert 0.25 <= public_share <= 0.35  # cal §4.10: public miners ~1/3 of the network


def test_baseline_tables_cover_the_ten_miners():
    scenario = load_scenario("baseline")
    names = set(scenario.miners["name"])
    assert names == {
        "MARA", "CleanSpark", "Riot", "IREN", "Core Scientific",
        "Cipher", "TeraWulf", "Hut 8", "Bitfarms", "Bitdeer",
    }  # fmt: skip
    assert (scenario.miners["source"].str.len() > 0).all()
    assert (scenario.debt["source"].str.contains("§3.10")).all()
    assert (scenario.ai_contracts["source"].str.contains("§3.9")).all()
    flagged = scenario.miners["estimate"] == scenario.miners["notes"].str.contains("estimat")
    assert flagged.all(), "estimate=true rows must say in notes what was estimated"


@pytest.mark.parametrize(("variant", "sections"), sorted(VARIANTS.items()))
def test_variant_changes_only_its_sections(variant: str, sections: set[str]):
    base = load_scenario("baseline").config.model_dump()
    child = load_scenario(variant).config.model_dump()
    changed = {key for key in base if base[key] != child[key]}
    assert changed <= sections | {"scenario"}
    assert changed - {"scenario"}, f"{variant} changes nothing but its name"
    assert child["scenario"]["start_date"] == base["scenario"]["start_date"]


def test_variant_keys():
    get = lambda name: load_scenario(name).config.market  # noqa: E731
    base = get("baseline")
    assert get("btc_bear").btc.drift < base.btc.drift < get("btc_bull").btc.drift
    assert get("ai_bust").ai.lease_usd_per_mw_year < base.ai.lease_usd_per_mw_year
    assert get("ai_boom").ai.lease_usd_per_mw_year > base.ai.lease_usd_per_mw_year
    assert get("power_shock").power.renewal_shock == 0.5
    assert get("credit_crunch").rates.closed_periods
    assert get("no_ai").ai.enabled is False


def test_jpm_method_is_flat_50_and_33_jth():
    """cal §3.12: $0.05/kWh for everyone; implied network efficiency ~32-34 J/TH."""
    scenario = load_scenario("jpm_method")
    _, jth, agents = network(scenario)
    assert 32.0 <= jth <= 34.0
    assert (scenario.miners["power_price_usd_mwh"] == 50).all()
    assert all(c.power_price_usd_mwh == 50 for c in scenario.config.fringe.classes)
    assert scenario.config.market.power.base_usd_mwh == 50
    assert agents == network(load_scenario("baseline"))[2]


def test_jpm_miners_csv_is_the_baseline_with_flat_power():
    base, jpm = csv_rows("miners_2025.csv"), csv_rows("miners_2025_jpm.csv")
    assert len(base) == len(jpm)
    for b, j in zip(base, jpm, strict=True):
        same = {k for k in b if k not in ("power_price_usd_mwh", "source")}
        assert {k: b[k] for k in same} == {k: j[k] for k in same}
        assert j["source"].endswith(b["source"])


@pytest.mark.parametrize(
    ("demo_file", "full_file"),
    [
        ("demo_miners.csv", "miners_2025.csv"),
        ("demo_debt.csv", "debt_2025.csv"),
        ("demo_ai.csv", "ai_contracts_2025.csv"),
    ],
)
def test_demo_rows_are_copied_from_the_2025_tables(demo_file: str, full_file: str):
    full = csv_rows(full_file)
    for row in csv_rows(demo_file):
        assert row in full


def test_backtest_is_fringe_only_with_replay():
    scenario = load_scenario("backtest_2022")
    assert scenario.miners.empty and scenario.debt.empty
    assert scenario.config.chain.height % 2016 == 0
    replay = scenario.btc_replay
    assert replay.index[0] <= scenario.config.scenario.start_date
    assert replay.index[-1] >= scenario.config.scenario.end_date
    start_price = replay[scenario.config.scenario.start_date]
    assert scenario.config.market.btc.initial_usd == pytest.approx(start_price)


def test_backtest_state_matches_history_at_2021_end():
    scenario = load_scenario("backtest_2022")
    ehs, jth, _ = network(scenario)
    assert scenario.config.chain.difficulty == pytest.approx(history.difficulty()["2021-12-31"])
    assert ehs == pytest.approx(history.hashrate_ehs()["2021-12-25":"2021-12-31"].mean(), rel=1e-3)
    assert jth == pytest.approx(history.efficiency_jth()["2021-12-31"], rel=1e-3)


def test_replay_csv_is_the_history_price_column():
    source = history.btc_price_usd()
    copy = pandas.read_csv(SCENARIOS_DIR / "data" / "btc_price_usd.csv", parse_dates=["date"])
    assert list(copy.columns) == ["date", "price"]
    assert (copy["date"].to_numpy() == source.index.to_numpy()).all()
    assert copy["price"].to_numpy() == pytest.approx(source.to_numpy(), rel=1e-12)


def test_bundled_files_have_no_stray_paths():
    for path in Path(SCENARIOS_DIR).glob("*.toml"):
        assert "/work/" not in path.read_text(), f"{path.name} has an absolute path"
