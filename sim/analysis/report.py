"""The Markdown report of a results folder (``minersim report DIR``, ``minersim main``).

Folders it reads (:mod:`sim.analysis.folders`):

- a run folder: one run's tables; with ``mc/`` beside them (``minersim main``) the headline and
  the figures are Monte Carlo bands over the batch's runs and the run is drawn as one example;
  with ``experiments/`` the experiments' pages follow;
- a batch folder (``minersim mc`` / ``sweep``): bands over all its runs, plus, for sweeps, a table
  of the points and the heat maps or Sobol' indices of :func:`sim.analysis.summary.summarize`.

Written: ``DIR/report.md``, ``DIR/figures/*.png`` and ``DIR/tables/*.csv`` (the full tables
behind the short ones on the page).

The page opens with what was run (scenario, content hash, seeds, version, the command that
reproduces it) and with the caveat of the backtest, quoted from the backtest experiment's own
outputs when they are in the folder.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis import folders, plots, style
from sim.analysis.markdown import (
    band_cell,
    markdown_table,
    number_column,
    percentiles,
    share_cell,
)
from sim.analysis.summary import FAN_COLUMNS, fan_quantiles, final_values
from sim.batch.store import read_epochs, read_miners
from sim.cli.run import REASONS_FILE
from sim.health import MAX_EPOCH_DAYS, stalled_runs
from sim.paths import SCENARIOS_DIR

#: Rows of the headline table: the columns' values at the end of each run.
HEADLINE_COLUMNS = (*FAN_COLUMNS, "miners_defaulted")

#: Columns of the yearly table (yearly means; bands: median over runs of each run's mean).
YEARLY_COLUMNS = (
    "hashrate_ehs",
    "btc_price_usd",
    "hashprice_usd_per_ph_day",
    "cost_to_mine_cash_usd",
    "cost_to_mine_allin_usd",
    "ai_capacity_mw",
    "total_debt_usd",
)

#: How the run beside a batch is labelled: "seed 0, one example run".
EXAMPLE_SUFFIX = ", one example run"

#: A year with fewer epochs per run is left out of the yearly table (the run's overrun).
MIN_EPOCHS_PER_YEAR = 4

BACKTEST_TABLE = Path("experiments") / "backtest" / "backtest.csv"
#: The committed network fit whose verdict the caveat states.
NETWORK_FIT = SCENARIOS_DIR / "calibration" / "network.fit.json"
BAND_NOTE = (
    "Shaded: p25-p75 (darker) and p5-p95 (lighter, outlined) of the runs on a common weekly date "
    "grid; solid line: the median."
)


def write_report(results_dir: str | Path) -> Path:
    """Build ``report.md`` (and its figures and tables) in ``results_dir``; returns its path."""
    root = Path(results_dir)
    kind = folders.folder_kind(root)
    (root / "figures").mkdir(exist_ok=True)
    (root / "tables").mkdir(exist_ok=True)
    lines = _batch_page(root) if kind == "batch" else _run_page(root)
    out = root / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out


# --------------------------------------------------------------------------------------------
# Pages


def _run_page(root: Path) -> list[str]:
    epochs = pd.read_parquet(root / "epochs.parquet")
    miners_file = root / "miners.parquet"
    miners = pd.read_parquet(miners_file) if miners_file.exists() else None
    meta = folders.read_json(root / folders.METADATA_FILE) or {}
    seed = meta.get("seed")
    example = f"seed {seed}{EXAMPLE_SUFFIX}" if seed is not None else "this run"
    batch = root / "mc"
    has_batch = (batch / folders.METADATA_FILE).is_file()
    batch_meta = folders.read_json(batch / folders.METADATA_FILE) if has_batch else None
    frame = _batch_epochs(batch, batch_meta) if has_batch else None
    if frame is not None:
        frame, used = _sound_runs(frame, root)

    lines = [f"# minersim report: {meta.get('scenario_name', root.name)}", ""]
    lines += [_provenance(meta, batch_meta), ""]
    lines += [_caveat(root), ""]
    if frame is not None:
        runs = frame["run"].nunique()
        lines += [f"## Headline: {runs} runs (median and p5-p95 over runs)", ""]
        lines += used
        lines += [_headline_bands(frame, epochs, example), ""]
        lines += [_headline_table(frame, epochs, example, root), ""]
        bands = fan_quantiles(frame, [*plots.FIGURE_COLUMNS, "height"])
        layers = plots.Layers(bands, epochs, example)
        note = f"{BAND_NOTE} Dashed: {example} (not one of the batch's runs)."
    else:
        lines += ["## Headline: one run", ""]
        lines += [_headline_single(epochs, example), ""]
        lines += [_headline_table(None, epochs, example, root), ""]
        layers = plots.Layers(None, epochs, example)
        note = (
            "One run, one path of many: `minersim mc SCENARIO --runs N --out DIR` then "
            "`minersim report DIR` gives bands over runs."
        )
    lines += ["## Figures", "", note, ""]
    lines += _figures(layers, root)
    lines += _yearly_section(frame if frame is not None else _as_batch(epochs), root)
    if (root / REASONS_FILE).is_file():
        lines += _reasons_section(pd.read_parquet(root / REASONS_FILE), example, root)
    if has_batch and batch_meta.get("miners"):
        runs = frame["run"].unique()
        lines += _public_miner_bands_section(batch, runs, miners, example, root)
    elif miners is not None:
        lines += _public_miners_section(miners, example, root)
    lines += _assumptions_section(meta or batch_meta or {}, root)
    lines += _experiment_sections(root / "experiments")
    return lines


def _batch_page(root: Path) -> list[str]:
    from sim.analysis.summary import summarize

    meta = folders.read_json(root / folders.METADATA_FILE) or {}
    parameters = list(meta.get("parameters", []))
    frame, used = _sound_runs(_batch_epochs(root, meta), root)
    runs = frame["run"].nunique()
    sampler = meta.get("sampler", {}).get("kind", "monte_carlo")
    what = "Monte Carlo" if sampler == "monte_carlo" else f"{sampler} sweep"
    lines = [f"# minersim report: {meta.get('scenario_name', root.name)}, {what}", ""]
    lines += [_provenance({}, meta), ""]
    lines += [_caveat(root), ""]
    pooled = " (all points pooled)" if parameters else ""
    lines += [f"## Headline: {runs} runs{pooled} (median and p5-p95 over runs)", ""]
    lines += used
    lines += [_headline_bands(frame, None, None), ""]
    lines += [_headline_table(frame, None, None, root), ""]
    bands = fan_quantiles(frame, [*plots.FIGURE_COLUMNS, "height"])
    note = BAND_NOTE + (" The runs of all points are pooled." if parameters else "")
    lines += ["## Figures", "", note, ""]
    lines += _figures(plots.Layers(bands, None, ""), root)
    lines += _yearly_section(frame, root)
    if meta.get("miners"):
        lines += _public_miner_bands_section(root, frame["run"].unique(), None, None, root)
    if parameters:
        lines += _points_section(frame, parameters, root)
        summary = summarize(root)
        images = [p for name, p in summary.items() if p.suffix == ".png" and "fan_" not in name]
        if images:
            lines += ["## Sensitivity (`minersim summarize`)", ""]
            lines += [f"![{p.stem}]({p.relative_to(root).as_posix()})" for p in images] + [""]
    lines += _assumptions_section(meta, root)
    return lines


def _batch_epochs(root: Path, meta: dict) -> pd.DataFrame:
    """The columns the page needs of every finished run (and ``stalled`` where the batch records
    it: batches written before it was added do not)."""
    wanted = dict.fromkeys(["run", "point", "epoch", "date", *meta.get("parameters", [])])
    wanted.update(dict.fromkeys([*plots.FIGURE_COLUMNS, *HEADLINE_COLUMNS, "height"]))
    if "stalled" in meta.get("columns", {}):
        wanted["stalled"] = wanted["epoch_days"] = None
    return read_epochs(root, columns=list(wanted))


def _sound_runs(frame: pd.DataFrame, root: Path) -> tuple[pd.DataFrame, list[str]]:
    """The runs the bands use, and a paragraph saying how many runs were used and which were
    left out, and why: runs marked stalled (their chain stopped, or degenerate: an epoch longer
    than :data:`sim.health.MAX_EPOCH_DAYS`); the full list goes to ``tables/runs_excluded.csv``.
    If every run stalled, all are kept and the paragraph says so."""
    runs = frame["run"].nunique()
    if "stalled" not in frame:
        return frame, [f"**Runs used**: all {runs} (this batch does not record stalled runs).", ""]
    excluded = stalled_runs(frame)
    excluded.to_csv(root / "tables" / "runs_excluded.csv", index=False)
    if excluded.empty:
        return frame, [f"**Runs used**: all {runs}; none stalled or degenerate (`sim.health`).", ""]
    if len(excluded) == runs:
        return frame, [
            f"**Every one of the {runs} runs stalled or is degenerate** (`sim.health`): the "
            "figures below show them all; their values after the chain stopped mean nothing.",
            "",
        ]
    why = "; ".join(f"run {r.run}: {r.why}" for r in excluded.itertuples())
    text = (
        f"**Runs used: {runs - len(excluded)} of {runs}.** Left out of every band and table "
        f"below, {len(excluded)} stalled or degenerate runs (a chain that stopped, or an epoch "
        f"longer than {MAX_EPOCH_DAYS:.0f} days: `sim.health`): {why}. The list: "
        "`tables/runs_excluded.csv`."
    )
    return frame[~frame["run"].isin(excluded["run"])], [text, ""]


def _as_batch(epochs: pd.DataFrame) -> pd.DataFrame:
    """One run's epochs in the shape of a batch's (run 0, point 0)."""
    return epochs.assign(run=0, point=0)


# --------------------------------------------------------------------------------------------
# Opening: provenance and caveat


def _provenance(run_meta: dict, batch_meta: dict | None) -> str:
    """What was run, from the folders' metadata: scenario and hash, seeds, version, command."""
    meta = run_meta or batch_meta or {}
    if not meta:
        return "No metadata.json here: where these results came from is not recorded."
    overrides = meta.get("overrides") or {}
    parts = [
        f"Scenario `{meta['scenario_name']}` (content hash `{meta['scenario_hash'][:12]}`"
        + (f", overrides {_overrides(overrides)}" if overrides else "")
        + f"), minersim {meta['package_version']}."
    ]
    if batch_meta:
        points = batch_meta["points"]
        design = f"{points} points x {batch_meta['runs_per_point']} runs" if points > 1 else ""
        parts.append(
            f"Batch of {batch_meta['total_runs']} runs{f' ({design})' if design else ''}, seeds "
            f"spawned from root seed {batch_meta['root_seed']} (created {batch_meta['created']})."
        )
    if run_meta:
        parts.append(f"Example run: seed {run_meta['seed']} (finished {run_meta['finished']}).")
        if run_meta.get("stalled"):
            why = run_meta.get("stall_reason") or "its chain stalled"
            parts.append(
                f"**The example run stopped early** ({why}): its last epoch ends "
                f"{run_meta['last_epoch_date']}, its end date is {run_meta['end_date']}."
            )
    command = run_meta.get("command") or _batch_command(batch_meta)
    if command:
        parts.append(f"Reproduce with `{command}`.")
    return " ".join(parts)


def _batch_command(meta: dict | None) -> str | None:
    """The ``minersim mc`` command of a Monte Carlo batch (a sweep's sampler settings are in its
    metadata.json, too long for one line)."""
    if not meta or meta.get("sampler", {}).get("kind") != "monte_carlo":
        return None
    source = meta.get("scenario_source")
    bundled = source is None or Path(source).parent == SCENARIOS_DIR
    scenario = meta["scenario_name"] if bundled else source
    words = ["minersim", "mc", scenario, "--runs", str(meta["total_runs"])]
    words += ["--seed", str(meta["root_seed"])]
    for key, value in (meta.get("overrides") or {}).items():
        words += ["--set", f"{key}={json.dumps(value) if isinstance(value, str) else value}"]
    return shlex.join([*words, "--out", "DIR"])


def _overrides(overrides: dict) -> str:
    return ", ".join(f"`{key}={value}`" for key, value in overrides.items())


def _calibration_caveat() -> str:
    """Whether the committed network fit passes its adoption rule (sim.calibration.rule), in a
    sentence the report puts beside the backtest's caveat."""
    from sim.calibration.results import read_fit
    from sim.calibration.rule import judge

    verdict = judge(read_fit(NETWORK_FIT))
    if verdict.passes:
        return "The network's calibrated parameters pass their adoption rule (docs/calibration.md)."
    return (
        "The network's calibrated parameters come from a **provisional fit that fails its "
        "adoption rule** (" + "; ".join(verdict.failures) + "; docs/calibration.md): "
        "network growth, difficulty and everything that depends on them are indicative."
    )


def _caveat(root: Path) -> str:
    """The backtest's fit, quoted from its own table (the first date with a realised value),
    and the calibration's verdict."""
    return _backtest_caveat(root) + " " + _calibration_caveat()


def _backtest_caveat(root: Path) -> str:
    """The backtest's fit, quoted from its own table (the first date with a realised value)."""
    table = root / BACKTEST_TABLE
    if not table.is_file():
        return (
            "> **Caveat.** The backtest (`minersim experiment backtest`: the network from "
            "2022-01-01 under the real BTC price, out of sample) was not run for this report, so "
            "it does not show how far the simulated network is from the realised one. Run it (or "
            "`minersim main`) before quoting the network figures below."
        )
    frame = pd.read_csv(table)
    observed = frame[np.isfinite(frame["observed_difficulty_t"])]
    if observed.empty:
        return "> **Caveat.** The backtest ran but its table has no realised difficulty to compare."
    row = observed.iloc[0]
    real = row["observed_difficulty_t"]
    ratios = [row[f"sim_difficulty_t_{k}"] / real for k in ("median", "p5", "p95")]
    return (
        "> **Caveat: how far the model's network is from history.** In the backtest (the network "
        "from 2022-01-01 under the real BTC price, out of sample; `experiments/backtest/`), the "
        f"simulated difficulty on {row['date']} is {ratios[0]:.2f} of the realised "
        f"{real:,.2f} T (median of the runs; p5-p95 {ratios[1]:.2f} to {ratios[2]:.2f}). Read "
        "the network figures below (hashrate, difficulty, hashprice, cost to mine) and everything "
        "that depends on them with that ratio in mind."
    )


# --------------------------------------------------------------------------------------------
# Headline


def _public_miners(frame: pd.DataFrame) -> int:
    last = frame.iloc[-1]
    return int(last["miners_active"] + last["miners_defaulted"]) if "miners_active" in frame else 0


def _headline_bands(frame: pd.DataFrame, example: pd.DataFrame | None, label: str | None) -> str:
    finals = final_values(frame, [*HEADLINE_COLUMNS, "date"])
    end = pd.Timestamp(finals["date"].median())
    runs = len(finals)

    def band(column: str, prefix: str = "", suffix: str = "", decimals: int | None = None) -> str:
        values = finals[column] * style.quantity(column).scale
        return band_cell(values, prefix, suffix, decimals)

    defaulted = finals["miners_defaulted"]
    sentence = (
        f"At the end of the runs (each run's last epoch; median date {end:%Y-%m-%d}), "
        f"median (p5 to p95) over {runs} runs: network hashrate {band('hashrate_ehs', '', ' EH/s')}; "
        f"BTC price {band('btc_price_usd', '$', 'k')}; cash cost to mine "
        f"{band('cost_to_mine_cash_usd', '$', 'k')} per BTC; public miners' debt "
        f"{band('total_debt_usd', '$', 'bn')}; AI/HPC capacity {band('ai_capacity_mw', '', ' GW')}; "
        f"public miners defaulted: {band('miners_defaulted', decimals=0)}, with at least one "
        f"default in {share_cell(defaulted > 0)} of runs (95% Wilson interval)."
    )
    if example is not None:
        price = example["btc_price_usd"].iloc[-1]
        rank = 100 * (finals["btc_price_usd"] < price).mean()
        sentence += (
            f" The example run ({label.removesuffix(EXAMPLE_SUFFIX)}) ends with BTC at ${price / 1e3:,.0f}k (the {rank:.0f}th percentile of "
            f"the runs' final prices) and {int(example['miners_defaulted'].iloc[-1])} public "
            "miners defaulted: one path of many, not a forecast."
        )
    return sentence


def _headline_single(epochs: pd.DataFrame, label: str) -> str:
    last = epochs.iloc[-1]
    return (
        f"{len(epochs)} epochs to {last['date']:%Y-%m-%d} ({label}): network hashrate "
        f"{last['hashrate_ehs']:,.0f} EH/s, BTC ${last['btc_price_usd'] / 1e3:,.0f}k, public "
        f"miners' debt ${last['total_debt_usd'] / 1e9:,.1f}bn, "
        f"{int(last['miners_defaulted'])} of {_public_miners(epochs)} public miners defaulted. "
        "This is one path of many: the bands of a Monte Carlo batch say how typical it is."
    )


def _headline_table(
    frame: pd.DataFrame | None, example: pd.DataFrame | None, label: str | None, root: Path
) -> str:
    """measure | first epoch | end: median, p5, p95 | end of the example run."""
    source = frame if frame is not None else _as_batch(example)
    first = source.sort_values(["run", "epoch"]).groupby("run").head(1)
    finals = final_values(source, list(HEADLINE_COLUMNS))
    rows = []
    for column in HEADLINE_COLUMNS:
        q = style.quantity(column)
        start = first[column].median() * q.scale
        if frame is not None:
            p5, p50, p95 = percentiles(finals[column].to_numpy() * q.scale)
            row = {"measure": q.header, "first epoch": start, "end: median": p50}
            row |= {"end: p5": p5, "end: p95": p95}
        else:
            row = {"measure": q.header, "first epoch": start}
        if example is not None:
            row[f"end: {label}"] = example[column].iloc[-1] * q.scale
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(root / "tables" / "headline.csv", index=False)
    return _aligned_rows(table)


def _aligned_rows(table: pd.DataFrame) -> str:
    """A table whose rows are different measures: one number format per row, not per column."""
    cells = table.copy().astype(object)
    numeric = [c for c in table.columns if c != "measure"]
    for i in table.index:
        cells.loc[i, numeric] = number_column(table.loc[i, numeric].astype(float).tolist())
    return markdown_table(cells)


# --------------------------------------------------------------------------------------------
# Figures and tables


def _figures(layers: plots.Layers, root: Path) -> list[str]:
    lines = []
    for name, make in plots.RUN_FIGURES.items():
        make(layers).savefig(root / "figures" / f"{name}.png", dpi=110)
        lines += [f"![{name.replace('_', ' ')}](figures/{name}.png)", ""]
    return lines


def _yearly_section(frame: pd.DataFrame, root: Path) -> list[str]:
    """Each run's yearly mean of YEARLY_COLUMNS; the median over runs (full bands in the CSV)."""
    frame = frame.assign(year=pd.DatetimeIndex(frame["date"]).year)
    epochs_per_year = frame.groupby("year").size() / frame["run"].nunique()
    full_years = epochs_per_year.index[epochs_per_year >= MIN_EPOCHS_PER_YEAR]
    frame = frame[frame["year"].isin(full_years)]
    means = frame.groupby(["run", "year"])[list(YEARLY_COLUMNS)].mean()
    grouped = means.groupby(level="year")
    runs = frame["run"].nunique()
    full = pd.concat({f"p{k}": grouped.quantile(k / 100) for k in (5, 50, 95)}, axis=1).swaplevel(
        axis=1
    )
    full.columns = [f"{column}_{stat}" for column, stat in full.columns]
    full.reset_index().to_csv(root / "tables" / "yearly.csv", index=False)
    shown = pd.DataFrame({"year": grouped.median().index.astype(str)})
    medians = grouped.median()
    for column in YEARLY_COLUMNS:
        q = style.quantity(column)
        shown[q.header] = (medians[column] * q.scale).to_numpy()
    title = "median over runs of each run's yearly mean" if runs > 1 else "yearly means"
    note = f"Years with fewer than {MIN_EPOCHS_PER_YEAR} epochs (the epoch past the end date) are left out."
    if runs > 1:
        note += " p5 and p95 of every column: `tables/yearly.csv`."
    return [f"## Year by year ({title})", "", markdown_table(shown), "", note, ""]


def _public_miners_section(miners: pd.DataFrame, label: str, root: Path) -> list[str]:
    plots.public_miners(miners, label).savefig(root / "figures" / "public_miners.png", dpi=110)
    public = miners[miners["kind"] == "public"]
    last = public[public["epoch"] == public["epoch"].max()]
    last.to_csv(root / "tables" / "public_miners_end.csv", index=False)
    capacity = (last["mining_mw"] + last["ai_mw"]).where(lambda mw: mw > 0)
    table = pd.DataFrame(
        {
            "company": last["name"].to_numpy(),
            "hashrate, EH/s": last["hashrate_ehs"].to_numpy(),
            "BTC held": last["btc_held"].to_numpy(),
            "cash, $m": last["cash_usd"].to_numpy() / 1e6,
            "debt, $m": last["debt_usd"].to_numpy() / 1e6,
            "market cap, $m": last["market_cap_usd"].to_numpy() / 1e6,
            "AI/HPC share, %": (100 * last["ai_mw"] / capacity).to_numpy(),
            "last action": np.where(last["defaulted"], "defaulted", last["action"]),
        }
    )
    return [
        f"## Public miners ({label})",
        "",
        "![public miners](figures/public_miners.png)",
        "",
        "At the end of the run; every column: `tables/public_miners_end.csv`. One run, one "
        "path of many: a Monte Carlo batch with `--miners` (as `minersim main` runs) gives each "
        "miner's bands over runs.",
        "",
        markdown_table(table),
        "",
    ]


def _reasons_section(reasons: pd.DataFrame, label: str, root: Path) -> list[str]:
    """Why each public miner acted as it did in the example run, in its policy's words: how many
    epochs it spent on each action, and its last epoch's reasons (``minersim run --reasons``)."""
    public = reasons[reasons["kind"] == "public"]
    counts = public.groupby(["name", "action"], sort=False, observed=True).size()
    last = public[public["epoch"] == public["epoch"].max()].set_index("name")
    rows = []
    for name in dict.fromkeys(public["name"]):
        spent = counts.loc[name].sort_values(ascending=False)
        rows.append(
            {
                "company": name,
                "epochs by action": ", ".join(f"{a} {n}" for a, n in spent.items() if n),
                f"why, last epoch ({last['date'].iloc[0]:%Y-%m-%d})": last.loc[name, "why"],
            }
        )
    table = pd.DataFrame(rows)
    table.to_csv(root / "tables" / "reasons_last_epoch.csv", index=False)
    return [
        f"## Why the public miners acted ({label})",
        "",
        "In the words of each miner's policy (`sim.policies`: the figures it compared are in "
        f"`{REASONS_FILE}`, one row per agent and epoch, with the action of each epoch):",
        "",
        markdown_table(table),
        "",
    ]


#: The miners-table columns the per-miner bands read.
MINER_BAND_COLUMNS = ["run", "epoch", "date", "name", "kind", "defaulted"]
MINER_BAND_COLUMNS += ["market_cap_usd", "debt_usd", "mining_mw", "ai_mw"]


def _with_ai_share(miners: pd.DataFrame) -> pd.DataFrame:
    """``miners`` with ``ai_share_pct``: AI/HPC MW as % of mining + AI MW (NaN with neither)."""
    total = (miners["mining_mw"] + miners["ai_mw"]).where(lambda mw: mw > 0)
    return miners.assign(ai_share_pct=100 * miners["ai_mw"] / total)


def _public_miner_bands_section(
    batch: Path, runs, example: pd.DataFrame | None, label: str | None, root: Path
) -> list[str]:
    """Each public miner over the batch's ``runs`` (its miners table): market cap and AI/HPC
    share as bands (figure), and at the end of the runs as "median (p5 to p95)" cells with the
    share of runs in which it defaulted (table); the example run, if any, dashed and in a column
    of its own."""
    frame = read_miners(batch, columns=MINER_BAND_COLUMNS)
    frame = _with_ai_share(frame[(frame["kind"] == "public") & frame["run"].isin(runs)])
    bands = {
        name: fan_quantiles(rows, [c for c, *_ in plots.MINER_PANELS])
        for name, rows in frame.groupby("name", sort=False)
    }
    shown = None if example is None else _with_ai_share(example[example["kind"] == "public"])
    figure = plots.public_miner_bands(bands, shown, label or "")
    figure.savefig(root / "figures" / "public_miners.png", dpi=100)
    finals = frame.sort_values(["run", "epoch"]).groupby(["name", "run"], sort=False).tail(1)
    rows = []
    for name, last in finals.groupby("name", sort=False):
        alive = last[~last["defaulted"]]
        row = {
            "company": name,
            "market cap, $bn": band_cell(alive["market_cap_usd"] / 1e9),
            "debt, $m": band_cell(alive["debt_usd"] / 1e6),
            "AI/HPC share, %": band_cell(alive["ai_share_pct"], decimals=0),
            "defaulted, % of runs (95% interval)": share_cell(last["defaulted"]),
        }
        if shown is not None:
            end = shown[(shown["name"] == name) & (shown["epoch"] == shown["epoch"].max())]
            row[f"market cap, $bn ({label})"] = f"{end['market_cap_usd'].iloc[0] / 1e9:,.2f}"
        rows.append(row)
    table = pd.DataFrame(rows)
    table.to_csv(root / "tables" / "public_miners_end.csv", index=False)
    runs_text = f"{len(runs)} runs"
    return [
        f"## Public miners ({runs_text}: median and p5-p95)",
        "",
        "![public miners](figures/public_miners.png)",
        "",
        f"At the end of the runs, over the {runs_text} (market cap, debt and AI/HPC share over "
        "the runs in which the miner has not defaulted); "
        + (f"the last column and the dashed lines: {label}. " if shown is not None else "")
        + "every column: `tables/public_miners_end.csv`.",
        "",
        markdown_table(table),
        "",
    ]


def _points_section(frame: pd.DataFrame, parameters: list[str], root: Path) -> list[str]:
    """A sweep's points: parameter values and the median final values over the point's runs."""
    columns = ["hashrate_ehs", "hashprice_usd_per_ph_day", "total_debt_usd", "miners_defaulted"]
    finals = final_values(frame, [*parameters, *columns])
    medians = finals.groupby("point").agg(
        {**{p: "first" for p in parameters}, **{c: "median" for c in columns}, "run": "count"}
    )
    medians.reset_index().to_csv(root / "tables" / "points.csv", index=False)
    shown = medians[parameters].reset_index()
    for p in parameters:  # values as given, not in a column number format (0.3, not 0.300)
        shown[p] = [style.number_text(v) if _is_number(v) else str(v) for v in shown[p]]
    for column in columns:
        q = style.quantity(column)
        shown[f"final {q.header}"] = (medians[column] * q.scale).to_numpy()
    shown["runs"] = medians["run"].to_numpy()
    lines = ["## Points (median over each point's runs)", ""]
    if len(shown.columns) > 8 or len(shown) > 30:
        lines += [f"{len(shown)} points: the table is in `tables/points.csv`.", ""]
    else:
        lines += [markdown_table(shown), ""]
    return lines


def _assumptions_section(meta: dict, root: Path) -> list[str]:
    """The schema defaults the scenario relies on (:func:`sim.input.assumptions.assumptions_used`),
    from the scenario file and overrides the metadata records; the full table as CSV."""
    from sim.errors import MinersimError
    from sim.input.assumptions import ASSUMPTION, SOURCED, assumptions_used
    from sim.input.scenario import load_scenario

    heading = ["## Assumptions: the defaults this scenario relies on", ""]
    source = meta.get("scenario_source")
    if not source:
        return [*heading, "No metadata.json names the scenario file: not listed.", ""]
    try:
        scenario = load_scenario(
            source, meta.get("overrides") or {}, data_dirs=meta.get("data_dirs") or ()
        )
    except (MinersimError, OSError) as exc:
        return [*heading, f"The scenario could not be loaded again ({exc}): not listed.", ""]
    table = assumptions_used(scenario)
    table.to_csv(root / "tables" / "assumptions.csv", index=False)
    counts = table["status"].value_counts()
    lines = [
        *heading,
        f"`{scenario.name}` leaves {len(table)} values at the schema's defaults: "
        f"{counts.get(ASSUMPTION, 0)} are assumptions (no source gives them; the basis is "
        f"stated) and {counts.get(SOURCED, 0)} are sourced (the section of data/sources.md is "
        "cited). Switches and absent inputs are not listed. Set any of them in the scenario or "
        "with `--set KEY=VALUE`; the table is also `tables/assumptions.csv`.",
        "",
    ]
    if scenario.content_hash != meta.get("scenario_hash"):
        lines += [
            f"**The scenario file has changed since these results were made** (content hash "
            f"`{scenario.content_hash[:12]}` now): the list below is that of the file as it is.",
            "",
        ]
    shown = pd.DataFrame(
        {
            "key": table["key"],
            "default": [style.number_text(v) if _is_number(v) else str(v) for v in table["value"]],
            "status": table["status"],
            "source or basis": table["source"],
        }
    )
    return [*lines, markdown_table(shown), ""]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def _experiment_sections(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    lines = ["## Experiments", ""]
    for exp in sorted(p for p in folder.iterdir() if p.is_dir()):
        lines += [f"### {exp.name}", ""]
        for png in sorted(exp.glob("*.png")):
            lines += [f"![{exp.name}]({png.relative_to(folder.parent).as_posix()})", ""]
        for md in sorted(exp.glob("*.md")):
            lines += [_demote_headings(md.read_text().strip(), levels=3), ""]
    return lines


def _demote_headings(markdown: str, levels: int) -> str:
    """Nest a page's Markdown headings under this report's (``#`` -> ``####`` for 3 levels)."""
    return "\n".join(
        "#" * levels + line if line.startswith("#") else line for line in markdown.splitlines()
    )
