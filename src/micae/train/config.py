"""Run configuration: a YAML file under models/, plus command-line overrides."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import yaml

from micae.errors import ConfigError
from micae.models.spec import DecoderSpec, EncoderSpec
from micae.train.objectives import OBJECTIVES, validate_objective  # noqa: F401 (OBJECTIVES: the CLI's choices)

MODES = ("joint", "frozen-encoder", "encoder")
LOSSES = ("mse", "telescope", "sinkhorn")
STACK_LOSSES = ("latent", "chain")

DEFAULTS: dict = {
    "name": "econt",
    "seed": 0,
    "dataset": {
        "name": "hgcal-synth",
        "n_samples": None,  # None: micae.data.DEFAULT_SYNTH_SAMPLES generated wafers, or every row of a file
        "path": None,
        "layout": "4x4x3",
        "normalisation": "sumlog2",
        "tiles": 4,
        "n_parts": 1,
        "input_shape": None,
    },
    "encoder": {},
    "decoder": {},
    "train": {
        "mode": "joint",
        "epochs": 20,
        "batch_size": 256,
        "learning_rate": 0.003,
        "loss": "mse",
        "patience": 5,
        "noise": None,
        "encoder_path": None,
        "float_twin": True,
        # Training objective (micae.train.objectives): ae | vae | contractive | l1, and the penalty weights.
        "objective": "ae",
        "kl_weight": 0.001,  # vae: weight of KL(posterior || N(0, 1)), summed over latents
        "kl_warmup": 0,  # vae: epochs over which the KL weight ramps up from 0
        "contractive_weight": 0.001,  # contractive: weight of ||d latent / d input||_F^2
        "l1_weight": 0.001,  # l1: weight of sum |latent|
        # loss sinkhorn (micae.metrics.sinkhorn): entropic regulariser, iterations, weight of the wafer-sum term
        "emd_epsilon": 0.5,
        "emd_iterations": 20,
        "emd_debiased": False,
        "sum_weight": 1.0,
    },
    # ECON-T's limit: input values / latent values (live input cells only) >= 3.
    "min_compression": 3.0,
    # Optional limit on input bits / latent bits (reported always, enforced only when set).
    "min_bit_compression": None,
    # Optional stacked levels (micae.train.stacked): encoders over the concatenated stage-1 latents, and on up.
    # Without `levels` this section is the one stage-2 level; `levels: [{...}, ...]` lists stages 2, 3, ...,
    # each with the per-level keys below (missing ones taken from this section).
    "stack": {
        "enabled": False,
        "levels": None,
        "fine_tune_end_to_end": False,  # after the levels: train all stacked levels together on the inputs
        "rows": None,  # the level reads its input latents as (rows, n / rows, 1); default N parts (stage 2), 1 above
        "latent": 8,
        "latent_quant": None,
        "filters": 4,
        "kernel": 3,
        "strides": 1,
        "padding": "same",
        "decoder_units": 64,
        "loss": "latent",
        "epochs": None,
        "min_compression": 1.0,
    },
}


@dataclass(frozen=True)
class RunConfig:
    raw: dict

    @property
    def name(self) -> str:
        return str(self.raw["name"])

    @property
    def seed(self) -> int:
        return int(self.raw["seed"])

    @property
    def dataset(self) -> dict:
        return self.raw["dataset"]

    @property
    def train(self) -> dict:
        return self.raw["train"]

    @property
    def min_compression(self) -> float:
        return float(self.raw["min_compression"])

    @property
    def min_bit_compression(self) -> float | None:
        value = self.raw.get("min_bit_compression")
        return None if value is None else float(value)

    @property
    def stack(self) -> dict:
        return self.raw["stack"]

    def encoder_spec(self, input_shape: tuple[int, ...]) -> EncoderSpec:
        enc = dict(self.raw["encoder"])
        enc["input_shape"] = list(input_shape)
        return EncoderSpec.from_dict(enc)

    def masked_inputs(self, input_shape: tuple[int, ...]) -> int:
        """Input positions that never carry a value (the repeated pixels of the HGCAL "8x8" arrangement)."""
        from micae.data.geometry import masked_pixels

        return masked_pixels(self.dataset.get("layout"), tuple(input_shape))

    def check_encoder(self, input_shape: tuple[int, ...], n_parts: int = 1) -> dict:
        """The hardware constraints of this run's encoder on ``input_shape``; returns its bit budget."""
        from micae.models.constraints import check_encoder_spec

        return check_encoder_spec(
            self.encoder_spec(input_shape),
            self.min_compression,
            masked_inputs=self.masked_inputs(input_shape),
            n_parts=n_parts,
            min_bit_compression=self.min_bit_compression,
        )

    def decoder_spec(self) -> DecoderSpec:
        return DecoderSpec.from_dict(self.raw["decoder"])

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.raw, sort_keys=False)


def _merge(base: dict, extra: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "encoder":
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def _check_keys(raw: dict) -> None:
    for section in ("dataset", "train", "stack"):
        if not isinstance(raw.get(section, {}), dict):
            raise ConfigError(
                f"config section {section!r} is not a mapping", f"write {section}: followed by key: value lines"
            )
        unknown = sorted(set(raw.get(section, {})) - set(DEFAULTS[section]))
        if unknown:
            raise ConfigError(f"unknown {section} option(s) {unknown}", f"use only {sorted(DEFAULTS[section])}")
    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown config key(s) {unknown}", f"use only {sorted(DEFAULTS)}")


def parse_override(text: str) -> tuple[list[str], object]:
    """``train.epochs=5`` -> (["train", "epochs"], 5); values are parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} has no '='", "write --set section.key=value")
    key, value = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(value)


def read_yaml_mapping(path: str | Path, what: str, example: str) -> dict:
    """A YAML file holding a mapping, or a ConfigError saying what is wrong with it."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p} does not exist", f"give a YAML file such as {example}")
    try:
        loaded = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {p} is not valid YAML: {exc}", "fix the YAML syntax") from exc
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {p} does not hold a mapping", "write key: value pairs")
    return loaded


def load_config(
    path: str | Path | None = None, overrides: dict | None = None, sets: list[str] | None = None
) -> RunConfig:
    raw: dict = copy.deepcopy(DEFAULTS)
    if path is not None:
        loaded = read_yaml_mapping(path, "config file", "models/econt.yaml")
        _check_keys(loaded)
        raw = _merge(raw, loaded)
    for keys, value in (parse_override(s) for s in (sets or [])):
        node = raw
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = raw
        keys = dotted.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    _check_keys(raw)
    if raw["train"]["mode"] not in MODES:
        raise ConfigError(f"training mode {raw['train']['mode']!r} is unknown", f"use one of {MODES}")
    if raw["train"]["loss"] not in LOSSES:
        raise ConfigError(f"loss {raw['train']['loss']!r} is unknown", f"use one of {LOSSES}")
    if raw["train"]["mode"] == "frozen-encoder" and not raw["train"]["encoder_path"]:
        raise ConfigError("mode frozen-encoder needs a trained encoder", "pass --encoder models/<run>/encoder.h5")
    validate_objective(raw["train"])
    for key in ("epochs", "batch_size"):
        if int(raw["train"][key]) < 1:
            raise ConfigError(f"train.{key} = {raw['train'][key]} must be >= 1", "use a positive value")
    if raw["stack"]["loss"] not in STACK_LOSSES:
        raise ConfigError(f"stack.loss {raw['stack']['loss']!r} is unknown", f"use one of {STACK_LOSSES}")
    if int(raw["stack"]["latent"]) < 1:
        raise ConfigError(f"stack.latent = {raw['stack']['latent']} must be >= 1", "use --stack-latent N with N >= 1")
    from micae.train.stack_config import check_stack_section

    check_stack_section(raw)
    return RunConfig(raw=raw)
