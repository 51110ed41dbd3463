"""Every per-agent array of a run in one place, and a read-only view of it.

Agents are rows: index ``i`` is the same miner in every array (public miners first, then the
fringe agents). Tables (fleet units, debt instruments, AI contracts, the fringe's orders) are
:class:`sim.tables.Table` column sets whose ``owner`` column is an agent index. The chain state
(bits, height, time) is the network's. Phases of :mod:`sim.engine.epoch` change the state in
place; everything outside the engine reads it through :func:`view`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from sim import fleet
from sim.expectations import DifficultyTrail
from sim.finance import BalanceSheets, treasury_usd
from sim.fringe import EntryOutlook, Fringe
from sim.tables import Table

if TYPE_CHECKING:
    from sim.engine.record import Recorder


@dataclass
class State:
    """A run's mutable state. Units: USD unless named; days since the start date."""

    names: list[str]  # agent names, by index
    kinds: list[str]  # "public" or "fringe"
    policy_names: np.ndarray  # each agent's policy name ("fringe" for the fringe)
    policy_groups: dict[str, np.ndarray]  # public miners' agent indices by policy name
    is_public: np.ndarray  # bool
    books: BalanceSheets
    capacity_mw: np.ndarray  # powered site capacity, MW (inf for the fringe)
    power_usd_mwh: np.ndarray  # power price, $/MWh
    power_basis: np.ndarray  # opening power price / the market's base price
    contract_end_day: np.ndarray  # end of the power contract, days (inf: none)
    share_price_usd: np.ndarray  # 0 for the fringe and the defaulted
    fleet: Table  # machine units (sim.fleet)
    debt: Table  # debt instruments outstanding (sim.finance)
    scheduled_debt: Table  # instruments issued after the start date, not yet issued
    scheduled_issue_day: list[float]  # their issue days
    contracts: Table  # AI/HPC leases (sim.hosting)
    fringe: Fringe  # the fringe's power supply and machine orders
    bits: int  # compact difficulty target of the coming epoch
    height: int  # block height at the start of the coming epoch
    time_s: float  # unix seconds at the start of the coming epoch
    recorder: Recorder  # the preallocated outputs (sim.engine.record)
    power_factor: float = 1.0  # trailing 30-day market power price / its base
    prev_btc_price: float = 0.0  # BTC price the books last marked BTC at, USD
    prev_eth_price: float = 0.0  # ETH price the books last marked ETH at, USD
    prev_sol_price: float = 0.0  # SOL price the books last marked SOL at, USD
    epoch: int = 0  # epochs recorded
    running: bool = True
    stalled: bool = False
    compacted_units: int = 0  # fleet size after the last compaction
    entry_outlook: EntryOutlook | None = None  # the fringe's last entry outlook
    entry_breakeven_usd_mwh: float = float("nan")
    machine_usd_per_w: float = float("nan")  # a new frontier machine's price, USD per W
    #: The simulated difficulty's recent path for adaptive expectations (sim.expectations).
    difficulty_trail: DifficultyTrail | None = None
    #: One record per default: epoch, date, miner, cause, the unmet USD, the market that day.
    default_events: list[dict] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.names)


def assets_usd(state: State, btc_price: float) -> np.ndarray:
    """Each agent's assets at BTC ``btc_price`` (USD/BTC): cash, BTC, machines at book, AI halls
    in service and under construction, and the ETH/SOL treasury at the prices the books last
    marked it at (``prev_eth_price``, ``prev_sol_price``), USD."""
    b = state.books
    fleet_book = fleet.per_owner(state.fleet, state.fleet.book_usd, state.n)
    treasury = treasury_usd(b, state.prev_eth_price, state.prev_sol_price)
    return b.cash_usd + b.btc_held * btc_price + fleet_book + b.ai_ppe_usd + b.cip_usd + treasury


def listed(state: State) -> np.ndarray:
    """Public miners that have not defaulted (the only agents that raise cash)."""
    return state.is_public & ~state.books.defaulted


def unit_power_usd_mwh(state: State) -> np.ndarray:
    """Power price of every fleet unit, $/MWh: a public miner's contract price, or a fringe
    unit's site price times today's market factor."""
    f = state.fleet
    return np.where(
        state.is_public[f.owner],
        state.power_usd_mwh[f.owner],
        f.site_usd_mwh * state.power_factor,
    )


def compact_if_grown(state: State) -> None:
    """Merge similar units (fleet.compact) once the unit table has doubled since the last
    merge, so the kernel's work stays proportional to the number of agents."""
    if state.fleet.n > 2 * state.compacted_units:
        fleet.compact(state.fleet)
        state.compacted_units = max(state.fleet.n, 4 * state.n)


def _frozen(values) -> np.ndarray:
    a = np.asarray(values).view()
    a.flags.writeable = False
    return a


class TableView:
    """Read-only columns of a table: ``view.fleet.hashrate_ths``; ``columns`` names them."""

    def __init__(self, table: Table):
        self.columns = table.columns
        self.n = table.n
        for name in self.columns:
            setattr(self, name, _frozen(getattr(table, name)))


class StateView:
    """A read-only snapshot of a :class:`State` (arrays with ``writeable=False``).

    Attributes: the balance sheets (``cash_usd``, ``btc_held``, ``eth_held``, ``sol_held``,
    ``ai_ppe_usd``, ``cip_usd``,
    ``shares``, ``equity_usd``, ``defaulted``), the per-agent arrays of :class:`State`, the
    tables (``fleet``, ``debt``, ``scheduled_debt``, ``contracts``, ``fringe_orders``) as
    :class:`TableView`, the chain state (``bits``, ``height``, ``time_s``) and ``n``,
    ``n_public``, ``epoch``, ``names``, ``kinds``. Taken again after each step (it does not
    follow the state's tables as they grow).
    """

    BOOKS = (
        "cash_usd",
        "btc_held",
        "eth_held",
        "sol_held",
        "ai_ppe_usd",
        "cip_usd",
        "shares",
        "equity_usd",
        "defaulted",
    )
    AGENT_ARRAYS = ("capacity_mw", "power_usd_mwh", "contract_end_day", "share_price_usd")
    SCALARS = (
        "power_factor",
        "prev_btc_price",
        "prev_eth_price",
        "prev_sol_price",
        "bits",
        "height",
        "time_s",
        "epoch",
    )
    TABLES = ("fleet", "debt", "contracts", "scheduled_debt", "fringe_orders")

    def __init__(self, state: State):
        s = state
        for name in self.BOOKS:
            setattr(self, name, _frozen(getattr(s.books, name)))
        for name in self.AGENT_ARRAYS:
            setattr(self, name, _frozen(getattr(s, name)))
        for name in self.SCALARS:
            setattr(self, name, getattr(s, name))
        self.fleet, self.debt = TableView(s.fleet), TableView(s.debt)
        self.contracts, self.scheduled_debt = TableView(s.contracts), TableView(s.scheduled_debt)
        self.fringe_orders = TableView(s.fringe.orders)
        self.fringe_capacity_mw = _frozen(s.fringe.capacity_mw)
        self.is_public = _frozen(s.is_public)
        self.n, self.n_public = s.n, int(np.count_nonzero(s.is_public))
        self.names, self.kinds = tuple(s.names), tuple(s.kinds)
        self.running, self.stalled = s.running, s.stalled

    def arrays(self) -> MappingProxyType:
        """Every array of the view by a flat key (``books.cash_usd``, ``fleet.owner``, ...)."""
        out = {f"books.{name}": getattr(self, name) for name in self.BOOKS}
        out.update({name: getattr(self, name) for name in self.AGENT_ARRAYS})
        out.update({name: _frozen(getattr(self, name)) for name in self.SCALARS})
        for table_name in self.TABLES:
            table = getattr(self, table_name)
            out.update({f"{table_name}.{c}": getattr(table, c) for c in table.columns})
        out["fringe_capacity_mw"] = self.fringe_capacity_mw
        return MappingProxyType(out)


def view(state: State) -> StateView:
    """A read-only view of ``state`` (see :class:`StateView`)."""
    return StateView(state)


__all__ = [
    "State",
    "StateView",
    "TableView",
    "assets_usd",
    "compact_if_grown",
    "listed",
    "unit_power_usd_mwh",
    "view",
]
