"""What every figure of evaluation.json means, in words the file itself carries (``definitions``)."""

from __future__ import annotations

from micae.evaluate.schema import Definitions
from micae.evaluate.scoring import OCCUPANCY_BINS
from micae.metrics.emd import empty_reconstruction_cost

EMD_UNIT = "emd units: half a trigger-cell pitch (neighbouring trigger cells are 2.0 apart)"


def definitions() -> Definitions:
    cost = empty_reconstruction_cost()
    bins = ", ".join(f"{lo}-{hi}" for lo, hi in OCCUPANCY_BINS)
    return Definitions(
        emd=(
            "Energy Mover's Distance between the true and the reconstructed wafer, each normalised to unit sum, "
            "on the 48 trigger-cell centres (POT network simplex, micae.metrics.emd); only non-empty wafers are "
            "scored, and every mean and median is over all of them"
        ),
        emd_unit=EMD_UNIT,
        empty_reconstruction_emd=cost,
        empty_reconstruction=(
            f"a wafer where an algorithm sends nothing (or everything it sends decodes to 0) scores {cost:.2f}: "
            "the unbalanced EMD's cost of destroying the whole unit of charge, set to the wafer's largest "
            "TC-to-TC distance, an upper bound of every balanced EMD, so sending nothing never scores better "
            "than sending something; counted in empty_reconstructions"
        ),
        mse=(
            "per wafer, the mean over its 48 cells of ((reconstruction - CALQ) / true wafer sum)^2, then the mean "
            "over wafers: one unit (fractions of the wafer's charge) for every algorithm and the autoencoder"
        ),
        energy_kept=(
            "per wafer sum(reconstruction) / sum(CALQ), then the mean over wafers (the chip's codes decode to the "
            "lower bin edge, so at most 1; the autoencoder's can exceed 1)"
        ),
        lossless=(
            "lossless_fraction: every one of the 48 cells decodes to its integer CALQ (autoencoder: after rounding "
            "to the nearest integer); lossless_sel_fraction: every lit cell reaches the output at its own position "
            "(codes may be coarser)"
        ),
        bits_per_wafer=(
            "the whole frame as the datapath document counts it, header and module sum included, padding to 32 L "
            "excluded; variable frames (Threshold-Sum, literature thresholds) give their largest frame here and "
            "the mean in bits_per_wafer_mean; the autoencoder's frame is 32 L bits (5 header + 9 sum + 16 x B "
            "latent + 2 spare)"
        ),
        occupancy=f"lit cells (CALQ > 0) per wafer, in the bins {bins} (inclusive); lit_ge16: 16 or more",
    )
