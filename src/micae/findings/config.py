"""The findings study's config: datasets, sizes, seed, epochs, tolerances (``findings/micae_findings.yaml``).

A study YAML::

    name: micae_findings             # default: the file name; the page goes to <out>/<name>/findings.html
    seed: 0                          # one seed for every run (overrides the base configs' seed)
    workers: 2                       # local Dask workers of the latent sweep
    tolerances: {...}                # see TOLERANCES
    sweep_synth: {vectors: 300, rtl: "off", vendor: "off"}   # synthesize options of every sweep point
    datasets:
      digits:                        # a label
        base: ../models/digits_micae.yaml   # run config, relative to this file
        latent: 4                    # latents per part of findings 1-4 and 6
        sweep_latents: [2, 4, 8, 16, 32, 64, 128]
        set: {train.epochs: 40, min_compression: 0.125}   # dotted overrides for every run of this dataset
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from micae.errors import ConfigError
from micae.sweep.grid import base_config
from micae.train.config import RunConfig, load_config, read_yaml_mapping

STUDY_KEYS = ("name", "seed", "workers", "tolerances", "sweep_synth", "datasets")
DATASET_KEYS = ("base", "latent", "sweep_latents", "set")
TOLERANCES: dict = {
    "explained_min": 0.5,  # finding 1: every part's explained fraction at least this
    "similar": 0.10,  # findings 2-4: relative test-MSE difference still counted as "performs like"
    "saturation": 0.05,  # finding 5: L_sat = the smallest latent within this of the best test MSE
    "around": [32, 128],  # finding 5: "around 64" means L_sat in this range
    "overfit_ratio": 1.10,  # finding 6: val/train loss above this is overfitting
    "overfit_rise": 0.05,  # finding 6: val loss this far above its minimum is overfitting
    "last_epochs": 3,  # finding 6: both measured on the mean of the last epochs
}
SWEEP_SYNTH = {"vectors": 300, "rtl": "off", "vendor": "off"}
APPROACHES = ("solitary", "frozen", "joint")
"""The rows of findings 1-4: solitary encoders + decoder, a frozen pre-trained shared encoder + new
decoder (``train.mode: encoder``), joint training with tied weights (``train.mode: joint``)."""


@dataclass(frozen=True)
class DatasetStudy:
    label: str
    base: Path
    latent: int
    sweep_latents: list[int]
    overrides: dict

    def run_config(self, name: str, seed: int, mode: str = "joint", latent: int | None = None) -> RunConfig:
        """The run config of one training of this dataset (base + ``set`` + mode, latent, seed, name)."""
        values = {
            **self.overrides,
            "train.mode": mode,
            "encoder.latent": int(latent or self.latent),
            "seed": seed,
            "name": name,
        }
        sets = [f"{k}={_yaml(v)}" for k, v in values.items()]
        try:
            return load_config(self.base, sets=sets)
        except ConfigError as exc:
            raise ConfigError(f"findings dataset {self.label}: {exc.problem}", exc.fix) from exc


@dataclass(frozen=True)
class StudyConfig:
    name: str
    seed: int
    workers: int
    tolerances: dict
    sweep_synth: dict
    datasets: list[DatasetStudy] = field(default_factory=list)
    source: Path | None = None
    raw: dict = field(default_factory=dict)


def check_name(name: str) -> str:
    """A study name is a plain folder name (it becomes ``<out>/<name>/``)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) or name.endswith(".incomplete"):
        raise ConfigError(f"study name {name!r} is not a plain folder name", "use letters, digits, '_', '-', '.'")
    return name


def _yaml(value) -> str:
    from micae.sweep.grid import yaml_scalar

    return yaml_scalar(value)


def _dataset(label: str, raw, folder: Path, where: str) -> DatasetStudy:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: datasets.{label} is not a mapping", f"write base:, latent:, ... under {label}:")
    unknown = sorted(set(raw) - set(DATASET_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown} in datasets.{label}", f"use only {list(DATASET_KEYS)}")
    base = base_config(raw, folder, f"{where}: datasets.{label}")
    latents = raw.get("sweep_latents") or []
    if not isinstance(latents, list) or not all(isinstance(v, int) and v >= 1 for v in latents):
        raise ConfigError(
            f"{where}: datasets.{label}.sweep_latents = {latents!r} is not a list of positive integers",
            "write e.g. sweep_latents: [2, 4, 8, 16, 32, 64]",
        )
    latent = raw.get("latent")
    if not isinstance(latent, int) or latent < 1:
        raise ConfigError(f"{where}: datasets.{label}.latent = {latent!r}", "give the latents per part, e.g. latent: 4")
    overrides = raw.get("set") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{where}: datasets.{label}.set is not a mapping", "write dotted.key: value entries")
    bad = sorted(k for k in overrides if k in ("name", "seed", "train.mode", "encoder.latent"))
    if bad:
        raise ConfigError(
            f"{where}: datasets.{label}.set may not set {bad}",
            "the study sets the name, seed, mode and latent of every run; use seed:, latent:, sweep_latents:",
        )
    return DatasetStudy(label, base, latent, sorted(set(latents)), copy.deepcopy(overrides))


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study file; every dataset's run configs are built once to check them."""
    path = Path(path)
    raw = read_yaml_mapping(path, "findings study file", "findings/micae_findings.yaml")
    where = str(path)
    unknown = sorted(set(raw) - set(STUDY_KEYS))
    if unknown:
        raise ConfigError(f"unknown key(s) {unknown} in {where}", f"use only {list(STUDY_KEYS)}")
    name = check_name(str(raw.get("name") or path.stem))
    tol = {**TOLERANCES, **(raw.get("tolerances") or {})}
    bad_tol = sorted(set(tol) - set(TOLERANCES))
    if bad_tol:
        raise ConfigError(f"unknown tolerance(s) {bad_tol} in {where}", f"use only {sorted(TOLERANCES)}")
    datasets = raw.get("datasets") or {}
    if not isinstance(datasets, dict) or not datasets:
        raise ConfigError(f"{where} lists no datasets", "add datasets: with e.g. digits: and hgcal: entries")
    study = StudyConfig(
        name=name,
        seed=int(raw.get("seed", 0)),
        workers=int(raw.get("workers") or 2),
        tolerances=tol,
        sweep_synth={**SWEEP_SYNTH, **(raw.get("sweep_synth") or {})},
        datasets=[_dataset(str(k), v, path.parent, where) for k, v in datasets.items()],
        source=path,
        raw=copy.deepcopy(raw),
    )
    for ds in study.datasets:
        for latent in {ds.latent, *ds.sweep_latents}:
            ds.run_config("check", study.seed, latent=latent).check_encoder(_input_shape(ds, study.seed))
    return study


def _input_shape(ds: DatasetStudy, seed: int) -> tuple[int, ...]:
    from micae.sweep.grid import guess_input_shape

    cfg = ds.run_config("check", seed)
    shape = guess_input_shape(cfg)
    if shape is None:
        raise ConfigError(
            f"findings dataset {ds.label}: the input shape of {cfg.dataset['name']!r} is not known before loading",
            "use digits, hgcal-synth or econt-csv, or set dataset.input_shape",
        )
    return shape
