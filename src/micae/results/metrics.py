"""``metrics.json``: what a training run measured on its test split, typed and versioned (:class:`Metrics`), with
its one loader :func:`load_metrics` and one migration :func:`migrate_metrics` (files of the previous micae,
written before schema versions, carry over key for key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from micae.evaluate.schema import AlgorithmResult
from micae.results.base import Maybe, OpenModel, Plain, ResultFile, ResultModel, load_result
from micae.results.report import BitBudget

METRICS_SCHEMA_VERSION = 1
METRICS_FILE = "metrics.json"
REWRITE_METRICS = "train the run again with micae train --force"


class Scores(OpenModel):
    """Reconstruction quality of one model on the test split: MSE, and EMD on HGCAL layouts (in units of half a
    trigger-cell pitch; NaN with ``emd_undefined`` > 0 where a reconstruction is empty)."""

    mse: float
    mse_median: float
    emd_mean: Maybe[float] = None
    emd_median: Maybe[float] = None
    emd_q16: Maybe[float] = None
    emd_q84: Maybe[float] = None
    emd_undefined: Maybe[int] = None


class ZeroCodes(ResultModel):
    fraction: float
    """test latent codes equal to 0"""
    per_latent: list[float]
    values: int
    elinks: Maybe[int] = None
    """an ECON-T run's e-link count L (the codes were counted on its latents)"""
    latent_bits: Maybe[int] = None
    """bits per latent at that L"""


class OccupancyBin(OpenModel):
    """Wafers with ``lo`` to ``hi`` lit cells; mean EMD per model."""

    lo: int
    hi: int
    n: int
    emd_mean: dict[str, float | None] = {}
    emd_median: dict[str, float | None] = {}


class WaferWins(ResultModel):
    """Per wafer, how often the QAT encoder beats (better), loses to (worse) or ties a baseline."""

    better: float
    worse: float
    tie: float
    n: int


class RunBitBudget(BitBudget):
    micae_latent_bits: Maybe[int] = None
    input_frac: Maybe[int] = None
    input_signed: Maybe[bool] = None


class TrainingPhase(ResultModel):
    seconds: float
    epochs_run: int
    resumed_from: int = 0
    final_loss: float | None
    final_val_loss: float | None


class ElinksAbout(ResultModel):
    """What metrics.json's ``elinks`` block was computed on (:func:`micae.evaluate.training.test_split_block`)."""

    data: str
    elinks: int
    elinks_source: str
    order: str


class PretrainSamples(ResultModel):
    train: int
    val: int


class Pretrain(ResultModel):
    """``pretrain:``: the generated wafers the run's models were first trained on (phases ``pretrain``,
    ``pretrain_float``), before the fine-tuning on the run's data."""

    epochs: int
    dataset: str
    preset: str
    samples: PretrainSamples
    seed: int
    learning_rate: float
    then: str


class Metrics(ResultFile):
    """metrics.json."""

    schema_version: int = METRICS_SCHEMA_VERSION
    name: str
    dataset: str
    layout: str
    n_parts: int
    mode: str
    objective: Plain = "ae"
    """the training objective's name (ae, vae, contractive, l1)"""
    objective_weights: dict[str, Plain] = {}
    objective_penalty: dict[str, Plain] = {}
    zero_codes: Maybe[ZeroCodes] = None
    test_samples: int
    quantized: Scores
    """the QAT encoder (with its decoder)"""
    baselines: dict[str, Scores]
    """float twin, PCA (tied, joint) and on HGCAL layouts micae's equal-bit ECON-T forms (bc, stc, threshold)"""
    baseline_bit_budgets: dict[str, dict[str, Plain]] = {}
    """what each ECON-T algorithm sends per wafer"""
    emd_by_occupancy: Maybe[list[OccupancyBin]] = None
    wafer_wins: Maybe[dict[str, WaferWins]] = None
    elinks: Maybe[dict[int, dict[str, AlgorithmResult]]] = None
    """with integer charges: the run's autoencoder (``ae``, ``ae_float``) and the chip's algorithms at the run's
    e-link count L on the test split, in CALQ units, in evaluation.json's form (L -> name -> figures)"""
    elinks_about: Maybe[ElinksAbout] = None
    compression_factor: float
    bit_ratio: float
    bit_budget: RunBitBudget
    dead_latents: list[int] = []
    saturated_latents: list[int] = []
    training: dict[str, TrainingPhase]
    """per phase (cae, micae, float; pretrain and pretrain_float with ``pretrain:``; a stacked run's stages)"""
    pretrain: Maybe[Pretrain] = None
    seconds_total: float
    environment: dict[str, Plain] = {}
    dataset_meta: dict[str, Plain] = {}
    stacked: Maybe[dict[str, Plain]] = None
    """a stacked run's levels (micae.train.stack_report)"""

    @property
    def models(self) -> dict[str, Scores]:
        """The quantized model and every baseline."""
        return {"quantized": self.quantized, **self.baselines}

    def write(self, folder: str | Path) -> Path:
        from micae.results.base import write_result

        return write_result(Path(folder) / METRICS_FILE, self)


def migrate_metrics(raw: dict, version: int) -> dict:
    """metrics.json of the previous micae (version 0: before schema versions): the same keys."""
    if version != 0:
        raise ValueError(f"no migration from schema_version {version}")
    raw = dict(raw)
    raw.setdefault("mode", "joint")
    raw["schema_version"] = METRICS_SCHEMA_VERSION
    return raw


def load_metrics(path: str | Path, *, raw: Any = None) -> Metrics:
    """Read a run's metrics.json (or the run folder holding it) as :class:`Metrics`; an older file is carried
    over by :func:`migrate_metrics`, anything else refused with a DataError naming the file, version and fix."""
    return load_result(
        path,
        Metrics,
        version=METRICS_SCHEMA_VERSION,
        migrate=migrate_metrics,
        fix=REWRITE_METRICS,
        raw=raw,
        file_name=METRICS_FILE,
    )


def metrics_from_json(data: dict, where: str = METRICS_FILE) -> Metrics:
    return load_metrics(where, raw=data)
