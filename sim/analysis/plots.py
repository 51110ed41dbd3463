"""Matplotlib figures of one run (Agg backend; every function returns a Figure).

Each figure takes the run's ``epochs`` and/or ``miners`` frames (the output contract) and
nothing else, so it works on results read back from Parquet as well as on a live run.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

HALVING_2028_HEIGHT = 1_050_000


def _mark_halving(ax, epochs: pd.DataFrame) -> None:
    after = epochs[epochs["height"] >= HALVING_2028_HEIGHT]
    if len(after) and len(after) < len(epochs):
        ax.axvline(after["date"].iloc[0], color="grey", ls=":", lw=1)
        ax.annotate(
            "halving",
            (after["date"].iloc[0], 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
            color="grey",
        )


def network(epochs: pd.DataFrame) -> Figure:
    """Hashrate (EH/s) and difficulty (T) per epoch."""
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(epochs["date"], epochs["hashrate_ehs"], color="C0", label="hashrate (EH/s)")
    ax.set_ylabel("hashrate, EH/s", color="C0")
    ax2 = ax.twinx()
    ax2.step(
        epochs["date"],
        epochs["difficulty"] / 1e12,
        where="post",
        color="C1",
        label="difficulty (T)",
    )
    ax2.set_ylabel("difficulty, T", color="C1")
    _mark_halving(ax, epochs)
    ax.set_title("Network: hashrate and difficulty")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def price_vs_cost(epochs: pd.DataFrame) -> Figure:
    """BTC price against the network's cash and all-in cost to mine one BTC (USD)."""
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(epochs["date"], epochs["btc_price_usd"], color="k", label="BTC price")
    ax.plot(
        epochs["date"],
        epochs["cost_to_mine_cash_usd"],
        color="C2",
        label="cost to mine, cash (power)",
    )
    ax.plot(
        epochs["date"], epochs["cost_to_mine_allin_usd"], color="C3", label="cost to mine, all-in"
    )
    ax.set_ylabel("USD per BTC")
    ax.set_yscale("log")
    _mark_halving(ax, epochs)
    ax.legend(loc="best", fontsize=8)
    ax.set_title("BTC price and the cost to mine")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def hashprice(epochs: pd.DataFrame) -> Figure:
    """Realised hashprice, USD per PH/s per day."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.plot(epochs["date"], epochs["hashprice_usd_per_ph_day"], color="C4")
    ax.set_ylabel("USD / PH / day")
    _mark_halving(ax, epochs)
    ax.set_title("Hashprice")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def debt_and_capacity(epochs: pd.DataFrame) -> Figure:
    """Public miners' debt (USD bn) and the industry's mining vs AI capacity (MW)."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(epochs["date"], epochs["total_debt_usd"] / 1e9, color="C5")
    ax1.set_ylabel("USD bn")
    ax1.set_title("Public miners' debt")
    ax2.stackplot(
        epochs["date"],
        epochs["mining_capacity_mw"] / 1e3,
        epochs["ai_capacity_mw"] / 1e3,
        labels=["mining", "AI/HPC"],
        colors=["C0", "C8"],
    )
    ax2.set_ylabel("GW")
    ax2.set_title("Capacity: mining vs AI/HPC")
    ax2.legend(loc="upper left", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def public_miners(miners: pd.DataFrame) -> Figure:
    """Each public miner's market cap (USD bn) and AI share of its capacity over time."""
    public = miners[miners["kind"] == "public"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in public.groupby("name", sort=False):
        ax1.plot(rows["date"], rows["market_cap_usd"] / 1e9, label=name)
        total = rows["mining_mw"] + rows["ai_mw"]
        ax2.plot(rows["date"], 100 * rows["ai_mw"] / total.where(total > 0), label=name)
    ax1.set_ylabel("USD bn")
    ax1.set_title("Market capitalisation")
    ax2.set_ylabel("% of used capacity")
    ax2.set_title("AI/HPC share of capacity")
    ax2.legend(fontsize=7, ncol=2)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


RUN_FIGURES = {
    "network": network,
    "price_vs_cost": price_vs_cost,
    "hashprice": hashprice,
    "debt_and_capacity": debt_and_capacity,
}
