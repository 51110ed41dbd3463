"""What the page shows, read from the model's recorded results (``model.recorder``, columns
named as in :mod:`sim.results`) and, before the first epoch, from the opening position in the
read-only view of the engine's state (``model.view``).

This is the page's only reader of the model: if the recorder moves, only this module changes.
"""

from __future__ import annotations

import numpy as np

from sim import fleet, hosting
from sim.finance import debt_by_owner
from sim.results import ACTIONS

#: Per-miner columns of a history (USD, BTC, ETH, SOL, EH/s, MW, USD per share).
HISTORY_COLUMNS = (
    "cash_usd",
    "btc_held",
    "debt_usd",
    "market_cap_usd",
    "hashrate_ehs",
    "mining_mw",
    "ai_mw",
    "share_price_usd",
    "eth_held",
    "sol_held",
    "treasury_usd",
)
#: Actions not marked on a miner's time axis (what it does in most epochs).
QUIET_ACTIONS = frozenset({"mine", "sell_btc", "idle", "defaulted"})


class RunView:
    """The model with its epoch fixed when the page starts drawing (other attributes are the
    model's), so that every reader below uses the same number of epochs while Play steps the
    model in another thread."""

    def __init__(self, model):
        self.model = model
        self.epoch = model.epoch

    def __getattr__(self, name: str):
        return getattr(self.model, name)


def n_epochs(model) -> int:
    """Epochs recorded in full: the recorder counts a row as soon as it starts writing it, the
    model its epoch once the row is written, so ``model.epoch`` rows are never half-written."""
    return min(model.epoch, model.recorder.rows)


def start_s(model) -> float:
    """The scenario's start, unix seconds (where time axes begin)."""
    return float(model.params.day0_time)


def epoch_times_s(model) -> np.ndarray:
    """End of each recorded epoch, unix seconds."""
    rec = model.recorder
    return rec.epoch_time_s[: n_epochs(model)]


def epoch_column(model, column: str) -> np.ndarray:
    """One per-epoch result column (e.g. ``"hashrate_ehs"``) over the run so far."""
    rec = model.recorder
    store = rec.epoch_float if column in rec.epoch_float else rec.epoch_int
    return store[column][: n_epochs(model)]


def miner_columns(model, agents: np.ndarray) -> dict[str, np.ndarray]:
    """Per-epoch history of :data:`HISTORY_COLUMNS` summed over ``agents`` (indices: one for a
    miner, several for the fringe as one aggregate), plus ``btc_usd`` (BTC held at each epoch's
    price) and ``capacity_mw`` (its sites: 0 once defaulted)."""
    rec, rows = model.recorder, n_epochs(model)
    agents = np.atleast_1d(agents)
    out = {c: rec.miner_float[c][:rows, agents].sum(axis=1) for c in HISTORY_COLUMNS}
    out["btc_usd"] = out["btc_held"] * epoch_column(model, "btc_price_usd")
    sites = np.where(rec.defaulted[:rows, agents], 0.0, model.view.capacity_mw[agents])
    out["capacity_mw"] = sites.sum(axis=1)
    return out


def idle_mw(history: dict[str, np.ndarray]) -> np.ndarray:
    """Site capacity neither mining nor leased to AI, MW (0 for the fringe, whose sites have no
    set size: infinite capacity in the model)."""
    idle = history["capacity_mw"] - history["mining_mw"] - history["ai_mw"]
    return np.where(np.isfinite(idle), np.maximum(idle, 0.0), 0.0)


def actions(model, agent: int) -> list[tuple[int, int, float, str]]:
    """(first epoch, last epoch, time of the first, action) of each spell of epochs in which
    ``agent`` did the same thing, other than just mining and selling (a run of 30 epochs
    converting to AI is one mark, not 30)."""
    rec = model.recorder
    codes = rec.action[: n_epochs(model), agent]
    spells = []
    for k, code in enumerate(codes):
        action = ACTIONS[code]
        if spells and spells[-1][3] == action and spells[-1][1] == k:  # continues a spell
            first, _, t, _ = spells[-1]
            spells[-1] = (first, k + 1, t, action)
        elif action not in QUIET_ACTIONS:
            spells.append((k + 1, k + 1, float(rec.epoch_time_s[k]), action))
    return spells


def current_date(model) -> str:
    """The date the page has reached (end of the latest recorded epoch), YYYY-MM-DD."""
    return epoch_date(model, n_epochs(model))


def epoch_date(model, epoch: int) -> str:
    """The end of epoch ``epoch`` (1 = the first; 0: the start), YYYY-MM-DD."""
    t = model.recorder.epoch_time_s[epoch - 1] if epoch else model.params.day0_time
    return str(np.datetime64(int(t), "s").astype("datetime64[D]"))


def decisions_of(model, epoch: int):
    """The policies' decisions (reasons included) in epoch ``epoch`` (1 = the first), as the
    model kept them while it explained (``model.decisions_at``); None before the first epoch
    or for an epoch stepped without reasons."""
    if epoch < 1:
        return None
    kept = model.decisions_at.get(epoch - 1)
    return kept[1] if kept is not None else None


def defaulted_in(model, agent: int, epoch: int) -> bool:
    """Whether ``agent`` had defaulted by the end of ``epoch`` (1 = the first)."""
    return epoch >= 1 and bool(model.recorder.defaulted[epoch - 1, agent])


def opening_position(model) -> dict[str, np.ndarray]:
    """Each agent's position before the first epoch, in the recorded columns' units."""
    n, v = model.n, model.view
    shares = v.shares
    quoted = np.zeros(n)
    public = model.spec.miners
    quoted[: len(public)] = public["share_price_usd"].to_numpy(float)
    return {
        "hashrate_ehs": fleet.per_owner(v.fleet, fleet.running_ths(v.fleet), n) / 1e6,
        "mining_mw": fleet.per_owner(v.fleet, fleet.unit_power_mw(v.fleet), n),
        "ai_mw": hosting.committed_mw(v.contracts, n),
        "cash_usd": v.cash_usd.copy(),
        "btc_held": v.btc_held.copy(),
        "debt_usd": debt_by_owner(v.debt, n),
        "market_cap_usd": np.where(v.is_public, quoted * shares, 0.0),
        "share_price_usd": quoted,
        "eth_held": v.eth_held.copy(),
        "sol_held": v.sol_held.copy(),
        "treasury_usd": v.eth_held * v.prev_eth_price + v.sol_held * v.prev_sol_price,
    }


def latest_position(model) -> dict[str, np.ndarray]:
    """Each agent's position after the latest epoch (the opening one before the first)."""
    rows = n_epochs(model)
    if rows == 0:
        return opening_position(model)
    return {c: model.recorder.miner_float[c][rows - 1] for c in HISTORY_COLUMNS}


def latest_actions(model) -> list[str]:
    rows = n_epochs(model)
    if rows == 0:
        return ["(start)"] * model.n
    return [ACTIONS[c] for c in model.recorder.action[rows - 1]]


def btc_price_now(model) -> float:
    rows = n_epochs(model)
    if rows == 0:
        return float(model.world.markets.btc_price_usd[0])
    return float(model.recorder.epoch_float["btc_price_usd"][rows - 1])
