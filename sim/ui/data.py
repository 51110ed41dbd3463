"""What the page shows, read from the model's recorded results (``model.recorder``, columns
named as in :mod:`sim.results`) and, before the first epoch, from the opening position.

This is the page's only reader of the model: if the recorder moves, only this module changes.
"""

from __future__ import annotations

import numpy as np

from sim import fleet, hosting
from sim.finance import debt_by_owner
from sim.results import ACTIONS
from sim.units import DAY_S

#: Per-miner columns of a history (USD, EH/s, MW, USD per share).
HISTORY_COLUMNS = (
    "cash_usd",
    "btc_held",
    "debt_usd",
    "market_cap_usd",
    "hashrate_ehs",
    "mining_mw",
    "ai_mw",
    "share_price_usd",
)
#: Actions not marked on a miner's time axis (what it does in most epochs).
QUIET_ACTIONS = frozenset({"mine", "sell_btc", "idle", "defaulted"})


def n_epochs(model) -> int:
    return model.recorder.rows


def start_s(model) -> float:
    """The scenario's start, unix seconds (where time axes begin)."""
    return float(model.day0_time)


def epoch_times_s(model) -> np.ndarray:
    """End of each recorded epoch, unix seconds."""
    rec = model.recorder
    return rec.epoch_time_s[: rec.rows]


def epoch_column(model, column: str) -> np.ndarray:
    """One per-epoch result column (e.g. ``"hashrate_ehs"``) over the run so far."""
    rec = model.recorder
    store = rec.epoch_float if column in rec.epoch_float else rec.epoch_int
    return store[column][: rec.rows]


def miner_columns(model, agents: np.ndarray) -> dict[str, np.ndarray]:
    """Per-epoch history of :data:`HISTORY_COLUMNS` summed over ``agents`` (indices: one for a
    miner, several for the fringe as one aggregate), plus ``btc_usd`` (BTC held at each epoch's
    price) and ``capacity_mw`` (its sites: 0 once defaulted)."""
    rec = model.recorder
    agents = np.atleast_1d(agents)
    out = {c: rec.miner_float[c][: rec.rows, agents].sum(axis=1) for c in HISTORY_COLUMNS}
    out["btc_usd"] = out["btc_held"] * epoch_column(model, "btc_price_usd")
    sites = np.where(rec.defaulted[: rec.rows, agents], 0.0, model.capacity_mw[agents])
    out["capacity_mw"] = sites.sum(axis=1)
    return out


def idle_mw(history: dict[str, np.ndarray]) -> np.ndarray:
    """Site capacity neither mining nor leased to AI, MW (0 for the fringe, whose sites have no
    set size: infinite capacity in the model)."""
    idle = history["capacity_mw"] - history["mining_mw"] - history["ai_mw"]
    return np.where(np.isfinite(idle), np.maximum(idle, 0.0), 0.0)


def actions(model, agent: int) -> list[tuple[int, float, str]]:
    """(epoch, time, action) of every epoch in which ``agent`` did more than mine and sell."""
    rec = model.recorder
    codes = rec.action[: rec.rows, agent]
    return [
        (k + 1, float(rec.epoch_time_s[k]), ACTIONS[code])
        for k, code in enumerate(codes)
        if ACTIONS[code] not in QUIET_ACTIONS
    ]


def current_date(model) -> str:
    """The model's date (end of the latest epoch), YYYY-MM-DD."""
    return str(np.datetime64(int(model.time_s), "s").astype("datetime64[D]"))


def days_run(model) -> float:
    return (model.time_s - model.day0_time) / DAY_S


def opening_position(model) -> dict[str, np.ndarray]:
    """Each agent's position before the first epoch, in the recorded columns' units."""
    n, books = model.n, model.books
    shares = books.shares
    quoted = np.zeros(n)
    public = model.spec.miners
    quoted[: len(public)] = public["share_price_usd"].to_numpy(float)
    return {
        "hashrate_ehs": fleet.per_owner(model.fleet, fleet.running_ths(model.fleet), n) / 1e6,
        "mining_mw": fleet.per_owner(model.fleet, fleet.unit_power_mw(model.fleet), n),
        "ai_mw": hosting.committed_mw(model.contracts, n),
        "cash_usd": books.cash_usd.copy(),
        "btc_held": books.btc_held.copy(),
        "debt_usd": debt_by_owner(model.debt, n),
        "market_cap_usd": np.where(model.is_public, quoted * shares, 0.0),
        "share_price_usd": quoted,
    }


def latest_position(model) -> dict[str, np.ndarray]:
    """Each agent's position after the latest epoch (the opening one before the first)."""
    rec = model.recorder
    if rec.rows == 0:
        return opening_position(model)
    last = rec.rows - 1
    return {c: rec.miner_float[c][last] for c in HISTORY_COLUMNS}


def latest_actions(model) -> list[str]:
    rec = model.recorder
    if rec.rows == 0:
        return ["(start)"] * model.n
    return [ACTIONS[c] for c in rec.action[rec.rows - 1]]


def btc_price_now(model) -> float:
    rec = model.recorder
    if rec.rows == 0:
        return float(model.markets.btc_price_usd[0])
    return float(rec.epoch_float["btc_price_usd"][rec.rows - 1])
