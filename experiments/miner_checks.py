"""The figures issue 25 ("public miners that act like their 2025 selves") asks for, over seeds.

    .venv/bin/python experiments/miner_checks.py [--runs 20] [--scenarios baseline btc_bear
        credit_crunch crash_2022] [--first-seed 0]

For each scenario and seeds ``first_seed .. first_seed + runs - 1`` (the seed is the run's root
seed, as ``sim.run(scenario, seed)``) it prints:

* **quit mining**: public miners that end the run with no machines and have not defaulted
  (median and range per run, and the total among the mining-first miners), and of those the
  ones with half their sites or more leased to AI (the rest scrapped their machines in a bear
  market and keep idle sites);
* **above the covenant**: miner-epochs (listed miners, at the end of each epoch, after the
  financing waterfall) whose senior secured principal exceeds
  ``market.rates.covenant_secured_to_assets`` x their assets; the engine cures or defaults a
  breach within the epoch, so anything above 0 is a bookkeeping failure;
* **P(default)**: the share of runs with at least one default, with its 95% Wilson interval, and
  the defaults by cause;
* **first-year betas**: per mining-first miner, the slope of its market capitalisation's epoch
  log returns on BTC's over the first 26 epochs (about a year), median and p5-p95 over runs
  (observed 60-day betas before the decoupling: MARA 1.39, BTDR 1.44, GREE 1.57; data/sources.md
  §3.14);
* **decoupling**: the correlation of the sector's (market-cap weighted) epoch returns with BTC's
  in the first and the last year, in the scenario and in its twin without AI
  (``market.ai.enabled = false``, same seed, so the same BTC path): the AI world should
  decouple clearly more;
* **per-miner bands**: end hashrate, AI share of site capacity and leverage (debt / assets) at
  the end, median (p5-p95) over runs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

import sim
from sim.analysis.markdown import wilson_interval
from sim.engine.build import build
from sim.engine.epoch import run_epoch
from sim.engine.state import assets_usd, listed
from sim.finance import secured_by_owner
from sim.runner import result_of

SCENARIOS = ("baseline", "btc_bear", "credit_crunch", "crash_2022")
#: Epochs of the "first year" and "last year" windows (26 epochs of ~14 days).
YEAR_EPOCHS = 26
#: Relative tolerance of the covenant test (rounding, as the engine's).
COVENANT_TOL = 1e-9
#: A miner with no machines and at least this share of its site capacity leased to AI has
#: quit mining for AI (the rest quit idle: machines scrapped in a bear market).
TO_AI_SHARE = 0.5


def run_counting_breaches(
    scenario: sim.Scenario, seed: int
) -> tuple[sim.RunResult, int, pd.Series]:
    """Run ``scenario`` with ``seed`` epoch by epoch; returns its result, the miner-epochs
    ending above the covenant and each public miner's site capacity at the end (MW)."""
    params, state, world = build(scenario, seed)
    above = 0
    price = float(world.markets.btc_price_usd[0])
    while state.running:
        scratch = run_epoch(params, state, world)
        if scratch.halted:
            break
        price = scratch.p_end
        secured = secured_by_owner(state.debt, params.n)
        limit = params.covenant_secured_to_assets * assets_usd(state, price)
        breach = listed(state) & (secured > 0) & (secured > limit * (1 + COVENANT_TOL))
        above += int(breach.sum())
    public = state.is_public
    capacity = pd.Series(state.capacity_mw[public], index=np.array(state.names)[public])
    return result_of(scenario, seed, state), above, capacity


def wide(result: sim.RunResult, column: str) -> pd.DataFrame:
    """A public-miner column as epochs x miners."""
    public = result.miners[result.miners["kind"] == "public"]
    return public.pivot(index="epoch", columns="name", values=column)


def btc_returns(result: sim.RunResult) -> pd.Series:
    return np.log(result.epochs.set_index("epoch")["btc_price_usd"]).diff()


def first_year_betas(result: sim.RunResult, names: list[str]) -> dict[str, float]:
    """Slope of each miner's market-cap log returns on BTC's over the first year."""
    caps = wide(result, "market_cap_usd")[names]
    returns = np.log(caps.where(caps > 1e6)).diff()  # a cap at its floor is worthless
    btc = btc_returns(result)
    window = returns.index <= YEAR_EPOCHS
    out = {}
    for name in names:
        pair = pd.concat([returns.loc[window, name], btc[window]], axis=1).dropna()
        out[name] = (
            float(np.polyfit(pair.iloc[:, 1], pair.iloc[:, 0], 1)[0]) if len(pair) > 5 else np.nan
        )
    return out


def sector_correlations(result: sim.RunResult) -> tuple[float, float]:
    """Correlation of the sector's cap-weighted epoch returns with BTC's, first and last year."""
    prices, caps = wide(result, "share_price_usd"), wide(result, "market_cap_usd")
    returns = np.log(prices.where(prices > 0)).diff()
    weights = caps.shift(1).where(returns.notna(), 0.0).clip(lower=0.0)
    sector = (returns.fillna(0.0) * weights).sum(axis=1) / weights.sum(axis=1)
    btc = btc_returns(result)
    epochs = sector.index
    first = epochs <= YEAR_EPOCHS
    last = epochs > epochs.max() - YEAR_EPOCHS
    return float(sector[first].corr(btc[first])), float(sector[last].corr(btc[last]))


@dataclass
class Tally:
    """What one scenario's runs give."""

    quits: list[int] = field(default_factory=list)
    quits_to_ai: list[int] = field(default_factory=list)
    mining_first_quits: int = 0
    mining_first_quits_to_ai: int = 0
    above_covenant: int = 0
    runs_with_default: int = 0
    causes: dict[str, int] = field(default_factory=dict)
    betas: dict[str, list[float]] = field(default_factory=dict)
    corr_ai: list[tuple[float, float]] = field(default_factory=list)
    corr_no_ai: list[tuple[float, float]] = field(default_factory=list)
    ends: list[pd.DataFrame] = field(default_factory=list)


def end_state(result: sim.RunResult, capacity_mw: pd.Series) -> pd.DataFrame:
    """Per public miner at the end: hashrate (EH/s), machines (MW), AI share of its site
    capacity, leverage (debt / assets), defaulted."""
    public = result.miners[result.miners["kind"] == "public"]
    last = public.groupby("name").tail(1).set_index("name")
    mw = capacity_mw.reindex(last.index)
    assets = last["assets_usd"]
    return pd.DataFrame(
        {
            "hashrate_ehs": last["hashrate_ehs"],
            "mining_mw": last["mining_mw"],
            "ai_share": np.where(mw > 0, last["ai_mw"] / mw.where(mw > 0, 1.0), np.nan),
            "leverage": np.where(
                assets > 0, last["debt_usd"] / assets.where(assets > 0, 1.0), np.nan
            ),
            "defaulted": last["defaulted"].astype(bool),
        }
    )


def check(name: str, seeds: range) -> Tally:
    """Run ``name`` and its no-AI twin for every seed and tally the figures."""
    scenario = sim.load_scenario(name)
    twin = sim.load_scenario(name, {"market.ai.enabled": False})
    strategy = scenario.miners.set_index("name")["strategy"]
    mining_first = list(strategy.index[strategy == "mining_first"])
    tally = Tally(betas={m: [] for m in mining_first})
    for seed in seeds:
        result, above, capacity = run_counting_breaches(scenario, seed)
        tally.above_covenant += above
        ends = end_state(result, capacity)
        tally.ends.append(ends)
        quit_ = (ends["mining_mw"] <= 0) & ~ends["defaulted"]
        to_ai = quit_ & (ends["ai_share"] >= TO_AI_SHARE)
        tally.quits.append(int(quit_.sum()))
        tally.quits_to_ai.append(int(to_ai.sum()))
        tally.mining_first_quits += int(quit_[mining_first].sum())
        tally.mining_first_quits_to_ai += int(to_ai[mining_first].sum())
        defaults = result.meta["defaults"]
        tally.runs_with_default += bool(defaults)
        for event in defaults:
            tally.causes[event["cause"]] = tally.causes.get(event["cause"], 0) + 1
        for miner, beta in first_year_betas(result, mining_first).items():
            tally.betas[miner].append(beta)
        tally.corr_ai.append(sector_correlations(result))
        tally.corr_no_ai.append(sector_correlations(sim.run(twin, seed=seed)))
    return tally


def band(values, fmt: str = "{:.2f}") -> str:
    """median (p5 to p95) of the finite values."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "n/a"
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    return f"{fmt.format(p50)} ({fmt.format(p5)} to {fmt.format(p95)})"


def report(name: str, seeds: range, tally: Tally) -> str:
    n = len(seeds)
    low, high = wilson_interval(tally.runs_with_default, n)
    ai, no_ai = np.array(tally.corr_ai), np.array(tally.corr_no_ai)
    causes = ", ".join(f"{k} {v}" for k, v in sorted(tally.causes.items())) or "none"
    lines = [
        f"== {name}: {n} seeds ({seeds.start}..{seeds.stop - 1})",
        f"quit mining (no machines, not defaulted) per run: median {np.median(tally.quits):.0f}, "
        f"range {min(tally.quits)}-{max(tally.quits)}; of which to AI (half its sites or more "
        f"leased): median {np.median(tally.quits_to_ai):.0f}, range {min(tally.quits_to_ai)}-"
        f"{max(tally.quits_to_ai)}",
        f"mining-first miners that quit, all runs: {tally.mining_first_quits} (to AI: "
        f"{tally.mining_first_quits_to_ai})",
        f"miner-epochs above the covenant: {tally.above_covenant}",
        f"P(at least one default): {tally.runs_with_default}/{n} = "
        f"{tally.runs_with_default / n:.2f} (95% Wilson {low:.2f} to {high:.2f}); "
        f"defaults by cause: {causes}",
    ]
    for miner, betas in tally.betas.items():
        lines.append(f"first-year beta of {miner}'s market cap to BTC: {band(betas)}")
    lines += [
        "sector correlation with BTC, first year -> last year, median (p5 to p95):",
        f"  with AI    {band(ai[:, 0])} -> {band(ai[:, 1])}",
        f"  without AI {band(no_ai[:, 0])} -> {band(no_ai[:, 1])}",
        f"  last year, AI world - no-AI world (same seed): {band(ai[:, 1] - no_ai[:, 1])}; "
        f"lower in {(ai[:, 1] < no_ai[:, 1]).sum()}/{n} seeds",
        "per miner at the end, median (p5 to p95) over runs:",
    ]
    stacked = pd.concat(tally.ends, keys=range(n), names=["run", "name"])
    for miner, rows in stacked.groupby(level="name", sort=False):
        lines.append(
            f"  {miner:<16} {band(rows['hashrate_ehs'], '{:.0f}')} EH/s; AI share "
            f"{band(rows['ai_share'])}; leverage {band(rows['leverage'])}; defaulted in "
            f"{int(rows['defaulted'].sum())}/{n}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    args = parser.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.runs)
    for name in args.scenarios:
        print(report(name, seeds, check(name, seeds)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
