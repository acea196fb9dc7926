"""The state steps share: the request, resolved paths, the run's timings, and the artifacts earlier steps made.

Steps read the artifacts the steps they depend on left here (typed fields below) and return their results;
the report is not here: only the runner files results into it (:mod:`micae.flow.runner`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from micae.flow.request import SynthRequest
from micae.log import Timings
from micae.results.rtl import RtlSection

if TYPE_CHECKING:
    from micae.fixed.graph import IntegerEncoder
    from micae.models.extract import GuardReport

T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """``value``, which an earlier step made; a step that runs before it is a registry mistake, said as such."""
    if value is None:
        raise RuntimeError(
            f"{what} is not there yet: a step reads it before the step that makes it ran "
            "(check the step's needs in micae.flow.registry)"
        )
    return value


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

    @property
    def input_codes(self) -> np.ndarray:
        return required(self.codes, "the vectors' integer input codes")

    @property
    def expected_codes(self) -> np.ndarray:
        """QKeras' latents as integer codes at the latent LSB."""
        return required(self.expected, "QKeras' latent codes")

    @property
    def expected_values(self) -> np.ndarray:
        return required(self.expected_f, "QKeras' latents")

    @property
    def frac(self) -> int:
        """Fractional bits of the latent codes."""
        return required(self.latent_frac, "the latent precision")


@dataclass
class FlowContext:
    """Filled in step by step: each artifact field is written by one step and read by the steps after it."""

    request: SynthRequest
    name: str
    model_file: Path
    run_dir: Path | None
    hls_dir: Path
    fw_dir: Path
    timings: Timings = field(default_factory=Timings)
    """seconds per announced step of this run (report.json timing_s)"""
    hls_stage: Path | None = None
    fw_stage: Path | None = None
    # artifacts, in the order the steps make them
    keras_model: Any = None
    """load: the Keras encoder (cut out of a larger model when asked)"""
    guard: GuardReport | None = None
    """load: the exactness guard's findings (the exact integer model, or why there is none)"""
    vectors: VectorSet | None = None
    """vectors: the verification vectors and QKeras' latents"""
    hls_model: Any = None
    """hls: the compiled hls4ml model"""
    hls_refused: str | None = None
    """hls: why no hls4ml project was built (the C model, csim and vendor levels skip with it)"""
    rtl_vectors: VectorSet | None = None
    """rtl: the RTL level's vectors (the main set first)"""
    rtl_dir: Path | None = None
    """rtl: the written RTL folder (None: the route did not run)"""
    rtl: RtlSection | None = None
    """rtl, pnr: the manifest of the RTL as it is cut now (pnr may cut it again)"""

    @property
    def hls_out(self) -> Path:
        """The staged hls4ml project folder (``hls/<name>.incomplete``)."""
        return required(self.hls_stage, "the staged hls folder")

    @property
    def fw_out(self) -> Path:
        """The staged firmware folder (``firmware/<name>.incomplete``)."""
        return required(self.fw_stage, "the staged firmware folder")

    @property
    def main_vectors(self) -> VectorSet:
        return required(self.vectors, "the verification vectors")

    @property
    def rtl_path(self) -> Path:
        return required(self.rtl_dir, "the RTL folder")

    @property
    def encoder(self) -> IntegerEncoder | None:
        """The exact integer model, or None when the guard could not read it exactly."""
        return self.guard.encoder if self.guard is not None else None

    @property
    def exact_encoder(self) -> IntegerEncoder:
        """The exact integer model, for steps that only run when there is one (the RTL route)."""
        return required(self.encoder, "the exact integer model")
