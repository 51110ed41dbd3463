"""The policies' reasons as a table: one row per agent and epoch (``RunResult.reasons``).

Filled only when asked (``sim.run(..., reasons=True)``, or ``MiningModel.explain_decisions``
switched on while stepping), since computing the reasons costs time that batches do not spend.
Columns: ``epoch``, ``date``, ``miner_id``, ``name``, ``kind``, ``action`` (the action recorded
for the epoch, as in ``RunResult.miners``), ``why`` (the decision in the words of the policy's
rule, :meth:`sim.policies.Decisions.explain`), the proposals (``sell_btc``, BTC; ``buy_ths``,
TH/s; ``convert_mw``, MW) and every figure of :class:`sim.policies.Reasons` (``may_borrow`` among them)
(units in its field comments: USD per MW-year, USD per TH/s per day, days, J/TH, ...).
"""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from sim.engine.record import ACTIONS, Recorder
from sim.policies import Decisions, Reasons

#: The proposal columns, in the table's order.
PROPOSALS = ("sell_btc", "buy_ths", "convert_mw")
#: Every column of the table, in order.
REASON_COLUMNS = (
    "epoch",
    "date",
    "miner_id",
    "name",
    "kind",
    "action",
    "why",
    *PROPOSALS,
    *(f.name for f in fields(Reasons)),
)


def epoch_reasons(rec: Recorder, decisions: Decisions, row: int) -> pd.DataFrame:
    """The reasons of the epoch recorded in row ``row`` of ``rec``, one row per agent;
    ``decisions`` (that epoch's) must carry reasons (made with ``explain=True``)."""
    n = rec.n_agents
    data = {
        "epoch": int(rec.epoch_int["epoch"][row]),
        "date": pd.to_datetime(rec.epoch_time_s[row], unit="s").normalize(),
        "miner_id": rec.ids,
        "name": rec.names,
        "kind": rec.kinds,
        "action": [ACTIONS[code] for code in rec.action[row]],
        "why": [decisions.explain(i) for i in range(n)],
    }
    data.update({p: getattr(decisions, p) for p in PROPOSALS})
    data.update({f.name: getattr(decisions.reasons, f.name) for f in fields(Reasons)})
    return pd.DataFrame(data, columns=list(REASON_COLUMNS))


def reasons_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The epochs' reasons in one table (an empty one with the columns if there are none)."""
    if not frames:
        return pd.DataFrame(columns=list(REASON_COLUMNS))
    return pd.concat(frames, ignore_index=True)


__all__ = ["PROPOSALS", "REASON_COLUMNS", "epoch_reasons", "reasons_table"]
