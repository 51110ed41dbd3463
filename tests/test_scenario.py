"""Scenario loading, validation, overrides, hashing and ``minersim validate``."""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.input.scenario import (
    AI_COLUMNS,
    DEBT_COLUMNS,
    MINER_COLUMNS,
    SCENARIOS_DIR,
    Scenario,
    list_scenarios,
    load_scenario,
    parse_override,
    parse_overrides,
    resolve_scenario_path,
    with_overrides,
)

RUN_CLI = "import sys; from sim.cli import main; sys.exit(main())"
DEMO_FILES = ("demo.toml", "demo_miners.csv", "demo_debt.csv", "demo_ai.csv")
REPLAY_TOML = """
[scenario]
name = "replay"
start_date = 2022-01-03
end_date = 2022-02-01

[chain]
height = 717_120
difficulty = 24.27e12

[market.btc]
process = "replay"
path_csv = "prices.csv"

[[fringe.classes]]  # 168 EH/s: the hashrate that 24.27 T implies at 600 s blocks
name = "all"
hashrate_ehs = 168.0
efficiency_jth = 50.0
power_price_usd_mwh = 50.0
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A private copy of the demo scenario; returns its TOML path."""
    for name in DEMO_FILES:
        shutil.copy(SCENARIOS_DIR / name, tmp_path / name)
    return tmp_path / "demo.toml"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def set_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell of a CSV (row 0 = first data row)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[row][column] = value
    write_rows(path, rows)


def write_rows(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def error_of(path: Path, overrides: dict | None = None) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------------------- the demo


def test_demo_loads_with_typed_tables():
    scenario = load_scenario("demo")
    assert scenario.name == "demo"
    assert scenario.source == SCENARIOS_DIR / "demo.toml"
    assert list(scenario.miners.columns) == [c.name for c in MINER_COLUMNS]
    assert list(scenario.debt.columns) == [c.name for c in DEBT_COLUMNS]
    assert list(scenario.ai_contracts.columns) == [c.name for c in AI_COLUMNS]
    assert list(scenario.miners.index) == list(range(len(scenario.miners)))
    assert scenario.miners["hashrate_ehs"].dtype == "float64"
    assert scenario.miners["estimate"].dtype == bool
    assert all(isinstance(d, dt.date) for d in scenario.debt["maturity"])
    assert scenario.btc_replay is None
    assert len(scenario.content_hash) == 64


def test_demo_matches_its_calibration_targets():
    """Calibration README §3.1 (1,057.5 EH/s) and §3.5 (a 2025 mix ~19-22 J/TH)."""
    scenario = load_scenario("demo")
    classes = scenario.config.fringe.classes
    ehs = scenario.miners["hashrate_ehs"].sum() + sum(c.hashrate_ehs for c in classes)
    joules = (scenario.miners["hashrate_ehs"] * scenario.miners["efficiency_jth"]).sum() + sum(
        c.hashrate_ehs * c.efficiency_jth for c in classes
    )
    assert ehs == pytest.approx(1057.5, rel=0.01)
    assert 19.0 <= joules / ehs <= 22.0
    assert scenario.config.chain.height % 2016 == 0
    assert len(scenario.miners) + sum(c.agents for c in classes) <= 12


def test_list_and_resolve_bundled_scenarios():
    assert "demo" in list_scenarios()
    assert resolve_scenario_path("demo") == SCENARIOS_DIR / "demo.toml"
    with pytest.raises(ScenarioError, match="no-such-scenario"):
        resolve_scenario_path("no-such-scenario")


def test_no_miners_csv_gives_empty_typed_frames(demo: Path):
    text = demo.read_text()
    start = text.index("[miners]")
    demo.write_text(text[:start] + text[text.index("# Fringe:") :])
    scenario = load_scenario(demo)
    for frame, columns in (
        (scenario.miners, MINER_COLUMNS),
        (scenario.debt, DEBT_COLUMNS),
        (scenario.ai_contracts, AI_COLUMNS),
    ):
        assert frame.empty
        assert list(frame.columns) == [c.name for c in columns]
    assert scenario.miners["capacity_mw"].dtype == "float64"
    assert scenario.miners["estimate"].dtype == bool


# ------------------------------------------------------------------------------- TOML errors


def test_malformed_toml_names_file_and_line(demo: Path):
    replace_in(demo, 'name = "demo"', 'name = "demo')
    line = demo.read_text().splitlines().index('name = "demo') + 1
    message = error_of(demo)
    assert "demo.toml" in message and "malformed TOML" in message and f"line {line}," in message


def test_unknown_key_is_named(demo: Path):
    replace_in(demo, "volatility = 0.5", "volatilty = 0.5")
    message = error_of(demo)
    assert "demo.toml" in message and "market.btc.volatilty" in message
    assert "unknown key" in message


def test_wrong_type_is_named(demo: Path):
    replace_in(demo, "height = 917_280", 'height = "tall"')
    message = error_of(demo)
    assert "demo.toml" in message and "chain.height" in message


def test_negative_value_is_named(demo: Path):
    replace_in(demo, "volatility = 0.5", "volatility = -0.5")
    message = error_of(demo)
    assert "demo.toml" in message and "market.btc.volatility" in message and "-0.5" in message


def test_missing_required_key_is_named(demo: Path):
    replace_in(demo, "height = 917_280", "")
    assert "chain.height: missing required key" in error_of(demo)


def test_fringe_list_item_error_has_index(demo: Path):
    replace_in(demo, "agents = 2", "agents = 0")
    assert "fringe.classes.0.agents" in error_of(demo)


def test_policy_for_unknown_miner(demo: Path):
    replace_in(demo, "[miners]", '[miners]\npolicies = { Nobody = "hodl" }')
    message = error_of(demo)
    assert "demo.toml" in message and "miners.policies.Nobody" in message


# ------------------------------------------------------------------------------- CSV errors


def test_missing_csv_names_toml_key_and_file(demo: Path):
    (demo.parent / "demo_debt.csv").unlink()
    message = error_of(demo)
    assert "demo.toml" in message and "miners.debt_csv" in message and "demo_debt.csv" in message


def test_missing_and_extra_columns(demo: Path):
    path = demo.parent / "demo_miners.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("btc_held")
        row["colour"] = "red"
    write_rows(path, rows)
    message = error_of(demo)
    assert "demo_miners.csv" in message and "line 1" in message
    assert "missing column(s) btc_held" in message
    # the unknown column is named by its position: header text is never quoted (issue 14);
    # the demo's 17 columns (14 + strategy, ai_offer_fraction, strategy_source) less btc_held
    # put "colour" 17th
    assert "1 unknown column(s) (position 17)" in message and "colour" not in message


def test_optional_notes_column_may_be_absent(demo: Path):
    path = demo.parent / "demo_miners.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("notes")
    write_rows(path, rows)
    assert list(load_scenario(demo).miners["notes"]) == [""] * len(rows)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("hashrate_ehs", "lots", "not a number"),
        ("cash_usd", "-5", "must be >= 0"),
        ("efficiency_jth", "0", "must be > 0"),
        ("btc_held", "nan", "finite"),
        ("estimate", "maybe", "true or false"),
        ("contract_end", "2028-13-01", "ISO date"),
        ("name", "", "empty cell"),
    ],
)
def test_bad_miner_cells_name_line_and_column(demo: Path, column: str, value: str, problem: str):
    set_cell(demo.parent / "demo_miners.csv", 1, column, value)
    message = error_of(demo)
    assert "demo_miners.csv" in message and f"line 3, column {column}" in message
    assert problem in message


def test_ragged_row(demo: Path):
    path = demo.parent / "demo_ai.csv"
    path.write_text(path.read_text() + "Cipher,10\n")
    assert "demo_ai.csv: line 3" in error_of(demo)


def test_duplicate_miner_names(demo: Path):
    set_cell(demo.parent / "demo_miners.csv", 2, "name", "MARA")
    message = error_of(demo)
    assert "demo_miners.csv: line 4, column name" in message and "duplicate" in message


@pytest.mark.parametrize("table", ["demo_debt.csv", "demo_ai.csv"])
def test_unknown_miner_in_debt_or_ai(demo: Path, table: str):
    set_cell(demo.parent / table, 0, "miner", "Nobody")
    message = error_of(demo)
    assert f"{table}: line 2, column miner" in message and "Nobody" in message


def test_capacity_must_hold_mining_and_ai(demo: Path):
    scenario = load_scenario(demo)
    row = scenario.miners.loc[scenario.miners["name"] == "Cipher"].iloc[0]
    leased = scenario.ai_contracts.loc[scenario.ai_contracts["miner"] == "Cipher", "mw"].sum()
    needed = row["hashrate_ehs"] * row["efficiency_jth"] + leased
    position = int(row.name)
    set_cell(demo.parent / "demo_miners.csv", position, "capacity_mw", f"{needed * 1.001:.6f}")
    load_scenario(demo)  # just fits
    set_cell(demo.parent / "demo_miners.csv", position, "capacity_mw", f"{needed * 0.999:.6f}")
    message = error_of(demo)
    assert f"demo_miners.csv: line {position + 2}, column capacity_mw" in message
    assert "exceeds" in message


def test_debt_maturity_before_start(demo: Path):
    set_cell(demo.parent / "demo_debt.csv", 0, "maturity", "2025-09-30")
    message = error_of(demo)
    assert (
        "demo_debt.csv: line 2, column maturity" in message
        and "before the scenario start" in message
    )


@pytest.mark.parametrize(
    ("row", "column", "value", "problem"),
    [
        (0, "conversion_price_usd", "", "needs a conversion price"),
        (2, "conversion_price_usd", "5", "must be empty for senior_secured"),
        (0, "instrument", "junk", "must be one of"),
        (0, "coupon", "7.75", "must be <= 1"),
        (0, "issue_date", "2032-01-01", "not after issue_date"),
    ],
)
def test_bad_debt_rows(demo: Path, row: int, column: str, value: str, problem: str):
    set_cell(demo.parent / "demo_debt.csv", row, column, value)
    message = error_of(demo)
    assert "demo_debt.csv" in message and f"line {row + 2}" in message and problem in message


# ------------------------------------------------------------------------------- replay


@pytest.fixture
def replay(tmp_path: Path) -> Path:
    (tmp_path / "replay.toml").write_text(REPLAY_TOML)
    (tmp_path / "prices.csv").write_text(
        "date,price\n2022-01-01,47000\n2022-01-04,46000\n2022-01-02,47500\n2022-01-05,45000\n"
    )
    return tmp_path / "replay.toml"


def test_replay_is_sorted_and_forward_filled(replay: Path):
    series = load_scenario(replay).btc_replay
    assert list(series.index) == [dt.date(2022, 1, d) for d in range(1, 6)]
    assert list(series) == [47000.0, 47500.0, 47500.0, 46000.0, 45000.0]


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("2022-01-01,47000\n2022-01-01,47100\n", "repeats line 2"),
        ("2022-01-01,0\n", "must be > 0"),
        ("2022-01-01,abc\n", "not a number"),
        ("2022-01-04,47000\n", "after the scenario start"),
        ("01/01/2022,47000\n", "ISO date"),
    ],
)
def test_bad_replay(replay: Path, rows: str, problem: str):
    (replay.parent / "prices.csv").write_text("date,price\n" + rows)
    message = error_of(replay)
    assert "prices.csv" in message and problem in message


def test_missing_replay_file(replay: Path):
    (replay.parent / "prices.csv").unlink()
    message = error_of(replay)
    assert "replay.toml" in message and "market.btc.path_csv" in message


# ------------------------------------------------------------------------------- overrides


def test_parse_override_reads_toml_values():
    assert parse_override("market.btc.volatility=0.6") == ("market.btc.volatility", 0.6)
    assert parse_override("chain.height = 10") == ("chain.height", 10)
    assert parse_override("market.ai.enabled=false") == ("market.ai.enabled", False)
    assert parse_override("scenario.start_date=2025-01-02") == (
        "scenario.start_date",
        dt.date(2025, 1, 2),
    )
    assert parse_override("miners.policy=hodl") == ("miners.policy", "hodl")
    assert parse_override('scenario.name="a b"') == ("scenario.name", "a b")
    periods = parse_override("market.rates.closed_periods=[[2026-01-01, 2026-06-30]]")[1]
    assert periods == [[dt.date(2026, 1, 1), dt.date(2026, 6, 30)]]
    assert parse_overrides(["a.b=1", "a.b=2"]) == {"a.b": 2}
    for bad in ("novalue", "=3", "a.b=", "a..b=1"):
        with pytest.raises(ScenarioError):
            parse_override(bad)


def test_overrides_apply_before_validation(demo: Path):
    scenario = load_scenario(demo, {"market.btc.volatility": 0.9, "fringe.classes.1.agents": 5})
    assert scenario.config.market.btc.volatility == 0.9
    assert scenario.config.fringe.classes[1].agents == 5
    assert scenario.content_hash != load_scenario(demo).content_hash


def test_bad_override_value_fails_like_the_file(demo: Path):
    message = error_of(demo, {"market.btc.volatility": -1})
    assert "demo.toml" in message and "market.btc.volatility" in message and "override" in message


@pytest.mark.parametrize(
    "key", ["market.btc.volatilty", "nosuch", "chain.height.x", "fringe.classes.9.agents"]
)
def test_unknown_override_key(demo: Path, key: str):
    assert key in error_of(demo, {key: 1})


def test_override_path_is_relative_to_the_scenario(demo: Path):
    shutil.copy(demo.parent / "demo_ai.csv", demo.parent / "other_ai.csv")
    scenario = load_scenario(demo, {"miners.ai_contracts_csv": "other_ai.csv"})
    assert Path(scenario.config.miners.ai_contracts_csv) == (demo.parent / "other_ai.csv").resolve()


def test_override_start_date_rechecks_tables(demo: Path):
    message = error_of(
        demo, {"scenario.start_date": dt.date(2031, 7, 1), "scenario.end_date": dt.date(2032, 1, 1)}
    )
    assert "before the scenario start" in message


def test_with_overrides_matches_loading_with_overrides(demo: Path):
    overrides = {"market.power.renewal_shock": 0.5, "miners.policies.MARA": "hodl"}
    again = with_overrides(load_scenario(demo), overrides)
    assert isinstance(again, Scenario)
    assert again.content_hash == load_scenario(demo, overrides).content_hash
    assert load_scenario(again, {}).content_hash == again.content_hash
    with pytest.raises(ScenarioError, match=r"miners\.policies\.Nobody"):
        with_overrides(again, {"miners.policies.Nobody": "hodl"})


# ------------------------------------------------------------------------------- hashing


def test_hash_ignores_order_whitespace_comments_and_location(demo: Path, tmp_path: Path):
    reference = load_scenario(demo).content_hash
    text = demo.read_text()
    # move the [scenario] table to the end, strip comments, add blank lines
    head, rest = text.split("[chain]", 1)
    scenario_table = head[head.index("[scenario]") :]
    lines = [line.split("#", 1)[0].rstrip() for line in ("[chain]" + rest).splitlines()]
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    for name in DEMO_FILES[1:]:
        shutil.copy(demo.parent / name, moved / name)
    (moved / "reordered.toml").write_text("\n\n".join(lines) + "\n\n" + scenario_table)
    assert load_scenario(moved / "reordered.toml").content_hash == reference


def test_hash_counts_explicit_defaults_as_the_same(demo: Path):
    reference = load_scenario(demo).content_hash
    replace_in(demo, "[market.fees]", "[market.fees]\nburst_probability = 0.0005")
    assert load_scenario(demo).content_hash == reference


def test_hash_changes_with_any_value(demo: Path):
    reference = load_scenario(demo).content_hash
    assert load_scenario(demo, {"market.btc.drift": 0.01}).content_hash != reference
    set_cell(demo.parent / "demo_ai.csv", 0, "mw", "167")
    assert load_scenario(demo).content_hash != reference


def test_hash_ignores_csv_formatting(demo: Path):
    reference = load_scenario(demo).content_hash
    path = demo.parent / "demo_ai.csv"
    path.write_text(path.read_text().replace(",168,", ", 168.0 ,") + "\n\n")
    assert load_scenario(demo).content_hash == reference


# ------------------------------------------------------------------------------- extends


def test_extends_deep_merges_and_names_the_variant(demo: Path):
    variant = demo.parent / "variant.toml"
    variant.write_text(
        'extends = "demo.toml"\n[scenario]\nname = "variant"\n[market.btc]\nvolatility = 0.8\n'
    )
    base, child = load_scenario(demo), load_scenario(variant)
    assert child.name == "variant"
    assert child.config.market.btc.volatility == 0.8
    assert child.config.market.btc.initial_usd == base.config.market.btc.initial_usd
    assert child.config.scenario.start_date == base.config.scenario.start_date
    assert child.miners.equals(base.miners)
    variant.write_text('extends = "demo.toml"\n[market.btc]\nvolatility = -1\n')
    message = error_of(variant)
    assert message.startswith(str(variant.name)) or "variant.toml" in message.split(":")[0]
    assert "market.btc.volatility" in message


def test_extends_resolves_parent_paths_from_the_parent(demo: Path, tmp_path: Path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "child.toml").write_text(f'extends = "{demo.as_posix()}"\n')
    # the parent lies outside the child's folder: readable only once its folder is named
    assert "is outside the folders a scenario may read" in error_of(sub / "child.toml")
    child = load_scenario(sub / "child.toml", data_dirs=[demo.parent])
    assert len(child.miners) == len(load_scenario(demo).miners)
    # a child below its parent's folder needs nothing more
    (sub / "below.toml").write_text('extends = "../demo.toml"\n')
    assert "outside" in error_of(sub / "below.toml")
    (demo.parent / "sibling.toml").write_text('extends = "demo.toml"\n')
    assert load_scenario(demo.parent / "sibling.toml").miners.equals(child.miners)


def test_extends_cycle_and_missing_parent(tmp_path: Path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    assert "extends cycle" in error_of(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('extends = "gone.toml"\n')
    message = error_of(tmp_path / "c.toml")
    assert "c.toml" in message and "extends" in message and "gone.toml" in message


# ------------------------------------------------------------------------------- CLI


def test_cli_validate_prints_summary(capsys: pytest.CaptureFixture[str]):
    from sim.cli import main

    assert main(["validate", "demo", "--set", "market.btc.volatility=0.7"]) == 0
    out = capsys.readouterr().out
    expected = load_scenario("demo", {"market.btc.volatility": 0.7}).content_hash
    assert "demo" in out and "2025-10-01" in out and expected in out


def test_cli_validate_error_is_one_line(demo: Path, capsys: pytest.CaptureFixture[str]):
    from sim.cli import main

    replace_in(demo, "volatility = 0.5", "volatility = -0.5")
    assert main(["validate", str(demo)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "market.btc.volatility" in err and "Traceback" not in err
    assert main(["validate", "demo", "--set", "nosuch.key=1"]) == 2
    assert "nosuch.key" in capsys.readouterr().err


def test_cli_validate_subprocess_exit_code(demo: Path):
    set_cell(demo.parent / "demo_miners.csv", 0, "hashrate_ehs", "-1")
    done = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "validate", str(demo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "demo_miners.csv: line 2, column hashrate_ehs" in lines[0]
    assert "Traceback" not in done.stderr


# ------------------------------------------------------------------------------- schema validators


@pytest.mark.parametrize(
    ("overrides", "key", "problem"),
    [
        (
            {"market.rates.closed_periods": [[dt.date(2026, 6, 1), dt.date(2026, 1, 1)]]},
            "market.rates",
            "ends before it starts",
        ),
        (
            {
                "market.btc.process": "piecewise",
                "market.btc.points": [[dt.date(2026, 6, 1), 1e5], [dt.date(2026, 1, 1), 9e4]],
            },
            "market.btc",
            "strictly increasing",
        ),
        ({"fringe.classes.1.name": "fringe_s21"}, "fringe", "unique"),
    ],
)
def test_schema_validators(demo: Path, overrides: dict, key: str, problem: str):
    message = error_of(demo, overrides)
    assert f": {key}: " in message and problem in message


def test_scenario_equality_and_pickling(demo: Path):
    first, again = load_scenario(demo), load_scenario(demo)
    assert first == again and hash(first) == hash(again)
    assert first != load_scenario(demo, {"market.btc.drift": 0.1})
    restored = pickle.loads(pickle.dumps(first))
    assert restored == first and restored.miners.equals(first.miners)
