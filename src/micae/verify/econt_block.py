"""The ECON-T block's expected e-link words from the Python reference, and its RTL simulated against them.

The encoder inside the reference is micae's exact integer model of the user's encoder (itself verified against
QKeras at every level of the flow); the normaliser and output stage come from the datapath doc
(:mod:`micae.econt.block`). Every e-link word is compared as an integer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae.econt.block import BlockOutput, encoder_input_codes, run_block
from micae.fixed.graph import IntegerEncoder
from micae.results.levels import SimulationResult
from micae.rtl.econt_block import sim_inputs


def latent_function(encoder: IntegerEncoder, layout: str):
    """The encoder's integer latents of raw 8-bit inputs in CALQ column order (arranged in ``layout``)."""

    def latents(raw: np.ndarray) -> np.ndarray:
        return encoder.latents(encoder_input_codes(raw, layout, encoder.input_type))

    return latents


def reference(encoder: IntegerEncoder, layout: str, calq: np.ndarray, bx: np.ndarray, elinks: int) -> BlockOutput:
    """The whole block on ``calq``/``bx`` with ``encoder`` inside, bit for bit."""
    return run_block(calq, bx, latent_function(encoder, layout), elinks, latent_width=encoder.latent_type.width)


def simulate_block(
    block_dir: str | Path,
    calq: np.ndarray,
    bx: np.ndarray,
    words: np.ndarray,
    *,
    simulator: str = "verilator",
    timeout_s: float = 1800.0,
) -> SimulationResult:
    """Every row through the block's RTL (``verilator`` or ``icarus``); mismatches = rows with any wrong word."""
    x, exp = sim_inputs(calq, bx), np.asarray(words, dtype=np.int64)
    if simulator == "verilator":
        from micae.rtl.verilator import simulate_verilator

        return simulate_verilator(block_dir, x, exp, timeout_s=timeout_s)
    from micae.rtl.simulate import simulate_rtl

    return simulate_rtl(block_dir, x, exp, timeout_s=timeout_s)
