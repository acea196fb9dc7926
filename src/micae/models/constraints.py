"""Hardware constraints checked when a model is built or brought in.

The compression limit is the detector's: input *values* / latent *values*
(ECON-T: 48 trigger cells into 16 latents = 3, "ratio input/output links").
Only live input cells count (masked positions of an arrangement never carry
charge). The ratio of bits is reported beside it and has its own optional
limit, ``min_bit_compression`` (off by default). The arithmetic is
:mod:`micae.fixed.budget`.
"""

from __future__ import annotations

import math

from micae.errors import ConstraintError
from micae.fixed.budget import DEFAULT_MIN_COMPRESSION, bit_budget, largest_latent_that_fits
from micae.models.spec import EncoderSpec


def compression_factor(input_values: int, latent_values: int) -> float:
    """Input values / latent values (live inputs only), as ECON-T counts it."""
    return input_values / latent_values


def check_compression(
    input_values: int,
    input_bits: int,
    latent_values: int,
    latent_bits: int,
    limit: float = DEFAULT_MIN_COMPRESSION,
    *,
    n_parts: int = 1,
    masked_inputs: int = 0,
    min_bit_compression: float | None = None,
    elinks: int | None = None,
) -> dict:
    """Refuse a budget below the limits; returns the :func:`~micae.fixed.budget.bit_budget` dict.

    ``input_values`` are the live input cells of one part (masked ones given apart in ``masked_inputs``).
    """
    budget = bit_budget(
        input_values,
        input_bits,
        latent_values,
        latent_bits,
        n_parts=n_parts,
        masked_inputs=masked_inputs,
        elinks=elinks,
    )
    factor, ratio = budget["compression_factor"], budget["bit_ratio"]
    live = f"{input_values} live input values" if masked_inputs else f"{input_values} input values"
    if factor < limit:
        fits = largest_latent_that_fits(input_values, limit)
        raise ConstraintError(
            f"compression factor {factor:.3g} = {live} / {latent_values} latent values is below the limit {limit:g} "
            f"(bit ratio {ratio:.3g} = {input_values} values x {input_bits} bits / {latent_values} latents x "
            f"{latent_bits} bits)",
            f"use at most {fits} latents, or lower the limit with min_compression",
        )
    if min_bit_compression is not None and ratio < min_bit_compression:
        need_bits = math.floor(input_values * input_bits / (min_bit_compression * latent_values))
        need_latent = math.floor(input_values * input_bits / (min_bit_compression * latent_bits))
        raise ConstraintError(
            f"bit ratio {ratio:.3g} = ({input_values} values x {input_bits} bits) / "
            f"({latent_values} latents x {latent_bits} bits) is below min_bit_compression {min_bit_compression:g}",
            f"use at most {need_latent} latents of {latent_bits} bits, or latents of at most {need_bits} bits, "
            "or lower or unset min_bit_compression",
        )
    return budget


def _check_shape(spec: EncoderSpec) -> None:
    if len(spec.input_shape) != 3:
        raise ConstraintError(
            f"input shape {spec.input_shape} is not (height, width, channels)",
            "give input_shape as [H, W, C]",
        )
    if spec.latent < 1:
        raise ConstraintError(f"encoder.latent = {spec.latent} must be >= 1", "use a positive value")
    if not getattr(spec, "conv", True):  # dense-only: the convolution fields are unused
        return
    if spec.padding not in ("same", "valid"):
        raise ConstraintError(f"padding {spec.padding!r} is not supported", "use 'same' or 'valid'")
    for name in ("filters", "kernel", "strides"):
        if getattr(spec, name) < 1:
            raise ConstraintError(
                f"encoder.{name} = {getattr(spec, name)} must be >= 1",
                "use a positive value, or encoder.conv: false for a dense-only encoder",
            )
    h, w, _ = spec.conv_output_shape()
    if h < 1 or w < 1:
        raise ConstraintError(
            f"a {spec.kernel}x{spec.kernel} 'valid' convolution does not fit the input {spec.input_shape}",
            "use a smaller kernel or 'same' padding",
        )


def check_encoder_spec(
    spec: EncoderSpec,
    min_compression: float = DEFAULT_MIN_COMPRESSION,
    *,
    masked_inputs: int = 0,
    n_parts: int = 1,
    min_bit_compression: float | None = None,
    elinks: int | None = None,
) -> dict:
    """Validate an encoder spec before building; returns its bit budget (``compression_factor``, ``bit_ratio``).

    ``masked_inputs``: input positions that never carry a value (e.g. the 16 repeated pixels of the
    HGCAL "8x8" arrangement); they do not count as input values. By default they follow the spec's
    ``input_mask``. The latent bits are the eLink ``output_bits`` when the spec sets them.
    """
    _check_shape(spec)
    n_in = spec.input_shape[0] * spec.input_shape[1] * spec.input_shape[2]
    if not masked_inputs and getattr(spec, "input_mask", None):
        from micae.data.geometry import masked_pixels

        masked_inputs = masked_pixels(spec.input_mask, spec.input_shape)
    if not 0 <= masked_inputs < n_in:
        raise ConstraintError(
            f"{masked_inputs} masked inputs out of {n_in} input positions leave no live input",
            "check the input mask of the arrangement",
        )
    return check_compression(
        n_in - masked_inputs,
        spec.input_quant.bits,
        spec.latent,
        getattr(spec, "output_bits", None) or spec.latent_quant.bits,
        min_compression,
        n_parts=n_parts,
        masked_inputs=masked_inputs,
        min_bit_compression=min_bit_compression,
        elinks=elinks,
    )
