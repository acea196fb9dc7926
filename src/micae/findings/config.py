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

from micae.config.findings import FindingsFile, Tolerances
from micae.errors import ConfigError
from micae.sweep.grid import base_config
from micae.train.config import RunConfig, load_config, read_yaml_mapping

TOLERANCES: dict = Tolerances().model_dump()
"""The verdicts' rules and their defaults (:class:`micae.config.findings.Tolerances`)."""
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
        try:
            return load_config(self.base, values=values, values_from=f"datasets.{self.label} of the study file")
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


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study file (:class:`micae.config.findings.FindingsFile`); every dataset's run configs
    are built once to check them, and the sweep's synth settings too."""
    from micae.sweep.grid import synth_options

    path = Path(path)
    raw = read_yaml_mapping(path, "findings study file", "findings/micae_findings.yaml")
    doc = FindingsFile.parse(raw, fix=f"correct it in {path}")
    name = check_name(doc.name or path.stem)
    sweep_synth = {**SWEEP_SYNTH, **(raw.get("sweep_synth") or {})}
    synth_options(sweep_synth, where="sweep_synth.", fix=f"correct sweep_synth: in {path}")
    datasets = []
    for label, ds in doc.datasets.items():
        written = raw["datasets"][label]
        base = base_config(written, path.parent, f"{path}: datasets.{label}")
        overrides = copy.deepcopy(written.get("set") or {})
        datasets.append(DatasetStudy(str(label), base, ds.latent, sorted(set(ds.sweep_latents)), overrides))
    study = StudyConfig(
        name=name,
        seed=doc.seed,
        workers=doc.workers,
        tolerances=doc.tolerances.model_dump(),
        sweep_synth=sweep_synth,
        datasets=datasets,
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
