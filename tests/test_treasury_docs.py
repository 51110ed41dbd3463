"""The treasury examples in docs/treasury.md and scenarios/README.md load as scenarios and set
what they say (a document that drifts from the schema fails here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.input.scenario import load_scenario
from sim.paths import SCENARIOS_DIR

ROOT = Path(__file__).resolve().parents[1]


def treasury_block(path: Path) -> str:
    """The first TOML block of the document that sets ``[policy.treasury]``."""
    blocks = re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)
    return next(block for block in blocks if "[policy.treasury" in block)


@pytest.mark.parametrize("doc", ["docs/treasury.md", "scenarios/README.md"])
def test_the_documented_treasury_example_loads_with_both_rules(doc, tmp_path):
    text = treasury_block(ROOT / doc).replace(
        'extends = "baseline.toml"', f'extends = "{(SCENARIOS_DIR / "baseline.toml").as_posix()}"'
    )
    path = tmp_path / "example.toml"
    path.write_text(text, encoding="utf-8")
    treasury = load_scenario(path).config.policy.treasury
    hut8, bitfarms = treasury.rule_for("Hut 8"), treasury.rule_for("Bitfarms")
    assert hut8.mined_share == 1.0 and hut8.cash_share == 0.0 and hut8.eth_weight == 0.6
    assert bitfarms.cash_share == 0.25 and bitfarms.cash_floor_usd == 100e6
    assert bitfarms.mined_share == 0.0 and treasury.rule_for("MARA").cash_share == 0.0
