"""The RTL level's vectors: the main set first (so other levels' rows line up), then more of every kind.

Simulators are fast enough for 10^6 vectors, so the RTL level gets the main vector
set plus a larger set of random-grid, rounding-tie and saturation vectors; their
expected latents come from QKeras itself, like every other level's.
"""

from __future__ import annotations

import numpy as np

from micae.flow.context import FlowContext, VectorSet
from micae.flow.steps.vectors import qkeras_latents, reference_name
from micae.log import info, progress
from micae.verify.compare import values_to_codes

DEFAULT_RTL_VECTORS = 1_000_000


def rtl_vector_set(ctx: FlowContext) -> VectorSet:
    """``ctx.vectors`` extended to ``--rtl-vectors`` (default 10^6) vectors; the first rows are ``ctx.vectors``."""
    from micae.verify.vectors import build_vector_set

    main = ctx.main_vectors
    wanted = ctx.request.rtl_vectors or DEFAULT_RTL_VECTORS
    extra = wanted - len(main.input_codes)
    if extra < 0:
        info(
            f"--rtl-vectors {wanted} is below the main vector set ({len(main.input_codes)} vectors, --vectors): "
            f"the RTL level simulates all {len(main.input_codes)}, so that every level sees the same vectors"
        )
    if extra <= 0:
        return main
    encoder = ctx.exact_encoder
    with progress(f"vectors: {extra} more for the RTL level"):
        codes, slices = build_vector_set(encoder, extra, seed=ctx.request.seed + 1)
        shape = tuple(int(v) for v in ctx.keras_model.input_shape[1:])
        x = encoder.input_type.to_float(codes).astype(np.float32).reshape(-1, *shape)
    with progress(f"{reference_name(ctx)}: reference latents of {extra} RTL vectors"):
        expected = values_to_codes(qkeras_latents(ctx.keras_model, x), main.frac)
    offset = len(main.input_codes)
    all_slices = dict(main.slices)
    for name, s in slices.items():
        all_slices[f"rtl_{name}"] = slice(s.start + offset, s.stop + offset)
    return VectorSet(
        x=np.empty((0,)),  # the floats are not kept: only QKeras needed them
        codes=np.concatenate([main.input_codes, codes]),
        slices=all_slices,
        expected=np.concatenate([main.expected_codes, expected]),
        latent_frac=main.latent_frac,
    )
