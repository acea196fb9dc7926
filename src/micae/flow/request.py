"""What a synthesize run is asked to do: the model, where the outputs go, and its validated settings.

The settings are :class:`~micae.config.synth.SynthOptions` (one list for the CLI, run YAMLs, sweeps and
report.json); ``sources`` says where each came from (``cli``, ``run config``, ``sweep``, ``default``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, model_validator

from micae.config.base import Schema
from micae.config.synth import (
    DEFAULT_RTL_VECTORS,
    DEFAULT_VECTORS,
    PNR_FAMILIES,
    RTL_MODES,
    HlsOptions,
    SynthOptions,
)
from micae.config.types import Cli, Flag, Text
from micae.errors import ConfigError

__all__ = [
    "DEFAULT_RTL_VECTORS",
    "DEFAULT_VECTORS",
    "PNR_FAMILIES",
    "RTL_MODES",
    "SynthRequest",
    "resolve_model",
]


class SynthRequest(Schema):
    """One ``micae synth`` run. Settings may be given flat (``SynthRequest(model=m, pnr="nexus")``) or as
    ``options=SynthOptions(...)`` (an :class:`HlsOptions` gives the hls4ml ones); ``request.pnr`` reads them."""

    model: Annotated[Path, Cli(group="model cut", metavar="RUN_OR_FILE")]
    """training run folder (models/<name>), a QKeras encoder .h5/.keras or a QONNX graph .onnx"""
    name: Annotated[Text(null=True), Cli(group="outputs")] = None
    """output name (none: the run or file name)"""
    hls_root: Annotated[Path, Cli(group="outputs")] = Path("hls")
    """folder for hls4ml projects"""
    firmware_root: Annotated[Path, Cli(group="outputs")] = Path("firmware")
    """folder for firmware outputs"""
    force: Annotated[Flag, Cli(group="outputs")] = False
    """replace existing hls/<name> and firmware/<name>"""
    options: SynthOptions = Field(default_factory=SynthOptions)
    """the settings of the run"""
    sources: dict[str, str] = Field(default_factory=dict)
    """where each setting came from (cli, run config, sweep); others are given (by a Python caller) or defaults"""
    rtl_resources: Flag = True
    """run yosys for resources and logic-only STA (tests switch it off to save time)"""

    @model_validator(mode="before")
    @classmethod
    def _flat_settings(cls, data: Any) -> Any:
        """Accept settings beside the request's own fields, and ``options`` as HlsOptions, SynthOptions or a dict."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        opts = data.pop("options", None)
        opts = opts.model_dump() if isinstance(opts, HlsOptions) else dict(opts or {})
        for key in list(data):
            if key in SynthOptions.model_fields:
                opts[key] = data.pop(key)
        data["options"] = opts
        return data

    def __getattr__(self, name: str) -> Any:
        if name in SynthOptions.model_fields:
            return getattr(self.options, name)
        return super().__getattr__(name)  # type: ignore[misc]  # pydantic's (private attributes)

    def validate(self) -> None:  # type: ignore[override]  # an instance check, not pydantic's deprecated classmethod
        """The rules between settings (each value was checked when the request was made)."""
        self.options.check()

    def source(self, key: str) -> str:
        """Where setting ``key`` came from; a setting a Python caller passed is ``given``."""
        if key in self.sources:
            return self.sources[key]
        return "given" if key in self.options.model_fields_set else "default"

    def options_json(self) -> dict:
        """report.json's ``options``: every setting, and ``sources``: where each came from."""
        out = self.options.model_dump(mode="json")
        out["sources"] = {k: self.source(k) for k in SynthOptions.model_fields}
        return out


def run_settings(model: Path) -> tuple[dict, Path | None]:
    """The ``synth:`` block of a training run folder's ``config.yaml`` (checked), and that file; ({}, None)
    for a model file or a run without one."""
    import yaml

    config = Path(model) / "config.yaml"
    if not Path(model).is_dir() or not config.is_file():
        return {}, None
    try:
        raw = yaml.safe_load(config.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{config} is not valid YAML: {exc}", "fix the YAML syntax, or re-run micae train --force"
        ) from exc
    block = raw.get("synth") if isinstance(raw, dict) else None
    if not block:
        return {}, config
    SynthOptions.parse(block, prefix="synth.", fix=f"correct the synth: block of {config} (or of the run's YAML)")
    return dict(block), config


def effective_settings(model: Path, given: dict, *, given_source: str = "cli", fix: Any = "") -> tuple[dict, dict]:
    """The settings of a run on ``model``: its run folder's ``synth:`` block, overridden by ``given``;
    returns (values, sources) with a source for every setting (``run config``, ``given_source``, ``default``)."""
    SynthOptions.parse(given, fix=fix)  # name a bad given value as given, before merging
    block, _ = run_settings(model)
    values = {**block, **given}
    sources = {
        k: given_source if k in given else ("run config" if k in block else "default")
        for k in SynthOptions.model_fields
    }
    return values, sources


def resolve_model(path: Path) -> tuple[Path, Path | None]:
    """A run folder (models/<name>/) gives its encoder.h5 and itself; a file gives itself."""
    path = Path(path)
    fix = "give a training run folder (models/<name>), an .h5/.keras file or a QONNX .onnx file"
    if path.is_dir():
        enc = path / "encoder.h5"
        if not enc.exists():
            raise ConfigError(
                f"{path} has no encoder.h5",
                "train it first (micae train --config <run>.yaml writes models/<name>/encoder.h5), or give an "
                ".h5/.keras file",
            )
        return enc, path
    if not path.exists():
        raise ConfigError(f"model {path} does not exist", fix)
    if path.suffix not in (".h5", ".keras", ".onnx"):
        raise ConfigError(
            f"model {path} is neither .h5, .keras nor .onnx",
            "save the encoder with model.save('encoder.h5'), or export a QONNX .onnx",
        )
    return path, None
