"""The UI's miners table shows each miner's ETH/SOL treasury (no browser needed)."""

from __future__ import annotations

import re

from sim.model import MiningModel
from sim.ui import charts

TREASURY = {"policy.treasury.mined_share": 0.5, "scenario.end_date": "2026-06-30"}


def table(model) -> tuple[list[str], list[list[str]]]:
    """(column headings, cells of each public miner's row) of the page's miners table."""
    page = charts.miners_table_html(model, 0)
    heads = [re.sub(r"<br>", " ", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", page)]
    body = page.split("<tbody>")[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body)[:-1]  # the last row is the fringe
    return heads, [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]


def test_the_miners_table_shows_the_treasury_mix_as_recorded():
    model = MiningModel("demo", seed=1, overrides=TREASURY)
    heads, cells = table(model)
    col = {name: heads.index(name) for name in ("ETH k ETH", "SOL k SOL", "Treasury $m")}
    assert all(row[col["Treasury $m"]] == "0" for row in cells)  # none before the first epoch
    for _ in range(3):
        model.step()
    _, cells = table(model)
    miners = model.result().miners
    last = miners[(miners["epoch"] == miners["epoch"].max()) & (miners["kind"] == "public")]
    assert (last["treasury_usd"] > 0).all()
    for row, (_, miner) in zip(cells, last.iterrows(), strict=True):
        assert row[0].startswith(miner["name"])
        assert row[col["ETH k ETH"]] == f"{miner['eth_held'] / 1e3:,.1f}"
        assert row[col["SOL k SOL"]] == f"{miner['sol_held'] / 1e3:,.1f}"
        assert row[col["Treasury $m"]] == f"{miner['treasury_usd'] / 1e6:,.0f}"


def test_the_fringe_row_has_a_cell_under_every_heading():
    model = MiningModel("demo", seed=1, overrides=TREASURY)
    model.step()
    page = charts.miners_table_html(model, 0)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page.split("<tbody>")[1])
    assert all(len(re.findall(r"<td", row)) == len(charts.HEADERS) for row in rows)
