"""One difficulty epoch of 2016 blocks: the phase order, written once.

Every phase is a function ``phase(params, state, world, scratch)``: it reads the run's constant
:class:`~sim.engine.params.Params`, changes the :class:`~sim.engine.state.State` in place, reads
the :class:`~sim.engine.world.World`'s market processes and passes what later phases need on the
epoch's :class:`~sim.engine.world.Scratch`. A phase that ends the run early (a stall) sets
``scratch.halted``; the epoch is then not recorded. To add a phase, write it in the module of
its stage and insert it into :data:`PHASES`.
"""

from __future__ import annotations

from sim import consensus
from sim.engine import decide, execute, operate, record, settle, waterfall
from sim.engine.world import Scratch


def advance_chain(params, state, world, scratch) -> None:
    """The next epoch starts at the new difficulty, height and time; an epoch ending at the
    horizon ends the run, and a short one (fewer than 2016 blocks: the chain stopped) before it
    ends the run as stalled (a chain that stops after its last block passed the end date
    covered the horizon)."""
    state.bits, state.height = scratch.next_bits, scratch.next_height
    state.time_s = scratch.t1
    state.epoch += 1
    if scratch.t1 >= params.end_time:
        state.running = False
    elif scratch.n_mined < consensus.RETARGET_INTERVAL:
        state.stalled, state.running = True, False


#: The epoch's phases, in order: operate (deliveries, outages, blocks, the factories' output,
#: fleet, halls, debt service, wear, books),
#: decide (difficulty, signals, policies), execute (life cycle, fringe orders, BTC sales,
#: treasury conversions, AI conversions, fleet renewals, ASIC purchases), the financing waterfall, settle (fringe cash, power
#: contracts, valuation), record, and the chain's advance.
PHASES = (
    operate.deliver_fringe_orders,
    operate.apply_outages,
    operate.mine_blocks,
    operate.produce_machines,
    operate.run_fleet,
    operate.host_ai,
    operate.serve_debt,
    operate.wear_machines,
    operate.book_epoch,
    decide.decide,
    execute.review_lifecycle,
    execute.order_fringe_machines,
    execute.sell_decided_btc,
    execute.convert_to_treasury,
    execute.convert_to_ai,
    execute.renew_fleets,
    execute.buy_asics,
    waterfall.cover_shortfalls,
    settle.settle_fringe_cash,
    settle.renew_power_contracts,
    settle.value_equity,
    record.record_epoch,
    advance_chain,
)


def run_epoch(params, state, world, phases=PHASES) -> Scratch:
    """Run one epoch's ``phases`` in order (nothing if the run has ended); returns its scratch."""
    scratch = Scratch()
    if not state.running:
        scratch.halted = True
        return scratch
    for phase in phases:
        phase(params, state, world, scratch)
        if scratch.halted:
            break
    return scratch


def run_to_horizon(params, state, world) -> None:
    """Run epochs until the run ends (the horizon reached, or a stall)."""
    while state.running:
        run_epoch(params, state, world)


__all__ = ["PHASES", "advance_chain", "run_epoch", "run_to_horizon"]
