"""Shared test helpers: small encoders with weights that reach saturation and ties."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# real Vivado HLS 2020.1 reports; CI clones the repo with shared/ beside it
VIVADO_2020_1 = SHARED / "fixtures" / "vendor-reports" / "vivado-hls-2020.1"


def randomize_weights(model, seed: int = 0, scale: float = 1.0) -> None:
    """Uniform weights over most of the quantizer range, so accumulators can saturate."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([rng.uniform(-scale, scale, size=w.shape).astype(np.float32) for w in ws])


@pytest.fixture(scope="session")
def tf():
    import tensorflow

    return tensorflow


@pytest.fixture
def fixtures() -> Path:
    """The real vendor report fixtures (skips, saying where it looked, when shared/ is absent)."""
    if not VIVADO_2020_1.is_dir():
        pytest.skip(f"real vendor report fixtures not found at {VIVADO_2020_1} (clone shared/ beside the repo)")
    return VIVADO_2020_1
