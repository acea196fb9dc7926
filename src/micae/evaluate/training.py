"""metrics.json's ``elinks`` block: ``micae train``'s test split scored as ``micae evaluate`` scores a file.

The test split holds normalised wafers; the chip's algorithms need the integer CALQ, which the dataset keeps
in ``aux["calq"]`` (normalisation can truncate bits, so CALQ is not rebuilt from the normalised values).
The run's reconstructions are multiplied back by each wafer's ``aux["norm_scale"]`` into CALQ units.
"""

from __future__ import annotations

import numpy as np

from micae.econt.links import ae_frame_bits
from micae.evaluate.autoencoder import description, run_elinks
from micae.evaluate.block import Block, elinks_block
from micae.evaluate.candidates import autoencoder

RECON_NAMES = {"quantized": "ae", "float": "ae_float"}
"""The training run's model names -> the evaluation names."""


def test_split_block(cfg, ds, recons: dict[str, np.ndarray]) -> tuple[Block, dict] | None:
    """(Block at the run's L, what it was computed on) for an HGCAL run whose data kept integer CALQ, else None.

    ``recons``: the training evaluation's reconstructions, (samples, n_parts, H, W, C) in normalised units.
    """
    from micae.data.geometry import HGCAL_LAYOUTS, unarrange

    test = ds.aux.get("test", {})
    if ds.layout not in HGCAL_LAYOUTS or "calq" not in test or "norm_scale" not in test:
        return None
    elinks, source, _ = run_elinks(cfg)
    if elinks is None:
        return None
    calq = np.asarray(test["calq"]).reshape(-1, 48).astype(np.int64)
    scale = np.asarray(test["norm_scale"], dtype=np.float64).reshape(-1)
    normalisation = str(cfg.dataset.get("normalisation", "sumlog2"))
    module_sum = bool((cfg.raw.get("decoder") or {}).get("module_sum"))
    cands = []
    for model, name in RECON_NAMES.items():
        if model in recons:
            r = np.asarray(recons[model])
            tc = unarrange(r.reshape(-1, *r.shape[2:]), ds.layout) * scale[:, None]
            text = description(name, cfg.name, elinks, normalisation, ds.layout, module_sum)
            cands.append(autoencoder(name, text, calq, tc, ae_frame_bits(elinks)))
    block = elinks_block(calq, [elinks], {elinks: cands})
    about = {
        "data": f"the run's test split ({len(calq)} wafers of {ds.name}), in CALQ units",
        "elinks": elinks,
        "elinks_source": source,
        "order": "the test split is a random draw: the Threshold-Sum buffer sees its wafers as consecutive crossings",
    }
    return block, about
