"""The whole encoder as one da4ml traced graph, and its numeric evaluation.

Values are traced in real units: an input code ``c`` of ``FixedType(w, f, s)``
is the da4ml variable ``c * 2**-f`` with ``kif = (s, w - f - s, f)``; weights
and biases are their codes times their LSB. da4ml tracks exact value ranges,
so every adder is only as wide as it must be and impossible saturations vanish.

Each stage is ``x @ W`` (da4ml's CMVM solver: shift-add trees with shared
sub-expressions, no multipliers), plus the bias, then the QKeras requantizer
of :mod:`micae.rtl.rounding`. Stage two consumes stage one's traced outputs, so
the solver sees true input ranges and latencies and ``to_pipeline`` can cut
registers anywhere across the whole encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from da4ml.cmvm.types import CombLogic, QInterval, _minimal_kif
from da4ml.trace import FixedVariable, FixedVariableArray, HWConfig, comb_trace

from micae.errors import ConstraintError
from micae.fixed.graph import AffineStage, IntegerEncoder, MaxPoolStage
from micae.fixed.types import FixedType
from micae.rtl.rounding import ROUNDING_MODES, _floor_to, _if_negative, _saturate, requantize_array

MAX_ACC_BITS = 52
"""da4ml's interpreter evaluates in float64: accumulators must stay exact (< 2**53)."""
MAX_WEIGHT_CODE = 1 << 24
"""da4ml's CMVM solver takes the matrix as float32: weight codes must be exact in it."""

DEFAULT_SOLVER: dict = {"hard_dc": 2}
"""CMVM solver options: those of da4ml's own default flow (``da4ml convert``,
delay constraint 2 per CMVM block). Scanning ``method0`` (wmc, mc, wmc-pdc,
mc-pdc) and ``hard_dc`` (-1..4) on the ECON-T-like encoder moved yosys LUTs by
under 1.5 %, below the seed-to-seed spread, so they stay at da4ml's defaults;
this route's savings come from the requantizer (:mod:`micae.rtl.rounding`)."""


@dataclass
class TracedEncoder:
    """The combinational graph of an encoder and what is needed to read its ports."""

    name: str
    comb: CombLogic
    input_type: FixedType
    latent_type: FixedType
    rounding: str
    solver_options: dict = field(default_factory=dict)

    @property
    def cost(self) -> float:
        return float(self.comb.cost)

    @property
    def adder_depth(self) -> float:
        return float(self.comb.latency[1])


def check_supported(encoder: IntegerEncoder) -> None:
    """Raise :class:`ConstraintError` for what this route cannot build bit-exactly."""
    if not encoder.stages:
        raise ConstraintError(f"encoder {encoder.name!r} has no stages", "export an encoder with at least one layer")
    n_prev = encoder.n_live
    for stage, in_t in zip(encoder.stages, encoder.stage_input_types()):
        if stage.n_in != n_prev:
            raise ConstraintError(
                f"stage {stage.name!r} takes {stage.n_in} inputs but receives {n_prev}",
                "re-export the encoder; its stages do not chain",
            )
        n_prev = stage.n_out
        if isinstance(stage, MaxPoolStage):
            continue
        acc = stage.acc_type(in_t)
        if acc.width > MAX_ACC_BITS:
            raise ConstraintError(
                f"stage {stage.name!r} needs a {acc.width}-bit accumulator; "
                f"the RTL route supports at most {MAX_ACC_BITS}",
                "use fewer weight/input bits, or the HLS route",
            )
        if np.abs(stage.matrix).max(initial=0) >= MAX_WEIGHT_CODE:
            raise ConstraintError(
                f"stage {stage.name!r} has weight codes beyond 2**24 (da4ml solves in float32)",
                "quantize the weights to at most 24 bits",
            )
    widths = [encoder.input_type.width] + [s.out.width for s in encoder.stages]
    if max(widths) > 32:
        raise ConstraintError(
            f"port/stage widths up to {max(widths)} bits; the RTL route supports at most 32",
            "quantize activations to at most 32 bits",
        )


def trace_encoder(
    encoder: IntegerEncoder,
    *,
    rounding: str = "half_even",
    solver_options: dict | None = None,
    hwconf: HWConfig | tuple[int, int, int] = HWConfig(1, -1, -1),
) -> TracedEncoder:
    """Trace input -> (CMVM + bias -> requantize) per stage -> latents into one da4ml ``CombLogic``.

    ``solver_options`` go to ``da4ml.cmvm.solve`` (e.g. ``hard_dc``, ``method0``);
    ``hwconf`` is da4ml's ``(adder_size, carry_size, latency_cutoff)`` cost model
    (the default counts one latency unit per adder and costs adders by bit).
    """
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"unknown rounding {rounding!r}; choose one of {ROUNDING_MODES}")
    check_supported(encoder)
    options = dict(DEFAULT_SOLVER if solver_options is None else solver_options)
    t = encoder.input_type
    n = encoder.n_live  # masked inputs are never read: no port, no adder
    k = int(t.signed)
    x_in = FixedVariableArray.from_kif(
        np.full(n, k),
        np.full(n, t.width - t.frac - k),
        np.full(n, t.frac),
        hwconf=HWConfig(*hwconf),
        solver_options=options,
    )
    x = x_in
    for stage in encoder.stages:
        x = trace_stage(stage, x, rounding)
    comb = comb_trace(x_in, x)
    return TracedEncoder(encoder.name, comb, t, encoder.latent_type, rounding, options)


def trace_stage(stage, x: FixedVariableArray, rounding: str) -> FixedVariableArray:
    """One stage of the integer model as traced da4ml operations (the RTL side of each layer handler)."""
    if isinstance(stage, MaxPoolStage):
        return _max_pool(x, stage.groups)
    if stage.kind == "requantize":  # a selection matrix: wiring, no solver
        acc = _select(x, stage.matrix)
    else:
        weights = stage.matrix.astype(np.float64) * 2.0**-stage.weight_frac
        acc = x @ weights
    if stage.kind == "requantize" and stage.weight_frac:
        acc = acc * 2.0**-stage.weight_frac  # a power of two: the binary point moves
    bias = stage.bias.astype(np.float64) * 2.0**-stage.bias_frac
    if np.any(bias != 0):
        acc = acc + bias
    if stage.rounding == "floor":
        out = _map(acc, lambda v: _floor_saturate(v, stage.out))
    else:
        out = requantize_array(acc, stage.out, rounding)
    if isinstance(stage, AffineStage) and stage.clip is not None:
        out = _map(out, lambda v: _clip(v, stage))
    return out


def _map(arr: FixedVariableArray, fn) -> FixedVariableArray:
    flat = arr._vars.copy().ravel()
    for j, v in enumerate(arr._vars.ravel()):
        flat[j] = fn(v)
    return FixedVariableArray(flat.reshape(arr.shape), arr.solver_options)


def _select(x: FixedVariableArray, matrix: np.ndarray) -> FixedVariableArray:
    rows = matrix.argmax(axis=0)
    if not np.array_equal(matrix.sum(axis=0), (matrix.max(axis=0) > 0).astype(int)) or matrix.min() < 0:
        raise AssertionError("a requantize stage must select its inputs")
    picked = x._vars.ravel()[rows].copy()
    for j in np.flatnonzero(matrix.max(axis=0) == 0):
        picked[j] = FixedVariable.from_const(Decimal(0), hwconf=picked[j].hwconf)
    return FixedVariableArray(picked, x.solver_options)


def _floor_saturate(v: FixedVariable, out: FixedType) -> FixedVariable:
    """``tf.math.floor`` onto ``out``'s grid (dropping low bits: free wiring), then saturation."""
    if v.low == v.high:
        code = int(np.floor(float(v.low) * 2.0**out.frac))
        code = min(max(code, out.min_int), out.max_int)
        return FixedVariable.from_const(Decimal(code) * Decimal(2) ** -out.frac, hwconf=v.hwconf)
    y = _floor_to(v, out.frac) if int(v.kif[2]) > out.frac else v
    return _saturate(y, y, out)


def _clip(v: FixedVariable, stage: AffineStage) -> FixedVariable:
    """``minimum``/``maximum`` by a constant: a compare and a mux, only where the range can reach it."""
    lsb = Decimal(2) ** -stage.out.frac
    hi, lo = stage.hi_code * lsb, stage.lo_code * lsb
    if v.high > hi:
        v = _if_negative(v - hi, v, hi, min(v.low, hi), hi)
    if v.low < lo:
        v = _if_negative(v - lo, lo, v, lo, max(v.high, lo))
    return v


def _max_pool(x: FixedVariableArray, groups: np.ndarray) -> FixedVariableArray:
    """``max`` over each group (``-1``: a constant zero) as a tree of compare-and-mux."""
    flat = x._vars.ravel()
    outs = []
    for group in groups:
        vals = [flat[i] for i in dict.fromkeys(int(g) for g in group if g >= 0)]
        if (group < 0).any():
            vals.append(Decimal(0))
        while len(vals) > 1:
            vals = [_max2(vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)] + (
                [vals[-1]] if len(vals) % 2 else []
            )
        outs.append(vals[0])
    return FixedVariableArray(np.array(outs, dtype=object), x.solver_options)


def _max2(a, b):
    if isinstance(a, Decimal):
        a, b = b, a
    if isinstance(b, Decimal):
        return _if_negative(a - b, b, a, max(a.low, b), max(a.high, b))
    return _if_negative(a - b, b, a, max(a.low, b.low), max(a.high, b.high))


def port_kifs(qints: list[QInterval]) -> list[tuple[int, int, int]]:
    """da4ml's per-element ``(keep_negative, integer, fractional)`` bits; width 0 means absent."""
    return [tuple(int(v) for v in _minimal_kif(q)) for q in qints]


def evaluate(traced: TracedEncoder, x_codes: np.ndarray, n_threads: int = 0) -> np.ndarray:
    """Latent codes from da4ml's own interpreter of the traced program (C++ DAIS, float64-exact)."""
    x = np.asarray(x_codes, dtype=np.int64).reshape(len(x_codes), -1)
    real = x.astype(np.float64) * 2.0**-traced.input_type.frac
    out = np.asarray(traced.comb.predict(real, n_threads=n_threads), dtype=np.float64)
    return _to_codes(out, traced.latent_type)


def evaluate_python(traced: TracedEncoder, x_codes: np.ndarray) -> np.ndarray:
    """Same as :func:`evaluate` with da4ml's pure-Python interpreter (slow; a cross-check)."""
    x = np.asarray(x_codes, dtype=np.int64).reshape(len(x_codes), -1)
    real = x.astype(np.float64) * 2.0**-traced.input_type.frac
    out = np.array([np.asarray(traced.comb(row), dtype=np.float64) for row in real])
    return _to_codes(out, traced.latent_type)


def _to_codes(values: np.ndarray, t: FixedType) -> np.ndarray:
    scaled = values * 2.0**t.frac
    codes = np.rint(scaled)
    if not np.array_equal(codes, scaled):
        raise AssertionError("da4ml produced a value off the latent grid")
    return codes.astype(np.int64)
