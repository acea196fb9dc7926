"""An encoder as a chain of exact stages: affine stages each followed by a quantizer, and max-pools.

Input -> Q_in -> [conv as a constant matrix] -> Q_1 -> [dense] -> Q_latent.
A convolution over a fixed input shape is a (sparse) constant matrix acting on
the flattened (row-major H, W, C) input, so both layers share one description.
Flatten is the identity in that order, exactly as in Keras ``channels_last``;
padding, cropping, reshapes and average pools fold into these matrices
(:mod:`micae.graph` lowers a Keras layer graph into this chain). A max-pool is
its own stage: it picks values already on a grid, so it needs no quantizer.
Masked inputs (cells that never carry a value) are dropped: the first stage
reads only ``input_columns`` of the flat input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from micae.fixed.arith import requantize
from micae.fixed.budget import bit_budget
from micae.fixed.types import FixedType


@dataclass(frozen=True)
class AffineStage:
    """``out = Q(matrix.T @ x + bias)`` with every number an integer code.

    ``matrix`` is ``(n_in, n_out)`` in units of ``2**-weight_frac`` and
    ``bias`` is ``(n_out,)`` in units of ``2**-bias_frac``.
    """

    name: str
    kind: str
    matrix: np.ndarray
    weight_frac: int
    bias: np.ndarray
    bias_frac: int
    out: FixedType
    quantizer_name: str
    meta: dict = field(default_factory=dict)
    rounding: str = "half_even"
    """``half_even`` (QKeras quantizers) or ``floor`` (``tf.math.floor``: the eLink truncation)."""
    clip: tuple[int, int] | None = None
    """Codes clipped to ``[lo, hi]`` after saturation (``tf.math.minimum``/``maximum`` by a constant)."""

    @property
    def lo_code(self) -> int:
        return self.out.min_int if self.clip is None else max(self.out.min_int, self.clip[0])

    @property
    def hi_code(self) -> int:
        return self.out.max_int if self.clip is None else min(self.out.max_int, self.clip[1])

    def requantize(self, acc: np.ndarray, in_type: FixedType) -> np.ndarray:
        return requantize(acc, self.acc_frac(in_type), self.out, self.rounding, self.clip)

    def describe(self, in_type: FixedType) -> dict:
        """report.json's entry for this stage."""
        entry = {
            "layer": self.name,
            "kind": self.kind,
            "quantizer": self.quantizer_name,
            "out_type": self.out.to_dict(),
            "weight_frac": self.weight_frac,
            "accumulator": self.acc_type(in_type).to_dict(),
            "unrolled_nonzero_weights": int(np.count_nonzero(self.matrix)),
            "rounding": self.rounding,
            **{k: v for k, v in self.meta.items() if k not in ("weight_type", "kernel")},
        }
        if self.clip is not None:
            entry["clip_codes"] = [self.lo_code, self.hi_code]
        return entry

    @property
    def n_in(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.matrix.shape[1])

    def acc_frac(self, in_type: FixedType) -> int:
        return max(in_type.frac + self.weight_frac, self.bias_frac)

    def accumulate(self, x: np.ndarray, in_type: FixedType) -> np.ndarray:
        """Exact accumulators in units of ``2**-acc_frac(in_type)``."""
        frac = self.acc_frac(in_type)
        x = np.asarray(x, dtype=np.int64)
        m = self.matrix.astype(np.int64)
        bound = int(np.abs(m).sum(axis=0).max(initial=0)) * int(np.abs(x).max(initial=0))
        if bound < 2**53:  # every partial sum is an integer below 2**53: float64 (BLAS) is exact and ~50x faster
            prod = (x.astype(np.float64) @ m.astype(np.float64)).astype(np.int64)
        else:
            prod = x @ m
        prod = prod << (frac - in_type.frac - self.weight_frac)
        return prod + (self.bias.astype(np.int64) << (frac - self.bias_frac))

    def acc_range(self, in_type: FixedType) -> tuple[int, int]:
        """Smallest and largest possible accumulator over the input range."""
        frac = self.acc_frac(in_type)
        m = self.matrix.astype(np.int64)
        hi_in, lo_in = in_type.max_int, in_type.min_int
        pos, neg = np.clip(m, 0, None), np.clip(m, None, 0)
        top = pos.sum(0) * hi_in + neg.sum(0) * lo_in
        bottom = pos.sum(0) * lo_in + neg.sum(0) * hi_in
        shift = frac - in_type.frac - self.weight_frac
        bias = self.bias.astype(np.int64) << (frac - self.bias_frac)
        return int(((bottom << shift) + bias).min()), int(((top << shift) + bias).max())

    def acc_type(self, in_type: FixedType) -> FixedType:
        """The narrowest signed format that holds every accumulator exactly."""
        lo, hi = self.acc_range(in_type)
        width = max(int(abs(lo)).bit_length(), int(abs(hi)).bit_length()) + 1
        return FixedType(width=max(width, 2), frac=self.acc_frac(in_type), signed=True)


_CHUNK_ROWS = 8192


@dataclass(frozen=True)
class MaxPoolStage:
    """``out[j] = max(x[groups[j, :]])``; index ``-1`` is a constant zero (padding). No quantizer:
    the maximum of values on a grid is on that grid, and max commutes with every (monotone) quantizer."""

    name: str
    groups: np.ndarray
    out: FixedType
    quantizer_name: str = ""
    kind: str = "maxpool"
    meta: dict = field(default_factory=dict)
    rounding: str = "none"
    clip: tuple[int, int] | None = None

    @property
    def n_in(self) -> int:
        return int(self.meta.get("n_in", int(self.groups.max(initial=-1)) + 1))

    @property
    def n_out(self) -> int:
        return int(self.groups.shape[0])

    @property
    def lo_code(self) -> int:
        return self.out.min_int

    @property
    def hi_code(self) -> int:
        return self.out.max_int

    def acc_frac(self, in_type: FixedType) -> int:
        return in_type.frac

    def accumulate(self, x: np.ndarray, in_type: FixedType) -> np.ndarray:
        x = np.asarray(x, dtype=np.int64)
        padded = np.concatenate([x, np.zeros((len(x), 1), dtype=np.int64)], axis=1)  # column -1 is zero
        return padded[:, self.groups].max(axis=2)

    def requantize(self, acc: np.ndarray, in_type: FixedType) -> np.ndarray:
        return acc

    def acc_range(self, in_type: FixedType) -> tuple[int, int]:
        lo = in_type.min_int if (self.groups >= 0).all(axis=1).any() else max(in_type.min_int, 0)
        return lo, in_type.max_int

    def acc_type(self, in_type: FixedType) -> FixedType:
        return in_type

    def describe(self, in_type: FixedType) -> dict:
        """report.json's entry for this stage."""
        return {
            "layer": self.name,
            "kind": self.kind,
            "quantizer": self.quantizer_name,
            "out_type": self.out.to_dict(),
            "weight_frac": 0,
            "accumulator": in_type.to_dict(),  # a maximum keeps its inputs' type: nothing accumulates
            "unrolled_nonzero_weights": 0,
            "window": int(self.groups.shape[1]),
            **{k: v for k, v in self.meta.items() if k != "n_in"},
        }


@dataclass(frozen=True)
class IntegerEncoder:
    """The whole encoder, exact, with the types of every stage.

    ``input_columns``: the live flat input indices the first stage reads (None: all);
    ``layer_precisions``: hls4ml precision entries per Keras layer, written by the
    layer handlers that read the model (empty for encoders built by hand);
    ``layers``: ``(keras name, class, role)`` of every layer read, in order.
    """

    name: str
    input_shape: tuple[int, ...]
    input_type: FixedType
    input_quantizer_name: str
    stages: tuple[AffineStage | MaxPoolStage, ...]
    input_columns: tuple[int, ...] | None = None
    layer_precisions: tuple[tuple[str, dict], ...] = ()
    layers: tuple[tuple[str, str, str], ...] = ()

    @property
    def n_inputs(self) -> int:
        """Input positions of the full (unmasked) input: what the Keras model takes."""
        return int(np.prod(self.input_shape))

    @property
    def live_columns(self) -> np.ndarray:
        if self.input_columns is None:
            return np.arange(self.n_inputs)
        return np.asarray(self.input_columns, dtype=np.int64)

    @property
    def n_live(self) -> int:
        """Input values the hardware reads (masked positions dropped)."""
        return self.n_inputs if self.input_columns is None else len(self.input_columns)

    @property
    def masked(self) -> bool:
        return self.input_columns is not None and len(self.input_columns) < self.n_inputs

    def live(self, x_codes: np.ndarray) -> np.ndarray:
        """The live columns of ``(N, n_inputs)`` full-width codes (already live-width codes pass through)."""
        x = np.asarray(x_codes, dtype=np.int64)
        x = x.reshape(len(x), -1) if x.size else x.reshape(len(x), self.n_inputs)
        if self.input_columns is None or x.shape[1] == self.n_live != self.n_inputs:
            return x
        return x[:, self.live_columns]

    @property
    def latent_type(self) -> FixedType:
        return self.stages[-1].out

    @property
    def n_latent(self) -> int:
        return self.stages[-1].n_out

    def stage_input_types(self) -> list[FixedType]:
        return [self.input_type] + [s.out for s in self.stages[:-1]]

    def run(self, x_codes: np.ndarray) -> list[np.ndarray]:
        """Integer codes after each stage's quantizer, for ``(N, n_inputs)`` input codes."""
        x = self.live(x_codes)
        if len(x) > _CHUNK_ROWS:  # cache-sized chunks: ~4x faster than whole 10^6-row arrays
            parts = [self.run(x[i : i + _CHUNK_ROWS]) for i in range(0, len(x), _CHUNK_ROWS)]
            return [np.concatenate(p) for p in zip(*parts)]
        outs = []
        for stage, in_type in zip(self.stages, self.stage_input_types()):
            x = stage.requantize(stage.accumulate(x, in_type), in_type)
            outs.append(x)
        return outs

    def latents(self, x_codes: np.ndarray) -> np.ndarray:
        return self.run(x_codes)[-1]

    def accumulators(self, x_codes: np.ndarray) -> list[np.ndarray]:
        """Exact accumulators of every stage (before its quantizer)."""
        x = self.live(x_codes)
        if len(x) > _CHUNK_ROWS:
            parts = [self.accumulators(x[i : i + _CHUNK_ROWS]) for i in range(0, len(x), _CHUNK_ROWS)]
            return [np.concatenate(p) for p in zip(*parts)]
        accs = []
        for stage, in_type in zip(self.stages, self.stage_input_types()):
            acc = stage.accumulate(x, in_type)
            accs.append(acc)
            x = stage.requantize(acc, in_type)
        return accs

    def bit_budget(self, elinks: int | None = None) -> dict:
        """:func:`micae.fixed.budget.bit_budget` over the live inputs (masked ones counted apart); with the
        ECON-T frame on ``elinks`` e-links when given."""
        return bit_budget(
            self.n_live,
            self.input_type.width,
            self.n_latent,
            self.latent_type.width,
            masked_inputs=self.n_inputs - self.n_live,
            elinks=elinks,
        )


def conv2d_as_matrix(
    kernel: np.ndarray, input_shape: tuple[int, int, int], strides: tuple[int, int], padding: str
) -> tuple[np.ndarray, tuple[int, int, int], dict]:
    """Unroll a conv kernel ``(kh, kw, cin, cout)`` over a fixed input into a dense matrix.

    Padding follows TensorFlow: ``same`` pads ``total // 2`` before and the rest after.
    Returns the ``(H*W*cin, Ho*Wo*cout)`` matrix, the output shape and the padding used.
    """
    kh, kw, cin, cout = kernel.shape
    h, w, c = input_shape
    if c != cin:
        raise ValueError(f"kernel expects {cin} channels, input has {c}")
    sh, sw = strides
    if padding == "same":
        ho, wo = -(-h // sh), -(-w // sw)
        pad_h = max((ho - 1) * sh + kh - h, 0)
        pad_w = max((wo - 1) * sw + kw - w, 0)
        top, left = pad_h // 2, pad_w // 2
    elif padding == "valid":
        ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
        top = left = pad_h = pad_w = 0
    else:
        raise ValueError(f"unsupported padding {padding!r}")
    mat = np.zeros((h * w * c, ho * wo * cout), dtype=np.int64)
    for oy in range(ho):
        for ox in range(wo):
            out_base = (oy * wo + ox) * cout
            for ky in range(kh):
                iy = oy * sh + ky - top
                if not 0 <= iy < h:
                    continue
                for kx in range(kw):
                    ix = ox * sw + kx - left
                    if not 0 <= ix < w:
                        continue
                    in_base = (iy * w + ix) * c
                    mat[in_base : in_base + c, out_base : out_base + cout] += kernel[ky, kx]
    pads = {"top": top, "bottom": pad_h - top, "left": left, "right": pad_w - left}
    return mat, (ho, wo, cout), pads
