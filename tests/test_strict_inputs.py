"""Strict inputs (issue 14, families "silent wrong results" and "sizes and literals"; issue 13,
scenario ergonomics), with generated cases:

* a value of the wrong kind for any schema key (a boolean for a number, text for a boolean, a
  float for an integer, a date-time or a time zone for a date), written in the TOML file, given
  as ``--set`` text or as a Python override, is an error naming the key;
* integer literals beyond 2**63 - 1 (up to thousands of digits), deeply nested arrays and
  ``extends`` chains longer than 16 files are one-line errors, never a traceback;
* a loaded Scenario cannot change: its tables are copies, and a configuration changed in place
  is refused by every entry point (load_scenario, MiningModel, sim.run, monte_carlo, sweep);
  the entry points use the loaded tables, not the files (which may have changed since);
* unit mistakes are named: $/kWh where $/MWh is expected, J/GH for J/TH, PH/s or TH/s written
  as EH/s, a difficulty in T; a misspelt key in a file gets "did you mean";
* agent counts that cannot fit this machine's memory, run counts and designs beyond the limits,
  and ``ui --port`` values outside 1-65535 or in use are refused up front.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import math
import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invariants import assert_clear
from strategies import KEYS_BY_KIND, copy_demo, demo_document, dump_toml

import sim
from sim.batch import plans
from sim.cli import main
from sim.cli.ui import check_port_free, port_number
from sim.errors import MinersimError, ScenarioError
from sim.input import documents, sanity
from sim.input.scenario import load_scenario, parse_overrides

FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=1500)
DEMO_DAYS = 365  # demo: 2025-10-01 to 2026-10-01


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return copy_demo(tmp_path_factory.mktemp("demo"))


def error_of(source, overrides=None, **kw) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(source, overrides, **kw)
    assert_clear(info.value)
    return info.value


# ------------------------------------------------------------------------------- wrong kinds

WRONG = {
    "float": st.one_of(
        st.booleans(), st.sampled_from(["0.5", "1e3", "true", "", "nan"]), st.just([1.0])
    ),
    "int": st.one_of(
        st.booleans(),
        st.integers(1, 50).map(float),
        st.sampled_from(["1", "2.0", "yes"]),
    ),
    "bool": st.one_of(
        st.sampled_from(["yes", "no", "true", "false", "1", "0", "on"]),
        st.integers(0, 1),
        st.floats(0, 1),
    ),
    "date": st.one_of(
        st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1)),
        st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)),
        st.sampled_from(["2025-10-01T00:00:00", "2025-10-01 00:00", "20251001", "2025-W40-3"]),
        st.integers(2020, 2030),
        st.booleans(),
    ),
}


def _in_the_demo(key: str) -> bool:
    """True if every list item on ``key``'s path exists in the demo document (a key inside a list
    of tables the demo leaves out, such as ``fringe.outages.0.start``, cannot be set alone)."""
    node: object = demo_document()
    for part in key.split(".")[:-1]:
        if part.isdigit():
            if not (isinstance(node, list) and int(part) < len(node)):
                return False
            node = node[int(part)]
        else:
            node = node.get(part, {}) if isinstance(node, dict) else {}
    return True


@st.composite
def wrong_kinds(draw: st.DrawFn) -> tuple[str, object, str]:
    """(key, a value of the wrong kind for it, how it is given)."""
    kind = draw(st.sampled_from(sorted(WRONG)))
    key = draw(st.sampled_from([k for k in KEYS_BY_KIND[kind] if _in_the_demo(k)]))
    return key, draw(WRONG[kind]), draw(st.sampled_from(["python", "toml", "set"]))


def _toml_value(value: object) -> str:
    """``value`` written as a TOML value (what a user would type)."""
    return dump_toml({"v": value}).decode().partition("=")[2].strip()


def check_wrong_kind(demo: Path, case: tuple[str, object, str]) -> None:
    key, value, how = case
    if how == "python":
        error = error_of(demo, {key: value})
    elif how == "set":
        error = error_of(demo, parse_overrides([f"{key}={_toml_value(value)}"]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = copy_demo(Path(folder))
            document = demo_document()
            node = document
            parts = key.split(".")
            for part in parts[:-1]:
                node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
            node[parts[-1]] = value
            path.write_bytes(dump_toml(document))
            error = error_of(path)
    assert error.key and error.key.startswith(key), f"{key}={value!r} ({how}): {error}"


@pytest.mark.timeout(600)
@FAST
@given(wrong_kinds())
def test_a_value_of_the_wrong_kind_is_an_error_naming_the_key(demo, case):
    check_wrong_kind(demo, case)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@SLOW
@given(wrong_kinds())
def test_a_value_of_the_wrong_kind_is_an_error_naming_the_key_many(demo, case):
    check_wrong_kind(demo, case)


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"market.btc.volatility": True}, "market.btc.volatility", "not a boolean"),
        ({"fringe.classes.0.agents": True}, "fringe.classes.0.agents", "not a boolean"),
        ({"miners.curtailment": "yes"}, "miners.curtailment", "true or false"),
        ({"market.btc.volatility": "0.5"}, "market.btc.volatility", "not text"),
        (
            {"scenario.start_date": dt.datetime(2025, 10, 1, tzinfo=dt.UTC)},
            "scenario.start_date",
            "without a time of day or time zone",
        ),
    ],
)
def test_the_issue_examples_are_errors(demo, overrides, key, words):
    error = error_of(demo, overrides)
    assert error.key == key and words in str(error)


def test_iso_date_text_and_integers_for_floats_are_accepted(demo):
    loaded = load_scenario(demo, {"scenario.end_date": "2026-01-01", "market.btc.volatility": 1})
    assert loaded.config.scenario.end_date == dt.date(2026, 1, 1)
    assert loaded.config.market.btc.volatility == 1.0


def test_negative_zero_is_read_as_zero_and_runs(demo):
    # -0.0 passes ">= 0", but NumPy's exponential sampler refused it as "scale < 0" mid-run
    # (found by the slow override fuzz on market.fees.burst_btc).
    keys = ("market.fees.burst_btc", "market.btc.volatility", "market.fees.burst_probability")
    loaded = load_scenario(demo, {key: -0.0 for key in keys} | {"scenario.end_date": "2026-01-31"})
    for key in keys:
        value = functools.reduce(getattr, key.split("."), loaded.config)
        assert math.copysign(1.0, value) == 1.0, key
    assert len(sim.run(loaded, seed=0).epochs) > 0


# ------------------------------------------------------------------------------- literals


@st.composite
def big_literals(draw: st.DrawFn) -> tuple[str, int, int, int, str]:
    """(key, sign, leading digit, digits, how it is given) of an integer literal beyond 2**63 - 1
    in magnitude. The case holds no huge int: Python cannot turn an int of more than 4,300
    digits into text, so even printing a failing example would fail (the test must not fail on
    its own helper); :func:`literal` builds the number and its text from these."""
    key = draw(st.sampled_from(KEYS_BY_KIND["float"] + KEYS_BY_KIND["int"]))
    digits = draw(st.one_of(st.integers(20, 40), st.integers(41, 5000)))
    return (
        key,
        draw(st.sampled_from([1, -1])),
        draw(st.integers(1, 9)),
        digits,
        draw(st.sampled_from(["python", "toml", "set"])),
    )


def literal(sign: int, lead: int, digits: int) -> tuple[int, str]:
    """The integer ``sign * lead 9 9 ... 9`` (``digits`` digits) and its text, built without
    converting between the two."""
    number = sign * ((lead + 1) * 10 ** (digits - 1) - 1)
    return number, ("-" if sign < 0 else "") + str(lead) + "9" * (digits - 1)


def check_big_literal(demo: Path, case: tuple[str, int, int, int, str]) -> None:
    key, sign, lead, digits, how = case
    number, text = literal(sign, lead, digits)
    if how == "python":
        error_of(demo, {key: number})
    elif how == "set":
        with pytest.raises(ScenarioError) as info:
            parse_overrides([f"{key}={text}"])
        assert_clear(info.value)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = copy_demo(Path(folder))
            section, _, name = key.rpartition(".")
            header = "[[fringe.classes]]" if section.startswith("fringe.") else f"[{section}]"
            body = path.read_text()
            if header in body:  # into the existing table (a second one is malformed TOML)
                body = body.replace(header, f"{header}\n{name} = {text}", 1)
            else:
                body += f"\n{header}\n{name} = {text}\n"
            path.write_text(body)
            error_of(path)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=60)
@given(big_literals())
def test_integer_literals_beyond_int64_are_one_line_errors(demo, case):
    check_big_literal(demo, case)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=30)
@given(depth=st.integers(1, 3000), how=st.sampled_from(["toml", "set"]))
def test_deeply_nested_values_are_one_line_errors(demo, depth, how):
    value = "[" * depth + "1" + "]" * depth
    if how == "set":
        try:
            overrides = parse_overrides([f"market.btc.points={value}"])
        except ScenarioError as error:
            assert_clear(error)
            return
        error_of(demo, overrides)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = copy_demo(Path(folder))
            path.write_text(path.read_text().replace("[market.btc]", f"[market.btc]\nx = {value}"))
            error_of(path)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=20)
@given(length=st.integers(1, 2 * documents.MAX_EXTENDS_DEPTH + 8))
def test_extends_chains_are_bounded(length):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        copy_demo(root)
        for i in range(length):
            parent = f"link{i + 1}.toml" if i + 1 < length else "demo.toml"
            (root / f"link{i}.toml").write_text(f'extends = "{parent}"\n')
        files = length + 1  # the links and demo.toml
        if files <= documents.MAX_EXTENDS_DEPTH:
            assert load_scenario(root / "link0.toml").name == "demo"
        else:
            error = error_of(root / "link0.toml")
            assert f"longer than {documents.MAX_EXTENDS_DEPTH} files" in str(error)


# ------------------------------------------------------------------------------- immutability

MUTATIONS = (
    "append fringe class",
    "drop fringe class",
    "points",
    "setattr volatility",
    "setattr class agents",
    "closed period",
)


def _mutate(scenario: sim.Scenario, how: str) -> None:
    config = scenario.config
    if how == "append fringe class":
        config.fringe.classes.append(config.fringe.classes[0])
    elif how == "drop fringe class":
        config.fringe.classes.pop()
    elif how == "points":
        config.market.btc.points.append((dt.date(2026, 6, 1), 1.0))
    elif how == "setattr volatility":
        object.__setattr__(config.market.btc, "volatility", 3.0)
    elif how == "setattr class agents":
        object.__setattr__(config.fringe.classes[0], "agents", 99)
    else:
        config.market.rates.closed_periods.append((dt.date(2026, 1, 1), dt.date(2026, 3, 1)))


ENTRY_POINTS = ("load_scenario", "MiningModel", "run", "monte_carlo", "sweep", "override")


def _enter(scenario: sim.Scenario, entry: str, out: Path) -> None:
    if entry == "load_scenario":
        sim.load_scenario(scenario)
    elif entry == "override":
        sim.load_scenario(scenario, {"market.btc.drift": 0.1})
    elif entry == "MiningModel":
        sim.MiningModel(scenario, seed=0)
    elif entry == "run":
        sim.run(scenario, seed=0)
    elif entry == "monte_carlo":
        sim.monte_carlo(scenario, 1, 0, out, workers=1, progress=False)
    else:
        sim.sweep(scenario, 1, 0, out, grid={"market.btc.drift": [0.0]}, workers=1, progress=False)


@pytest.fixture(scope="module")
def piecewise(demo) -> sim.Scenario:
    points = [[dt.date(2025, 10, 1), 1e5], [dt.date(2026, 1, 1), 2e5]]
    return load_scenario(demo, {"market.btc.process": "piecewise", "market.btc.points": points})


@pytest.mark.timeout(300)
@settings(FAST, max_examples=40)
@given(how=st.sampled_from(MUTATIONS), entry=st.sampled_from(ENTRY_POINTS))
def test_every_entry_point_refuses_a_scenario_changed_in_place(piecewise, tmp_path, how, entry):
    scenario = load_scenario(piecewise, {"market.btc.drift": 0.0})  # a private copy
    _mutate(scenario, how)
    out = tmp_path / f"batch-{how}-{entry}".replace(" ", "_")
    with pytest.raises(ScenarioError, match="changed after it was loaded"):
        _enter(scenario, entry, out)
    assert not (out / "epochs").exists()


@pytest.mark.timeout(300)
@settings(FAST, max_examples=30)
@given(
    table=st.sampled_from(["miners", "debt", "ai_contracts"]),
    column=st.integers(0, 5),
    value=st.one_of(st.floats(allow_nan=True), st.text(max_size=3), st.none()),
)
def test_tables_handed_out_are_copies(demo, table, column, value):
    scenario = load_scenario(demo)
    before = scenario.content_hash
    frame = getattr(scenario, table)
    frame[frame.columns[column % frame.shape[1]]] = value  # a whole column: any value fits
    del frame[frame.columns[0]]
    assert len(getattr(scenario, table)) > 0
    sim.load_scenario(scenario)  # still unchanged
    assert scenario.content_hash == before


FILE_DAMAGE = ("delete", "garbage", "other values")


@pytest.mark.timeout(600)
@settings(FAST, max_examples=25)
@given(
    damage=st.sampled_from(FILE_DAMAGE),
    name=st.sampled_from(["demo.toml", "demo_miners.csv", "demo_debt.csv", "demo_ai.csv"]),
    volatility=st.sampled_from([None, 0.3, 0.9]),
)
def test_entry_points_use_the_loaded_tables_not_the_files(damage, name, volatility):
    overrides = {} if volatility is None else {"market.btc.volatility": volatility}
    with tempfile.TemporaryDirectory() as folder:
        path = copy_demo(Path(folder))
        expected = load_scenario(path, overrides).content_hash
        scenario = load_scenario(path)
        target = Path(folder) / name
        if damage == "delete":
            target.unlink()
        elif damage == "garbage":
            target.write_bytes(b"\xff\x00 not a table\n")
        else:  # valid, different content
            target.write_text(target.read_text().replace("0", "1"))
        assert load_scenario(scenario, overrides).content_hash == expected
        model = sim.MiningModel(scenario, seed=0, overrides=overrides)
        assert model.spec.content_hash == expected


def test_run_with_overrides_of_a_scenario_equals_the_file_with_overrides(demo, tmp_path):
    short = {"scenario.end_date": dt.date(2025, 11, 15), "market.btc.volatility": 0.3}
    path = copy_demo(tmp_path)
    scenario = load_scenario(path)
    (tmp_path / "demo_miners.csv").write_text("garbage\n")  # the files are not read again
    by_object = sim.run(scenario, seed=3, overrides=short)
    by_file = sim.run(load_scenario(demo, short), seed=3)
    assert by_object.epochs.equals(by_file.epochs)


# ------------------------------------------------------------------------------- unit mistakes

POWER_KEYS = ("fringe.classes.0.power_price_usd_mwh", "market.power.base_usd_mwh")


@st.composite
def unit_mistakes(draw: st.DrawFn) -> tuple[dict, str]:
    """(overrides, words the error must contain)."""
    kind = draw(st.sampled_from(["kwh", "jgh", "phs", "ths", "difficulty-T"]))
    if kind == "kwh":
        price = draw(st.floats(0.005, 0.99))
        return {draw(st.sampled_from(POWER_KEYS)): price}, "$/kWh"
    if kind == "jgh":
        return {"fringe.classes.0.efficiency_jth": draw(st.floats(0.005, 0.0999))}, "J/GH"
    if kind == "difficulty-T":
        return {"chain.difficulty": draw(st.floats(20.0, 500.0))}, "difficulty written in T"
    scale = 1e3 if kind == "phs" else 1e6
    # the demo's fringe classes, in PH/s or TH/s (within the schema's bound of 1e6 EH/s)
    classes = demo_document()["fringe"]["classes"]
    factor = draw(st.floats(0.5, 2.0))
    scaled = [{**c, "hashrate_ehs": min(c["hashrate_ehs"] * scale * factor, 1e6)} for c in classes]
    return {"fringe.classes": scaled}, "written as EH/s"


@pytest.mark.timeout(300)
@settings(FAST, max_examples=60)
@given(unit_mistakes())
def test_unit_mistakes_are_named(demo, case):
    overrides, words = case
    error = error_of(demo, overrides)
    assert words in str(error), str(error)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=30)
@given(price=st.floats(1.0, 500.0), key=st.sampled_from(POWER_KEYS))
def test_plausible_power_prices_pass_the_unit_check(demo, price, key):
    assert load_scenario(demo, {key: price}) is not None


def test_kwh_in_the_miners_csv_names_line_and_column(tmp_path):
    path = copy_demo(tmp_path)
    table = tmp_path / "demo_miners.csv"
    lines = table.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("power_price_usd_mwh")] = "0.043"
    table.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    error = error_of(path)
    assert "line 2, column power_price_usd_mwh" in str(error) and "43 $/MWh" in str(error)


@pytest.mark.parametrize(
    ("typo", "hint"),
    [
        ("[market.btc]\nvolatilty = 0.4", "did you mean 'volatility'?"),
        ("[market.powr]\nbase_usd_mwh = 40.0", "did you mean 'power'?"),
        ("[fringe]\nmust_run_fraktion = 0.1", "did you mean 'must_run_fraction'?"),
        ("[scenaro]\nname = 'x'", "did you mean 'scenario'?"),
    ],
)
def test_misspelt_keys_in_files_get_did_you_mean(tmp_path, typo, hint):
    path = copy_demo(tmp_path)
    header = typo.partition("\n")[0]
    text = path.read_text()
    if header in text:  # into the existing table
        path.write_text(text.replace(header, typo, 1))
    else:
        path.write_text(text + "\n" + typo + "\n")
    assert hint in str(error_of(path))


def test_extends_accepts_a_bundled_name(tmp_path):
    (tmp_path / "mine.toml").write_text('extends = "baseline"\n[scenario]\nname = "mine"\n')
    mine, baseline = load_scenario(tmp_path / "mine.toml"), load_scenario("baseline")
    assert mine.name == "mine" and mine.miners.equals(baseline.miners)


# ------------------------------------------------------------------------------- sizes


@pytest.mark.timeout(300)
@settings(FAST, max_examples=40)
@given(
    classes=st.integers(1, 40),
    agents=st.integers(1, 10_000),
    memory_gb=st.floats(0.5, 64.0),
)
def test_agent_counts_beyond_half_the_memory_are_refused_with_the_figure(
    demo, monkeypatch, classes, agents, memory_gb
):
    monkeypatch.setattr(sanity, "machine_memory_bytes", lambda: int(memory_gb * 1e9))
    fringe = [
        {
            "name": f"c{i}",
            "hashrate_ehs": 891.4 / classes,
            "efficiency_jth": 20.0,
            "power_price_usd_mwh": 40.0,
            "agents": agents,
        }
        for i in range(classes)
    ]
    total = classes * agents + 4  # and the demo's four public miners
    epochs = math.ceil(DEMO_DAYS / sanity.DAYS_PER_EPOCH_ESTIMATE)
    need = total * epochs * sanity.BYTES_PER_AGENT_EPOCH
    if need <= 0.5 * memory_gb * 1e9:
        assert load_scenario(demo, {"fringe.classes": fringe}) is not None
    else:
        error = error_of(demo, {"fringe.classes": fringe})
        assert f"{total:,} agents" in str(error) and "GB" in str(error)


def test_ten_million_agents_are_refused_on_this_machine(demo):
    fringe = [
        {"name": f"c{i}", "hashrate_ehs": 0.9, "efficiency_jth": 20.0, "power_price_usd_mwh": 40.0}
        | {"agents": 10_000}
        for i in range(1000)
    ]
    assert "10,000,004 agents" in str(error_of(demo, {"fringe.classes": fringe}))


@pytest.mark.timeout(300)
@settings(FAST, max_examples=40)
@given(
    runs=st.one_of(st.integers(plans.MAX_RUNS + 1, 10**15), st.integers(-5, 0)),
    command=st.sampled_from(["mc", "sweep"]),
)
def test_run_counts_beyond_the_limit_fail_before_anything_runs(tmp_path, capsys, runs, command):
    out = tmp_path / f"never-{runs}"
    argv = [command, "demo", "--runs", str(runs), "--out", str(out)]
    if command == "sweep":
        argv += ["--grid", "market.btc.volatility=0.3,0.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("minersim: error:"), err
    assert not out.exists()


@pytest.mark.timeout(300)
@settings(FAST, max_examples=30)
@given(sizes=st.lists(st.integers(2, 2000), min_size=1, max_size=4))
def test_grid_designs_beyond_the_limit_are_refused_before_they_are_built(sizes):
    grid = {f"k{i}": list(range(n)) for i, n in enumerate(sizes)}
    if math.prod(sizes) > plans.MAX_POINTS:
        with pytest.raises(MinersimError, match="at most"):
            plans.grid_plan(grid, 1)
    else:
        assert plans.grid_plan(grid, 1).total_runs == math.prod(sizes)


@pytest.mark.timeout(300)
@settings(FAST, max_examples=100)
@given(text=st.one_of(st.integers(-(10**6), 10**6).map(str), st.text(max_size=6)))
def test_ui_port_accepts_1_to_65535_only(text):
    try:
        port = int(text)
    except ValueError:
        port = None
    if port is not None and 1 <= port <= 65535:
        assert port_number(text) == port
    else:
        with pytest.raises(argparse.ArgumentTypeError):
            port_number(text)


def test_ui_refuses_a_port_in_use_in_one_line(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(MinersimError, match=f"cannot listen on 127.0.0.1:{port}"):
            check_port_free("127.0.0.1", port)
        assert main(["ui", "demo", "--port", str(port)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_ui_port_70000_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["ui", "--port", "70000"])
    assert stop.value.code == 2
    assert "a port is 1-65535" in capsys.readouterr().err
