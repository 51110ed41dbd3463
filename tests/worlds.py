"""Tiny scripted worlds for finance tests: one public miner beside one fringe class.

BTC, power and the AI lease are flat (no volatility), so every cash flow is known in advance;
the miner never buys machines or converts capacity (``mining_only`` with a 1-day hurdle), so
what happens to its balance sheet is its debt, its financing and, if it comes to that, its
default. Each test writes the world it needs into a temporary folder.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

START = dt.date(2025, 10, 1)
END = dt.date(2026, 6, 30)
BTC_USD = 100_000.0

MINER_HEADER = (
    "name,ticker,hashrate_ehs,efficiency_jth,capacity_mw,power_price_usd_mwh,contract_end,"
    "cash_usd,btc_held,shares_outstanding,share_price_usd,source,estimate"
)
DEBT_HEADER = (
    "miner,instrument,principal_usd,coupon,issue_date,maturity,conversion_price_usd,"
    "amortization_per_year,source"
)
AI_HEADER = "miner,mw,usd_per_mw_year,term_years,start,capex_usd_per_mw,source"


def miner_row(
    *,
    hashrate_ehs: float = 10.0,
    capacity_mw: float = 1500.0,
    cash_usd: float = 3e8,
    btc_held: float = 0.0,
    shares: float = 1e9,
    share_price_usd: float = 20.0,
) -> str:
    return (
        f"Alpha,ALP,{hashrate_ehs},18,{capacity_mw},40,2028-09-30,{cash_usd:.0f},{btc_held},"
        f"{shares:.0f},{share_price_usd},test,true"
    )


def note(
    instrument: str,
    principal_usd: float,
    maturity: str,
    *,
    coupon: float = 0.0,
    amortization: float = 0.0,
    conversion_usd: float | None = None,
) -> str:
    """One debt row of the miner, issued before the start (its cash is already spent)."""
    conversion = "" if conversion_usd is None else f"{conversion_usd}"
    return (
        f"Alpha,{instrument},{principal_usd:.0f},{coupon},2025-01-01,{maturity},{conversion},"
        f"{amortization},test"
    )


def lease(mw: float, usd_per_mw_year: float, start: str = "2025-01-01", capex: float = 0) -> str:
    """One AI lease of the miner: 12 years from ``start`` (a past start: in service)."""
    return f"Alpha,{mw},{usd_per_mw_year:.0f},12,{start},{capex:.0f},test"


def write_world(
    folder: Path,
    miner: str,
    notes: list[str] = (),
    leases: list[str] = (),
    *,
    credit_closed: bool = True,
    ai_enabled: bool = False,
    btc_points: list[tuple[str, float]] | None = None,
) -> Path:
    """Write the scenario into ``folder``; returns the TOML path. ``btc_points`` (date, USD)
    make BTC log-linear between them (default: flat at BTC_USD). Change other parameters with
    the overrides of ``sim.run`` / ``MiningModel``."""
    points = btc_points or [(str(START), BTC_USD)]
    btc = ", ".join(f"[{day}, {usd}]" for day, usd in points)
    (folder / "miners.csv").write_text(MINER_HEADER + "\n" + miner + "\n")
    (folder / "debt.csv").write_text("\n".join([DEBT_HEADER, *notes]) + "\n")
    (folder / "ai.csv").write_text("\n".join([AI_HEADER, *leases]) + "\n")
    closed = f'closed_periods = [["{START}", "{END}"]]' if credit_closed else ""
    toml = f"""
[scenario]
name = "world"
start_date = {START}
end_date = {END}

[chain]
height = 917_280
difficulty = 143.47e12

[market.btc]
process = "piecewise"
volatility = 0.0
points = [{btc}]

[market.power]
volatility = 0.0
spike_probability_per_day = 0.0

[market.ai]
enabled = {str(ai_enabled).lower()}
volatility = 0.0

[market.rates]
{closed}

[miners]
csv = "miners.csv"
debt_csv = "debt.csv"
ai_contracts_csv = "ai.csv"
policy = "mining_only"

[policy]
hurdle_payback_days = 1.0

[[fringe.classes]]
name = "rest"
hashrate_ehs = 1000.0
efficiency_jth = 20.0
power_price_usd_mwh = 40.0
"""
    path = folder / "world.toml"
    path.write_text(toml)
    return path
