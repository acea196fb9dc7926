"""Timing-driven pipelining: stage boundaries from a per-family delay model in ns, not an adder-level count.

da4ml's own latency model (``HWConfig(adder_size, carry_size, latency_cutoff)``,
``da4ml.cmvm.core.cost_add``) gives each adder ``ceil(bits / carry_size)`` latency
units, or one unit per adder with ``carry_size=-1`` (micae's and da4ml's default),
and ``to_pipeline`` cuts the graph every ``latency_cutoff`` units. Constant
additions, requantization and ReLU cost it nothing. On an FPGA an adder costs a
LUT/carry-chain entry, carry propagation per bit and the route to the next adder,
and every register stage adds clock-to-Q, setup and the routes around the registers.

:class:`DelayModel` puts ns on each da4ml operation (:func:`op_delay_ns`), gives
each op its arrival time inside its stage (an op never straddles a register, as
in da4ml's tracer), and :func:`pipeline_for_clock` picks the fewest stages whose
predicted delay fits the clock, then shrinks the per-stage budget as long as the
stage count holds (balanced stages, like da4ml's retiming but in ns). The result
is an *estimate*: the entry says so, with the model's name and calibration.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from da4ml.cmvm import CombLogic, Op
from da4ml.trace import to_pipeline

from micae.da4ml_api import Pipeline, kif_width, one_stage
from micae.errors import ConfigError

ADD_OPS = frozenset({0, 1, 4, -3})  # add, sub, constant add, negate-and-quantize: one carry chain each
LUT_OPS = frozenset({2, -2, 6, -6, 8})  # relu, MSB mux, lookup: one LUT level
FREE_OPS = frozenset({-1, 3, 5})  # input copy, quantize (wiring), constant


@dataclass(frozen=True)
class DelayModel:
    """Per-family delays in ns.

    Cells: ``t_adder`` carry-chain entry and exit, ``t_bit`` carry per result bit, ``t_lut`` one LUT.
    Routes: every op waits ``t_route + t_fanout * log2(fanout)`` for its operands, fanout being how
    many ops read the operand (shared sub-expressions of the CMVM trees fan out widely, and a wide
    net is a long one). ``t_stage``: clock-to-Q, setup and the route into the capturing register,
    once per stage."""

    name: str
    t_stage: float
    t_adder: float
    t_bit: float
    t_lut: float
    calibration: str
    t_route: float = 0.0
    t_fanout: float = 0.0

    def describe(self) -> dict:
        return asdict(self)

    def route(self, fanout: int) -> float:
        return self.t_route + self.t_fanout * math.log2(max(fanout, 1))


def op_delay_ns(op: Op, model: DelayModel) -> float:
    """Delay of one da4ml op under ``model`` (0 for wiring: inputs, truncations, constants)."""
    if op.opcode in FREE_OPS:
        return 0.0
    if op.opcode in ADD_OPS:
        return model.t_adder + model.t_bit * kif_width(op.qint)
    if op.opcode == -6:  # mux with a negated input: an adder and a LUT
        return model.t_adder + model.t_bit * kif_width(op.qint) + model.t_lut
    if op.opcode in LUT_OPS:
        return model.t_lut
    if op.opcode == 7:  # multiplier: not emitted by the CMVM route; priced as a chain of adders
        bits = kif_width(op.qint)
        return bits * (model.t_adder + model.t_bit * bits)
    raise ConfigError(f"da4ml opcode {op.opcode} has no delay in model {model.name!r}", "extend micae.rtl.delay_model")


def _operands(op: Op) -> list[int]:
    ids = [op.id0] if op.opcode in (-1,) else [op.id0, op.id1]
    if op.opcode in (6, -6):
        ids.append(op.data & 0xFFFFFFFF)
    return [i for i in ids if i >= 0]


def fanouts(comb: CombLogic) -> list[int]:
    """How many ops (and outputs) read each op's result."""
    count = [0] * len(comb.ops)
    for op in comb.ops:
        if op.opcode != -1:
            for i in _operands(op):
                count[i] += 1
    for i in comb.out_idxs:
        if i >= 0:
            count[i] += 1
    return count


def arrival_times(comb: CombLogic, model: DelayModel, budget_ns: float) -> list[float]:
    """Time each op's result is ready, counted from the first stage's registers; a stage spans ``budget_ns``.

    An op's delay is its cell delay plus the route from its widest-fanout operand. An op that would
    cross a stage boundary starts at the boundary (da4ml's tracer does the same in its units), so
    stage ``floor(t / budget)`` holds it whole. Inputs (opcode -1) are ready at 0.
    """
    fo = fanouts(comb)
    times: list[float] = []
    for op in comb.ops:
        if op.opcode == -1:
            times.append(0.0)
            continue
        srcs = _operands(op)
        base = max((times[i] for i in srcs), default=0.0)
        d = op_delay_ns(op, model)
        if d > 0:
            d += model.route(max((fo[i] for i in srcs), default=1))
        end = base + d
        if (
            d > 0
            and math.isfinite(budget_ns)
            and math.floor(base / budget_ns + 1e-9) != math.floor(end / budget_ns - 1e-9)
        ):
            end = math.ceil(base / budget_ns - 1e-9) * budget_ns + d
        times.append(end)
    return times


def _stage_of(t: float, budget_ns: float) -> int:
    return math.floor(t / (budget_ns + 1e-9)) if math.isfinite(budget_ns) else 0


def stage_delays(comb: CombLogic, model: DelayModel, budget_ns: float) -> list[float]:
    """Predicted register-to-register delay of every stage (``t_stage`` + the slowest op arrival in it)."""
    times = arrival_times(comb, model, budget_ns)
    worst: dict[int, float] = {}
    for t in times:
        s = _stage_of(t, budget_ns)
        worst[s] = max(worst.get(s, 0.0), t - s * budget_ns if s else t)
    n = max(worst) + 1 if worst else 1
    return [round(model.t_stage + worst.get(s, 0.0), 3) for s in range(n)]


def _n_stages(comb: CombLogic, model: DelayModel, budget_ns: float) -> int:
    return _stage_of(max(arrival_times(comb, model, budget_ns), default=0.0), budget_ns) + 1


def longest_op_ns(comb: CombLogic, model: DelayModel) -> float:
    """The slowest single op with its operand route: no stage can be shorter."""
    fo = fanouts(comb)
    worst = 0.0
    for op in comb.ops:
        d = op_delay_ns(op, model)
        if d > 0 and op.opcode != -1:
            d += model.route(max((fo[i] for i in _operands(op)), default=1))
        worst = max(worst, d)
    return worst


def pipeline_stage_delays(pipe: Pipeline, model: DelayModel) -> list[float]:
    """Predicted delay of every stage of an existing pipeline (e.g. da4ml's adder-level cut)."""
    return [stage_delays(stage, model, math.inf)[0] for stage in pipe.solutions]


def _balanced_budget(comb: CombLogic, model: DelayModel, lo: float, hi: float, n: int) -> float:
    """The smallest budget in [lo, hi] that still gives ``n`` stages (bisection; ``hi`` gives ``n``)."""
    for _ in range(30):
        if hi - lo < 1e-3:
            break
        mid = (lo + hi) / 2
        if _n_stages(comb, model, mid) <= n:
            hi = mid
        else:
            lo = mid
    return hi


def pipeline_for_clock(comb: CombLogic, model: DelayModel, clock_ns: float) -> tuple[Pipeline, dict]:
    """The fewest, balanced stages whose predicted delay fits ``clock_ns``; returns da4ml's pipeline and the estimate.

    If one op alone is slower than the clock allows, no pipelining meets it: the ops get a stage
    each where needed, and the estimate says ``met: False`` with the predicted best period.
    """
    if clock_ns <= 0:
        raise ConfigError(f"clock period must be positive, got {clock_ns}", "pass clock_ns > 0")
    floor_ns = longest_op_ns(comb, model)
    budget = max(clock_ns - model.t_stage, floor_ns)
    n = _n_stages(comb, model, budget)
    budget = _balanced_budget(comb, model, floor_ns, budget, n)
    times = arrival_times(comb, model, budget)
    timed = comb._replace(ops=[op._replace(latency=t) for op, t in zip(comb.ops, times)])
    pipe = to_pipeline(timed, budget, retiming=False, verbose=False) if n > 1 else one_stage(comb)
    delays = stage_delays(comb, model, budget)
    period = max(delays)
    return pipe, {
        "kind": "estimate",
        "model": model.name,
        "calibration": model.calibration,
        "parameters_ns": {k: v for k, v in model.describe().items() if k.startswith("t_")},
        "clock_ns": float(clock_ns),
        "stage_budget_ns": round(budget, 3),
        "stage_delays_ns": delays,
        "predicted_period_ns": round(period, 3),
        "predicted_fmax_mhz": round(1000.0 / period, 1),
        "met": period <= clock_ns + 1e-9,
        "stages": len(pipe.solutions),
    }


def estimate_for_pipeline(pipe: Pipeline, model: DelayModel, clock_ns: float) -> dict:
    """The model's estimate for a pipeline cut some other way (e.g. da4ml's adder-level rule)."""
    delays = pipeline_stage_delays(pipe, model)
    period = max(delays)
    return {
        "kind": "estimate",
        "model": model.name,
        "calibration": model.calibration,
        "parameters_ns": {k: v for k, v in model.describe().items() if k.startswith("t_")},
        "clock_ns": float(clock_ns),
        "stage_delays_ns": delays,
        "predicted_period_ns": round(period, 3),
        "predicted_fmax_mhz": round(1000.0 / period, 1),
        "met": period <= clock_ns + 1e-9,
        "stages": len(pipe.solutions),
    }


def fit_routing(
    cells: DelayModel,
    samples: list[tuple[Pipeline, float]],
    name: str,
    route_grid: tuple[float, ...] | None = None,
    fanout_grid: tuple[float, ...] | None = None,
) -> tuple[DelayModel, list[float]]:
    """Fit the routing terms of a model to place-and-route results.

    ``cells`` holds cell delays only (from the placer's timing data); each sample is a pipeline and
    its measured critical path in ns. ``t_route`` and ``t_fanout`` by grid search, the per-stage
    route (added to ``t_stage``) in closed form (mean of measured - predicted, at least 0), minimising
    the squared error of the predicted slowest stage. Returns the model and the residuals
    (predicted - measured).
    """
    if not samples:
        raise ConfigError("no place-and-route samples to fit", "run place_and_route on at least one design")
    routes = route_grid or tuple(round(0.05 * i, 2) for i in range(31))
    fans = fanout_grid or tuple(round(0.05 * i, 2) for i in range(17))
    best: tuple | None = None
    for t_route in routes:
        for t_fanout in fans:
            m = replace(cells, t_stage=0.0, t_route=t_route, t_fanout=t_fanout)
            comb = [max(pipeline_stage_delays(p, m)) for p, _ in samples]
            r_stage = max(0.0, sum(meas - c for (_, meas), c in zip(samples, comb)) / len(samples) - cells.t_stage)
            resid = [cells.t_stage + r_stage + c - meas for (_, meas), c in zip(samples, comb)]
            err = sum(r * r for r in resid)
            if best is None or err < best[0] - 1e-12:
                best = (err, t_route, t_fanout, r_stage, resid)
    _, t_route, t_fanout, r_stage, resid = best
    note = (
        f"cells: {cells.calibration}; routes fitted to {len(samples)} place-and-route run(s): "
        f"{t_route:.2f} ns + {t_fanout:.2f} ns x log2(fanout) per op, {r_stage:.2f} ns per stage; "
        "residuals " + ", ".join(f"{r:+.2f}" for r in resid) + " ns"
    )
    model = replace(cells, name=name, t_stage=round(cells.t_stage + r_stage, 3), calibration=note)
    return replace(model, t_route=t_route, t_fanout=t_fanout), [round(r, 3) for r in resid]


CELL_DELAYS = {
    "nexus": DelayModel(
        "nexus-cells",
        0.307,
        0.524,
        0.0135,
        0.213,
        "nextpnr-nexus 0.11.1, LIFCL-40-9: clk-to-q 0.307, CCU2 A->FCO 0.316 + FCI->F 0.208, "
        "FCI->FCO 0.027 per 2 bits, LUT4 0.213",
    ),
    "ecp5": DelayModel(
        "ecp5-cells",
        0.525,
        0.870,
        0.016,
        0.236,
        "nextpnr-ecp5 0.11.1, LFE5U-85F-6: clk-to-q 0.525, CCU2C A->FCO 0.447 + FCI->F 0.423, "
        "FCI->FCO 0.032 per 2 bits, LUT4 0.236",
    ),
}
"""Logic-only delays read from nextpnr's own critical-path reports (tests/fixtures/nextpnr, bench runs)."""

MODELS: dict[str, DelayModel] = {
    "nexus": replace(
        CELL_DELAYS["nexus"],
        name="nexus",
        t_route=0.3,
        t_fanout=0.35,
        calibration="cells from nextpnr-nexus 0.11.1 (LIFCL-40-9); routes fitted (fit_routing) to 3 "
        "place-and-route runs of the reference encoder (seed 1, 5 ns target): da4ml cut at 5 adder levels "
        "(10.61 ns measured), at 2 (5.66 ns), and a timing-driven cut (6.75 ns); residuals +0.07, +0.47, "
        "-0.42 ns. Small encoders route shorter: it over-predicts a 9-input one by 0.7-0.9 ns",
    ),
    "ecp5": replace(
        CELL_DELAYS["ecp5"],
        name="ecp5",
        t_route=0.0,
        t_fanout=0.95,
        calibration="cells from nextpnr-ecp5 0.11.1 (LFE5U-85F-6); routes fitted (fit_routing) to 2 "
        "place-and-route runs, seed 1, 5 ns target: tiny encoder at cutoff 5 (14.94 ns measured), reference "
        "encoder at cutoff 5 (19.38 ns); residuals +0.52, -0.37 ns. Speed grade 6 only (ECP5-5G -8 is faster)",
    ),
}
"""Calibrated per-family models (cell delays + fitted routing); see :func:`fit_routing` and bench/bench_pnr.py."""


def model_for(family: str | DelayModel) -> DelayModel:
    """The calibrated model of a family name; a :class:`DelayModel` is returned as is."""
    if isinstance(family, DelayModel):
        return family
    if family not in MODELS:
        raise ConfigError(
            f"no delay model for FPGA family {family!r}",
            f"choose one of {sorted(MODELS)}, or pass latency_cutoff (adder levels) instead",
        )
    return MODELS[family]


def _scaled(model: DelayModel, cells: DelayModel, k: float, note: str) -> DelayModel:
    return replace(
        model,
        t_stage=round(cells.t_stage + (model.t_stage - cells.t_stage) * k, 3),
        t_route=round(model.t_route * k, 3),
        t_fanout=round(model.t_fanout * k, 3),
        calibration=note,
    )


def corrected_model(model: DelayModel, pipe: Pipeline, measured_period_ns: float) -> DelayModel:
    """Close the loop once: scale the routing share of ``model`` until it predicts the measured period of ``pipe``.

    Cell delays stay; ``t_route``, ``t_fanout`` and the routing share of ``t_stage`` (over the
    family's :data:`CELL_DELAYS`) are multiplied by one factor ``k`` in [0, 10], found by bisection.
    """
    cells = CELL_DELAYS.get(model.name, DelayModel(model.name, 0.0, 0.0, model.t_bit, 0.0, ""))
    lo, hi = 0.0, 10.0
    for _ in range(40):
        k = (lo + hi) / 2
        if max(pipeline_stage_delays(pipe, _scaled(model, cells, k, ""))) < measured_period_ns:
            lo = k
        else:
            hi = k
    k = (lo + hi) / 2
    note = f"{model.calibration}; routing x{k:.2f} to match one place-and-route ({measured_period_ns:.2f} ns)"
    return _scaled(model, cells, k, note)
