"""The engine's compiled loops (numba) give the array versions' results bit for bit.

Each compiled function replaced a sequence of numpy operations; the array version is kept here
as the oracle and both run on random tables (many owners, rows in random owner order, partial
retirements, contracts in every state, maturing and converting notes). Equality is
``np.array_equal``, no tolerance, as in tests/test_golden.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import fleet, hosting
from sim.engine import operate, waterfall
from sim.engine.record import ACTIONS
from sim.finance import (
    CONVERTIBLE,
    SECURED,
    BalanceSheets,
    new_debt_table,
    service_debt,
    treasury_usd,
)
from sim.tables import clip, maximum, minimum, sum_by_owner
from sim.units import YEAR_DAYS

SEEDS = range(20)


def random_fleet(rng, n_owners: int, n_units: int):
    f = fleet.new_fleet_table()
    fleet.add_units(
        f,
        rng.integers(0, n_owners, n_units),
        rng.lognormal(8, 2, n_units) * (rng.random(n_units) > 0.05),  # some units at 0 TH/s
        rng.choice([15.0, 17.5, 20.0, 25.0, 30.0], n_units),  # ties in efficiency
        rng.lognormal(10, 1, n_units),
        rng.uniform(20, 80, n_units),
    )
    f.book_usd[:] *= rng.uniform(0, 1, n_units)
    return f


def retire_to_fit_arrays(f, limit_mw, n_owners):
    """The array version of fleet.retire_to_fit (before it was compiled)."""
    power = fleet.unit_power_mw(f)
    order = np.lexsort((f.efficiency_jth, f.owner))
    owner_sorted, power_sorted = f.owner[order], power[order]
    cum = np.cumsum(power_sorted)
    first_of_owner = np.searchsorted(owner_sorted, owner_sorted)
    before = cum - power_sorted - np.concatenate(([0.0], cum))[first_of_owner]
    room = limit_mw[owner_sorted] - before
    fraction_sorted = np.clip(room / np.maximum(power_sorted, 1e-300), 0.0, 1.0)
    keep_fraction = np.empty(f.n)
    keep_fraction[order] = fraction_sorted
    removed_book = f.book_usd * (1.0 - keep_fraction)
    removed = sum_by_owner(f.owner, removed_book, n_owners)
    f.hashrate_ths[:] *= keep_fraction
    f.cost_usd[:] *= keep_fraction
    f.book_usd[:] -= removed_book
    f.keep(keep_fraction > 0)
    return removed


def copy_of(table):
    out = type(table)({name: getattr(table, name).dtype for name in table.columns})
    out.append(**{name: getattr(table, name).copy() for name in table.columns})
    return out


def table_and_copy(seed: int, make):
    """A generator seeded with ``seed``, an owner count ``n`` (1-29), a table ``make(rng, n, k)``
    of ``k`` (1-199) random rows and a copy of it: (rng, n, table, copy)."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(1, 30)), int(rng.integers(1, 200))
    a = make(rng, n, k)
    return rng, n, a, copy_of(a)


def fleet_with_limits(seed: int, factors: list[float]):
    """A random fleet of 1-39 owners and per-owner power limits (MW): each owner's MW held times
    one of ``factors`` (drawn per owner), no limit (inf) for about one owner in ten. Returns
    (n_owners, fleet, MW held per owner, limit MW per owner)."""
    rng = np.random.default_rng(seed)
    n_owners = int(rng.integers(1, 40))
    f = random_fleet(rng, n_owners, int(rng.integers(1, 300)))
    held = fleet.per_owner(f, fleet.unit_power_mw(f), n_owners)
    limit = held * rng.choice(factors, n_owners)
    limit[rng.random(n_owners) < 0.1] = np.inf
    return n_owners, f, held, limit


def assert_tables_equal(a, b):
    assert a.n == b.n
    for name in a.columns:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


@pytest.mark.parametrize("seed", SEEDS)
def test_retire_to_fit_matches_the_array_version(seed):
    n_owners, f, held, limit = fleet_with_limits(seed, [0.0, 0.3, 0.9, 1.0, 2.0])
    g = copy_of(f)
    want = retire_to_fit_arrays(g, limit, n_owners)
    got = fleet.retire_to_fit(f, limit, n_owners)
    assert np.array_equal(got, want)
    assert_tables_equal(f, g)
    assert np.any(want > 0) or np.all(limit >= held)  # the case retires something


def random_contracts(rng, n_owners: int, k: int):
    c = hosting.new_contract_table()
    start = rng.uniform(-400, 400, k)
    c.append(
        owner=rng.integers(0, n_owners, k),
        mw=rng.uniform(1, 200, k),
        usd_per_mw_year=rng.uniform(1e5, 2e6, k),
        start_day=start,
        end_day=start + rng.choice([10.0, 300.0, 3650.0], k),
        capex_remaining_usd=rng.uniform(0, 1e9, k) * (start > 0),
        capex_spent_usd=rng.uniform(0, 1e9, k) * (start > 0),
        signed_market_usd_per_mw_year=rng.uniform(1e6, 2e6, k),
    )
    return c


def step_hosting_arrays(c, day0, day1, noi_margin, market_rate, term_days, n):
    """The array version of hosting.step_hosting (before it was compiled)."""
    building = c.start_day > day0
    share_spent = np.where(
        building, np.clip((day1 - day0) / np.maximum(c.start_day - day0, 1e-9), 0, 1), 0
    )
    capex = c.capex_remaining_usd * share_spent
    c.capex_remaining_usd[:] -= capex
    c.capex_spent_usd[:] += capex
    leased_days = np.clip(np.minimum(day1, c.end_day) - np.maximum(day0, c.start_day), 0.0, None)
    noi = c.mw * c.usd_per_mw_year * noi_margin * leased_days / YEAR_DAYS
    completes = building & (c.start_day <= day1)
    completed = np.where(completes, c.capex_spent_usd, 0.0)
    c.capex_spent_usd[:] -= completed
    expired = c.end_day <= day1
    c.usd_per_mw_year[expired] = market_rate
    c.start_day[expired] = c.end_day[expired]
    c.end_day[expired] += term_days
    return [sum_by_owner(c.owner, v, n) for v in (noi, capex, completed)]


@pytest.mark.parametrize("seed", SEEDS)
def test_step_hosting_matches_the_array_version(seed):
    rng, n, a, b = table_and_copy(seed, random_contracts)
    day0, day1 = 0.0, float(rng.uniform(1, 60))
    args = (day0, day1, 0.8, 1.3e6, 3650.0, n)
    flows = hosting.step_hosting(a, *args)
    want = step_hosting_arrays(b, *args)
    for got, expected in zip(
        (flows.noi_usd, flows.capex_usd, flows.completed_usd), want, strict=True
    ):
        assert np.array_equal(got, expected)
    assert_tables_equal(a, b)


def random_debt(rng, n_owners: int, k: int):
    d = new_debt_table()
    convertible = rng.random(k) < 0.5
    d.append(
        owner=rng.integers(0, n_owners, k),
        instrument=np.where(convertible, CONVERTIBLE, SECURED),
        principal_usd=rng.uniform(0, 1e9, k) * (rng.random(k) > 0.05),
        coupon=rng.uniform(0, 0.12, k),
        maturity_day=rng.uniform(0, 100, k),
        conversion_price_usd=np.where(convertible, rng.uniform(1, 40, k), np.nan),
        amortization_usd_per_year=rng.uniform(0, 1e9, k) * (rng.random(k) < 0.3),
    )
    return d


def service_debt_arrays(debt, day_end, years, share_price_usd, n):
    """The array version of finance.service_debt (before it was compiled)."""
    interest = debt.principal_usd * debt.coupon * years
    amortised = np.minimum(debt.principal_usd, debt.amortization_usd_per_year * years)
    debt.principal_usd[:] -= amortised
    matures = debt.maturity_day <= day_end
    converts = (
        matures
        & (debt.instrument == CONVERTIBLE)
        & (share_price_usd[debt.owner] >= debt.conversion_price_usd)
    )
    matured = np.where(matures & ~converts, debt.principal_usd, 0.0)
    converted = np.where(converts, debt.principal_usd, 0.0)
    new_shares = np.where(
        converts, converted / np.where(converts, debt.conversion_price_usd, 1.0), 0.0
    )
    out = [
        sum_by_owner(debt.owner, v, n)
        for v in (interest, amortised + matured, matured, converted, new_shares)
    ]
    debt.keep(~matures & (debt.principal_usd > 0))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_service_debt_matches_the_array_version(seed):
    rng, n, a, b = table_and_copy(seed, random_debt)
    share_price = rng.uniform(0, 50, n)
    args = (50.0, 0.04, share_price, n)
    got = service_debt(a, *args)
    want = service_debt_arrays(b, *args)
    fields = ("interest_usd", "repaid_usd", "matured_usd", "converted_usd", "new_shares")
    for name, expected in zip(fields, want, strict=True):
        assert np.array_equal(getattr(got, name), expected), name
    assert_tables_equal(a, b)


@pytest.mark.parametrize("a", [-1.0, -0.0, 0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("b", [-0.0, 0.0, 1.0, np.nan])
def test_scalar_twins_match_numpy(a, b):
    for twin, ufunc in ((maximum, np.maximum), (minimum, np.minimum)):
        assert np.array_equal(twin(a, b), ufunc(a, b), equal_nan=True)
    assert np.array_equal(clip(a, 0.0, 1.0), np.clip(np.array([a]), 0.0, 1.0)[0], equal_nan=True)


def apply_offer_arrays(need, available, book_per_usd, covenant_limit, action, code):
    """The array version of one offer of waterfall.raise_cash (before it was compiled): what
    each agent takes, its new need and action (``take`` is called in between)."""
    n = need.size
    gain = np.ones(n)
    if covenant_limit is not None:
        binding = covenant_limit > 0
        book = np.broadcast_to(book_per_usd, gain.shape)[binding]
        limit = covenant_limit[binding]
        gain[binding] = (1.0 - limit * book) / (1.0 - limit)
    usable = (need > 0) & (gain > 0) & (available > 0)
    take = np.zeros(n)
    take[usable] = np.minimum(available[usable], need[usable] / gain[usable])
    if usable.any():
        action[usable] = np.minimum(action[usable], code)
        need = np.where(usable, np.maximum(need - take * np.where(usable, gain, 0), 0), need)
    return take, need


def random_offer(rng, n):
    def spiky(scale):
        x = rng.lognormal(np.log(scale), 2, n)
        x[rng.random(n) < 0.2] = 0.0
        x[rng.random(n) < 0.05] *= -1.0  # negative (cash above what is due)
        return x

    need, available = spiky(1e7), spiky(1e7)
    available[rng.random(n) < 0.05] = np.inf
    book = rng.choice([0.0, 0.5, 1.0, 1.25, 3.0, np.inf], n)
    limit = np.where(rng.random(n) < 0.7, rng.choice([0.0, 0.5, 0.85, 0.99], n), 0.0)
    limit[rng.random(n) < 0.05] = np.nan
    action = rng.integers(0, len(ACTIONS), n).astype(np.int8)
    return need, available, book, limit, action


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("covenant", [False, True])
@pytest.mark.parametrize("scalar_book", [False, True])
def test_waterfall_offer_matches_the_array_version(seed, covenant, scalar_book):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    need, available, book, limit, action = random_offer(rng, n)
    if scalar_book:
        book = float(rng.choice([0.0, 1.0, 1.0 / 0.99]))
    code = int(rng.integers(0, len(ACTIONS)))
    want_action = action.copy()
    want_take, want_need = apply_offer_arrays(
        need, available, book, limit if covenant else None, want_action, code
    )
    books = np.full(n, book) if scalar_book else book
    got_need, take, usable = need.copy(), np.zeros(n), np.zeros(n, bool)
    anyone = waterfall._take_offer(got_need, available, books, limit, covenant, take, usable)
    assert anyone == bool(usable.any())
    assert np.array_equal(take, want_take)
    waterfall._settle_offer(got_need, books, limit, covenant, take, usable, action, code)
    assert np.array_equal(got_need, want_need, equal_nan=True)
    assert np.array_equal(action, want_action)
    assert np.signbit(got_need).tolist() == np.signbit(want_need).tolist()  # -0.0 kept too
    assert usable.any() or covenant  # the case takes something (a cure may take nothing)


@pytest.mark.parametrize("seed", SEEDS)
def test_convert_to_ai_skips_retire_to_fit_only_when_it_removes_nothing(seed):
    # limits at, just above and well above each fleet's MW; some owners have no units
    n_owners, f, held, limit = fleet_with_limits(seed, [1.0, 1.0 + 1e-12, 1.0 + 1e-5, 2.0])
    fits = fleet.fits_under(f, limit, n_owners)
    g = copy_of(f)
    removed = fleet.retire_to_fit(g, limit, n_owners)
    if fits:  # what the skip assumes: nothing removed, the table bit for bit unchanged
        assert np.array_equal(removed, np.zeros(n_owners))
        assert_tables_equal(f, g)
    assert fits == bool(np.all(held + fleet.FIT_MARGIN * (held + held.sum()) < limit))
    assert not fleet.fits_under(f, np.where(held > 0, held, 0.0), n_owners)  # at the limit
    assert fleet.fits_under(f, 2.0 * held + 1.0, n_owners)


BOOK_COLUMNS = ("cash_usd", "btc_held", "cip_usd", "ai_ppe_usd", "shares", "equity_usd")
FLOW_COLUMNS = (
    "btc_mined",
    "noi_usd",
    "capex_usd",
    "completed_usd",
    "power_cost_usd",
    "opex_usd",
    "interest_usd",
    "repaid_usd",
    "new_shares",
    "converted_usd",
    "depreciation_usd",
    "failures_usd",
)


def book_epoch_arrays(b, x, share, prices):
    """The array version of operate.book_epoch's books (before it was compiled)."""
    btc_before, p_avg, p_end, eth_before, sol_before, eth_end, sol_end = prices
    ai_depreciation = b["ai_ppe_usd"] * share
    btc_value_before = b["btc_held"] * btc_before
    b["btc_held"] += x["btc_mined"]
    b["cash_usd"] += (
        x["noi_usd"]
        - x["power_cost_usd"]
        - x["opex_usd"]
        - x["capex_usd"]
        - x["interest_usd"]
        - x["repaid_usd"]
    )
    b["cip_usd"] += x["capex_usd"] - x["completed_usd"]
    b["ai_ppe_usd"] += x["completed_usd"] - ai_depreciation
    b["shares"] += x["new_shares"]
    revenue = x["btc_mined"] * p_avg
    btc_gain = b["btc_held"] * p_end - btc_value_before - revenue
    b["equity_usd"] += (
        revenue
        + btc_gain
        + x["noi_usd"]
        - x["power_cost_usd"]
        - x["opex_usd"]
        - x["interest_usd"]
        - x["depreciation_usd"]
        - x["failures_usd"]
        - ai_depreciation
        + x["converted_usd"]
    )
    books = BalanceSheets.zeros(b["cash_usd"].size)
    books.eth_held[:], books.sol_held[:] = b["eth_held"], b["sol_held"]
    b["equity_usd"] += treasury_usd(books, eth_end, sol_end) - treasury_usd(
        books, eth_before, sol_before
    )
    return revenue


@pytest.mark.parametrize("seed", SEEDS)
def test_book_epoch_matches_the_array_version(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 120))

    def column():
        x = rng.lognormal(15, 3, n) * rng.choice([-1.0, 0.0, 1.0], n, p=[0.2, 0.2, 0.6])
        x[rng.random(n) < 0.02] = np.nan
        return x

    b = {name: column() for name in (*BOOK_COLUMNS, "eth_held", "sol_held")}
    x = {name: column() for name in FLOW_COLUMNS}
    prices = rng.lognormal(8, 2, 7)
    share = float(rng.uniform(0, 1))
    want = {k: v.copy() for k, v in b.items()}
    want_revenue = book_epoch_arrays(want, x, share, prices)
    revenue = np.empty(n)
    operate._book_agents(
        *(b[k] for k in (*BOOK_COLUMNS, "eth_held", "sol_held")),
        *(x[k] for k in FLOW_COLUMNS),
        share,
        prices,
        revenue,
    )
    assert np.array_equal(revenue, want_revenue, equal_nan=True)
    for name, expected in want.items():
        assert np.array_equal(b[name], expected, equal_nan=True), name
        assert np.array_equal(np.signbit(b[name]), np.signbit(expected)), name


def test_the_forkserver_loads_the_compiled_code_before_workers_fork():
    import multiprocessing
    import multiprocessing.forkserver

    from sim.batch import executors, warm

    assert warm.warm_engine()  # the warm-up scenario exists and runs to its end
    if "forkserver" in multiprocessing.get_all_start_methods():
        executors._process_context()  # sets the forkserver's preload list
        assert "sim.batch.warm" in multiprocessing.forkserver._forkserver._preload_modules
