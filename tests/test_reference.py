"""The parameter reference (issue 26): generated from the schema and the assumptions table, as
``minersim params [SECTION]`` and docs/parameters.md, which must be current."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.input.assumptions import DEFAULTS, default_fields
from sim.input.reference import DOCS_PAGE, REQUIRED, markdown, parameters, sections


def test_docs_parameters_md_is_the_generated_page():
    assert DOCS_PAGE.read_text(encoding="utf-8") == markdown() + "\n", (
        "docs/parameters.md is out of date: run `.venv/bin/python -m sim.input.reference --write`"
    )


def test_every_key_with_a_default_is_listed_with_its_status_and_source():
    rows = {r["key"]: r for r in parameters()}
    for key in default_fields():
        status, basis = DEFAULTS[key]
        assert rows[key]["status"] == status and rows[key]["source or basis"] == basis
    assert rows["scenario.start_date"]["status"] == REQUIRED
    assert rows["chain.height"]["bounds"] == ">= 0, <= 6,929,999"


@pytest.mark.parametrize(
    ("key", "unit", "default", "bounds"),
    [
        ("market.btc.volatility", "1/√year (log)", "0.5", ">= 0, <= 5"),
        ("market.ai.lease_usd_per_mw_year", "USD/MW-year", "1.8e+06", "> 0, <= 1e+08"),
        (
            "market.btc.process",
            "",
            "gbm",
            "one of gbm, jump_diffusion, regime_switching, replay, piecewise",
        ),
        ("market.eth.correlation_btc", "correlation", "0.8", ">= -1, <= 1"),
        ("miners.curtailment", "true/false", "True", ""),
    ],
)
def test_units_defaults_and_bounds_come_from_the_schema(key, unit, default, bounds):
    row = next(r for r in parameters() if r["key"] == key)
    assert (row["unit"], row["default"], row["bounds"]) == (unit, default, bounds)


def test_params_command_prints_a_section(capsys):
    assert main(["params", "market.btc"]) == 0
    out = capsys.readouterr().out
    assert "market.btc.volatility" in out and "market.eth" not in out
    assert "basis: 0.5 a year" in out


def test_params_command_names_the_sections_of_an_unknown_one(capsys):
    assert main(["params", "markets"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no section 'markets'" in err and "market.btc" in err
    assert "fringe.classes" in sections()
