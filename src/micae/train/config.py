"""Run configuration: a YAML file under models/, plus ``--set`` overrides and command-line options.

The keys, their types, defaults and descriptions are the schema :class:`micae.config.run.RunSchema`;
:func:`load_config` merges (defaults < YAML < ``--set`` < options < ``values``), validates everything before
any data loads, and names a bad value as ``<key path> = <value>: <what is allowed>`` with where it came from.
``RunConfig.raw`` is the merged mapping as written (what ``config.yaml`` of a run holds); ``RunConfig.model``
the validated schema.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from micae.config.errors import show
from micae.config.run import LOSSES, MODES, OBJECTIVES, STACK_LOSSES, RunSchema, defaults  # noqa: F401 (re-exported)
from micae.errors import ConfigError
from micae.models.spec import DecoderSpec, EncoderSpec

DEFAULTS: dict = defaults()
"""The defaults a YAML file is merged onto (from the schema)."""


@dataclass(frozen=True)
class RunConfig:
    raw: dict
    model: RunSchema | None = None

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

    @property
    def elinks(self) -> int | None:
        """The ECON-T e-link count ``econt.elinks`` (None: not an ECON-T frame)."""
        value = (self.raw.get("econt") or {}).get("elinks")
        return None if value is None else int(value)

    def training_raw(self) -> dict:
        """``raw`` without the ``synth:`` block: what decides the trained model (fingerprints of finished runs)."""
        return {k: v for k, v in self.raw.items() if k != "synth"}

    def encoder_spec(self, input_shape: tuple[int, ...]) -> EncoderSpec:
        from micae.train.econt_config import encoder_section

        enc = encoder_section(self.raw)
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
            elinks=self.elinks,
        )

    def known_input_shape(self) -> tuple[int, int, int] | None:
        """The encoder input shape this config trains on, when it is known without loading data."""
        d = self.dataset
        if d.get("input_shape"):
            return tuple(int(v) for v in d["input_shape"])
        if d["name"] in ("hgcal-synth", "econt-csv"):
            from micae.data.geometry import arrangement_shape

            try:
                return tuple(arrangement_shape(d.get("layout", "4x4x3")))
            except Exception:  # an unknown layout fails properly when training loads the data
                return None
        if d["name"] == "digits":
            k = math.isqrt(int(d.get("tiles") or 1))
            return (8 // k, 8 // k, 1) if k and 8 % k == 0 else None
        return None

    def check_before_data(self) -> None:
        """The encoder's hardware constraints, when the input shape is known without data (ConstraintError)."""
        shape = self.known_input_shape()
        if shape is not None and self.train["mode"] != "frozen-encoder":
            self.check_encoder(shape)

    def decoder_spec(self) -> DecoderSpec:
        return DecoderSpec.from_dict(self.raw["decoder"])

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.raw, sort_keys=False)


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "encoder":
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_override(text: str) -> tuple[list[str], object]:
    """``train.epochs=5`` -> (["train", "epochs"], 5); values are parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r} has no '='", "write --set section.key=value")
    key, value = text.split("=", 1)
    try:
        return key.strip().split("."), yaml.safe_load(value)
    except yaml.YAMLError:
        return key.strip().split("."), value


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


def assign(raw: dict, keys: list[str], value: object, where: str) -> None:
    """Set ``raw[k1][k2]...`` (creating sections), or a ConfigError when a key on the way is not a section."""
    node = raw
    for i, k in enumerate(keys[:-1]):
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            dotted = ".".join(keys[: i + 1])
            raise ConfigError(
                f"{'.'.join(keys)} = {show(value)}: {dotted} is {show(child)}, not a section", f"correct {where}"
            )
        node = child
    node[keys[-1]] = copy.deepcopy(value)


def _fixer(origins: list[tuple[str, str]], path: str | Path | None):
    """The fix of a bad key path: where its value was last set (an option, --set, a sweep), else the file."""

    def fix(key: str) -> str:
        for origin, where in reversed(origins):
            if key == origin or key.startswith((origin + ".", origin + "[")) or origin.startswith(key + "."):
                return f"correct {where}"
        return f"correct {key} in {path}" if path is not None else f"correct {key}"

    return fix


def load_config(
    path: str | Path | None = None,
    overrides: dict | None = None,
    sets: list[str] | None = None,
    *,
    values: dict | None = None,
    values_from: str = "the values given",
    flags: dict[str, str] | None = None,
) -> RunConfig:
    """The run config: defaults < the YAML file ``path`` < ``sets`` (``--set k=v``) < ``overrides`` (dotted key ->
    value, None skipped: command-line options, named by ``flags``) < ``values`` (dotted key -> value, e.g. a sweep
    point's; ``values_from`` says where they were written). Everything is validated before it is returned."""
    raw: dict = copy.deepcopy(DEFAULTS)
    origins: list[tuple[str, str]] = []
    if path is not None:
        raw = _merge(raw, read_yaml_mapping(path, "config file", "models/econt.yaml"))
    for text in sets or []:
        keys, value = parse_override(text)
        assign(raw, keys, value, f"--set {text}")
        origins.append((".".join(keys), f"--set {text}"))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            where = (flags or {}).get(dotted) or dotted
            assign(raw, dotted.split("."), value, where)
            origins.append((dotted, where))
    for dotted, value in (values or {}).items():
        assign(raw, dotted.split("."), value, f"{dotted} in {values_from}")
        origins.append((dotted, f"{dotted} in {values_from}"))
    latent_from = next(
        (where for key, where in reversed(origins) if key.split(".")[:2] == ["encoder", "latent_quant"]), None
    )
    return config_from_raw(raw, fix=_fixer(origins, path), latent_from=latent_from)


def config_from_raw(raw: dict, *, fix=None, latent_from: str | None = None) -> RunConfig:
    """A RunConfig of a complete mapping (``config.yaml`` of a run, a sweep point's job), validated
    (``latent_from``: the option that set ``encoder.latent_quant``, named when it conflicts with ``econt.elinks``)."""
    model = RunSchema.parse(raw, fix=fix or (lambda key: f"correct {key}"))
    _check_rules(raw, latent_from)
    return RunConfig(raw=raw, model=model)


def _check_rules(raw: dict, latent_from: str | None = None) -> None:
    """The rules between keys (each value alone was checked by the schema)."""
    from micae.train.econt_config import check_econt_section, check_module_sum

    check_econt_section(raw, latent_from=latent_from)
    check_module_sum(raw)
    train = raw["train"]
    if train["mode"] == "frozen-encoder" and not train["encoder_path"]:
        raise ConfigError(
            "train.mode = 'frozen-encoder': frozen-encoder needs a trained encoder in train.encoder_path",
            "pass --encoder models/<run>/encoder.h5",
        )
    if train["objective"] != "ae" and train["mode"] == "frozen-encoder":
        raise ConfigError(
            f"train.objective = {train['objective']!r}: objective {train['objective']!r} shapes the encoder, and mode "
            "frozen-encoder trains only a decoder",
            "use --objective ae with --mode frozen-encoder, or train the encoder with --mode joint or encoder",
        )
    from micae.train.stack_config import check_stack_section

    check_stack_section(raw)
