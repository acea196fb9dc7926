"""Hardware constraints checked when a model is built or brought in."""

from __future__ import annotations

import math

from micae.errors import ConstraintError
from micae.models.spec import EncoderSpec


def compression_factor(n_inputs: int, input_bits: int, n_latent: int, latent_bits: int) -> float:
    """(input values x input bits) / (latent values x latent bits)."""
    return (n_inputs * input_bits) / (n_latent * latent_bits)


def check_compression(n_inputs: int, input_bits: int, n_latent: int, latent_bits: int, limit: float = 3.0) -> float:
    factor = compression_factor(n_inputs, input_bits, n_latent, latent_bits)
    if factor < limit:
        need_latent_bits = math.floor(n_inputs * input_bits / (limit * n_latent))
        need_latent = math.floor(n_inputs * input_bits / (limit * latent_bits))
        raise ConstraintError(
            f"compression factor {factor:.3g} = ({n_inputs} values x {input_bits} bits) / "
            f"({n_latent} latents x {latent_bits} bits) is below the limit {limit:g}",
            f"use at most {need_latent} latents of {latent_bits} bits, or latents of at most "
            f"{need_latent_bits} bits, or lower the limit with min_compression",
        )
    return factor


def check_encoder_spec(spec: EncoderSpec, min_compression: float = 3.0) -> float:
    """Validate an encoder spec before building; returns its compression factor."""
    if len(spec.input_shape) != 3:
        raise ConstraintError(
            f"input shape {spec.input_shape} is not (height, width, channels)",
            "give input_shape as [H, W, C]",
        )
    if spec.padding not in ("same", "valid"):
        raise ConstraintError(f"padding {spec.padding!r} is not supported", "use 'same' or 'valid'")
    h, w, _ = spec.conv_output_shape()
    if h < 1 or w < 1:
        raise ConstraintError(
            f"a {spec.kernel}x{spec.kernel} 'valid' convolution does not fit the input {spec.input_shape}",
            "use a smaller kernel or 'same' padding",
        )
    for name in ("filters", "kernel", "strides", "latent"):
        if getattr(spec, name) < 1:
            raise ConstraintError(f"encoder.{name} = {getattr(spec, name)} must be >= 1", "use a positive value")
    n_in = spec.input_shape[0] * spec.input_shape[1] * spec.input_shape[2]
    return check_compression(n_in, spec.input_quant.bits, spec.latent, spec.latent_quant.bits, min_compression)
