"""The whole encoder as one da4ml traced graph, and its numeric evaluation.

Values are traced in real units: an input code ``c`` of ``FixedType(w, f, s)``
is the da4ml variable ``c * 2**-f`` with ``kif = (s, w - f - s, f)``; weights
and biases are their codes times their LSB. da4ml tracks exact value ranges,
so every adder is only as wide as it must be and impossible saturations vanish.

Each stage traces itself (its op module's ``trace``, :mod:`micae.fixed.ops`):
an affine stage is ``x @ W`` (da4ml's CMVM solver: shift-add trees with shared
sub-expressions, no multipliers), plus the bias, then the QKeras requantizer
of :mod:`micae.fixed.traced`. Stage two consumes stage one's traced outputs, so
the solver sees true input ranges and latencies and ``to_pipeline`` can cut
registers anywhere across the whole encoder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from da4ml.cmvm import CombLogic
from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

from micae.errors import ConstraintError
from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage
from micae.fixed.traced import ROUNDING_MODES
from micae.fixed.types import FixedType

MAX_ACC_BITS = 52
"""da4ml's interpreter evaluates in float64: accumulators must stay exact (< 2**53)."""
MAX_WEIGHT_CODE = 1 << 24
"""da4ml's CMVM solver takes the matrix as float32: weight codes must be exact in it."""

DEFAULT_SOLVER: dict = {"hard_dc": 2}
"""CMVM solver options: those of da4ml's own default flow (``da4ml convert``,
delay constraint 2 per CMVM block). Scanning ``method0`` (wmc, mc, wmc-pdc,
mc-pdc) and ``hard_dc`` (-1..4) on the ECON-T-like encoder moved yosys LUTs by
under 1.5 %, below the seed-to-seed spread, so they stay at da4ml's defaults;
this route's savings come from the requantizer (:mod:`micae.fixed.traced`)."""


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
        if not isinstance(stage, AffineStage):  # a max-pool: its values keep their (checked) input width
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
        x = stage.trace(x, rounding)
    comb = comb_trace(x_in, x)
    return TracedEncoder(encoder.name, comb, t, encoder.latent_type, rounding, options)


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
