"""Golden outputs of the Python model: every result column and the final per-agent state.

Recorded once from the model as it stood before the epoch engine (issue 12), so any port can be
checked for bit-identical results by ``tests/test_golden.py``. Re-record only when the
economics change on purpose::

    .venv/bin/python tests/golden/record.py

Each case is (bundled scenario, seed, overrides); horizons are cut where a full run would take
longer than about a second. Together they exercise defaults (the demo crash), covenant cures
(credit crunch, BTC bear), AI conversion (AI boom), fringe orders and mothballing (bear,
backtest), a halving (history 2020, baseline), and a stall (a one-agent chain that cannot mine).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

GOLDEN_DIR = Path(__file__).resolve().parent

CRASH = {  # the demo's crash (tests/test_model.py): BTC to $8,000, credit shut, costly opex
    "market.btc.process": "piecewise",
    "market.btc.volatility": 0.0,
    "market.btc.points": [["2025-10-01", 118649.0], ["2026-01-01", 8000.0]],
    "miners.opex_usd_per_mw_year": 3e6,
    "market.rates.closed_periods": [["2025-10-01", "2026-12-31"]],
}
#: ... with no way out but credit, which is shut (tests/test_default.py): miners default.
NO_WAY_OUT = {
    "market.rates.equity_min_share_price_usd": 1e6,
    "miners.fire_sale_discount": 1.0,
    "miners.asset_sale_fraction": 0.0,
}
#: BTC at USD 1,000 within a month and no must-run fringe (tests/test_stalled.py): a stall.
COLLAPSE = {
    "market.btc.process": "piecewise",
    "market.btc.volatility": 0.0,
    "market.btc.points": [["2025-10-01", 118_649.0], ["2025-11-01", 1_000.0]],
    "fringe.must_run_fraction": 0.0,
    "scenario.end_date": "2026-10-01",
}
TO_2028 = {"scenario.end_date": "2028-09-30"}  # through the April 2028 halving
TO_2027 = {"scenario.end_date": "2027-06-30"}

#: (case name, scenario, seed, overrides): 16 runs.
CASES = (
    ("baseline-0", "baseline", 0, TO_2028),
    ("baseline-1", "baseline", 1, TO_2028),
    ("backtest_2022-0", "backtest_2022", 0, {}),
    ("history_2020-0", "history_2020", 0, {}),
    ("history_2020-3", "history_2020", 3, {}),
    ("ai_boom-0", "ai_boom", 0, TO_2027),
    ("ai_boom-5", "ai_boom", 5, TO_2027),
    ("btc_bear-0", "btc_bear", 0, TO_2028),
    ("btc_bear-2", "btc_bear", 2, TO_2028),
    ("credit_crunch-0", "credit_crunch", 0, TO_2028),
    ("power_shock-4", "power_shock", 4, TO_2027),
    ("demo-1", "demo", 1, {}),
    ("demo_crash-2", "demo", 2, CRASH),
    ("demo_crash_no_way_out-3", "demo", 3, {**CRASH, **NO_WAY_OUT}),
    ("demo_crash_no_fringe-2", "demo", 2, {**CRASH, "fringe.classes": []}),
    ("demo_stall-0", "demo", 0, COLLAPSE),
)


def final_state(model) -> dict[str, np.ndarray]:
    """The model's per-agent arrays, tables and chain state after its last step, by key (read
    through the engine's read-only view, ``model.view``)."""
    out = {f"state/{key}": np.array(value, copy=True) for key, value in model.view.arrays().items()}
    out["state/defaults_json"] = np.array(json.dumps(model.default_events, sort_keys=True))
    return out


def columns(frame, prefix: str) -> dict[str, np.ndarray]:
    """Every column of a result table as a numpy array (text as str, dates as datetime64)."""
    out = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype == object:
            values = values.astype(str)
        out[f"{prefix}/{name}"] = values
    return out


def run_case(scenario: str, seed: int, overrides: dict) -> dict[str, np.ndarray]:
    """Run one case to its horizon; returns every array to compare, by key."""
    from sim.model import MiningModel

    model = MiningModel(scenario, seed=seed, overrides=overrides)
    while model.running:
        model.step()
    result = model.result()
    arrays = {**columns(result.epochs, "epochs"), **columns(result.miners, "miners")}
    arrays.update(final_state(model))
    arrays["meta/stalled"] = np.array(result.meta["stalled"])
    return arrays


def path_of(case: str) -> Path:
    return GOLDEN_DIR / f"{case}.npz"


def main(selected: list[str]) -> None:
    for case, scenario, seed, overrides in CASES:
        if selected and case not in selected:
            continue
        arrays = run_case(scenario, seed, overrides)
        np.savez_compressed(path_of(case), **arrays)
        epochs = len(arrays["epochs/epoch"])
        defaults = len(json.loads(str(arrays["state/defaults_json"])))
        actions = dict(zip(*np.unique(arrays["miners/action"], return_counts=True), strict=True))
        print(f"{case}: {epochs} epochs, {defaults} defaults, stalled={arrays['meta/stalled']}")
        print(
            f"    actions {actions}, max mothballed EH/s {arrays['epochs/mothballed_ehs'].max():.1f}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
