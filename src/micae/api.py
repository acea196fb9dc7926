"""micae from Python: ``micae.convert`` (like hls4ml's ``convert_from_keras_model``) and ``micae.train``.

::

    import micae

    enc = micae.convert("models/econt")              # a run folder, an .h5/.keras file or a Keras model
    codes = enc.predict(x)                           # int64 latent codes from micae's exact integer model
    levels = enc.verify(x)                           # integer model, hls4ml C model and csim against QKeras
    report = enc.synthesize(pnr="nexus", clock_ns=10)  # the whole flow: report.json as a SynthReport
    enc.write("out")                                 # out/hls/<name>, out/firmware/<name> as micae synth writes

Options are the fields of :class:`~micae.config.synth.SynthOptions` (``micae synth --help``), checked when
given; a run folder's ``synth:`` block applies first, as it does for ``micae synth``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from micae.config.synth import SynthOptions
from micae.errors import ConfigError
from micae.flow.context import FlowContext, required
from micae.flow.request import SynthRequest, effective_settings, resolve_model
from micae.results.levels import LevelResult
from micae.results.report import ModelSection, SynthReport

LEVELS = ("integer_model", "c_model", "csim")
"""The levels :meth:`Converted.verify` can run in process (the RTL levels run in :meth:`Converted.synthesize`)."""


class Converted:
    """An encoder micae read exactly: its integer model, its hls4ml conversion and the synthesize flow."""

    def __init__(self, model: Path, name: str, settings: dict[str, Any], output_dir: Path) -> None:
        self.model_path = model
        """what ``micae synth --model`` is given: the training run folder, or the model file"""
        self.model_file, self.run_dir = resolve_model(model)
        self.name = name
        self.output_dir = output_dir
        self._settings = settings
        self._ctx = self._context(output_dir / "check", settings)
        from micae.flow.registry import CHECK_STEPS
        from micae.flow.runner import run_steps

        draft = run_steps(CHECK_STEPS[:1], self._ctx)  # load: the model, the exactness guard
        self.model: ModelSection = required(draft.model, "the model section")
        """report.json's model section: input shape, types, stages, bit budget"""

    # ---------------------------------------------------------------- the integer model

    @property
    def keras_model(self) -> Any:
        """The Keras encoder micae converts (cut out of a larger model when asked)."""
        return self._ctx.keras_model

    @property
    def encoder(self) -> Any:
        """The exact integer model (:class:`micae.fixed.graph.IntegerEncoder`)."""
        if self._ctx.encoder is None:
            raise ConfigError(
                f"{self.name}: micae could not read the encoder exactly ({'; '.join(self.model.problems)})",
                "fix the model's quantizers; predict() needs the exact integer model",
            )
        return self._ctx.encoder

    @property
    def latent_lsb(self) -> float:
        """The value of one latent code: latent values = codes * latent_lsb (2**-frac of the latent type)."""
        return float(2.0**-self.encoder.latent_type.frac)

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Float inputs ``(n, *input_shape)`` -> int64 input codes ``(n, n_inputs)``, rounded and clipped exactly as
        the model's input quantizer (QKeras) does."""
        from micae.fixed.arith import quantize_float

        x = np.asarray(x)
        shape = tuple(int(v) for v in self.keras_model.input_shape[1:])
        if x.shape[1:] != shape and x.shape[1:] != (int(np.prod(shape)),):
            raise ConfigError(
                f"inputs of shape {x.shape} do not fit the encoder's input {shape}",
                f"pass an array of shape (n, {', '.join(map(str, shape))})",
            )
        try:
            return quantize_float(x.reshape(len(x), -1), self.encoder.input_type)
        except ValueError as exc:
            raise ConfigError(f"inputs cannot be quantized: {exc}", "pass finite inputs") from None

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Latent codes of float inputs ``(n, *input_shape)``: int64 ``(n, n_latent)``, bit-exact with QKeras and
        with the firmware. The value of a code is ``code * latent_lsb`` (the latent type's LSB, 2**-frac)."""
        return np.asarray(self.encoder.latents(self.quantize(x)), dtype=np.int64)

    # ---------------------------------------------------------------- verification and firmware

    def verify(
        self, x: np.ndarray | None = None, *, levels: Sequence[str] = LEVELS, vectors: int | None = None
    ) -> dict[str, LevelResult]:
        """Compare integer latent codes with QKeras' at ``levels`` (integer model, hls4ml C model, g++ csim) on
        ``x`` (real inputs; None: the run's test split, or none for a model file) plus saturation, rounding-tie
        and random vectors (``vectors`` in all). Returns each level's typed result (``mismatches`` 0: bit-exact).
        """
        from micae.flow.registry import CHECK_STEPS
        from micae.flow.runner import Step, run_steps
        from micae.flow.steps import csim, hls

        unknown = sorted(set(levels) - set(LEVELS))
        if unknown:
            raise ConfigError(f"unknown verification level(s) {unknown}", f"choose from {list(LEVELS)}")
        with tempfile.TemporaryDirectory(prefix="micae-verify-") as tmp:
            work = Path(tmp)
            settings = dict(self._settings)
            if x is not None:
                np.save(work / "x.npy", np.asarray(x, dtype=np.float32))
                settings["data"] = work / "x.npy"
            if vectors is not None:
                settings["vectors"] = vectors
            ctx = self._context(work, settings)
            steps = list(CHECK_STEPS)
            if {"c_model", "csim"} & set(levels):
                ctx.hls_stage, ctx.fw_stage = work / "hls", work / "fw"
                ctx.hls_stage.mkdir()
                ctx.fw_stage.mkdir()
                steps.append(Step("hls", hls.run))
                if "csim" in levels:
                    steps.append(Step("csim", csim.run))
            draft = run_steps(steps, ctx)
        return {k: v for k, v in draft.verification.items() if k in levels}

    def synthesize(self, **options: Any) -> SynthReport:
        """The whole flow (``micae synth``) into ``output_dir/hls`` and ``output_dir/firmware`` with these options
        on top of the converter's; returns report.json as a :class:`~micae.results.report.SynthReport`. A
        mismatch does not raise: ``report.ok`` is the verdict, ``report.failed_levels`` name the levels."""
        return self._synthesize(self.output_dir, options)

    def write(self, path: str | Path, **options: Any) -> SynthReport:
        """Write ``path/hls/<name>`` (the hls4ml project) and ``path/firmware/<name>`` (RTL, reports) as
        ``micae synth --hls-root path/hls --firmware-root path/firmware --force`` does; returns the report."""
        return self._synthesize(Path(path), options)

    def _synthesize(self, root: Path, options: dict[str, Any]) -> SynthReport:
        from micae.flow import run_synthesis

        settings, sources = _settings(self.model_path, {**self._settings, **options})
        request = SynthRequest(
            model=self.model_path,
            name=self.name,
            hls_root=root / "hls",
            firmware_root=root / "firmware",
            force=True,
            options=settings,
            sources=sources,
        )
        request.validate()
        return run_synthesis(request)

    # ---------------------------------------------------------------- internals

    def _context(self, work: Path, given: dict[str, Any]) -> FlowContext:
        options, sources = _settings(self.model_path, given)
        request = SynthRequest(model=self.model_path, name=self.name, options=options, sources=sources)
        return FlowContext(
            request=request,
            name=self.name,
            model_file=self.model_file,
            run_dir=self.run_dir,
            hls_dir=work / "hls",
            fw_dir=work / "fw",
        )

    def __repr__(self) -> str:
        m = self.model
        return f"<micae encoder {self.name!r}: input {m.input_shape}, {m.latent_size} latents, exact={m.exact}>"


def _settings(model: Path, given: Mapping[str, Any]) -> tuple[SynthOptions, dict[str, str]]:
    values, sources = effective_settings(model, dict(given), given_source="given", fix="correct the option given")
    return SynthOptions.parse(values, fix="correct the option given"), sources


def convert(
    model_or_path: Any,
    data: np.ndarray | str | Path | None = None,
    *,
    name: str | None = None,
    output_dir: str | Path | None = None,
    **options: Any,
) -> Converted:
    """Read an encoder exactly and prepare its conversion.

    ``model_or_path``: a training run folder (``models/<name>``: its ``synth:`` block applies), an ``.h5`` /
    ``.keras`` file, or a Keras model object. ``data``: real inputs for verification (an array ``(n,
    *input_shape)`` or an .npy/.npz file; None: the run's test split). ``options``: any
    :class:`~micae.config.synth.SynthOptions` field (``clock_ns``, ``pnr``, ``part``, ``vectors``, ...), checked
    here. ``output_dir``: where :meth:`Converted.synthesize` writes (None: a new temporary folder).
    """
    out = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="micae-"))
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model_or_path, (str, Path)):
        model = Path(model_or_path)
        model_file, run_dir = resolve_model(model)
        name = name or (run_dir.name if run_dir is not None else model_file.stem)
    else:
        from micae.models.io import save_model

        if not hasattr(model_or_path, "layers") or not hasattr(model_or_path, "save"):
            raise ConfigError(
                f"micae.convert got a {type(model_or_path).__name__}",
                "pass a Keras model, an .h5/.keras file or a training run folder",
            )
        name = name or str(getattr(model_or_path, "name", "encoder"))
        model = out / f"{name}.h5"
        save_model(model_or_path, model)
    settings = dict(options)
    if data is not None:
        if isinstance(data, (str, Path)):
            settings["data"] = Path(data)
        else:
            np.save(out / f"{name}_data.npy", np.asarray(data, dtype=np.float32))
            settings["data"] = out / f"{name}_data.npy"
    _settings(model, settings)  # a bad option fails here, before anything loads
    return Converted(model, name, settings, out)


def train(config: str | Path | Mapping[str, Any] | Any, *, out: str | Path = "models", force: bool = False) -> Any:
    """Train a run (``micae train``) and return its metrics (metrics.json, typed).

    ``config``: a YAML run config path, a mapping of config values (as in the YAML), or a
    :class:`~micae.train.config.RunConfig`. The run goes to ``out/<name>/`` (``force`` replaces it).
    """
    from micae.cli.train import train_config
    from micae.results.metrics import load_metrics
    from micae.train.config import RunConfig, load_config

    if isinstance(config, (str, Path)):
        cfg = load_config(config)
    elif isinstance(config, Mapping):
        cfg = load_config(values=_dotted(config), values_from="the mapping given to micae.train")
    elif isinstance(config, RunConfig):
        cfg = config
    else:
        raise ConfigError(
            f"micae.train got a {type(config).__name__}", "pass a YAML path, a dict of config values or a RunConfig"
        )
    train_config(cfg, Path(out), force=force)
    return load_metrics(Path(out) / cfg.name)


def _dotted(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train": {"epochs": 5}, "seed": 1}`` -> ``{"train.epochs": 5, "seed": 1}``: a section's keys override the
    defaults one by one (a value that is itself a mapping, e.g. a quantizer, replaces the default whole)."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


__all__ = ["LEVELS", "Converted", "convert", "train"]
