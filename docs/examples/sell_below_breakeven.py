"""A policy of your own: sell all mined BTC while hashprice is expected below breakeven, else hodl.

The worked example of docs/policies.md (tests/test_policy_registry.py imports and runs it).
Importing this module registers the policy; a scenario uses it with::

    [miners]
    policy_modules = ["sell_below_breakeven"]   # this file's directory on PYTHONPATH
    policy = "sell_below_breakeven"
"""

from __future__ import annotations

import numpy as np

import sim
from sim.policies import asic_purchase_ths, replacement_jth, spare_cash_usd
from sim.units import YEAR_DAYS, power_cost_usd_per_th_day


@sim.register_policy("sell_below_breakeven")
def decide(ctx, idx, out):
    """Breakeven: the cash cost of running a frontier machine, USD per TH/s per day: its power
    at the agent's own power price plus the scenario's other opex (USD per MW-year, per TH/s
    at the frontier's J/TH). While the expected hashprice (the mean over the planning horizon)
    is below it, sell all BTC mined this epoch (cash to last the trough); at or above it, keep
    it all, buy frontier machines from spare cash and replace old ones, never borrowing (as
    ``hodl``)."""
    power = power_cost_usd_per_th_day(ctx.frontier_jth, ctx.power_usd_mwh[idx])
    opex = ctx.params.opex_usd_per_mw_year / YEAR_DAYS * ctx.frontier_jth / 1e6
    breakeven = power + opex
    below = ctx.expected_hashprice_usd_per_th_day < breakeven
    out.sell_btc[idx] = np.where(below, ctx.btc_mined[idx], 0.0)
    out.buy_ths[idx] = np.where(below, 0.0, asic_purchase_ths(ctx, idx, spare_cash_usd(ctx, idx)))
    out.replace_above_jth[idx] = np.where(below, np.inf, replacement_jth(ctx, idx))
