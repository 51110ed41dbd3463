"""Checks of a validated scenario that catch unit mistakes and runs that cannot fit in memory.

Unit checks go by the unit in a field's or column's name (``*_usd_mwh``, ``*_jth``), so a field
added to the schema later is checked too. Each names the likely mistake:

* a power price below 1 $/MWh is almost surely a $/kWh figure (0.043 $/kWh = 43 $/MWh);
* an efficiency below 0.1 J/TH is almost surely a J/GH figure (0.0175 J/GH = 17.5 J/TH);
* a starting difficulty about 1,000 or 1,000,000 times off the fleets' hashrate points at PH/s
  or TH/s written where EH/s are expected; about 10^12 off at a difficulty written in T.

Memory: one run keeps a row per agent per epoch; :func:`check_fits_in_memory` refuses a scenario
whose estimate exceeds half the memory of this machine (or of its cgroup), with the figures.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas
from pydantic import BaseModel

from sim import consensus
from sim.errors import ScenarioError
from sim.input.schema import ScenarioConfig
from sim.input.tables import Table


@dataclass(frozen=True)
class UnitRule:
    """Values of fields named ``*{suffix}`` must be >= ``low`` (or 0); ``hint`` names the likely
    mistake, with ``{value}`` and ``{fixed}`` (the value times ``factor``)."""

    suffix: str
    low: float
    factor: float
    hint: str


UNIT_RULES = (
    UnitRule(
        "_usd_mwh",
        1.0,
        1000.0,
        "{value:g} $/MWh is below 1 $/MWh: a $/kWh figure? {value:g} $/kWh = {fixed:g} $/MWh",
    ),
    UnitRule(
        "_jth",
        0.1,
        1000.0,
        "{value:g} J/TH is below 0.1 J/TH: a J/GH figure? {value:g} J/GH = {fixed:g} J/TH",
    ),
)

#: How far the starting difficulty may sit from the one the fleets' hashrate implies.
MAX_DIFFICULTY_MISMATCH = 100.0
#: Ratios (given / implied difficulty) that point at a unit mistake, with the mistake.
UNIT_MISTAKES = (
    (1e-3, "a hashrate in PH/s written as EH/s (1 EH/s = 1,000 PH/s)?"),
    (1e-6, "a hashrate in TH/s written as EH/s (1 EH/s = 1,000,000 TH/s)?"),
    (1e-12, "a difficulty written in T (trillions)? 143.47 T is difficulty = 143.47e12"),
)

#: Memory of one agent-epoch of a run (the recorder's rows and the tables built from them),
#: bytes: ~210 B of recorded arrays and ~190 B of DataFrame per row (measured on the baseline,
#: 13,600 rows), with room for the copies made while building the tables.
BYTES_PER_AGENT_EPOCH = 600
#: Epochs are about two weeks; a network that grows makes them shorter.
DAYS_PER_EPOCH_ESTIMATE = 12.0
#: Share of this machine's memory one run may take.
MEMORY_SHARE = 0.5


def check_units(config: ScenarioConfig, tables: Iterable[Table], origin: str) -> None:
    """Unit sanity of every ``*_usd_mwh`` / ``*_jth`` value in the config and the tables."""
    for key, value in _config_values(config):
        for rule in UNIT_RULES:
            if key.endswith(rule.suffix) and 0 < value < rule.low:
                raise ScenarioError(_hint(rule, value), file=origin, key=key)
    for table in tables:
        for column in table.frame.columns:
            for rule in UNIT_RULES:
                if not column.endswith(rule.suffix):
                    continue
                values = table.frame[column].to_numpy(dtype=float)
                low = (values > 0) & (values < rule.low)
                if low.any():
                    row = int(low.argmax())
                    raise ScenarioError(
                        _hint(rule, float(values[row])),
                        file=table.shown,
                        key=f"line {table.lines[row]}, column {column}",
                    )


#: Hints for values above a field's bound, by the unit at the end of its name.
BOUND_HINTS = {
    "_ehs": "a TH/s or PH/s figure written as EH/s? 1 EH/s = 1,000 PH/s = 1,000,000 TH/s",
}


def bound_hint(name: str) -> str:
    """``"; <hint>"`` for a value above the bound of a field or column named ``name``."""
    for suffix, hint in BOUND_HINTS.items():
        if str(name).endswith(suffix):
            return f"; {hint}"
    return ""


def _hint(rule: UnitRule, value: float) -> str:
    return rule.hint.format(value=value, fixed=value * rule.factor)


def _config_values(node: object, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(dotted key, number) for every numeric leaf of a config, list items by index."""
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _config_values(getattr(node, name), f"{prefix}{name}.")
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            yield from _config_values(item, f"{prefix}{index}.")
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield prefix.rstrip("."), float(node)


def check_chain_matches_fleet(config: ScenarioConfig, miners: pandas.DataFrame, where: str) -> None:
    """The starting difficulty must roughly match the hashrate of the fleets.

    At 600 s blocks, hashrate H (H/s) implies difficulty H * 600 / 2**32. A difficulty far from
    it means epochs of seconds or of centuries, which no calibration intends.
    """
    ehs = float(miners["hashrate_ehs"].sum()) + sum(c.hashrate_ehs for c in config.fringe.classes)
    if ehs <= 0:
        raise ScenarioError(
            "the miners and fringe classes have no hashrate at all", file=where, key="chain"
        )
    implied = ehs * 1e18 * 600 / 2**32
    chain = config.chain
    given = consensus.bits_to_difficulty(chain.bits) if chain.bits is not None else chain.difficulty
    ratio = given / implied
    if 1 / MAX_DIFFICULTY_MISMATCH <= ratio <= MAX_DIFFICULTY_MISMATCH:
        return
    # PH/s written as EH/s makes the implied difficulty 1,000x too large: a ratio near 1e-3.
    mistakes = [text for scale, text in UNIT_MISTAKES if abs(math.log10(ratio / scale)) < 1]
    raise ScenarioError(
        f"starting difficulty {given:.4g} is {ratio:.3g} times the {implied:.4g} that the "
        f"fleets' {ehs:,.1f} EH/s imply at 600 s blocks (allowed: 1/{MAX_DIFFICULTY_MISMATCH:g} "
        f"to {MAX_DIFFICULTY_MISMATCH:g} times)" + (f"; {mistakes[0]}" if mistakes else ""),
        file=where,
        key="chain",
    )


def machine_memory_bytes() -> int | None:
    """Physical memory of this machine, or the cgroup's limit when lower (None if unknown)."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        total = None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and (total is None or int(text) < total):
            total = int(text)
    return total


def estimated_run_bytes(config: ScenarioConfig, public_miners: int) -> tuple[int, int, int]:
    """(agents, epochs, bytes): an estimate of one run's per-agent tables."""
    agents = public_miners + sum(c.agents for c in config.fringe.classes)
    days = (config.scenario.end_date - config.scenario.start_date).days
    epochs = max(1, math.ceil(days / DAYS_PER_EPOCH_ESTIMATE))
    return agents, epochs, agents * epochs * BYTES_PER_AGENT_EPOCH


def check_fits_in_memory(config: ScenarioConfig, public_miners: int, where: str) -> None:
    """Refuse a scenario whose run would need more than MEMORY_SHARE of this machine."""
    memory = machine_memory_bytes()
    agents, epochs, need = estimated_run_bytes(config, public_miners)
    if memory is None or need <= MEMORY_SHARE * memory:
        return
    raise ScenarioError(
        f"{agents:,} agents over ~{epochs:,} epochs need about {need / 1e9:,.1f} GB for the "
        f"per-agent tables ({BYTES_PER_AGENT_EPOCH} bytes per agent per epoch); this machine "
        f"has {memory / 1e9:,.1f} GB and one run may use half: use fewer fringe agents "
        "(fringe.classes.N.agents) or a shorter horizon",
        file=where,
        key="fringe.classes",
    )


__all__ = [
    "check_chain_matches_fleet",
    "check_fits_in_memory",
    "check_units",
    "estimated_run_bytes",
    "machine_memory_bytes",
]
