"""Search files: ranges of config keys searched by an Optuna study instead of a grid.

A search file is a sweep file with ``search:`` instead of ``grid:``::

    name: econt_search
    base: ../models/econt.yaml
    set: {dataset.n_samples: 4000, train.epochs: 3}
    search:                                   # dotted config keys
      encoder.latent: {low: 8, high: 24, step: 4}     # integers (step default 1); floats when low/high are
      encoder.latent_quant.bits: [5, 6, 8, 10]        # a list: one of these values
      encoder.filters: [4, 8]
    trials: 12                                # distinct points that train (repeats, prefiltered ones do not count)
    objectives: [quality, LUT, ns]            # all minimised; quality = EMD for HGCAL data, else MSE
    seed: 0                                   # NSGA-II sampler seed
    population: 6                             # NSGA-II population (default: trials / 2, 4 to 50)
    synth: {vectors: 1000, rtl: auto}

Points are named like grid points (``latent12_bits6_filters8``), so a trial
that repeats earlier parameters reuses that finished point.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from micae.errors import ConfigError
from micae.sweep.grid import (
    Point,
    SweepSpec,
    build_spec,
    default_labels,
    point_config,
    point_name,
    prefilter,
)
from micae.train.config import read_yaml_mapping

# objective name -> results.csv column; "quality" is resolved per dataset
OBJECTIVES = {
    "emd": "emd_mean",
    "mse": "test_mse",
    "LUT": "LUT",
    "FF": "FF",
    "DSP": "DSP",
    "ns": "ns",
    "cycles": "cycles",
    "weights_nz": "weights_nz",
}
HARDWARE_OBJECTIVES = ("LUT", "FF", "DSP", "ns", "cycles")
DEFAULT_OBJECTIVES = ("quality", "LUT", "ns")
EMD_DATASETS = ("hgcal-synth", "econt-csv")


@dataclass
class StudySpec:
    """A search: the sweep parts (base, set, synth, labels) plus ranges, trial count and objectives."""

    sweep: SweepSpec
    space: dict  # key -> {"low", "high", "step", "log"} or {"choices": [...]}
    trials: int
    objectives: list[str]  # names as written (quality resolved)
    columns: list[str]  # results.csv column of each objective
    seed: int = 0
    population: int = 4
    keys: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.sweep.name


def parse_space(raw) -> dict:
    """``search:`` -> {key: {"choices": [...]}} or {key: {"low", "high", "step", "log"}} (validated by the schema's
    typed union :data:`micae.config.sweep.SearchValue`)."""
    from micae.config.errors import validate
    from micae.config.sweep import SearchFile

    doc = validate(SearchFile.model_fields["search"].annotation, raw, prefix="search.")
    return {k: ({"choices": list(raw[k])} if isinstance(raw[k], list) else v.as_dict(raw[k])) for k, v in doc.items()}


def distributions(space: dict) -> dict:
    """Optuna distributions of the space (ints when low, high and step are ints)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out = {}
    for key, s in space.items():
        if "choices" in s:
            out[key] = CategoricalDistribution(s["choices"])
        elif all(isinstance(s[k], int) for k in ("low", "high")) and isinstance(s["step"] or 1, int):
            out[key] = IntDistribution(s["low"], s["high"], step=s["step"] or 1, log=s["log"])
        else:
            out[key] = FloatDistribution(s["low"], s["high"], step=s["step"], log=s["log"])
    return out


def resolve_objectives(names, dataset: str, synth: dict) -> tuple[list[str], list[str]]:
    """(objective names, results columns); quality -> emd for HGCAL datasets, else mse."""
    names = list(names or DEFAULT_OBJECTIVES)
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"objectives {names} are empty or repeat one", "e.g. objectives: [quality, LUT, ns]")
    resolved = []
    for n in names:
        n = ("emd" if dataset in EMD_DATASETS else "mse") if n == "quality" else n
        if n not in OBJECTIVES:
            raise ConfigError(f"unknown objective {n!r}", f"use quality or one of {sorted(OBJECTIVES)}")
        if n in HARDWARE_OBJECTIVES and synth["rtl"] == "off" and synth["vendor"] == "off":
            raise ConfigError(
                f"objective {n} needs hardware figures but synth.rtl and synth.vendor are off",
                "set synth.rtl: auto (the open-source RTL route), or use weights_nz as the cost objective",
            )
        resolved.append(n)
    return resolved, [OBJECTIVES[n] for n in resolved]


def load_study(path: str | Path, raw: dict | None = None) -> StudySpec:
    """Read and validate a search file (:class:`micae.config.sweep.SearchFile`); every searched value is
    checked in a run config, with the synth settings, before anything trains."""
    from micae.config.sweep import SearchFile

    path = Path(path)
    raw = dict(raw if raw is not None else read_yaml_mapping(path, "sweep file", "sweeps/latent_size.yaml"))
    if "grid" in raw:
        raise ConfigError(f"{path} has both grid: and search:", "a sweep file either lists a grid or searches ranges")
    doc = SearchFile.parse(raw, fix=f"correct it in {path}")
    base = Path(doc.base)
    base = base if base.is_absolute() else (path.parent / base).resolve()
    space = parse_space(raw["search"])
    keys = list(space)
    labels = raw.get("labels") or {}
    bad = sorted(set(labels) - set(keys))
    if bad:
        raise ConfigError(f"labels for key(s) {bad} that are not searched", f"label only search keys {keys}")
    fixed = raw.get("set") or {}
    sweep = build_spec(name=doc.name or path.stem, base=base, fixed=fixed, grid={}, synth=raw.get("synth"))
    sweep.source, sweep.points = path, []
    sweep.labels = {**default_labels(keys), **labels}
    names, cols = resolve_objectives(doc.objectives, sweep_dataset(sweep, fixed), sweep.synth)
    spec = StudySpec(
        sweep=sweep,
        space=space,
        trials=doc.trials,
        objectives=names,
        columns=cols,
        seed=doc.seed,
        population=doc.population or max(4, min(50, doc.trials // 2)),
        keys=keys,
    )
    distributions(space)  # refuse bad ranges now, not at the first trial
    check_space(spec)
    return spec


def check_space(spec: StudySpec) -> None:
    """Every searched value (each choice, each range's ends) in a run config, the other keys at their first
    value: a value the run config refuses stops the study before the first trial trains."""
    corners = {k: (s["choices"][0] if "choices" in s else s["low"]) for k, s in spec.space.items()}
    study_point(spec, corners)
    for key, s in spec.space.items():
        for value in s["choices"] if "choices" in s else (s["low"], s["high"]):
            study_point(spec, {**corners, key: value})


def sweep_dataset(sweep: SweepSpec, fixed: dict) -> str:
    from micae.train.config import load_config

    return load_config(sweep.base).dataset["name"] if "dataset.name" not in fixed else fixed["dataset.name"]


def study_point(spec: StudySpec, params: dict) -> Point:
    """The sweep point of a trial's parameters (validated run config, prefilter reason if any)."""
    values = {k: params[k] for k in spec.keys}
    name = point_name(values, spec.sweep.labels)
    sweep = spec.sweep
    cfg = point_config(sweep.base, sweep.fixed, copy.deepcopy(values), name, sweep.synth, sweep.source)
    return Point(name, values, cfg, prefilter(cfg))


def constraint_violation(reason: str | None) -> float:
    """How far a prefiltered point breaks its limit: ``compression 2.5 < 3`` -> 0.5; other reasons 1."""
    if reason is None:
        return 0.0
    m = re.fullmatch(r"compression ([0-9.eE+-]+) < ([0-9.eE+-]+)", reason)
    return float(m.group(2)) - float(m.group(1)) if m else 1.0


def is_search_file(path: str | Path) -> bool:
    raw = read_yaml_mapping(Path(path), "sweep file", "sweeps/latent_size.yaml")
    return "search" in raw
