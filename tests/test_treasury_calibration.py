"""ETH and SOL defaults are the published figures (data/eth_sol_published.csv, data/sources.md
§3.13), the publisher's method is the model's, and the default processes reproduce the figures.

Tolerances are statistical: a sample annualised volatility ``s`` of ``n`` daily returns has
standard error ``sigma / sqrt(2 n)`` and a sample correlation ``(1 - rho^2) / sqrt(n)``; the
tests allow :data:`Z` of them, and check that the same bound rejects a target 0.05 away.
"""

from __future__ import annotations

import csv
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from sim.input.schema import Market
from sim.markets import ALT_FIGURES_FILE, Markets, published_alt_figures
from sim.paths import DATA_DIR, HISTORY_DIR
from sim.units import YEAR_DAYS

N_DAYS = 20_000  # one long path (about 55 years) of each process
Z = 4.5  # bounds in standard errors
PUBLISHER_DAYS = 365  # Gale Finance annualises daily figures with sqrt(365)
OFF = 0.05  # a wrong target this far from the truth must fall outside the bound
#: BTC's defaults except its price guards (USD 1 and 1e9), which a 55-year path would hit.
BTC_UNCLIPPED = {"floor_usd": 1e-300, "cap_usd": 1e300}
ALT_FIGURES = ("eth.volatility", "eth.correlation_btc", "sol.volatility")
ALT_FIGURES += ("sol.correlation_btc", "sol.correlation_eth")


def published_rows() -> list[dict[str, str]]:
    with open(DATA_DIR / ALT_FIGURES_FILE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_published_row_names_its_window_and_address():
    rows = published_rows()
    assert {row["figure"] for row in rows} >= set(ALT_FIGURES)
    for row in rows:
        assert row["url"].startswith("https://"), row
        assert row["window"] and row["measured"], row
        assert 0.0 < float(row["value"]) < 2.0, row


def test_schema_defaults_are_the_published_figures():
    figures, market = published_alt_figures(), Market()
    for figure in ALT_FIGURES:
        asset, field = figure.split(".")
        assert getattr(getattr(market, asset), field) == figures[figure], figure


def test_published_figures_are_means_rounded_half_up(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(
        "figure,value,window,measured,url\n"
        "x.a,0.79,w,m,https://a\nx.a,0.70,w,m,https://b\nx.b,0.647,w,m,https://c\n",
        encoding="utf-8",
    )
    assert published_alt_figures(path) == {"x.a": 0.75, "x.b": 0.65}


def test_the_publishers_volatility_is_the_models_method_on_the_shipped_btc_series():
    """Gale Finance's BTC volatility for each calendar window is the shipped BTC close's
    standard deviation of daily log returns x sqrt(365) (within 0.5 points: the figures are
    rounded to 0.1 point and the two data vendors' closes differ slightly)."""
    prices = pd.read_csv(HISTORY_DIR / "btc_price_volume.csv", parse_dates=["date"])
    prices = prices.set_index("date")["price"]
    rows = [row for row in published_rows() if row["figure"] == "btc.volatility"]
    assert len(rows) == 2
    for row in rows:
        first, last = (dt.date.fromisoformat(day) for day in row["window"].split(".."))
        window = prices[pd.Timestamp(first) : pd.Timestamp(last)]
        assert len(window) >= 360
        vol = np.diff(np.log(window.to_numpy())).std(ddof=1) * math.sqrt(PUBLISHER_DAYS)
        assert vol == pytest.approx(float(row["value"]), abs=0.005), row["window"]


def vol_bound(target: float, n: int) -> float:
    return Z * target / math.sqrt(2 * n)


def corr_bound(target: float, n: int) -> float:
    return Z * (1 - target**2) / math.sqrt(n)


@pytest.fixture(scope="module")
def default_returns() -> dict[str, np.ndarray]:
    """Daily log returns of one long path of the default BTC, ETH and SOL processes."""
    config = Market.model_validate({"btc": BTC_UNCLIPPED})
    markets = Markets(config, dt.date(2025, 10, 1), np.random.SeedSequence(2024), None)
    markets.extend_to(N_DAYS + 1)
    return {
        name: np.diff(np.log(getattr(markets, f"{name}_price_usd")[: N_DAYS + 1]))
        for name in ("btc", "eth", "sol")
    }


@pytest.mark.parametrize("asset", ["eth", "sol"])
def test_default_process_has_the_published_volatility(default_returns, asset):
    target = published_alt_figures()[f"{asset}.volatility"]
    returns = default_returns[asset]
    vol = returns.std(ddof=1) * math.sqrt(YEAR_DAYS)  # the model's year (sim.units)
    bound = vol_bound(target, returns.size)
    assert abs(vol - target) < bound, (asset, vol, target, bound)
    assert abs(vol - (target + OFF)) > bound  # the bound is tight enough to catch 0.05


@pytest.mark.parametrize(
    ("a", "b", "figure"),
    [
        ("btc", "eth", "eth.correlation_btc"),
        ("btc", "sol", "sol.correlation_btc"),
        ("eth", "sol", "sol.correlation_eth"),
    ],
)
def test_default_processes_have_the_published_correlations(default_returns, a, b, figure):
    target = published_alt_figures()[figure]
    x, y = default_returns[a], default_returns[b]
    rho = np.corrcoef(x, y)[0, 1]
    bound = corr_bound(target, x.size)
    assert abs(rho - target) < bound, (figure, rho, target, bound)
    assert abs(rho - (target - OFF)) > bound
