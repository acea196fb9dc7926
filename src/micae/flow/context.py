"""The state steps share: the request, resolved paths, and what earlier steps produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from micae.flow.request import SynthRequest
from micae.flow.results import SynthReport


@dataclass
class VectorSet:
    """The verification vectors: float inputs (what QKeras and hls4ml take), their integer codes (None for a
    model micae could not read exactly), the slice of each source (test split, ties, ...), and the expected
    latents as QKeras computes them, as floats and as integer codes at the latent LSB."""

    x: np.ndarray
    codes: np.ndarray | None
    slices: dict[str, slice]
    expected_f: np.ndarray | None = None
    expected: np.ndarray | None = None
    latent_frac: int | None = None

    def source_of(self, index: int) -> str:
        return next((name for name, s in self.slices.items() if s.start <= index < s.stop), "?")


@dataclass
class FlowContext:
    """Filled in step by step; a step reads what the steps it depends on wrote."""

    request: SynthRequest
    name: str
    model_file: Path
    run_dir: Path | None
    hls_dir: Path
    fw_dir: Path
    report: SynthReport
    hls_stage: Path | None = None
    fw_stage: Path | None = None
    keras_model: Any = None
    guard: Any = None  # micae.models.extract.GuardReport
    vectors: VectorSet | None = None
    hls_model: Any = None
    rtl_dir: Path | None = None
    rtl_vectors: VectorSet | None = None
    skipped: dict[str, str] = field(default_factory=dict)  # step name -> why it did not run

    @property
    def encoder(self):
        """The exact integer model, or None when the guard could not read the encoder exactly."""
        return getattr(self.guard, "encoder", None)
