"""The flat-BTC baseline figures the network issue (24) asks for, per seed.

    .venv/bin/python experiments/flat_btc_check.py [SEED ...]       (default: seeds 0 and 1)

For ``scenarios/baseline.toml`` with ``market.btc.volatility = 0`` (BTC held at its 2025-10-01
close): the 2028 halving's drawdown and the days back above the pre-halving peak (the
calibration's own measure, ``sim.calibration.moments.halving_response``; "censored" when the
peak is not regained by the end of the run), and the last epoch against the first one: hashrate
(EH/s), network power (MW), fleet efficiency (J/TH), the frontier (J/TH), the machine price
($/W) and the highest share of revenue spent on power in any epoch.
"""

from __future__ import annotations

import sys

import pandas as pd

import sim
from sim.calibration.moments import daily_difficulty, halving_date, halving_response

HALVING_2028 = 1_050_000


def report(seed: int) -> str:
    """One line of figures for ``seed``."""
    scenario = sim.load_scenario("baseline", {"market.btc.volatility": 0.0})
    e = sim.run(scenario, seed=seed).epochs
    first_day, last_day = pd.Timestamp(e["date"].iloc[0]), pd.Timestamp(e["date"].iloc[-1])
    daily = daily_difficulty(e, scenario.config.chain.difficulty, first_day, last_day)
    halving = halving_response(daily, halving_date(e, HALVING_2028))
    first, last = e.iloc[0], e.iloc[-1]
    spent = (e["cost_to_mine_cash_usd"] / e["btc_price_usd"]).max()
    return (
        f"seed {seed}: 2028 halving {halving.drawdown_pct:+.1f}%, back above the peak after "
        f"{halving.recovery_days:.0f} days (censored: {halving.censored}); "
        f"{last.date:%Y-%m-%d} against {first.date:%Y-%m-%d}: hashrate "
        f"{last.hashrate_ehs:,.0f} vs {first.hashrate_ehs:,.0f} EH/s, network power "
        f"{last.network_power_mw:,.0f} vs {first.network_power_mw:,.0f} MW, fleet "
        f"{last.network_efficiency_j_per_th:.1f} vs {first.network_efficiency_j_per_th:.1f} "
        f"J/TH; frontier {last.frontier_jth:.1f} J/TH; machines ${last.machine_usd_per_w:.2f}/W; "
        f"power at most {spent:.2f} of revenue"
    )


def main(argv: list[str]) -> int:
    for seed in [int(a) for a in argv] or [0, 1]:
        print(report(seed), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
