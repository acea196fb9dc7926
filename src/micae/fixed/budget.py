"""The bit budget of an encoder, counted as the detector counts it.

The ECON-T boundary condition is a ratio of *values*: 48 trigger cells into 16
latents is a compression factor of 48/16 = 3 ("ratio input/output links"). The
ratio of *bits* (48 x 8 b / 16 x 9 b = 2.67) is reported beside it and has its
own, optional limit. Only live input cells count: masked positions of the 8x8
arrangement never carry charge. For a MICAE model both sides are multiplied by
the number of parts (the latents of all parts are concatenated).

With the ECON-T e-link count ``elinks`` (L) the budget also counts the chip's autoencoder frame (datapath doc
B4): a 5-bit header, the 9-bit 5E4M module sum, 16 latents of B bits and 2 spare bits, 32 L bits in all
(at most 160); its ``frame_bit_ratio`` is input bits / frame bits, beside the latent-bits ``bit_ratio``.
"""

from __future__ import annotations

DEFAULT_MIN_COMPRESSION = 3.0
"""ECON-T's first stage: input values / latent values must be 3 or more."""


def bit_budget(
    input_values: int,
    input_bits_each: int,
    latent_values: int,
    latent_bits_each: int,
    *,
    n_parts: int = 1,
    masked_inputs: int = 0,
    elinks: int | None = None,
) -> dict:
    """Every count of the budget; ``input_values`` are live cells (masked ones are given apart).

    Returns plain numbers (it goes straight into metrics.json and report.json):
    ``compression_factor`` = input values / latent values and ``bit_ratio`` =
    input bits / latent bits, both over all ``n_parts``.
    """
    if min(input_values, latent_values, input_bits_each, latent_bits_each, n_parts) < 1:
        raise ValueError("bit budget counts must be positive")
    in_bits = input_values * input_bits_each
    lat_bits = latent_values * latent_bits_each
    budget = {
        "input_values": int(input_values),
        "masked_inputs": int(masked_inputs),
        "input_bits_each": int(input_bits_each),
        "input_bits": int(in_bits),
        "latent_values": int(latent_values),
        "latent_bits_each": int(latent_bits_each),
        "latent_bits": int(lat_bits),
        "n_parts": int(n_parts),
        "total_input_values": int(input_values * n_parts),
        "total_latent_values": int(latent_values * n_parts),
        "total_input_bits": int(in_bits * n_parts),
        "total_latent_bits": int(lat_bits * n_parts),
        "compression_factor": input_values / latent_values,
        "bit_ratio": in_bits / lat_bits,
    }
    if elinks is not None:
        budget.update(frame_budget(elinks, latent_values, latent_bits_each, in_bits, n_parts))
    return budget


def frame_budget(elinks: int, latent_values: int, latent_bits_each: int, input_bits: int, n_parts: int = 1) -> dict:
    """The ECON-T autoencoder frame on ``elinks`` e-links, per part; refuses latents that are not the frame's."""
    from micae.econt import links
    from micae.errors import ConstraintError

    bits = links.ae_latent_bits(elinks)
    if (latent_values, latent_bits_each) != (links.N_LATENTS, bits):
        raise ConstraintError(
            f"the encoder sends {latent_values} latents of {latent_bits_each} bits; the ECON-T frame on {elinks} "
            f"e-links holds {links.N_LATENTS} latents of {bits} bits",
            f"train the encoder with econt.elinks = {elinks} (--elinks {elinks}), or give the e-link count it was "
            "trained for",
        )
    frame = links.ae_frame_bits(elinks)
    return {
        "elinks": int(elinks),
        "frame_bits": int(frame),
        "frame_header_bits": links.AE_HEADER_BITS,
        "frame_sum_bits": links.AE_SUM_BITS,
        "frame_latent_bits": int(links.N_LATENTS * bits),
        "frame_spare_bits": int(links.ae_spare_bits(elinks)),
        "total_frame_bits": int(frame * n_parts),
        "frame_bit_ratio": input_bits / frame,
    }


def largest_latent_that_fits(input_values: int, min_compression: float) -> int:
    """The most latent values per part that keep ``input_values / latents >= min_compression``."""
    return max(int(input_values // min_compression), 0)
