"""Where every schema default comes from: a source in data/sources.md or a stated assumption.

:data:`DEFAULTS` has one entry per scenario field that has a default (dotted key as in
``--set``; fields of list items such as ``fringe.classes`` are written ``fringe.classes.*.agents``).
Each entry is ``(status, basis)``:

* ``"sourced"``: the default is a figure of ``data/sources.md``; ``basis`` cites its section as
  "cal §x.y" and says how the figure was read (a range's midpoint, a derived ratio).
* ``"calibrated"``: fitted to history to 2021 by ``minersim calibrate`` (the fit is named).
* ``"assumption"``: no source gives the figure; ``basis`` says what the choice rests on.
* ``"option"``: the default is not a figure but an absent input or a switch (no file, no forced
  closure, an empty description); ``basis`` says what leaving it out means.

:func:`assumptions_used` lists the defaults a loaded scenario relies on (the fields its files and
overrides did not set), with their status and basis: the report shows it beside the results.
``tests/test_assumptions.py`` fails when a schema field with a default has no entry here, and
checks that the table in ``scenarios/README.md`` is the one :func:`markdown_table` prints.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from pydantic import BaseModel

from sim.input.schema import ScenarioConfig

SOURCED, CALIBRATED, ASSUMPTION, OPTION = "sourced", "calibrated", "assumption", "option"
STATUSES = (SOURCED, CALIBRATED, ASSUMPTION, OPTION)
#: Where the calibrated defaults come from.
FIT = (
    "fitted to monthly difficulty 2016-2021, the 2016 and 2020 halvings and the factories' "
    "shipments (cal §6.6), China's 2021 ban an exogenous outage (scenarios/calibration/"
    "network.fit.toml; docs/calibration.md: a provisional fit that fails its adoption rule)"
)
LIST_ITEM = "*"  # stands for the index of a list item in a key

DEFAULTS: dict[str, tuple[str, str]] = {
    # ---------------------------------------------------------------- scenario, chain
    "scenario.description": (OPTION, "free text; empty when not given"),
    "chain.bits": (OPTION, "give bits or difficulty (exactly one)"),
    "chain.difficulty": (OPTION, "give bits or difficulty (exactly one)"),
    # ---------------------------------------------------------------- BTC price
    "market.btc.process": (
        ASSUMPTION,
        "geometric Brownian motion, the textbook null model; scenarios choose their own",
    ),
    "market.btc.initial_usd": (
        ASSUMPTION,
        "a round $100,000, near the Oct 2025 close of $118,649 (cal §3.1); scenarios set it",
    ),
    "market.btc.drift": (ASSUMPTION, "no trend in log price (the baseline's choice)"),
    "market.btc.volatility": (
        ASSUMPTION,
        "0.5 a year, a round figure for BTC's realised volatility; not fitted",
    ),
    "market.btc.jump_intensity": (ASSUMPTION, "no jumps unless a scenario adds them"),
    "market.btc.jump_mean": (ASSUMPTION, "no jumps unless a scenario adds them"),
    "market.btc.jump_std": (ASSUMPTION, "no jumps unless a scenario adds them"),
    "market.btc.bear_drift": (
        ASSUMPTION,
        "regime_switching only: a bear market losing ~45% a year (exp(-0.6)); not fitted",
    ),
    "market.btc.bear_volatility": (ASSUMPTION, "regime_switching only: 0.8 a year; not fitted"),
    "market.btc.bull_to_bear_per_year": (
        ASSUMPTION,
        "regime_switching only: a bear market every ~2 years; not fitted",
    ),
    "market.btc.bear_to_bull_per_year": (
        ASSUMPTION,
        "regime_switching only: bear markets last ~1 year on average; not fitted",
    ),
    "market.btc.path_csv": (OPTION, "replay only: the price file"),
    "market.btc.points": (OPTION, "piecewise only: the median path's points"),
    "market.btc.floor_usd": (ASSUMPTION, "numerical guard ($1), not meant to bind"),
    "market.btc.cap_usd": (ASSUMPTION, "numerical guard ($1e9), not meant to bind"),
    # ---------------------------------------------------------------- fees
    # ---------------------------------------------------------------- ETH and SOL with BTC
    "market.eth.initial_usd": (ASSUMPTION, "ETH near its 2025-10-01 close, rounded (cal §3.13)"),
    "market.eth.drift": (ASSUMPTION, "no trend in log price, as BTC's default"),
    "market.eth.volatility": (
        SOURCED,
        "cal §3.13: mean of ETH's realised volatility 64.7% (2024) and 75.4% (2025), daily log "
        "returns x sqrt(365) (Gale Finance)",
    ),
    "market.eth.correlation_btc": (
        SOURCED,
        "cal §3.13: mean of the BTC-ETH daily-return correlation 0.79 (2024) and 0.81 (2025), "
        "rolling 30-day averages (Gale Finance)",
    ),
    "market.sol.initial_usd": (ASSUMPTION, "SOL near its 2025-10-01 close, rounded (cal §3.13)"),
    "market.sol.drift": (ASSUMPTION, "no trend in log price, as BTC's default"),
    "market.sol.volatility": (
        SOURCED,
        "cal §3.13: mean of SOL's realised volatility 82.1% (2024) and 86.1% (2025), daily log "
        "returns x sqrt(365) (Gale Finance)",
    ),
    "market.sol.correlation_btc": (
        SOURCED,
        "cal §3.13: mean of the BTC-SOL correlation 0.79 (2025, Gale Finance) and ~0.7 (one "
        "year to early 2025, CME Group)",
    ),
    "market.sol.correlation_eth": (
        SOURCED,
        "cal §3.13: the ETH-SOL correlation 0.70 (2024, Gale Finance) and ~0.7 (2025, DropsTab)",
    ),
    "market.fees.mean_btc_per_block": (
        SOURCED,
        "cal §3.3: 2025 year-to-date average 0.036 BTC per block (hashlabs.io)",
    ),
    "market.fees.lumpiness": (
        ASSUMPTION,
        "lognormal sigma 1 per block: 'extremely lumpy' fees (cal §4.4), spread not fitted",
    ),
    "market.fees.burst_probability": (
        ASSUMPTION,
        "one burst block in 2,000 (~ one a fortnight); bursts such as the 37.67 BTC halving "
        "block (cal §3.2) are rare, their rate is not fitted",
    ),
    "market.fees.burst_btc": (
        ASSUMPTION,
        "5 BTC mean extra fees in a burst block, between typical blocks and the 37.67 BTC of "
        "2024-04-20 (cal §3.2); not fitted",
    ),
    # ---------------------------------------------------------------- power
    "market.power.base_usd_mwh": (
        SOURCED,
        "cal §3.7: CCAF 2024 survey median, $45/MWh delivered",
    ),
    "market.power.mean_reversion_per_year": (
        ASSUMPTION,
        "log price half-life of ~4 months (ln 2 / 2 years); not fitted",
    ),
    "market.power.volatility": (ASSUMPTION, "0.3 a year of log price; not fitted"),
    "market.power.spike_probability_per_day": (
        ASSUMPTION,
        "a price spike on ~1% of days (Texas summer peaks, cal §4.5, not counted)",
    ),
    "market.power.spike_multiplier": (ASSUMPTION, "a spike day costs 3x the day's price"),
    "market.power.renewal_shock": (
        ASSUMPTION,
        "contracts renew at the trailing market price, no premium",
    ),
    "market.power.shock_multiplier": (ASSUMPTION, "no scaling of the price path"),
    # ---------------------------------------------------------------- AI hosting
    "market.ai.enabled": (OPTION, "the AI/HPC lease market is open"),
    "market.ai.lease_usd_per_mw_year": (
        SOURCED,
        "cal §3.9: TeraWulf-Fluidstack ~$1.85M, Cipher-Fluidstack ~$1.79M per MW-year "
        "(headline benchmark; range $1.2-2.3M, cal §1.5)",
    ),
    "market.ai.mean_reversion_per_year": (
        ASSUMPTION,
        "lease-rate half-life of ~1.4 years; no lease-rate series to fit",
    ),
    "market.ai.volatility": (ASSUMPTION, "0.2 a year of log lease rate; not fitted"),
    "market.ai.demand_mw_per_year": (
        ASSUMPTION,
        "3 GW a year industry-wide: ~3.7 GW signed by late 2025/early 2026 (cal §4.7, "
        "Bernstein) over roughly 1.5 years of signing, rounded down",
    ),
    "market.ai.capex_usd_per_mw": (
        SOURCED,
        "cal §3.9: Cipher capex $9-11M per MW of IT (midpoint); CoinShares $8-15M",
    ),
    "market.ai.lead_time_days": (
        SOURCED,
        "cal §3.9: Cipher 12 months from signing to delivery; VanEck '< 1 year'",
    ),
    "market.ai.term_years": (
        SOURCED,
        "cal §3.9: TeraWulf-Fluidstack and Cipher-Fluidstack leases run 10 years",
    ),
    "market.ai.noi_margin": (
        SOURCED,
        "cal §3.9: Cipher 80-85%, Abernathy JV 84%, Cipher add-on 85-90% NOI margin",
    ),
    "market.ai.pue": (
        SOURCED,
        "cal §3.14: site / IT MW 1.21-1.5 across the 2025 deals; median 1.35 (Hut 8 River Bend)",
    ),
    "market.ai.renewal_probability": (
        ASSUMPTION,
        "even odds per option: the 2025 leases carry 2-3 five-year options, none exercised yet "
        "(cal §3.14)",
    ),
    "market.ai.renewal_years": (
        SOURCED,
        "cal §3.14: five-year renewal options (TeraWulf, Cipher, Hut 8, Riot-AMD)",
    ),
    "market.ai.backstop_share": (
        SOURCED,
        "cal §3.14: ~1,230 of ~1,790 IT MW signed in 2024-25 backstopped by Google or leased "
        "to AWS / AMD [derived 0.69]",
    ),
    "market.ai.tenant_default_per_year": (
        ASSUMPTION,
        "4% a year for a tenant without a backstop (a neocloud such as Fluidstack or "
        "CoreWeave): a single-B issuer's default rate; not sourced",
    ),
    "market.ai.delivery_probability": (
        ASSUMPTION,
        "even odds of delivery on time: VanEck counts ~25% of leased capacity delivered to "
        "date and Fitch rates Cipher's notes BB- for completion risk (cal §3.14); no on-time "
        "rate is published",
    ),
    "market.ai.delivery_delay_days": (
        ASSUMPTION,
        "a late hall starts ~9 months late: Core Scientific's Denton build 'pushed back by "
        "several months' (cal §3.14)",
    ),
    "market.ai.tenant_capex_share": (
        SOURCED,
        "cal §3.14: Cipher, TeraWulf and Hut 8 fund their halls (CoreWeave's ~80% at Core "
        "Scientific is the exception)",
    ),
    # ---------------------------------------------------------------- rates and credit
    "market.rates.project_dscr": (
        ASSUMPTION,
        "AI project notes sized at a debt-service cover of 1.3 on the lease's NOI: a usual "
        "project-finance floor; with the baseline lease it gives ~84% loan-to-cost, inside the "
        "76-93% of the 2025 deals (cal §3.14)",
    ),
    "market.rates.base_rate": (
        ASSUMPTION,
        "4% a year, a round risk-free rate (scenarios/README.md lists it as an assumption)",
    ),
    "market.rates.spread_base": (
        SOURCED,
        "cal §3.10: senior secured notes at 7.125-8.0% less the 4% base rate, ~3-4%",
    ),
    "market.rates.spread_per_leverage": (
        ASSUMPTION,
        "+1 point of spread per 0.1 of debt/assets; no source prices leverage",
    ),
    "market.rates.secured_years": (
        SOURCED,
        "cal §3.10: 2025 senior secured notes (TeraWulf, Cipher) mature in 2030, 5 years",
    ),
    "market.rates.equipment_loan_years": (
        SOURCED,
        "cal §3.14 [derived]: Iris Energy's 2022 equipment loans: ~$7M a month of debt service on "
        "$107.8M, less ~12% interest, repaid ~66% a year (~1.5 years left); 2 years a round figure",
    ),
    "market.rates.credit_close_drawdown": (
        ASSUMPTION,
        "credit closes while BTC is more than 50% below its trailing-year high: on the 2015-2021 "
        "closes that shuts it 2018-02..2019-05, 2020-03..05 and 2021-06..08; not fitted",
    ),
    "market.rates.credit_reopen_drawdown": (
        ASSUMPTION,
        "a closed window reopens once BTC is back within 30% of its trailing high; not fitted",
    ),
    "market.rates.credit_high_window_days": (ASSUMPTION, "the trailing high of a year of closes"),
    "market.rates.closed_periods": (OPTION, "no forced credit closures"),
    "market.rates.covenant_secured_to_assets": (
        ASSUMPTION,
        "secured principal at most 85% of book assets: above every baseline miner's ratio once "
        "its notes are issued (the highest, TeraWulf, ~0.76); no covenant terms are sourced",
    ),
    "market.rates.equity_discount_per_drawdown": (
        ASSUMPTION,
        "the issue discount widens by half the share's drawdown (60% below its high: 30 points "
        "cheaper); not sourced",
    ),
    "market.rates.equity_max_discount": (ASSUMPTION, "issue discounts stop at 50%; not sourced"),
    "market.rates.equity_max_dilution_per_epoch": (
        ASSUMPTION,
        "at most 10% new shares in two weeks, what an at-the-market programme places; not sourced",
    ),
    "market.rates.equity_min_share_price_usd": (
        ASSUMPTION,
        "no issuance below USD 1 a share (Nasdaq's minimum bid price, Listing Rule 5550(a)(2))",
    ),
    "market.rates.equity_close_drawdown": (
        ASSUMPTION,
        "no issuance more than 80% below the share's trailing high; set by 2022 (miner shares -91% "
        "on average from 52-week highs, Argo's GBP 24M raise failed, cal §3.14), not fitted",
    ),
    "market.rates.equity_high_window_epochs": (
        ASSUMPTION,
        "the share's trailing high over 26 epochs, about a year",
    ),
    "market.rates.equity_discount": (
        ASSUMPTION,
        "new shares sold 5% below the market price, a typical at-the-market discount; not sourced",
    ),
    # ---------------------------------------------------------------- hardware
    "hardware.frontier_improvement_per_year": (
        SOURCED,
        "cal §6.1: the catalogue's recent rate: the best machine on sale went from 29.55 J/TH "
        "(S19 Pro, 2020-07, cal §3.5) to 9.7 J/TH (S23 Hydro, 2026-01): 18.3% a year "
        "(sim.hardware.catalogue_improvement_per_year)",
    ),
    "hardware.frontier_slowdown_half_life_years": (
        SOURCED,
        "cal §6.1: the frontier's log rate of improvement fell from 0.33 a year (S9 to S19 Pro, "
        "2016-20) to 0.17 (S19 Pro to S21 XP, 2020-24): halved in about 4.3 years",
    ),
    "hardware.mothball_after_epochs": (
        ASSUMPTION,
        "a unit is switched off (site kept) after 2 epochs under water; not sourced",
    ),
    "hardware.scrap_after_epochs": (
        ASSUMPTION,
        "a unit mothballed for 13 epochs (about half a year) is sold for resale; not sourced",
    ),
    "hardware.restart_cost_usd_per_th": (
        ASSUMPTION,
        "bringing a mothballed machine back costs $0.50/TH (labour, hosting set-up); not sourced",
    ),
    "machines.resale_exponent": (
        ASSUMPTION,
        "resale $/TH falls with the square of relative efficiency; cal §3.6 gives price tiers "
        "by J/TH but no fitted exponent",
    ),
    "hardware.annual_failure_rate": (ASSUMPTION, "5% of machines fail a year; not sourced"),
    "hardware.useful_life_years": (
        ASSUMPTION,
        "4-year straight-line depreciation, within the 3-5 years miners' accounts use; "
        "not in data/sources.md",
    ),
    # ---------------------------------------------------------------- fringe
    "fringe.classes": (OPTION, "no fringe classes (a scenario needs some hashrate)"),
    f"fringe.classes.{LIST_ITEM}.agents": (OPTION, "one agent per class"),
    "fringe.supply_elasticity": (CALIBRATED, FIT),
    "fringe.supply_build_per_year": (CALIBRATED, FIT),
    "fringe.adjustment_per_epoch": (CALIBRATED, FIT),
    "fringe.supply_growth_per_year": (
        ASSUMPTION,
        "no exogenous growth of power capacity: it is built out toward what miners hold "
        "(supply_build_per_year, bounded by build_mw_per_year); a trend in place of the "
        "build-out was tried with the earlier structure and not adopted (docs/calibration.md)",
    ),
    "fringe.supply_headroom": (
        ASSUMPTION,
        "at the start each agent's cheap power is what its fleet uses: the network is on its "
        "supply curve",
    ),
    "fringe.in_transit_growth_per_year": (
        ASSUMPTION,
        "nothing on order at the start: the first lead time has no deliveries (the history "
        "scenarios set it from the hashrate's growth over the 90 days before their start)",
    ),
    "fringe.site_life_years": (
        ASSUMPTION,
        "a new mining site's build cost (miners.site_usd_per_mw) is spread over 10 years; not "
        "sourced",
    ),
    "fringe.build_mw_per_year": (CALIBRATED, FIT),
    "fringe.ai_power": (
        OPTION,
        "no AI data centres compete for the fringe's power: their size is not sourced yet "
        "(a scenario sets a path of MW)",
    ),
    "fringe.discount_rate": (
        ASSUMPTION,
        "entrants' cost of equity 20% a year, a venture-style hurdle for a cyclical business; "
        "not fitted",
    ),
    "fringe.financed_share": (
        ASSUMPTION,
        "entrants borrow half a machine's price while the credit window is open (equipment "
        "loans at 50-70% loan-to-value were common in 2021; not in data/sources.md)",
    ),
    "fringe.outages": (OPTION, "no outage (history_2016 sets China's 2021 ban, cal §6.3)"),
    # ---------------------------------------------------------------- machines (sim.machines)
    "machines.floor_usd_per_w": (
        SOURCED,
        "cal §6.2: median of the list prices at release 2016-2021: S9 $1.28/W (2017), S15 "
        "$0.78/W (2018-11), S17+ $0.54/W (2020-03), S19 Pro $0.77/W (2020-05): $0.775/W",
    ),
    "machines.markup_per_backlog_year": (
        CALIBRATED,
        FIT + " within bounds from cal §6.2: 2021's peak prices ($3.7-4.0/W) over the floor at "
        "2021's 6-9 month queue imply 5.0-8.3",
    ),
    "machines.base_lead_days": (
        ASSUMPTION,
        "a month from the factory to a running machine (shipping, customs, installation); the "
        "queue adds to it",
    ),
    "machines.capacity_mw_per_year": (
        SOURCED,
        "cal §6.4: a lower bound on 2025's output: the network grew from about 786 EH/s at the "
        "end of 2024 (public miners' 235.8 EH/s = 30%) to 1,057.5 EH/s on 2025-10-01 (cal §3.1), "
        "362 EH/s a year net, at about 16.5 J/TH: 6,000 MW a year (history scenarios and the 2022 "
        "backtest: the middle of the latest shipment band, cal §6.6)",
    ),
    "machines.capacity_date": (OPTION, "the baseline's start, 2025-10-01"),
    "machines.capacity_growth_per_year": (
        ASSUMPTION,
        "flat output after 2025 (history scenarios: fitted on 2016-2019)",
    ),
    "machines.capacity_break_date": (
        SOURCED,
        "cal §6.3: foundries cut miners' wafer starts in H1 2020 (Ebang, Canaan's FY2020 report)",
    ),
    "machines.capacity_growth_after_break": (
        ASSUMPTION,
        "flat output after 2025 (history scenarios: fitted on 2020-2021)",
    ),
    "machines.capacity_response_per_backlog_year": (
        CALIBRATED,
        FIT + " (attempt 4, with the shipment bands of cal §6.6 as a moment)",
    ),
    "machines.capacity_decay_per_year": (CALIBRATED, FIT + " (with the response)"),
    "machines.capacity_build_days": (
        CALIBRATED,
        FIT + " (attempt 5: investment answers the backlog of this many days earlier; cal "
        "§6.3: Bitmain prepaid suppliers to secure capacity, the 2021 chip shortage)",
    ),
    "machines.capacity_frozen": (
        OPTION,
        "none (the history scenarios freeze 2020-10-01 .. 2021-12-31: the foundry shortage, "
        "cal §6.3 [sourced dates])",
    ),
    "machines.capacity_flat_after": (
        OPTION,
        "the path goes on (the 2022 backtest holds it at its 2021-12-31 level: no later "
        "information)",
    ),
    "machines.initial_backlog_years": (
        OPTION,
        "no queue at the start (Dec 2025: new models shipped at once, cal §6.2); the 2022 "
        "backtest sets 2021's",
    ),
    # ---------------------------------------------------------------- expectations
    "expectations.btc_drift": (
        OPTION,
        "none: the BTC process's own drift (0 for a replayed path); the history scenarios' "
        "belief is fitted (scenarios/calibration/network.fit.toml)",
    ),
    "expectations.halving_pass_through": (
        ASSUMPTION,
        "miners know the subsidy schedule: the halving cuts the hashprice they expect by the "
        "whole subsidy cut",
    ),
    "expectations.anticipate_pipeline": (
        OPTION,
        "off: entrants price a machine on today's hashprice path (on: they expect the machines "
        "on order to raise the difficulty)",
    ),
    "expectations.adaptive_weight": (
        OPTION,
        "off: no weight on the difficulty's recent growth (tried with the earlier structure, "
        "docs/calibration.md)",
    ),
    "expectations.trend_days": (
        ASSUMPTION,
        "with adaptive_weight > 0, miners extrapolate the last half year of difficulty growth",
    ),
    "expectations.prior_difficulty_growth_per_year": (
        ASSUMPTION,
        "the difficulty was flat before the start (the history scenarios set it from "
        "data/history/difficulty.csv over the window before their start)",
    ),
    "fringe.must_run_fraction": (
        ASSUMPTION,
        "5% of fringe hashrate mines whatever the margin (stranded power, hobbyists): keeps "
        "blocks coming in a collapse (docs/architecture.md)",
    ),
    "fringe.power_price_scale": (
        OPTION,
        "1: the classes' prices as given (the history scenarios and the 2022 backtest: fitted, "
        "scenarios/calibration/network.fit.toml, since attempt 6; their 30 / 50 / 70 $/MWh are 2021-23 "
        "10-Q prices taken as an assumption for 2016-2021)",
    ),
    "fringe.power_price_spread": (
        ASSUMPTION,
        "agents of a class pay +-30% around its price: a smooth supply curve; not sourced",
    ),
    # ---------------------------------------------------------------- public miners
    "miners.csv": (OPTION, "no public miners"),
    "miners.debt_csv": (OPTION, "public miners start without debt"),
    "miners.ai_contracts_csv": (OPTION, "public miners start without AI leases"),
    "miners.policy_modules": (OPTION, "only the built-in policies (docs/policies.md)"),
    "miners.policy": (ASSUMPTION, "the NPV-comparing rule (sim/policies.py) for every miner"),
    "miners.policies": (OPTION, "no per-miner policies"),
    "miners.opex_usd_per_mw_year": (
        ASSUMPTION,
        "$80k per MW-year of non-power cost: near cal §3.7's CCAF all-in $55.5/MWh less $45/MWh "
        "power = $10.5/MWh (~$92k per MW-year), rounded down",
    ),
    "miners.mining_multiple": (
        ASSUMPTION,
        "market value = 4 years of forward mining cash flow; cal §3.9 gives pure-play miners "
        "at 5.9x revenue (CoinShares), not a cash-flow multiple",
    ),
    "miners.ai_multiple": (
        ASSUMPTION,
        "12x contracted AI NOI, after CoinShares' 12.3x revenue for AI-contracted miners "
        "(cal §3.9; revenue, not NOI)",
    ),
    "miners.default_recovery": (
        ASSUMPTION,
        "a defaulted fleet sells at half its resale value; not sourced",
    ),
    "miners.ai_option_weight": (
        ASSUMPTION,
        "the market values convertible capacity's AI option at even odds (sim/valuation.py); "
        "not fitted",
    ),
    "miners.fire_sale_discount": (
        ASSUMPTION,
        "distressed machine sales fetch 30% below resale value (resale already falls with "
        "hashprice: ASIC prices fell 82-87% in 2022, cal §4.8); not sourced",
    ),
    "miners.asset_sale_fraction": (
        ASSUMPTION,
        "AI halls and powered sites sold in distress fetch 70% of their market value; not sourced",
    ),
    "miners.site_usd_per_mw": (
        SOURCED,
        "cal §3.9: mining build-out costs $0.7-1.0M per MW (CoinShares); $0.85M, the midpoint; "
        "a distressed sale gets less while new machines do not pay (sim/engine/waterfall.py)",
    ),
    "miners.curtailment": (
        ASSUMPTION,
        "machines switch off on days their margin is negative (Riot's curtailment credits, "
        "cal §4.5)",
    ),
    "miners.curtailment_anticipation": (
        ASSUMPTION,
        "curtail on a blend halfway to the difficulty the running hashrate implies: damps the "
        "on/off cobweb real difficulty does not show (docs/architecture.md)",
    ),
    # ---------------------------------------------------------------- policy parameters
    "policy.hurdle_payback_days": (
        ASSUMPTION,
        "buy ASICs that pay back within ~2.5 years; not sourced",
    ),
    "policy.max_leverage": (
        ASSUMPTION,
        "new borrowing only while debt is at most half of assets; not sourced",
    ),
    "policy.discount_rate": (ASSUMPTION, "10% a year for NPV comparisons; not sourced"),
    "policy.cash_buffer_months": (
        ASSUMPTION,
        "keep 3 months of costs in cash before spending; not sourced",
    ),
    "policy.max_ai_fraction": (
        ASSUMPTION,
        "at most 80% of a site converts to AI (some capacity stays mining); not sourced",
    ),
    "policy.sell_fraction": (
        ASSUMPTION,
        "non-hodl miners sell all they mine (IREN 'sells daily', cal §3.11; MARA holds)",
    ),
    "policy.planning_horizon_days": (
        ASSUMPTION,
        "hashprice projected two years ahead; not sourced",
    ),
    "policy.ai_step_fraction": (
        ASSUMPTION,
        "at most 10% of a site converts per epoch (build-out pace); not sourced",
    ),
    "policy.ai_loan_to_cost": (
        SOURCED,
        "cal §3.14: up to 85% loan-to-cost on Hut 8's River Bend, the highest of the 2025 "
        "deals (Galaxy 80%, Cipher 76-93% derived); the lease's NOI may support less",
    ),
    "policy.conversion_hurdle": (
        ASSUMPTION,
        "a miner without a stated strategy converts when a lease's NPV beats mining's at all",
    ),
    "policy.lease_discount_rate": (
        SOURCED,
        "cal §3.14: the secured notes funding the 2025 halls pay 7.125% (Cipher) to 7.75% "
        "(TeraWulf); the tenant's default risk is added separately",
    ),
    "policy.strategies.mining_first.conversion_hurdle": (
        ASSUMPTION,
        "a lease must beat mining by half the own fit-out capex: MARA and CleanSpark say they "
        "stay miners (cal §3.14)",
    ),
    "policy.strategies.mining_first.ai_offer_fraction": (
        ASSUMPTION,
        "10% of sites: no third-party lease in 2025 for MARA or CleanSpark (cal §3.14)",
    ),
    "policy.strategies.mining_first.max_leverage": (
        ASSUMPTION,
        "debt at most 35% of assets: mining cash flows swing with BTC; not sourced",
    ),
    "policy.strategies.balanced.conversion_hurdle": (
        ASSUMPTION,
        "a lease must beat mining by a fifth of the own fit-out capex; not sourced",
    ),
    "policy.strategies.balanced.ai_offer_fraction": (
        ASSUMPTION,
        "40% of sites, between Bitdeer's ~22% and Riot's ~39% [derived] (cal §3.14)",
    ),
    "policy.strategies.balanced.max_leverage": (
        ASSUMPTION,
        "debt at most half of assets (the policy's default ceiling); not sourced",
    ),
    "policy.strategies.ai_first.conversion_hurdle": (
        ASSUMPTION,
        "a lease converts as soon as it beats mining: IREN, Core Scientific, Cipher, TeraWulf "
        "and Bitfarms say they are moving to AI/HPC (cal §3.14)",
    ),
    "policy.strategies.ai_first.ai_offer_fraction": (
        ASSUMPTION,
        "80% of sites (the policy's max_ai_fraction); Core Scientific's 65% is in the CSV "
        "(cal §3.14)",
    ),
    "policy.strategies.ai_first.max_leverage": (
        ASSUMPTION,
        "debt up to 75% of assets: lease-backed project notes at 76-93% loan-to-cost "
        "(cal §3.14), below the 0.85 covenant",
    ),
    # ---------------------------------------------------------------- treasury (sim/treasury.py)
    "policy.treasury.mined_share": (OPTION, "no treasury: miners hold BTC and cash only"),
    "policy.treasury.cash_share": (OPTION, "no cash rule: cash is not converted"),
    "policy.treasury.cash_floor_usd": (OPTION, "the cash rule (if set) may convert down to zero"),
    "policy.treasury.eth_weight": (ASSUMPTION, "an even ETH/SOL split of purchases"),
    "policy.treasury.cost_bps": (
        ASSUMPTION,
        "30 bps a trade: exchange fees plus spread for a block trade; not sourced",
    ),
    "policy.treasury.start_date": (OPTION, "converts from the start"),
    "policy.treasury.end_date": (OPTION, "converts to the end"),
    "policy.treasury.min_btc_usd": (OPTION, "no price condition"),
    "policy.treasury.miners": (OPTION, "no per-miner treasury rules"),
    # ---------------------------------------------------------------- outputs
    "outputs.miners_table": (OPTION, "the per-agent table is kept"),
}


def default_fields(model: type[BaseModel] = ScenarioConfig, prefix: str = "") -> dict[str, object]:
    """{dotted key: default} of every field with a default below ``model`` (sections excluded).

    A section (a field whose type is a model) is descended into, not listed; the fields of list
    items (``fringe.classes``) are keyed with ``*`` for the index.
    """
    out: dict[str, object] = {}
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        section = _model_type(field.annotation)
        if section is not None:
            out.update(default_fields(section, f"{key}."))
            continue
        if not field.is_required():
            out[key] = field.get_default(call_default_factory=True)
        item = _list_item_model(field.annotation)
        if item is not None:
            out.update(default_fields(item, f"{key}.{LIST_ITEM}."))
    return out


def assumptions_used(scenario, include_options: bool = False) -> pd.DataFrame:
    """The defaults a loaded scenario relies on: fields its files and overrides did not set.

    Parameters
    ----------
    scenario : sim.Scenario
        A loaded scenario (``sim.load_scenario``).
    include_options : bool
        Also list the ``"option"`` entries (absent inputs and switches, not figures).

    Returns
    -------
    pandas.DataFrame
        Columns ``key`` (dotted, as in ``--set``; list items by their index), ``value`` (the
        default in effect), ``status`` (``"sourced"`` or ``"assumption"``, or ``"option"``) and
        ``source`` (the data/sources.md section or the basis of the assumption).
    """
    rows = []
    for key, generic, value in _unset_fields(scenario.config, "", ""):
        status, source = DEFAULTS[generic]
        if status != OPTION or include_options:
            rows.append({"key": key, "value": value, "status": status, "source": source})
    return pd.DataFrame(rows, columns=["key", "value", "status", "source"])


def markdown_table() -> str:
    """The defaults table of ``scenarios/README.md``: key, default, status, source or basis."""
    lines = ["| key | default | status | source or basis |", "|---|---|---|---|"]
    for key, default in default_fields().items():
        status, basis = DEFAULTS[key]
        value = f"`{default!r}`".replace("|", "\\|")
        lines.append(f"| `{key}` | {value} | {status} | {basis.replace('|', '\\|')} |")
    return "\n".join(lines)


def _unset_fields(model: BaseModel, prefix: str, generic: str) -> Iterator[tuple[str, str, object]]:
    """(key, generic key, value) of every field below ``model`` left at its default."""
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        key, generic_key = f"{prefix}{name}", f"{generic}{name}"
        if isinstance(value, BaseModel):
            yield from _unset_fields(value, f"{key}.", f"{generic_key}.")
            continue
        if not field.is_required() and name not in model.model_fields_set:
            yield key, generic_key, value
        if isinstance(value, list | tuple):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _unset_fields(item, f"{key}.{i}.", f"{generic_key}.{LIST_ITEM}.")


def _model_type(annotation: object) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _list_item_model(annotation: object) -> type[BaseModel] | None:
    """The model type of a ``list[Model]`` annotation, else None."""
    args = getattr(annotation, "__args__", ())
    if getattr(annotation, "__origin__", None) is list and len(args) == 1:
        return _model_type(args[0])
    return None


BEGIN = "<!-- defaults table: generated by `python -m sim.input.assumptions --write` -->"
END = "<!-- end of the defaults table -->"


def readme_with_table(text: str) -> str:
    """``text`` (scenarios/README.md) with the block between BEGIN and END replaced by the table."""
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"scenarios/README.md lacks the markers {BEGIN!r} ... {END!r}")
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Print the defaults table, or with ``--write`` put it into scenarios/README.md."""
    import argparse

    from sim.paths import SCENARIOS_DIR

    parser = argparse.ArgumentParser(
        prog="python -m sim.input.assumptions", description=main.__doc__
    )
    parser.add_argument("--write", action="store_true", help="update scenarios/README.md in place")
    args = parser.parse_args(argv)
    if not args.write:
        print(markdown_table())
        return 0
    path = SCENARIOS_DIR / "README.md"
    path.write_text(readme_with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the defaults table ({len(DEFAULTS)} keys) into {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
