"""The page's charts, miners' table and reasons panel, as HTML/SVG strings (no Solara here).

Network charts show the run (and, dashed, a run compared with it); a miner's history shows one
public miner or the fringe as one aggregate, its actions marked on the time axis. Everything is
read from the recorded results (:mod:`sim.ui.data`) and from the policy's own reasons
(``model.last_decisions``): the page recomputes nothing.
"""

from __future__ import annotations

import html
import math

import numpy as np

from sim.ui import data
from sim.ui.params import POLICY_KEY, SLIDERS, config_value, slider_value
from sim.ui.svg import Marker, Series, line_chart
from sim.units import HASHPRICE_UNIT

FRINGE = "fringe"
COLORS = {
    "hashrate": "#1f77b4",
    "price": "#222222",
    "cash": "#2ca02c",
    "allin": "#d62728",
    "hashprice": "#9467bd",
    "debt": "#8c564b",
    "mining": "#ff7f0e",
    "ai": "#17becf",
    "idle": "#c7c7c7",
    "btc": "#e6b800",
    "mcap": "#7f7f7f",
    "share": "#1f77b4",
}
ACTION_COLORS = {
    "default": "#b71c1c",
    "sell_assets": "#e65100",
    "convert_ai": "#00838f",
    "buy_asics": "#2e7d32",
    "borrow": "#6d4c41",
    "issue_equity": "#6a1b9a",
}


def _chart(model, name, title, unit, series, **kw) -> str:
    return line_chart(
        name, title, unit, data.epoch_times_s(model), series, start_s=data.start_s(model), **kw
    )


def _compared(model, other, column: str, label: str, color: str) -> list[Series]:
    """A network series of this run and, dashed, of the compared run."""
    out = [Series(label, data.epoch_column(model, column), color)]
    if other is not None:
        label = f"{label} ({compare_label(other)})"
        out.append(Series(label, data.epoch_column(other, column), color, dashed=True))
    return out


def compare_label(other) -> str:
    """How the compared run is named on the page."""
    return f"seed {other.seed}"


def network_charts(model, other=None) -> list[str]:
    """Hashrate, BTC price against the cost to mine, hashprice, capacity split and debt."""
    c = COLORS
    price = _compared(model, other, "btc_price_usd", "BTC price", c["price"])
    price += [
        Series("Cash cost", data.epoch_column(model, "cost_to_mine_cash_usd"), c["cash"]),
        Series("All-in cost", data.epoch_column(model, "cost_to_mine_allin_usd"), c["allin"]),
    ]
    capacity = _compared(model, other, "mining_capacity_mw", "Mining", c["mining"])
    capacity += _compared(model, other, "ai_capacity_mw", "AI / HPC", c["ai"])
    return [
        _chart(
            model,
            "hashrate",
            "Network hashrate",
            "EH/s",
            _compared(model, other, "hashrate_ehs", "Hashrate", c["hashrate"]),
        ),
        _chart(model, "price", "BTC price against cost to mine", "USD per BTC", price),
        _chart(
            model,
            "hashprice",
            "Hashprice",
            HASHPRICE_UNIT,
            _compared(model, other, "hashprice_usd_per_ph_day", "Hashprice", c["hashprice"]),
        ),
        _chart(model, "capacity", "Mining against AI capacity", "MW", capacity),
        _chart(
            model,
            "debt",
            "Public miners' debt",
            "USD",
            _compared(model, other, "total_debt_usd", "Debt", c["debt"]),
        ),
    ]


def selection_agents(model, selection) -> np.ndarray:
    """Agent indices of a selection: one public miner, or every fringe agent."""
    if selection == FRINGE:
        return np.flatnonzero(~model.view.is_public)
    return np.array([int(selection)])


def selection_name(model, selection) -> str:
    if selection == FRINGE:
        return f"Fringe ({int((~model.view.is_public).sum())} agents, as one)"
    return model.miner_agents[int(selection)].name


def _markers(model, selection) -> list[Marker]:
    if selection == FRINGE:
        return []
    return [
        Marker(t, f"{_epochs_words(first, last)}: {action}", ACTION_COLORS.get(action, "#555"))
        for first, last, t, action in data.actions(model, int(selection))
    ]


def _epochs_words(first: int, last: int) -> str:
    return f"epoch {first}" if first == last else f"epochs {first}-{last}"


def miner_charts(model, selection) -> list[str]:
    """The selected miner's balance sheet, capacity split, hashrate and share price over the run,
    its actions marked on the time axis (hover a marker for the action)."""
    h = data.miner_columns(model, selection_agents(model, selection))
    name = selection_name(model, selection)
    marks = _markers(model, selection)
    c = COLORS
    balance = [
        Series("Cash", h["cash_usd"], c["cash"]),
        Series("BTC at market", h["btc_usd"], c["btc"]),
        Series("Debt", h["debt_usd"], c["debt"]),
    ]
    if selection != FRINGE:
        balance.append(Series("Market cap", h["market_cap_usd"], c["mcap"]))
    charts = [
        _chart(model, "miner-balance", f"{name}: balance sheet", "USD", balance, markers=marks),
        _chart(
            model,
            "miner-capacity",
            f"{name}: capacity split",
            "MW",
            [
                Series("Mining", h["mining_mw"], c["mining"]),
                Series("AI / HPC", h["ai_mw"], c["ai"]),
                Series("Idle", data.idle_mw(h), c["idle"]),
            ],
            stacked=True,
            markers=marks,
        ),
        _chart(
            model,
            "miner-hashrate",
            f"{name}: hashrate",
            "EH/s",
            [Series("Hashrate", h["hashrate_ehs"], c["hashrate"])],
            markers=marks,
        ),
    ]
    if selection != FRINGE:
        charts.append(
            _chart(
                model,
                "miner-share",
                f"{name}: share price",
                "USD per share",
                [Series("Share price", h["share_price_usd"], c["share"])],
                markers=marks,
            )
        )
    return charts


# ---------------------------------------------------------------- the reasons panel
def _money(usd: float) -> str:
    if not math.isfinite(usd):
        return "—"
    for scale, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if abs(usd) >= scale:
            return f"USD {usd / scale:,.2f}{suffix}"
    return f"USD {usd:,.0f}"


def _num(value: float, fmt: str, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "never" if "day" in unit or "year" in unit else "∞"
    return f"{value:{fmt}}{unit}"


def reason_rows(r: dict) -> list[tuple[str, str, str]]:
    """(group, what, figures) rows of one agent's reasons, in the order a reader weighs them."""
    yes = {True: "open", False: "shut"}
    maturity = r["days_to_maturity"]
    return [
        (
            "Mining or AI",
            "Mining margin per MW (frontier machines, expected hashprice)",
            f"{_money(r['mining_margin_usd_per_mw_year'])} a year; "
            f"NPV {_money(r['mining_npv_usd_per_mw'])}",
        ),
        (
            "Mining or AI",
            "AI lease NOI per MW",
            f"{_money(r['ai_noi_usd_per_mw_year'])} a year; NPV {_money(r['ai_npv_usd_per_mw'])}; "
            f"pays back in {_num(r['ai_payback_years'], '.1f', ' years')}",
        ),
        (
            "Machines",
            "Hashprice now / expected, against its fleet's breakeven",
            f"{_num(r['hashprice_usd_per_th_day'] * 1e3, '.2f')} / "
            f"{_num(r['expected_hashprice_usd_per_th_day'] * 1e3, '.2f')} against "
            f"{_num(r['breakeven_usd_per_th_day'] * 1e3, '.2f')} {HASHPRICE_UNIT}",
        ),
        (
            "Machines",
            "Frontier machine payback against the hurdle",
            f"{_num(r['frontier_payback_days'], ',.0f', ' days')} against "
            f"{_num(r['hurdle_payback_days'], ',.0f', ' days')}",
        ),
        (
            "Machines",
            "Fleet against the frontier",
            f"{_num(r['fleet_jth'], '.1f', ' J/TH')} against "
            f"{_num(r['frontier_jth'], '.1f', ' J/TH')}; "
            f"book age {_num(r['fleet_age_years'], '.1f', ' years')}",
        ),
        (
            "Finance",
            "Cash runway (power and opex)",
            _num(r["cash_runway_months"], ",.1f", " months"),
        ),
        (
            "Finance",
            "Leverage (debt / assets) against the ceiling",
            f"{_num(r['leverage'], '.0%')} against {_num(r['max_leverage'], '.0%')}",
        ),
        (
            "Finance",
            "Nearest debt maturity",
            "no debt" if math.isinf(maturity) else _num(maturity, ",.0f", " days"),
        ),
        (
            "Finance",
            "Covenant (secured / assets) against its limit",
            f"{_num(r['secured_to_assets'], '.0%')} against {_num(r['covenant_limit'], '.0%')}",
        ),
        ("Finance", "Markets", f"credit {yes[r['credit_open']]}, equity {yes[r['equity_open']]}"),
    ]


def reasons_html(model, selection, epoch: int | None = None) -> str:
    """The selected miner's decision in ``epoch`` (1 = the first; None: the latest) and the
    figures behind it, as its policy returned them (``model.decisions_at``)."""
    epoch = data.n_epochs(model) if epoch is None else epoch
    decisions = data.decisions_of(model, epoch)
    name = selection_name(model, selection)
    if decisions is None:
        body = "<p>No decision yet: press Step to run an epoch.</p>"
    elif selection == FRINGE:
        body = f"<p>{html.escape(decisions.explain(int(selection_agents(model, FRINGE)[0])))}</p>"
    else:
        i = int(selection)
        if data.defaulted_in(model, i, epoch):
            body = "<p><b>Defaulted</b>: it no longer decides.</p>"
        else:
            rows = "".join(
                f"<tr><td style='color:#666;padding:1px 6px 1px 0'>{html.escape(g)}</td>"
                f"<td style='padding:1px 8px 1px 0'>{html.escape(w)}</td>"
                f"<td style='padding:1px 0'>{html.escape(f)}</td></tr>"
                for g, w, f in reason_rows(decisions.reasons.of(i))
            )
            body = (
                f'<p class="minersim-why" style="margin:4px 0 6px">'
                f"{html.escape(decisions.explain(i))}</p>"
                f'<table class="minersim-reasons" style="font-size:12px;border-collapse:collapse">'
                f"{rows}</table>"
            )
    policy = "" if selection == FRINGE else f" (policy {model.miner_agents[int(selection)].policy})"
    when = f", epoch {epoch} ({data.epoch_date(model, epoch)})" if epoch else ", epoch 0"
    return (
        f'<div class="minersim-reasons-panel" style="padding:8px">'
        f"<b>Why: {html.escape(name)}{html.escape(policy)}{when}</b>{body}</div>"
    )


#: What each action marked on a miner's time axis means (the legend under the history heading).
ACTION_MEANINGS = {
    "default": "defaults",
    "sell_assets": "distressed sale of machines, halls or sites",
    "convert_ai": "converts capacity to AI/HPC",
    "buy_asics": "buys machines",
    "borrow": "borrows",
    "issue_equity": "issues shares",
}


def actions_legend_html() -> str:
    """The legend of the action marks: each mark's colour and what the action means."""
    items = "".join(
        f'<span style="margin-right:14px;white-space:nowrap"><span style="color:{color}">'
        f"&#9650;</span> {html.escape(action)}: {html.escape(ACTION_MEANINGS[action])}</span>"
        for action, color in ACTION_COLORS.items()
    )
    return (
        f'<div class="minersim-action-legend" style="font-size:12px;margin:2px 0 4px">'
        f"Marks (hover one for its epochs): {items}</div>"
    )


# ---------------------------------------------------------------- the miners' table
HEADERS = (
    ("Miner", ""),
    ("Last", "action"),
    ("Hash", "EH/s"),
    ("Mining", "MW"),
    ("AI", "MW"),
    ("Cash", "$bn"),
    ("BTC", "$bn"),
    ("ETH", "k ETH"),
    ("SOL", "k SOL"),
    ("Treasury", "$m"),
    ("Debt", "$bn"),
    ("Mkt cap", "$bn"),
)


def _fmt(value: float, scale: float = 1.0, digits: int = 0) -> str:
    return "—" if math.isnan(value) else f"{value / scale:,.{digits}f}"


def _row(cells: list[str], css: str = "") -> str:
    tds = "".join(
        f'<td style="text-align:{"left" if k < 2 else "right"};padding:1px 4px">'
        f"{html.escape(text)}</td>"
        for k, text in enumerate(cells)
    )
    return f'<tr style="{css}">{tds}</tr>'


def miners_table_html(model, selection=None) -> str:
    """Each public miner's position and last action (filled from the opening position at epoch
    0), with its ETH/SOL treasury (holdings in thousands, value in USD m at the epoch's closing
    prices); the fringe in one row. The selected row is highlighted."""
    pos = data.latest_position(model)
    acts = data.latest_actions(model)
    price = data.btc_price_now(model)
    head = "".join(
        f'<th style="text-align:{"left" if k < 2 else "right"};padding:1px 4px">'
        f"{html.escape(top)}<br>{html.escape(bottom)}</th>"
        for k, (top, bottom) in enumerate(HEADERS)
    )
    rows, defaulted_now = [], model.view.defaulted
    for agent in model.miner_agents[: model.n_public]:
        i = agent.index
        defaulted = bool(defaulted_now[i])
        css = "color:#c62828;font-weight:bold" if defaulted else ""
        if selection is not None and selection != FRINGE and int(selection) == i:
            css += ";background:#e3f2fd"
        rows.append(
            _row(
                [
                    agent.name + (" ✕ defaulted" if defaulted else ""),
                    acts[i],
                    _fmt(pos["hashrate_ehs"][i], 1, 1),
                    _fmt(pos["mining_mw"][i]),
                    _fmt(pos["ai_mw"][i]),
                    _fmt(pos["cash_usd"][i], 1e9, 2),
                    _fmt(pos["btc_held"][i] * price, 1e9, 2),
                    _fmt(pos["eth_held"][i], 1e3, 1),
                    _fmt(pos["sol_held"][i], 1e3, 1),
                    _fmt(pos["treasury_usd"][i], 1e6),
                    _fmt(pos["debt_usd"][i], 1e9, 2),
                    _fmt(pos["market_cap_usd"][i], 1e9, 2),
                ],
                css,
            )
        )
    fringe = np.flatnonzero(~model.view.is_public)
    if fringe.size:
        css = ";background:#e3f2fd" if selection == FRINGE else ""
        rows.append(
            _row(
                [
                    f"Fringe ({fringe.size}, as one)",
                    "",
                    _fmt(pos["hashrate_ehs"][fringe].sum(), 1, 1),
                    _fmt(pos["mining_mw"][fringe].sum()),
                    _fmt(pos["ai_mw"][fringe].sum()),
                    *["—"] * (len(HEADERS) - 5),
                ],
                css,
            )
        )
    return (
        '<table class="minersim-miners" '
        'style="border-collapse:collapse;font-size:12px;white-space:nowrap">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def status_line(model) -> str:
    """Where the run is: epoch, simulated date, scenario, seed."""
    finished = "" if model.running else "; run finished"
    return (
        f"Epoch {model.epoch}, {data.current_date(model)}; scenario {model.spec.name}, "
        f"seed {model.seed}" + finished
    )


def parameters_line(model) -> str:
    """The page's parameters as the running model has them (sliders apply on Reset)."""
    values = [f"{s.label} {slider_value(model.spec, s):g}" for s in SLIDERS]
    return "In effect: " + ", ".join(values) + f"; policy {config_value(model.spec, POLICY_KEY)}"


def heading_html(model) -> str:
    """Status, parameters in effect and any problem with the page's inputs."""
    parts = [
        f'<p class="minersim-status" style="margin:4px 0"><b>Miners</b>: '
        f"{html.escape(status_line(model))}</p>",
        f'<p style="margin:0 0 8px;font-size:12px">{html.escape(parameters_line(model))}</p>',
    ]
    parts += [
        f'<p style="margin:0 0 8px;color:#c62828"><b>{html.escape(note)}</b></p>'
        for note in getattr(model, "ui_notes", ())
    ]
    return "".join(parts)
