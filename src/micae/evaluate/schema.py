"""evaluation.json as a typed, versioned model, and its one loader: :func:`load_evaluation`.

Every float is finite (``allow_inf_nan=False``): a NaN or a sentinel can never reach the file. Statistics
of an empty set (an occupancy bin without wafers) are ``null``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from micae.errors import DataError

SCHEMA_VERSION = 1
FILE_NAME = "evaluation.json"

Finite = Annotated[float, Field(allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0)]
Family = Literal["chip", "literature", "autoencoder"]
FAMILIES: tuple[str, ...] = ("autoencoder", "chip", "literature")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OccupancyBin(_Model):
    """EMD of the wafers with ``lit_min`` to ``lit_max`` (inclusive) lit cells; null statistics when ``n`` is 0."""

    lit_min: Annotated[int, Field(ge=1, le=48)]
    lit_max: Annotated[int, Field(ge=1, le=48)]
    n: Count
    emd_mean: Finite | None
    emd_median: Finite | None


class AlgorithmResult(_Model):
    """One algorithm (or the run's autoencoder) at one e-link count on the evaluated wafers."""

    family: Family
    description: str = Field(description="one line: what is sent, codes, tie rule")
    n_wafers: Count = Field(description="non-empty wafers scored (every mean is over these)")
    emd_mean: Finite = Field(description="mean EMD (emd units: half a trigger-cell pitch)")
    emd_median: Finite
    empty_reconstructions: Count = Field(
        description="wafers where it sent nothing; each counts with the empty-reconstruction EMD"
    )
    mse: Finite = Field(description="mean over wafers of the mean over 48 cells of ((recon - CALQ) / wafer sum)^2")
    bits_per_wafer: Count = Field(description="the whole frame as the datapath document counts it (the maximum)")
    bits_per_wafer_mean: Finite | None = Field(description="mean frame bits; variable frames (Threshold-Sum) only")
    lossless_fraction: Fraction = Field(description="wafers whose every cell came back as its integer CALQ")
    lossless_sel_fraction: Fraction | None = Field(
        description="wafers whose every lit cell reached the output at its position (chip and literature forms)"
    )
    truncated_fraction: Fraction | None = Field(description="wafers the Threshold-Sum buffer truncated")
    energy_kept: Finite = Field(description="mean of sum(recon) / sum(CALQ) per wafer")
    lit_ge16: OccupancyBin = Field(description="wafers with 16 or more lit cells")
    by_occupancy: list[OccupancyBin]


class RowsUsed(_Model):
    """Consecutive data rows ``start`` (inclusive) to ``stop`` (exclusive) of ``total``, as ``spec`` asked."""

    spec: str
    start: Count
    stop: Count
    total: Count


class DataInfo(_Model):
    kind: Literal["econt-csv", "npz", "hgcal-synth"]
    generated: bool
    description: str = Field(description="one line naming the data: file or generator, rows or split")
    path: str | None
    sha256: str | None
    rows: RowsUsed | None = Field(description="the rows of the file (or generated wafers) that were read")
    split: str | None = Field(description="'test' when these are the run's own test wafers")
    generator: dict | None = Field(description="hgcal-synth: preset, seed, wafers generated")
    wafers_read: Count
    wafers_dropped_zero: Count = Field(description="all-zero wafers among those read (not scored)")
    wafers_evaluated: Count
    seen_in_training: Literal["no", "yes", "partly", "unknown"]
    seen_in_training_why: str
    order: str = Field(description="what the row order means for the Threshold-Sum buffer")


class RunInfo(_Model):
    path: str
    name: str
    dataset: str = Field(description="the data the run trained on")
    elinks: int | None = Field(description="the run's e-link count L (its autoencoder is scored at this L only)")
    elinks_source: str
    normalisation: str
    layout: str
    n_parts: int
    decoder_module_sum: bool
    autoencoders: list[str] = Field(description="the autoencoder names scored: ae (QAT), ae_float (float twin)")
    note: str | None = None


class Definitions(_Model):
    emd: str
    emd_unit: str
    empty_reconstruction_emd: Finite
    empty_reconstruction: str
    mse: str
    energy_kept: str
    lossless: str
    bits_per_wafer: str
    occupancy: str


class Evaluation(_Model):
    schema_version: Literal[1] = SCHEMA_VERSION
    micae_version: str
    created: str
    seconds: Finite
    data: DataInfo
    run: RunInfo | None
    definitions: Definitions
    elinks: dict[int, dict[str, AlgorithmResult]] = Field(
        description="per e-link count L, algorithm name -> its figures on the evaluated wafers"
    )

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def load_evaluation(path: str | Path) -> Evaluation:
    """Read and validate an evaluation.json (or the folder holding one); DataError saying what is wrong."""
    p = Path(path)
    if p.is_dir():
        p = p / FILE_NAME
    if not p.is_file():
        raise DataError(f"{p} does not exist", "run micae evaluate first, or pass the folder it wrote")
    try:
        raw = json.loads(p.read_text())
    except ValueError as exc:
        raise DataError(f"{p} is not JSON: {exc}", "re-run micae evaluate --force to write it again") from None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if version != SCHEMA_VERSION:
        raise DataError(
            f"{p} has schema_version {version!r}; this micae reads version {SCHEMA_VERSION}",
            "re-run micae evaluate --force with this micae to rewrite it",
        )
    try:
        return Evaluation.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(k) for k in first["loc"])
        raise DataError(f"{p}: {where}: {first['msg']}", "re-run micae evaluate --force to write it again") from None
