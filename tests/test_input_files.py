"""Input data files (issue 8): BTC price CSVs for ``process = "replay"`` and public-miner CSVs.

What sim/input/scenario.py documents, and what is tested here:

* replay CSV: rows in any order are sorted; missing days are forward-filled; a repeated date, a
  price that is not a positive finite number or not a number, a malformed date, a file with no
  rows and a first date after the scenario start are errors naming the file (and the line and
  column for a bad cell). After its last date the path continues as gbm from the last price
  (sim/markets.py). The repairs are checked in the market path a run actually uses.
* miners CSV: every column but ``notes`` is required; numbers must be finite and within each
  column's bounds; dates ISO; ``estimate`` true/false; names unique; mining + AI MW must fit the
  capacity. Errors name the file, the line and the column.

Hypothesis fuzzes both files cell by cell: an input is either rejected with such an error or
accepted with exactly the documented meaning (and then a short run passes every invariant).
tests/test_scenario.py already covers the single-cell errors it lists; these tests add the
repairs, the fuzzing and the cases it does not cover.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from invariants import LOAD_ERROR, check_run, fuzz_with_reach, load_and_run, load_or_error
from strategies import copy_demo, write_csv

import sim
from sim.errors import ScenarioError
from sim.input.scenario import MINER_COLUMNS, load_scenario
from sim.model import MiningModel

FAST = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOW = settings(FAST, max_examples=2000)

REPLAY_START = dt.date(2022, 1, 3)
REPLAY_TOML = """
[scenario]
name = "replay"
start_date = 2022-01-03
end_date = 2022-03-01

[chain]
height = 717_120
difficulty = 24.27e12

[market.btc]
process = "replay"
path_csv = "prices.csv"
drift = 0.0
volatility = 0.0

[[fringe.classes]]
name = "fringe"
hashrate_ehs = 180.0
efficiency_jth = 30.0
power_price_usd_mwh = 50.0
"""
#: Days of the replay scenario (2022-01-03 to 2022-03-01).
REPLAY_DAYS = 57


def write_replay(folder: Path, rows: list[tuple[str, str]], header=("date", "price")) -> Path:
    (folder / "replay.toml").write_text(REPLAY_TOML)
    write_csv(folder / "prices.csv", [list(header), *[list(r) for r in rows]])
    return folder / "replay.toml"


def day(offset: int) -> str:
    """ISO date ``offset`` days from the replay scenario's start."""
    return (REPLAY_START + dt.timedelta(days=offset)).isoformat()


def forward_filled(rows: list[tuple[str, float]]) -> dict[dt.date, float]:
    """The documented repair, computed independently: each day from the first to the last listed
    date takes the price of the latest listed date on or before it."""
    by_date = {dt.date.fromisoformat(d): p for d, p in rows}
    first, last = min(by_date), max(by_date)
    filled, price = {}, None
    for k in range((last - first).days + 1):
        today = first + dt.timedelta(days=k)
        price = by_date.get(today, price)
        filled[today] = price
    return filled


def market_path(path: Path, days: int) -> np.ndarray:
    """The daily BTC path (USD) the model's markets give for the first ``days`` days."""
    model = MiningModel(path, seed=0)
    model.world.markets.extend_to(days)
    return np.array(model.world.markets.btc_price_usd[:days])


# ------------------------------------------------------------------------------- replay repairs


def test_replay_gaps_and_order_are_repaired_in_the_run_path(tmp_path: Path):
    rows = [
        (day(10), 41000.0),
        (day(-2), 47000.0),
        (day(3), 45500.0),
        (day(0), 46000.0),  # unsorted, with gaps of 2, 3 and 7 days
        (day(REPLAY_DAYS + 5), 39000.0),
    ]
    path = write_replay(tmp_path, [(d, repr(p)) for d, p in rows])
    expected = forward_filled(rows)
    series = load_scenario(path).btc_replay
    assert dict(zip(series.index, series, strict=True)) == expected
    path_usd = market_path(path, REPLAY_DAYS)
    wanted = [expected[REPLAY_START + dt.timedelta(days=k)] for k in range(REPLAY_DAYS)]
    np.testing.assert_allclose(path_usd, wanted, rtol=1e-12)
    check_run(sim.run(path, seed=1))


def test_replay_ending_mid_run_continues_from_the_last_price(tmp_path: Path):
    # drift 0 and volatility 0: the gbm tail after the last date is flat at the last price.
    path = write_replay(tmp_path, [(day(0), "46000"), (day(9), "42000.5")])
    path_usd = market_path(path, REPLAY_DAYS)
    np.testing.assert_allclose(path_usd[10:], 42000.5, rtol=1e-12)
    check_run(sim.run(path, seed=1))


def test_replay_with_bom_crlf_blank_lines_and_spaces_reads_like_a_clean_file(tmp_path: Path):
    path = write_replay(tmp_path, [(day(0), "46000"), (day(5), "45000")])
    clean = load_scenario(path).btc_replay
    messy = "\ufeffdate , price\r\n\r\n 2022-01-08 , 45000 \r\n" + f"{day(0)},46000.0\r\n\r\n"
    (tmp_path / "prices.csv").write_text(messy, encoding="utf-8", newline="")
    assert load_scenario(path).btc_replay.equals(clean)


@pytest.mark.parametrize(
    ("rows", "problem", "where"),
    [
        ([(day(0), "46000"), (day(0), "46000")], "repeats line 2", "line 3, column date"),
        ([(day(0), "-46000")], "must be > 0", "line 2, column price"),
        ([(day(0), "inf")], "finite", "line 2, column price"),
        ([(day(0), "1e400")], "finite", "line 2, column price"),
        ([(day(0), "")], "empty cell", "line 2, column price"),
        ([(day(0), "46k")], "not a number", "line 2, column price"),
        ([(day(0), "46000"), ("2022-02-30", "1")], "ISO date", "line 3, column date"),
        ([], "no price rows", None),
    ],
)
def test_bad_replay_rows_are_errors_naming_line_and_column(tmp_path, rows, problem, where):
    path = write_replay(tmp_path, rows)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "prices.csv" in message and problem in message
    assert where is None or where in message


def test_replay_thousands_separator_is_a_ragged_row(tmp_path: Path):
    path = write_replay(tmp_path, [(day(0), "46000")])
    (tmp_path / "prices.csv").write_text(f"date,price\n{day(0)},46,000\n")
    with pytest.raises(ScenarioError, match=r"prices\.csv: line 2: 3 cells"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (("day", "price"), "missing column(s) date"),
        (("date", "close"), "1 unknown column(s) (position 2)"),
    ],
)
def test_replay_columns_are_checked(tmp_path: Path, header, problem):
    path = write_replay(tmp_path, [(day(0), "46000")], header=header)
    with pytest.raises(ScenarioError, match=r"prices\.csv: line 1") as info:
        load_scenario(path)
    assert problem in str(info.value)


def test_replay_not_utf8_is_a_clear_error(tmp_path: Path):
    path = write_replay(tmp_path, [(day(0), "46000")])
    (tmp_path / "prices.csv").write_bytes(b"date,price\n2022-01-03,46\xe9000\n")
    with pytest.raises(ScenarioError, match=r"prices\.csv: not UTF-8 text \(byte 24 "):
        load_scenario(path)


def test_replay_that_ends_before_the_start_is_rejected_when_loading(tmp_path: Path):
    # The loader checks only the first date; the model then fails at construction. `minersim
    # validate` should catch what `minersim run` would fail on.
    path = write_replay(tmp_path, [(day(-20), "47000"), (day(-10), "46000")])
    with pytest.raises(ScenarioError, match=r"prices\.csv"):
        load_scenario(path)


# ------------------------------------------------------------------------------- replay fuzzing

PRICE_TEXTS = st.one_of(
    st.floats(1e-3, 1e7).map(repr),
    st.integers(1, 10**7).map(str),
    st.sampled_from(["0", "-1", "-0.5", "nan", "inf", "", "abc", "1e400", "1_000", " 5 "]),
)


@st.composite
def replay_rows(draw: st.DrawFn) -> list[tuple[str, str]]:
    """Replay rows: dates around the start (repeats, any order, gaps), prices good or bad; a
    third of the files are valid (distinct dates from on or before the start, in any order,
    with gaps; good prices), so that the fuzzer reaches runs, not only errors."""
    if draw(st.integers(0, 2)) == 0:
        first = draw(st.integers(-30, 0))
        later = draw(st.lists(st.integers(first + 1, 80), max_size=11, unique=True))
        offsets = draw(st.permutations([first, *later]))
        return [(day(k), draw(st.floats(1e-3, 1e7).map(repr))) for k in offsets]
    offsets = draw(st.lists(st.integers(-30, 80), min_size=0, max_size=12))

    dates = [day(k) for k in offsets]
    if draw(st.booleans()):
        dates.append(draw(st.sampled_from(["2022-13-01", "03/01/2022", "", "2022-1-3"])))
    return [(d, draw(PRICE_TEXTS)) for d in dates]


def check_replay_rows(rows: list[tuple[str, str]]) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = write_replay(Path(folder), rows)
        scenario = load_or_error(path)
        if scenario is None:
            return LOAD_ERROR
        rows = [row for row in rows if any(cell.strip() for cell in row)]  # blank lines skipped
        parsed = [(d, float(p)) for d, p in rows]
        assert all(math.isfinite(p) and p > 0 for _, p in parsed)
        assert len({d for d, _ in rows}) == len(rows), "a repeated date was accepted"
        assert min(dt.date.fromisoformat(d) for d, _ in rows) <= REPLAY_START
        series = scenario.btc_replay
        assert dict(zip(series.index, series, strict=True)) == forward_filled(parsed)
        return load_and_run(path)


# Both fuzzers count how many inputs reach a run and fail below a floor (tests/README.md).


@pytest.mark.timeout(300)
def test_random_replay_files_are_rejected_or_repaired_as_documented():
    fuzz_with_reach("replay_rows", FAST, check_replay_rows, 0.10, rows=replay_rows())


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_replay_files_are_rejected_or_repaired_as_documented_many():
    fuzz_with_reach("replay_rows_many", SLOW, check_replay_rows, 0.10, rows=replay_rows())


# ------------------------------------------------------------------------------- miners CSV

REQUIRED = [c.name for c in MINER_COLUMNS if not c.optional]


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [list(row) for row in csv.reader(handle)]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


@pytest.mark.parametrize("column", REQUIRED)
def test_each_missing_miner_column_is_named(demo: Path, column: str):
    path = demo.parent / "demo_miners.csv"
    rows = read_rows(path)
    index = rows[0].index(column)
    write_csv(path, [r[:index] + r[index + 1 :] for r in rows])
    with pytest.raises(ScenarioError, match=r"demo_miners\.csv: line 1") as info:
        load_scenario(demo)
    assert f"missing column(s) {column}" in str(info.value)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("hashrate_ehs", "-60.4", "must be >= 0"),
        ("capacity_mw", "0", "must be > 0"),
        ("capacity_mw", "-1435", "must be > 0"),
        ("efficiency_jth", "-19", "must be > 0"),
        ("power_price_usd_mwh", "-40", "must be >= 0"),
        ("shares_outstanding", "0", "must be >= 1"),
        ("share_price_usd", "-18.3", "must be > 0"),
        ("cash_usd", "inf", "finite"),
        ("cash_usd", "1e400", "finite"),
        ("contract_end", "2028-02-30", "ISO date"),
        ("estimate", "yes", "true or false"),
        ("hashrate_ehs", "1e300", "must be <= 1e+06"),
        ("hashrate_ehs", "1e5", "exceeds capacity_mw"),
    ],
)
def test_impossible_miner_values_are_errors(demo: Path, column: str, value: str, problem: str):
    path = demo.parent / "demo_miners.csv"
    rows = read_rows(path)
    rows[1][rows[0].index(column)] = value
    write_csv(path, rows)
    with pytest.raises(ScenarioError) as info:
        load_scenario(demo)
    message = str(info.value)
    assert "demo_miners.csv: line 2" in message and problem in message


def test_header_only_miners_csv_runs_with_the_fringe_alone(demo: Path):
    path = demo.parent / "demo_miners.csv"
    write_csv(path, read_rows(path)[:1])
    overrides = {"miners.debt_csv": None, "miners.ai_contracts_csv": None}
    scenario = load_scenario(demo, overrides)
    assert scenario.miners.empty
    load_and_run(demo, overrides)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("demo_miners.csv", "shares_outstanding", "1e-300"),  # share price = mcap / 1e-300
        ("demo_ai.csv", "usd_per_mw_year", "1e308"),  # lease NOI overflows to inf
    ],
)
def test_accepted_extreme_values_fail_clearly_or_run_finite(demo, table, column, value):
    # Numbers without an upper bound in sim/input/scenario.py's columns pass validation; the run must
    # still give finite outputs (or the loader must reject them with a clear error).
    path = demo.parent / table
    rows = read_rows(path)
    rows[1][rows[0].index(column)] = value
    write_csv(path, rows)
    load_and_run(demo)


# ------------------------------------------------------------------------------- miners fuzzing

CELL_TEXTS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0, 1e4).map(repr),
    st.integers(-(10**6), 10**12).map(str),
    st.dates().map(dt.date.isoformat),
    st.sampled_from(["", "true", "false", "True", "nan", "-0", "1e400", "MARA", "x", "2025-02-30"]),
)
MINER_CELLS = st.tuples(
    st.integers(0, 3), st.sampled_from([c.name for c in MINER_COLUMNS]), CELL_TEXTS
)


def accepted_value(column: str, text: str, frame_value: object) -> None:
    """An accepted cell holds the documented value: the number, date, flag or stripped text."""
    spec = next(c for c in MINER_COLUMNS if c.name == column)
    text = text.strip()
    if spec.kind == "number" and spec.blank_ok and text == "":
        assert math.isnan(frame_value)  # a blank cell of an optional number: NaN
    elif spec.kind == "number":
        number = float(text)
        assert math.isfinite(number) and frame_value == number
        assert number > spec.minimum if spec.strict else number >= spec.minimum
        assert number <= spec.maximum
    elif spec.kind == "date":
        assert frame_value == dt.date.fromisoformat(text)
    elif spec.kind == "flag":
        assert frame_value == (text.lower() == "true")
    else:
        assert frame_value == text


def check_miner_cell(cell: tuple[int, str, str]) -> str:
    row, column, text = cell
    with tempfile.TemporaryDirectory() as folder:
        demo = copy_demo(Path(folder))
        path = demo.parent / "demo_miners.csv"
        rows = read_rows(path)
        rows[row + 1][rows[0].index(column)] = text
        write_csv(path, rows)
        try:
            scenario = load_scenario(demo)
        except ScenarioError as error:
            message = str(error)
            assert "\n" not in message and error.file, message
            return LOAD_ERROR
        accepted_value(column, text, scenario.miners[column].iloc[row])
        return load_and_run(demo)


@pytest.mark.timeout(300)
def test_random_miner_cells_are_rejected_or_read_as_documented():
    fuzz_with_reach("miner_cells", FAST, check_miner_cell, 0.10, cell=MINER_CELLS)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_miner_cells_are_rejected_or_read_as_documented_many():
    fuzz_with_reach("miner_cells_many", SLOW, check_miner_cell, 0.10, cell=MINER_CELLS)
