"""The output contract (column names and units) and the recorder that fills it.

Per epoch and per agent values are written into preallocated arrays during a run and turned
into DataFrames once at the end, never inside the loop. Column names are a public contract
(DESIGN.md §4): other tools depend on them; extra columns may be added, none renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EPOCH_COLUMNS = (
    "epoch",
    "date",
    "height",
    "bits",
    "difficulty",
    "hashrate_ehs",
    "epoch_days",
    "btc_price_usd",
    "subsidy_btc",
    "fees_btc",
    "hashprice_usd_per_ph_day",
    "network_power_mw",
    "network_efficiency_j_per_th",
    "cost_to_mine_cash_usd",
    "cost_to_mine_allin_usd",
    "mining_capacity_mw",
    "ai_capacity_mw",
    "total_debt_usd",
    "miners_active",
    "miners_defaulted",
)

MINER_COLUMNS = (
    "epoch",
    "date",
    "miner_id",
    "name",
    "kind",
    "hashrate_ehs",
    "btc_mined",
    "btc_held",
    "cash_usd",
    "debt_usd",
    "book_equity_usd",
    "market_cap_usd",
    "mining_mw",
    "ai_mw",
    "power_price_usd_mwh",
    "action",
    "defaulted",
)

#: Extra per-agent columns (beyond the contract) used by invariant tests and experiments.
MINER_EXTRA_COLUMNS = (
    "assets_usd",
    "liabilities_usd",
    "revenue_usd",
    "power_cost_usd",
    "ai_noi_usd",
    "share_price_usd",
)

#: Actions, most significant first: an agent's ``action`` in an epoch is the first that applies.
ACTIONS = (
    "default",
    "sell_assets",  # a distressed sale of machines, AI halls or sites (the financing waterfall)
    "convert_ai",
    "buy_asics",
    "borrow",
    "issue_equity",
    "sell_btc",
    "mine",
    "idle",
    "defaulted",
)

_EPOCH_FLOAT = [
    c
    for c in EPOCH_COLUMNS
    if c not in ("epoch", "date", "height", "bits", "miners_active", "miners_defaulted")
]
_MINER_FLOAT = [
    c
    for c in MINER_COLUMNS + MINER_EXTRA_COLUMNS
    if c not in ("epoch", "date", "miner_id", "name", "kind", "action", "defaulted")
]


@dataclass
class RunResult:
    """One run: ``epochs`` (one row per epoch) and ``miners`` (one row per agent per epoch)."""

    epochs: pd.DataFrame
    miners: pd.DataFrame
    scenario_name: str = ""
    seed: int = 0
    scenario_hash: str = ""
    meta: dict = field(default_factory=dict)


class Recorder:
    """Preallocated per-epoch storage; grows by doubling if a run has more epochs than expected."""

    def __init__(self, n_agents: int, expected_epochs: int, names, kinds, ids):
        self.n_agents = n_agents
        self.rows = 0
        self._cap = max(expected_epochs, 4)
        self.names = np.asarray(names, dtype=object)
        self.kinds = np.asarray(kinds, dtype=object)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.epoch_float = {c: np.zeros(self._cap) for c in _EPOCH_FLOAT}
        self.epoch_int = {
            c: np.zeros(self._cap, np.int64)
            for c in ("epoch", "height", "bits", "miners_active", "miners_defaulted")
        }
        self.epoch_time_s = np.zeros(self._cap)
        self.miner_float = {c: np.zeros((self._cap, n_agents)) for c in _MINER_FLOAT}
        self.action = np.zeros((self._cap, n_agents), np.int8)
        self.defaulted = np.zeros((self._cap, n_agents), bool)

    def new_row(self) -> int:
        if self.rows == self._cap:
            self._grow()
        self.rows += 1
        return self.rows - 1

    def latest(self, column: str) -> float:
        """Most recent value of an epoch column (for Mesa's DataCollector and the UI)."""
        if self.rows == 0:
            return float("nan")
        store = self.epoch_float if column in self.epoch_float else self.epoch_int
        return store[column][self.rows - 1].item()

    def _grow(self) -> None:
        def grow(a):
            out = np.zeros((2 * a.shape[0], *a.shape[1:]), a.dtype)
            out[: a.shape[0]] = a
            return out

        for store in (self.epoch_float, self.epoch_int, self.miner_float):
            for k in store:
                store[k] = grow(store[k])
        self.epoch_time_s = grow(self.epoch_time_s)
        self.action = grow(self.action)
        self.defaulted = grow(self.defaulted)
        self._cap *= 2

    def epochs_frame(self) -> pd.DataFrame:
        r = self.rows
        data = {c: self.epoch_int[c][:r] for c in self.epoch_int}
        data.update({c: self.epoch_float[c][:r] for c in self.epoch_float})
        data["date"] = _dates(self.epoch_time_s[:r])
        return pd.DataFrame(data, columns=list(EPOCH_COLUMNS))

    def miners_frame(self) -> pd.DataFrame:
        r, n = self.rows, self.n_agents
        data = {
            "epoch": np.repeat(self.epoch_int["epoch"][:r], n),
            "date": np.repeat(_dates(self.epoch_time_s[:r]), n),
            "miner_id": np.tile(self.ids, r),
            "name": np.tile(self.names, r),
            "kind": np.tile(self.kinds, r),
            "action": pd.Categorical.from_codes(self.action[:r].ravel(), categories=list(ACTIONS)),
            "defaulted": self.defaulted[:r].ravel(),
        }
        data.update({c: self.miner_float[c][:r].ravel() for c in self.miner_float})
        return pd.DataFrame(data, columns=list(MINER_COLUMNS + MINER_EXTRA_COLUMNS))


def _dates(unix_s: np.ndarray) -> np.ndarray:
    return pd.to_datetime(unix_s, unit="s").normalize().to_numpy()
