"""Small random encoders with ECON-T-like shapes, for tests and benchmarks of the RTL route."""

from __future__ import annotations

import numpy as np

from micae.fixed.graph import IntegerEncoder
from micae.fixed.ops import AffineStage, conv2d_as_matrix
from micae.fixed.types import FixedType


def random_weights(rng: np.random.Generator, shape: tuple[int, ...], bits: int, sigma: float) -> np.ndarray:
    """Signed ``bits``-bit weight codes, roughly Gaussian like trained weights."""
    hi = (1 << (bits - 1)) - 1
    return np.clip(np.rint(rng.normal(0.0, sigma, size=shape)), -hi - 1, hi).astype(np.int64)


def conv_dense_encoder(
    *,
    seed: int = 0,
    input_shape: tuple[int, int, int] = (4, 4, 3),
    input_type: FixedType = FixedType(8, 8, False),
    filters: int = 8,
    kernel: int = 3,
    stride: int = 2,
    padding: str = "same",
    conv_out: FixedType = FixedType(8, 6, False),
    n_latent: int = 16,
    latent: FixedType = FixedType(9, 6, True),
    weight_bits: int = 6,
    weight_frac: int = 5,
    sigma: float = 12.0,
    name: str = "econt_like",
) -> IntegerEncoder:
    """Input -> conv (as a matrix) -> quantizer -> dense -> latent quantizer.

    The defaults are the ECON-T-like reference: 4x4x3 unsigned 8-bit inputs,
    8 filters 3x3 stride 2 ``same`` into an unsigned 8-bit ReLU-like quantizer,
    dense to 16 signed 9-bit latents, 6-bit weights.
    """
    rng = np.random.default_rng(seed)
    k = random_weights(rng, (kernel, kernel, input_shape[2], filters), weight_bits, sigma)
    mat, out_shape, pads = conv2d_as_matrix(k, input_shape, (stride, stride), padding)
    bias_frac = weight_frac + input_type.frac
    span = 1 << max(bias_frac - 2, 0)
    conv_bias = rng.integers(-span, span, size=filters)
    conv = AffineStage(
        name="conv",
        kind="conv2d",
        matrix=mat,
        weight_frac=weight_frac,
        bias=conv_bias[np.arange(mat.shape[1]) % filters],  # channels-last: channel varies fastest
        bias_frac=bias_frac,
        out=conv_out,
        quantizer_name="quantized_relu" if not conv_out.signed else "quantized_bits",
        meta={"kernel": k, "out_shape": out_shape, "pads": pads, "padding": padding, "strides": (stride, stride)},
    )
    n_mid = mat.shape[1]
    dense_w = random_weights(rng, (n_mid, n_latent), weight_bits, sigma)
    dense = AffineStage(
        name="dense",
        kind="dense",
        matrix=dense_w,
        weight_frac=weight_frac,
        bias=rng.integers(-64, 64, size=n_latent),
        bias_frac=conv_out.frac + weight_frac - 2,
        out=latent,
        quantizer_name="quantized_bits" if latent.signed else "quantized_relu",
    )
    return IntegerEncoder(
        name=name,
        input_shape=tuple(input_shape),
        input_type=input_type,
        input_quantizer_name="quantized_bits",
        stages=(conv, dense),
    )
