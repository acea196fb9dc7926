"""Sweep files: a base run config, fixed overrides, a grid over dotted config keys, synthesize options.

A sweep YAML::

    name: latent_size                 # default: the file name; outputs go to <out>/<name>/
    base: ../models/econt.yaml        # run config; relative paths are relative to the sweep file
    set:                              # overrides applied to every point (dotted config keys)
      dataset.n_samples: 20000
    grid:                             # cartesian product of the entries
      encoder.filters: [4, 8]
      encoder.latent,encoder.latent_quant.bits: [[16, 9], [20, 8]]   # comma-joined keys vary together
    labels: {encoder.latent_quant.bits: bits}   # short names used in point names (default: last key part)
    synth: {vectors: 1000, rtl: auto, vendor: "off"}   # any micae synth option (clock_ns, pnr, backend, ...)

Every grid point becomes a full run config (``base`` + ``set`` + its values, ``name`` = the point name,
``synth`` = the sweep's synthesize settings), validated here with the synth settings before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from micae.errors import ConfigError, ConstraintError
from micae.train.config import RunConfig, load_config, read_yaml_mapping

SYNTH_DEFAULTS = {"vectors": 1000, "rtl_vectors": 100_000, "rtl": "auto", "vendor": "off"}
"""A sweep point simulates 10^5 RTL vectors in Verilator (the synthesize default is 10^6): many points,
each still checked on 100x the C-model's vectors; set ``synth.rtl_vectors`` to change it. The other keys of
``synth:`` are the options of ``micae synth`` (:class:`micae.config.synth.SynthOptions`)."""


@dataclass(frozen=True)
class Axis:
    """One grid entry: ``keys`` varied together over ``values`` (each a tuple, one item per key)."""

    keys: tuple[str, ...]
    values: tuple[tuple, ...]


@dataclass
class Point:
    """One grid point: its name, grid values, full run config, and why it is skipped (if it is)."""

    name: str
    values: dict
    config: RunConfig
    skip: str | None = None


@dataclass
class SweepSpec:
    name: str
    base: Path
    fixed: dict
    axes: list[Axis]
    labels: dict[str, str]
    synth: dict
    source: Path | None = None
    points: list[Point] = field(default_factory=list)

    @property
    def grid_keys(self) -> list[str]:
        return [k for axis in self.axes for k in axis.keys]


def fingerprint(*parts) -> str:
    """A short stable hash of JSON-able values (a finished point is redone when it changes)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_axes(grid: dict | None) -> list[Axis]:
    """The ``grid`` mapping -> axes; ``"a,b": [[1, 2], [3, 4]]`` varies a and b together."""
    axes: list[Axis] = []
    for raw_key, values in (grid or {}).items():
        keys = tuple(k.strip() for k in str(raw_key).split(","))
        if not all(keys) or len(set(keys)) != len(keys):
            raise ConfigError(
                f"grid key {raw_key!r} is malformed", "write dotted keys, comma-joined to vary them together"
            )
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{raw_key} is not a non-empty list", f"write {raw_key}: [value, value, ...]")
        rows = []
        for v in values:
            row = tuple(v) if len(keys) > 1 and isinstance(v, list) else (v,)
            if len(row) != len(keys):
                raise ConfigError(
                    f"grid.{raw_key}: entry {v!r} does not give {len(keys)} values",
                    f"give one list of {len(keys)} values per point, e.g. [[16, 9], [20, 8]]",
                )
            rows.append(row)
        axes.append(Axis(keys, tuple(rows)))
    seen = [k for a in axes for k in a.keys]
    dup = sorted({k for k in seen if seen.count(k) > 1})
    if dup:
        raise ConfigError(f"grid key(s) {dup} appear twice", "vary each config key in one grid entry only")
    return axes


def expand_grid(axes: list[Axis]) -> list[dict]:
    """Every combination of the axes, in file order (the last axis varies fastest)."""
    combos = itertools.product(*[a.values for a in axes]) if axes else [()]
    out = []
    for combo in combos:
        values: dict = {}
        for axis, row in zip(axes, combo):
            values.update(zip(axis.keys, row))
        out.append(values)
    return out


def default_labels(keys: list[str]) -> dict[str, str]:
    """The last part of each dotted key, or more parts when that is ambiguous."""
    labels = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            label = "_".join(parts[-n:])
            clash = [k for k in keys if k != key and "_".join(k.split(".")[-n:]) == label]
            if not clash:
                break
        labels[key] = label
    return labels


def format_value(value) -> str:
    """A grid value as a file-name-safe token: 0.5 -> 0p5, -1 -> m1, "dropout:0.1" -> dropout-0p1."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "-".join(format_value(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return "-".join(format_value(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = str(int(value))
    else:
        text = str(value)
    text = text.replace(".", "p").replace("-", "m") if isinstance(value, (int, float)) else text.replace(".", "p")
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "x"


def point_name(values: dict, labels: dict[str, str]) -> str:
    """``{"encoder.latent": 16, "encoder.latent_quant.bits": 9}`` -> ``latent16_bits9``."""
    if not values:
        return "base"
    return "_".join(f"{labels[k]}{format_value(v)}" for k, v in values.items())


def yaml_scalar(value) -> str:
    """``value`` as YAML text that ``yaml.safe_load`` turns back into the same value."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return text


def point_config(base: Path, fixed: dict, values: dict, name: str, synth: dict | None = None, source=None) -> RunConfig:
    """The full run config of one point (validated by ``load_config``): ``base`` + ``fixed`` + ``values``, its
    name, and the sweep's ``synth`` settings as its ``synth:`` block (how the point is synthesized)."""
    assign = {**fixed, **values, "name": name}
    if synth is not None:
        assign["synth"] = synth
    try:
        return load_config(base, values=assign, values_from=str(source or "the sweep file"))
    except ConfigError as exc:
        raise ConfigError(f"sweep point {name}: {exc.problem}", exc.fix) from exc


def guess_input_shape(cfg: RunConfig) -> tuple[int, int, int] | None:
    """The encoder input shape a config will train on, when it is known without loading data."""
    return cfg.known_input_shape()


def prefilter(cfg: RunConfig) -> str | None:
    """Why a point cannot be trained (e.g. ``compression 2.5 < 3``), or None."""
    from micae.models.constraints import compression_factor

    if cfg.train["mode"] == "frozen-encoder":
        return None
    shape = guess_input_shape(cfg)
    if shape is None:
        return None
    spec = cfg.encoder_spec(shape)
    n_in = shape[0] * shape[1] * shape[2] - cfg.masked_inputs(shape)
    factor = compression_factor(n_in, spec.latent)  # values, as ECON-T counts; bits: cfg.check_encoder
    if factor < cfg.min_compression:
        return f"compression {factor:.3g} < {cfg.min_compression:g}"
    try:
        cfg.check_encoder(shape)
    except ConstraintError as exc:
        return exc.problem
    return None


def synth_options(raw: dict | None, where: str = "synth.", fix: str = "") -> dict:
    """The sweep's synthesize settings (the sweep defaults and what ``raw`` sets), validated as ``micae synth``
    options; returns the settings that differ from micae synth's defaults or were set, normalised (YAML's
    ``off`` is the string "off", ``vivado`` is "Vivado")."""
    from micae.config.synth import SynthOptions

    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(
            f"{where.rstrip('.')} = {raw!r}: must be a mapping of micae synth options", "e.g. {vectors: 300}"
        )
    merged = {**SYNTH_DEFAULTS, **(raw or {})}
    opts = SynthOptions.parse(merged, prefix=where, fix=fix or "micae synth --help lists the options; YAML keys use _")
    opts.check(where)
    dumped = opts.model_dump(mode="json")
    return {k: dumped[k] for k in merged}


def base_config(raw: dict, folder: Path, owner: str) -> Path:
    """The run config ``raw["base"]`` names, relative to ``folder`` (where the file naming it lives)."""
    if "base" not in raw:
        raise ConfigError(f"{owner} names no base run config", "add e.g. base: ../models/econt.yaml")
    base = Path(raw["base"])
    return base if base.is_absolute() else (folder / base).resolve()


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (:class:`micae.config.sweep.SweepFile`); every point's run config and the
    synth settings are resolved and checked."""
    from micae.config.sweep import SweepFile

    path = Path(path)
    raw = read_yaml_mapping(path, "sweep file", "sweeps/latent_size.yaml")
    doc = SweepFile.parse(raw, fix=f"correct it in {path}")
    base = base_config(raw, path.parent, f"sweep file {path}")
    return build_spec(
        name=doc.name or path.stem,
        base=base,
        fixed=raw.get("set") or {},
        grid=raw.get("grid") or {},
        labels=raw.get("labels") or {},
        synth=raw.get("synth"),
        source=path,
    )


def build_spec(
    *,
    name: str,
    base: Path,
    fixed: dict,
    grid: dict,
    labels: dict | None = None,
    synth: dict | None = None,
    source: Path | None = None,
) -> SweepSpec:
    """Validate the parts of a sweep and resolve its points."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"sweep name {name!r} is not a plain folder name", "use letters, digits, '_', '-', '.'")
    if not isinstance(fixed, dict) or not isinstance(grid, dict):
        raise ConfigError("sweep 'set' and 'grid' must be mappings", "write dotted.key: value entries")
    axes = parse_axes(grid)
    keys = [k for a in axes for k in a.keys]
    if "name" in keys or "name" in fixed:
        raise ConfigError("a sweep may not set the run name", "points are named after their grid values")
    bad = sorted(set(labels or {}) - set(keys))
    if bad:
        raise ConfigError(f"labels for key(s) {bad} that are not in the grid", f"label only grid keys {keys}")
    lab = {**default_labels(keys), **(labels or {})}
    spec = SweepSpec(
        name=name,
        base=Path(base),
        fixed=copy.deepcopy(fixed),
        axes=axes,
        labels=lab,
        synth=synth_options(synth, fix=f"correct synth: in {source}" if source else ""),
        source=source,
    )
    names: dict[str, dict] = {}
    for values in expand_grid(axes):
        pname = point_name(values, lab)
        if pname in names:
            raise ConfigError(
                f"grid points {names[pname]} and {values} get the same name {pname!r}",
                "give the grid keys distinct labels",
            )
        names[pname] = values
        cfg = point_config(spec.base, spec.fixed, values, pname, spec.synth, source)
        spec.points.append(Point(pname, values, cfg, prefilter(cfg)))
    return spec
