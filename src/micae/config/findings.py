"""The findings study file (``findings/micae_findings.yaml``): datasets, sizes, seed, tolerances."""

from __future__ import annotations

from typing import Annotated, Any

from micae.config.base import Schema
from micae.config.sweep import FolderName
from micae.config.types import Check, Integer, Number, Text

FORBIDDEN_SETS = ("name", "seed", "train.mode", "encoder.latent")
"""Keys the study sets on every run itself."""


class Tolerances(Schema):
    """The rules behind the verdicts."""

    explained_min: Number(le=1) = 0.5
    """finding 1: every part's explained fraction (1 - MSE / mean-image MSE, below 0 when worse than the mean
    image) at least this"""
    similar: Number(ge=0) = 0.10
    """findings 2-4: relative test-MSE difference still counted as "performs like\""""
    saturation: Number(ge=0) = 0.05
    """finding 5: L_sat = the smallest latent within this of the best test MSE"""
    around: Annotated[
        list[Integer(ge=1)], Check(lambda v: len(v) == 2 and v[0] <= v[1], "must be [low, high] latents, low <= high")
    ] = [32, 128]
    """finding 5: "saturated around 64" means L_sat in this range"""
    overfit_ratio: Number(gt=0) = 1.10
    """finding 6: val/train loss above this is overfitting"""
    overfit_rise: Number(ge=0) = 0.05
    """finding 6: val loss this far above its minimum is overfitting"""
    last_epochs: Integer(ge=1) = 3
    """finding 6: both measured on the mean of the last epochs"""


def _allowed_sets(v: dict) -> bool:
    return not any(k in FORBIDDEN_SETS for k in v)


class FindingsDataset(Schema):
    """One dataset of the study."""

    base: Text()
    """run config, relative to the study file"""
    latent: Integer(ge=1)
    """latents per part of findings 1-4 and 6"""
    sweep_latents: list[Integer(ge=1)] = []
    """latent sizes of finding 5's sweep"""
    set: Annotated[
        dict[str, Any],
        Check(_allowed_sets, f"may not set {list(FORBIDDEN_SETS)}: the study sets them (use seed:, latent:)"),
    ] = {}
    """dotted overrides for every run of this dataset"""


class FindingsFile(Schema):
    """A findings study file."""

    name: FolderName = None
    """the study's name: the page goes to <out>/<name>/findings.html (none: the file name)"""
    seed: Integer(ge=0) = 0
    """one seed for every run (overrides the base configs' seed)"""
    workers: Integer(ge=1) = 2
    """local Dask workers of the latent sweep"""
    tolerances: Tolerances = Tolerances()
    """the rules behind the verdicts"""
    sweep_synth: dict[str, Any] | None = None
    """micae synth options of every latent-sweep point (default: vectors 300, rtl off, vendor off)"""
    datasets: Annotated[dict[str, FindingsDataset], Check(lambda v: len(v) > 0, "must list at least one dataset")]
    """label -> dataset study"""
