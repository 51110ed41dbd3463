"""Invariant checks shared by the reliability tests (fuzzing, extreme markets, property tests).

Each ``check_*`` function takes a :class:`sim.RunResult` (or, for the ``*_now`` checks, a
:class:`sim.model.MiningModel` between steps) and raises ``AssertionError`` naming the first
offending epoch and agent. None of them reads a number the model produced as the expected
value: the bounds come from the accounting identities, the protocol or the output contract.
The last section checks the outcome of user input: a clear error, or a run that passes them all.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim import consensus, finance, fleet, hosting
from sim.errors import MinersimError, ScenarioError
from sim.input.scenario import Scenario, load_scenario
from sim.results import EPOCH_COLUMNS, MINER_COLUMNS, RunResult

#: Relative tolerance of the balance-sheet identity: |A - L - E| <= REL_TOL x max(|A|, 1 USD).
BALANCE_REL_TOL = 1e-6
#: The model's own threshold for a cash shortfall that forces a default, USD.
CASH_TOL_USD = 1e-6
#: Rounding allowed on cash beyond CASH_TOL_USD, relative to the agent's balance sheet (assets +
#: liabilities): cash is what is left of flows as large as the balance sheet, each rounded to
#: ~1e-16 of itself (a USD 1e10 BTC sale that meets a USD 1e10 bill can leave -1.9e-6 USD).
CASH_REL_TOL = 1e-12
#: Slack on the 4x retarget clamp: compact encoding truncates the target to a 3-byte mantissa
#: (relative error < 2**-15), which can only raise the difficulty.
CLAMP_SLACK = 1e-4
#: Slack on capacity (MW): mining MW + AI MW <= capacity x (1 + 1e-9) + 1e-9.
CAPACITY_REL_TOL = 1e-9
#: Days a run of generated input is cut to (``scenario.end_date`` <= start + this).
SHORT_RUN_DAYS = 60


def _first_row(frame: pd.DataFrame, bad: pd.Series | np.ndarray) -> str:
    """The first flagged row, as text for an assertion message."""
    rows = frame[np.asarray(bad)]
    return repr(rows.iloc[0].to_dict()) if len(rows) else ""


# -------------------------------------------------------------------------- a whole run


def check_output_columns(result: RunResult) -> None:
    """The output contract: every contract column is present (extra columns are allowed)."""
    assert set(EPOCH_COLUMNS) <= set(result.epochs.columns), "epochs table misses columns"
    assert set(MINER_COLUMNS) <= set(result.miners.columns), "miners table misses columns"


def check_finite(result: RunResult) -> None:
    """Every numeric cell of both tables is finite (no NaN, no +-inf)."""
    for name, frame in (("epochs", result.epochs), ("miners", result.miners)):
        numeric = frame.select_dtypes("number")
        values = numeric.to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise AssertionError(
                f"{name}: non-finite {numeric.columns[col]} = {values[row, col]} "
                f"in {frame.iloc[row].to_dict()}"
            )


def check_balance_sheet(result: RunResult, initial_size_usd: np.ndarray | None = None) -> None:
    """assets - liabilities = book equity for every agent and epoch (USD), within
    1e-6 x max(|assets|, 1) + 1e-9 x the agent's history: its cumulative |revenue| + |power cost|
    + |AI NOI| plus its largest |assets| + |liabilities| so far, the starting balance sheet
    (``initial_size_usd``, per agent in state order, when known) included.

    The second term is rounding: equity is accumulated from flows and balances that may have
    been far larger than today's assets (about 1e-16 of each). A fringe agent pays out all it
    earns and can hold USD 2 of assets while USD 2e10 flows through it; a miner whose USD 2.4e9
    convertible converts ends with no assets and an equity of -1.3e-6 USD, and one that starts
    with USD 2e10 of BTC and sells it all to repay its debt in the first epoch ends with 1e-6 USD.
    """
    m = result.miners  # rows in epoch order, so cumulative sums run forward in time
    gap = (m["assets_usd"] - m["liabilities_usd"] - m["book_equity_usd"]).abs()
    flows = m["revenue_usd"].abs() + m["power_cost_usd"].abs() + m["ai_noi_usd"].abs()
    size = m["assets_usd"].abs() + m["liabilities_usd"].abs()
    agent = m["miner_id"]
    if initial_size_usd is not None:
        row = m.groupby("epoch").cumcount().to_numpy()  # agents are in state order each epoch
        size = np.maximum(size, np.asarray(initial_size_usd)[row])
    history = flows.groupby(agent).cumsum() + size.groupby(agent).cummax()
    tolerance = BALANCE_REL_TOL * np.maximum(m["assets_usd"].abs(), 1.0) + 1e-9 * history
    bad = gap > tolerance
    assert not bad.any(), f"balance sheet off by {gap[bad].max():.6g} USD: {_first_row(m, bad)}"


def check_btc_conservation(result: RunResult) -> None:
    """Per epoch, the sat won by all agents equal the sat paid by the blocks (subsidy + fees)."""
    m, e = result.miners, result.epochs
    won = (m["btc_mined"] * consensus.COIN).round().astype(np.int64).groupby(m["epoch"]).sum()
    paid = (e["subsidy_btc"] * consensus.COIN).round().astype(np.int64) + (
        e["fees_btc"] * consensus.COIN
    ).round().astype(np.int64)
    paid.index = e["epoch"]
    won = won.reindex(paid.index, fill_value=0)
    bad = paid.index[won != paid]
    assert bad.empty, f"epoch {bad[0]}: agents won {won[bad[0]]} sat, blocks paid {paid[bad[0]]}"
    assert (m["btc_mined"] >= 0).all(), "an agent mined a negative amount"


def check_subsidy_schedule(result: RunResult) -> None:
    """Each epoch's subsidy is the protocol's: the sum of block_subsidy over its blocks (sat).

    An epoch's blocks are the heights between the previous epoch's ``height`` and its own; the
    first epoch starts 2016 blocks before its ``height`` (a run starts on a retarget boundary)
    unless it is the only, stalled, epoch.
    """
    e = result.epochs
    if e.empty:
        return
    ends = e["height"].to_numpy(np.int64)
    first_end = ends[0]
    first_start = first_end - consensus.RETARGET_INTERVAL
    starts = np.concatenate([[first_start], ends[:-1]])
    for row, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if row == 0 and len(e) == 1 and result.meta.get("stalled"):
            continue
        expected = _subsidy_sat(int(start), int(end))
        got = round(float(e["subsidy_btc"].iloc[row]) * consensus.COIN)
        assert got == expected, f"epoch {row}: subsidy {got} sat, protocol {expected} sat"


def _subsidy_sat(start: int, end: int) -> int:
    """Subsidy of the blocks at heights [start, end), sat, summed per halving era."""
    total, height = 0, start
    while height < end:
        era_end = min(end, (height // consensus.HALVING_INTERVAL + 1) * consensus.HALVING_INTERVAL)
        total += (era_end - height) * consensus.block_subsidy(height)
        height = era_end
    return total


def check_heights_and_dates(result: RunResult) -> None:
    """Each epoch adds 2016 blocks (the last may add fewer if the run stalled); dates never go
    back; epochs last a positive time."""
    e = result.epochs
    if e.empty:
        return
    steps = np.diff(e["height"].to_numpy(np.int64))
    full = steps[:-1] if result.meta.get("stalled") else steps
    assert (full == consensus.RETARGET_INTERVAL).all(), f"epoch heights step by {set(full)}"
    assert (steps > 0).all()
    assert (e["epoch_days"] > 0).all(), "an epoch lasted no time"
    assert e["date"].is_monotonic_increasing, "dates go back"
    assert list(e["epoch"]) == list(range(len(e))), "epochs are not numbered 0, 1, ..."


def check_retarget_clamp(result: RunResult, initial_difficulty: float | None = None) -> None:
    """Difficulty changes by at most 4x per retarget (either way), as Bitcoin's clamp allows.

    ``initial_difficulty`` (the difficulty the first epoch was mined at) adds the first retarget.
    """
    difficulty = result.epochs["difficulty"].to_numpy(float)
    if initial_difficulty is not None:
        difficulty = np.concatenate([[initial_difficulty], difficulty])
    ratio = difficulty[1:] / difficulty[:-1]
    assert (difficulty > 0).all(), "difficulty must stay positive"
    low = ratio < 0.25 * (1 - CLAMP_SLACK)
    high = ratio > 4.0 * (1 + CLAMP_SLACK)
    assert not (low | high).any(), f"difficulty ratios beyond the 4x clamp: {ratio[low | high]}"


def check_defaulted_mine_nothing(result: RunResult) -> None:
    """A defaulted public miner stays defaulted; from the end of its default epoch it has no
    debt, cash, BTC or assets (the books close at zero), and after that epoch it has no
    hashrate, mines no BTC and holds no mining or AI capacity."""
    m = result.miners
    public = m[m["kind"] == "public"].sort_values(["miner_id", "epoch"])
    flips = public.groupby("miner_id")["defaulted"].apply(
        lambda s: bool((s.astype(int).diff().fillna(0) < 0).any())
    )
    assert not flips.any(), f"miners {list(flips[flips].index)} stopped being defaulted"
    after = public[public["defaulted"] & (public["action"].astype(str) != "default")]
    for column in ("btc_mined", "hashrate_ehs", "mining_mw", "ai_mw"):
        bad = after[column] != 0
        assert not bad.any(), f"defaulted miner has {column} != 0: {_first_row(after, bad)}"
    defaults = public[public["action"].astype(str) == "default"]
    assert defaults["defaulted"].all(), "a 'default' action without the defaulted flag"
    closed = public[public["defaulted"]]
    for column in ("debt_usd", "cash_usd", "btc_held", "eth_held", "sol_held", "assets_usd"):
        bad = closed[column] != 0
        assert not bad.any(), f"defaulted miner has {column} != 0: {_first_row(closed, bad)}"


def check_treasury(result: RunResult) -> None:
    """ETH and SOL held are never negative, only public miners hold them, and ``treasury_usd``
    is their value at the epoch's closing prices (USD, relative 1e-12), exactly ``eth_usd`` +
    ``sol_usd``, and part of ``assets_usd``."""
    m, e = result.miners, result.epochs
    for column in ("eth_held", "sol_held"):
        bad = m[column] < 0
        assert not bad.any(), f"negative {column}: {_first_row(m, bad)}"
        bad = (m["kind"] != "public") & (m[column] != 0)
        assert not bad.any(), f"a fringe agent holds {column}: {_first_row(m, bad)}"
    prices = e.set_index("epoch")[["eth_price_usd", "sol_price_usd"]].reindex(m["epoch"])
    value = (
        m["eth_held"].to_numpy() * prices["eth_price_usd"].to_numpy()
        + m["sol_held"].to_numpy() * prices["sol_price_usd"].to_numpy()
    )
    gap = np.abs(m["treasury_usd"].to_numpy() - value)
    bad = gap > 1e-12 * np.maximum(value, 1.0)
    assert not bad.any(), f"treasury_usd is not the holdings at market: {_first_row(m, bad)}"
    bad = m["eth_usd"] + m["sol_usd"] != m["treasury_usd"]
    assert not bad.any(), f"eth_usd + sol_usd is not treasury_usd: {_first_row(m, bad)}"
    size = m["assets_usd"].abs() + m["liabilities_usd"].abs()
    bad = m["treasury_usd"] > m["assets_usd"] + CASH_TOL_USD + CASH_REL_TOL * size
    assert not bad.any(), f"treasury larger than the assets: {_first_row(m, bad)}"


def check_public_cash(result: RunResult) -> None:
    """Public miners that have not defaulted never end an epoch with negative cash (USD), beyond
    rounding (:data:`CASH_TOL_USD` + :data:`CASH_REL_TOL` x assets + liabilities)."""
    m = result.miners
    solvent = (m["kind"] == "public") & ~m["defaulted"]
    size = m["assets_usd"].abs() + m["liabilities_usd"].abs()
    bad = solvent & (m["cash_usd"] < -(CASH_TOL_USD + CASH_REL_TOL * size))
    assert not bad.any(), f"negative cash without default: {_first_row(m, bad)}"


def check_counts(result: RunResult) -> None:
    """miners_active + miners_defaulted = number of public miners, in every epoch."""
    m, e = result.miners, result.epochs
    n_public = m.loc[m["kind"] == "public", "miner_id"].nunique()
    if e.empty:
        return
    total = e["miners_active"] + e["miners_defaulted"]
    assert (total == n_public).all(), f"active + defaulted != {n_public} public miners"
    per_epoch = m[(m["kind"] == "public") & m["defaulted"]].groupby("epoch").size()
    expected = per_epoch.reindex(e["epoch"], fill_value=0).to_numpy()
    assert (e["miners_defaulted"].to_numpy() == expected).all()


def check_run(
    result: RunResult,
    initial_difficulty: float | None = None,
    initial_size_usd: np.ndarray | None = None,
) -> None:
    """All whole-run invariants (``initial_size_usd``: see :func:`check_balance_sheet`)."""
    check_output_columns(result)
    check_finite(result)
    check_balance_sheet(result, initial_size_usd)
    check_btc_conservation(result)
    check_subsidy_schedule(result)
    check_heights_and_dates(result)
    check_retarget_clamp(result, initial_difficulty)
    check_defaulted_mine_nothing(result)
    check_public_cash(result)
    check_treasury(result)
    check_counts(result)


# -------------------------------------------------------------------------- between steps


def check_capacity_now(model) -> None:
    """Public miners: installed mining MW + AI MW (leased or building) <= site capacity (MW)."""
    v = model.view
    mining_mw = fleet.per_owner(v.fleet, fleet.unit_power_mw(v.fleet), v.n)
    ai_mw = hosting.committed_mw(v.contracts, v.n)
    used = (mining_mw + ai_mw)[v.is_public]
    capacity = v.capacity_mw[v.is_public]
    over = used > capacity * (1 + CAPACITY_REL_TOL) + CAPACITY_REL_TOL
    assert not over.any(), (
        f"epoch {model.epoch}: capacity exceeded for agents {np.flatnonzero(over)}: "
        f"{used[over]} MW > {capacity[over]} MW"
    )


def check_cash_now(model) -> None:
    """Public miners that have not defaulted hold cash >= 0 after every step, beyond rounding
    (as :func:`check_public_cash`; assets + liabilities = |book equity| + 2 x debt at most)."""
    v = model.view
    solvent = v.is_public & ~v.defaulted
    size = np.abs(v.equity_usd) + 2 * finance.debt_by_owner(v.debt, v.n)
    bad = solvent & (v.cash_usd < -(CASH_TOL_USD + CASH_REL_TOL * size))
    assert not bad.any(), f"epoch {v.epoch}: cash {v.cash_usd[bad]} USD"


def run_checked(model) -> RunResult:
    """Step ``model`` to its end, checking capacity and cash after every step; the result has
    passed :func:`check_run` (with the model's starting difficulty)."""
    initial = consensus.bits_to_difficulty(model.view.bits)
    initial_size = balance_sheet_size_usd(model)
    check_capacity_now(model)
    while model.running:
        model.step()
        check_capacity_now(model)
        check_cash_now(model)
    result = model.result()
    check_run(result, initial_difficulty=initial, initial_size_usd=initial_size)
    return result


def balance_sheet_size_usd(model) -> np.ndarray:
    """Each agent's assets + liabilities now, USD: |book equity + 2 x debt principal|."""
    v = model.view
    return np.abs(v.equity_usd + 2 * finance.debt_by_owner(v.debt, v.n))


# -------------------------------------------------------------------------- outcomes of input


def assert_clear(error: MinersimError) -> None:
    """A user-facing error: one non-empty line; a ScenarioError also names a file or a key."""
    message = str(error)
    assert message.strip(), "empty error message"
    assert "\n" not in message and "Traceback" not in message, message
    if isinstance(error, ScenarioError):
        assert error.file or error.key, f"error names neither file nor key: {message}"


def load_or_error(source: Path | str | Scenario, overrides: dict | None = None) -> Scenario | None:
    """The loaded scenario, or None after checking that the error is a clear one."""
    try:
        return load_scenario(source, overrides)
    except MinersimError as error:
        assert_clear(error)
        return None


def run_short(scenario: Scenario, seed: int = 0) -> RunResult | None:
    """Run ``scenario`` cut to at most SHORT_RUN_DAYS; None after a clear error. A completed
    run must pass :func:`check_run`."""
    info = scenario.config.scenario
    end = min(info.end_date, info.start_date + dt.timedelta(days=SHORT_RUN_DAYS))
    try:
        result = sim.run(load_scenario(scenario, {"scenario.end_date": end}), seed=seed)
    except MinersimError as error:
        assert_clear(error)
        return None
    check_run(result)
    return result


#: Outcomes of :func:`load_and_run`, for the fuzzers' reach counts.
LOAD_ERROR, RUN_ERROR, RAN = "load error", "run error", "ran"


def load_and_run(source: Path | str, overrides: dict | None = None, seed: int = 0) -> str:
    """Load (clear error or scenario), then run it short (clear error or a checked result).
    Returns the outcome: LOAD_ERROR, RUN_ERROR or RAN (a run that passed every check)."""
    scenario = load_or_error(source, overrides)
    if scenario is None:
        return LOAD_ERROR
    return RAN if run_short(scenario, seed) is not None else RUN_ERROR


class Reach:
    """Counts the outcomes of a fuzz test's inputs and checks that at least ``floor`` of them
    reached a run: a fuzzer whose inputs all end in a load error tests only the error branch.

    Use: ``reach = Reach(0.1)``; ``reach.add(load_and_run(...))`` in the hypothesis test;
    ``reach.check()`` after it.
    """

    def __init__(self, floor: float):
        self.floor = floor
        self.counts: dict[str, int] = {}

    def add(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    @property
    def share(self) -> float:
        total = sum(self.counts.values())
        return self.counts.get(RAN, 0) / total if total else 0.0

    def check(self) -> None:
        assert self.share >= self.floor, (
            f"only {self.share:.0%} of the inputs reached a run (floor {self.floor:.0%}): "
            f"{self.counts}"
        )


def fuzz_with_reach(name: str, config, check, floor: float, **strategies) -> Reach:
    """Run ``check(**drawn)`` (which returns an outcome) on inputs drawn from ``strategies``
    under hypothesis settings ``config``, then check the share that reached a run.

    The draws are derandomized (a fixed sample for each ``name``, the same on every machine and
    every run until the strategies or the code change), so the reach floor holds or fails for
    a reason, never by the luck of a draw (a random 100 command lines reached a run in 3-34%);
    a failing input replays exactly. ``name`` keeps each fuzz test's sample apart (the inner
    function is the same for every caller).
    """
    from hypothesis import given, settings

    config = settings(config, derandomize=True, database=None)

    reach = Reach(floor)

    def inner(**drawn) -> None:
        reach.add(check(**drawn))

    inner._hypothesis_internal_add_digest = name.encode()
    config(given(**strategies)(inner))()
    print(f"{name}: {reach.share:.0%} of {sum(reach.counts.values())} inputs ran {reach.counts}")
    reach.check()
    return reach
