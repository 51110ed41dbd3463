"""The epoch engine's structure: no Mesa on the run path, imports kept to numpy and numba,
phases of one signature, a read-only state view, and MiningModel equal to ``sim.run``."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.engine.epoch import PHASES
from sim.model import COLLECTED_COLUMNS, MiningModel
from sim.results import EPOCH_COLUMNS

ENGINE_DIR = Path(sim.__file__).parent / "engine"
SHORT = {"scenario.end_date": "2026-01-15"}
#: sim modules the engine uses at run time; none may import these at module level either.
ENGINE_DEPENDENCIES = ("consensus", "finance", "fleet", "fringe", "hardware", "hosting",
                       "kernel", "lifecycle", "markets", "policies", "tables", "units",
                       "valuation")  # fmt: skip
FORBIDDEN = {"mesa", "pandas", "pydantic", "solara"}


def runtime_imports(path: Path) -> set[str]:
    """Top-level package names a module imports when it runs (not under TYPE_CHECKING, not
    inside functions)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "path",
    [
        *sorted(ENGINE_DIR.glob("*.py")),
        *(ENGINE_DIR.parent / f"{m}.py" for m in ENGINE_DEPENDENCIES),
    ],
    ids=lambda p: p.stem,
)
def test_engine_imports_no_mesa_pandas_or_pydantic(path):
    assert not runtime_imports(path) & FORBIDDEN


def test_sim_run_does_not_import_mesa():
    code = (
        "import sys, sim\n"
        f"result = sim.run('demo', seed=1, overrides={SHORT!r})\n"
        "assert len(result.epochs) > 0\n"
        "print(sorted(m for m in sys.modules if m == 'mesa' or m.startswith('mesa.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_phase_takes_params_state_world_scratch():
    for phase in PHASES:
        assert list(inspect.signature(phase).parameters) == ["params", "state", "world", "scratch"]


def test_the_state_view_is_read_only():
    model = MiningModel("demo", seed=0, overrides=SHORT)
    model.step()
    v = model.view
    arrays = v.arrays()
    assert {"books.cash_usd", "fleet.owner", "debt.principal_usd", "bits"} <= set(arrays)
    for key, array in arrays.items():
        assert not array.flags.writeable, key
    with pytest.raises(ValueError, match="read-only"):
        v.cash_usd[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        v.fleet.hashrate_ths[:] = 0.0
    np.testing.assert_array_equal(v.cash_usd, model.state.books.cash_usd)


def test_mining_model_matches_sim_run_and_collects_result_columns():
    model = MiningModel("demo", seed=4, overrides=SHORT)
    while model.running:
        model.step()
    by_model, by_run = model.result(), sim.run("demo", seed=4, overrides=SHORT)
    assert by_model.epochs.equals(by_run.epochs)
    assert by_model.miners.equals(by_run.miners)
    collected = model.datacollector.get_model_vars_dataframe()
    assert set(COLLECTED_COLUMNS) <= set(EPOCH_COLUMNS)
    assert list(collected.columns) == list(COLLECTED_COLUMNS)
    for column in COLLECTED_COLUMNS:
        np.testing.assert_array_equal(collected[column].to_numpy(), by_run.epochs[column])


def test_agents_are_views_onto_state_rows():
    model = MiningModel("demo", seed=2, overrides=SHORT)
    model.step()
    cash = model.view.cash_usd
    for agent in model.miner_agents:
        assert agent.cash_usd == cash[agent.index]
        assert agent.name == model.view.names[agent.index]
        assert agent.unique_id == model.state.recorder.ids[agent.index]  # the miner_id column
