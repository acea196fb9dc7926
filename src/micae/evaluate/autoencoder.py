"""A training run's autoencoders on any CALQ: normalise as the run did, encode, decode, scale back to CALQ.

``ae`` is the run's QAT model (``micae.h5``: encoder + decoder), ``ae_float`` its float twin
(``float_micae.h5``). Each wafer is normalised exactly as the run's ``dataset.normalisation`` says
(``sumlog2``, the chip's truncating ``chip``, CMSSW's rounding ``cmssw``, ...), arranged into the run's
layout, reconstructed (with the decoded 5E4M module sum as the decoder's second input when the run's decoder
takes it) and multiplied back by its per-wafer scale, so every algorithm is compared in CALQ units.

The run's e-link count L is ``econt.elinks`` of its config.yaml; a run without one (trained before that
setting existed) is placed at the smallest L whose frame holds its 16 latents at their width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from micae.econt.links import N_LATENTS, ae_frame_bits, ae_latent_bits
from micae.errors import ConfigError
from micae.evaluate.candidates import Candidate, autoencoder

MODEL_FILES = {"ae": "micae.h5", "ae_float": "float_micae.h5"}
MODULE_SUM_INPUT = "module_sum"  # the decoder's second input (micae.models.micae, decoder.module_sum)


@dataclass
class RunModels:
    """A run folder's config and autoencoders, and the e-link count they are scored at."""

    path: Path
    cfg: object  # micae.train.config.RunConfig
    elinks: int | None
    elinks_source: str
    latent_bits: int
    models: dict = field(default_factory=dict)  # name -> Keras model
    note: str | None = None

    @property
    def normalisation(self) -> str:
        return str(self.cfg.dataset.get("normalisation", "sumlog2"))

    @property
    def layout(self) -> str:
        return str(self.cfg.dataset.get("layout", "4x4x3"))

    @property
    def n_parts(self) -> int:
        return int(self.cfg.dataset.get("n_parts", 1))

    def takes_module_sum(self, name: str = "ae") -> bool:
        model = self.models.get(name)
        return model is not None and MODULE_SUM_INPUT in list(getattr(model, "input_names", []))


def open_run(run_dir: str | Path) -> RunModels:
    """Read ``run_dir``'s config.yaml and load its autoencoders (ConfigError when it is not a run folder)."""
    from micae.data.geometry import HGCAL_LAYOUTS
    from micae.models.io import load_model
    from micae.train.config import load_config

    path = Path(run_dir)
    if not path.is_dir():
        raise ConfigError(f"run folder {path} does not exist", "pass --model models/<run> (a micae train output)")
    if not (path / "config.yaml").is_file() or not (path / MODEL_FILES["ae"]).is_file():
        raise ConfigError(
            f"{path} is not a micae training run (it has no config.yaml and micae.h5)",
            "pass the folder micae train wrote, e.g. --model models/econt",
        )
    cfg = load_config(path / "config.yaml")
    layout = str(cfg.dataset.get("layout", "4x4x3"))
    if layout not in HGCAL_LAYOUTS:
        raise ConfigError(
            f"run {path} was trained on {cfg.dataset.get('name')!r} data in layout {layout!r}, not on HGCAL wafers",
            "evaluate a run trained on hgcal-synth, econt-csv or an npz of trigger-cell charges",
        )
    elinks, source, bits = run_elinks(cfg)
    run = RunModels(path=path, cfg=cfg, elinks=elinks, elinks_source=source, latent_bits=bits)
    if run.n_parts != 1:
        run.note = f"the autoencoder is not scored: it reads {run.n_parts} wafers at a time (n_parts), the chip one"
        return run
    if elinks is None:
        run.note = f"the autoencoder is not scored: {source}"
        return run
    for name, file in MODEL_FILES.items():
        if (path / file).is_file():
            run.models[name] = load_model(path / file)
    return run


def run_elinks(cfg) -> tuple[int | None, str, int]:
    """(L, where it came from, bits per latent) of a run config."""
    from micae.data.geometry import arrangement_shape

    spec = cfg.encoder_spec(arrangement_shape(str(cfg.dataset.get("layout", "4x4x3"))))
    bits = int(spec.output_bits or spec.latent_quant.bits)
    value = (cfg.raw.get("econt") or {}).get("elinks")
    if value is not None:
        return int(value), "econt.elinks of the run's config.yaml", bits
    if int(spec.latent) == N_LATENTS:
        for L in range(1, 6):
            if bits <= ae_latent_bits(L):
                why = (
                    f"inferred: the run's config has no econt.elinks; its {N_LATENTS} latents x {bits} bits fit the "
                    f"{L}-e-link frame ({ae_latent_bits(L)} bits per latent)"
                )
                return L, why, bits
    why = f"its {spec.latent} latents x {bits} bits are not the chip's frame (16 latents of at most 9 bits)"
    return None, why, bits


def module_sums(calq: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """What the decoder receives beside the latents: the 9-bit 5E4M module sum, decoded at its lower bin
    edge and divided by the wafer's normalisation scale (as the training data carries it)."""
    from micae.econt.codes import SUM_5E4M
    from micae.econt.normaliser import module_sum_code

    return (SUM_5E4M.decode(module_sum_code(calq)) / scale).astype(np.float32)


def reconstruct(run: RunModels, name: str, calq: np.ndarray) -> np.ndarray:
    """``(N, 48)`` CALQ units: the run's model ``name`` on ``(N, 48)`` CALQ (non-empty wafers)."""
    from micae.data.geometry import arrange, unarrange
    from micae.data.normalise import normalise

    model = run.models[name]
    values, scale = normalise(np.asarray(calq, dtype=np.float64), run.normalisation)
    x = arrange(values, run.layout)
    inputs = [x, module_sums(calq, scale)[:, None]] if run.takes_module_sum(name) else x
    out = np.asarray(model.predict(inputs, batch_size=4096, verbose=0))
    return unarrange(out, run.layout).astype(np.float64) * scale[:, None]


def describe(run: RunModels, name: str) -> str:
    return description(name, run.path.name, run.elinks, run.normalisation, run.layout, run.takes_module_sum(name))


def description(name: str, run_name: str, elinks: int, normalisation: str, layout: str, module_sum: bool) -> str:
    """One line: which model, at which L, how its input is normalised, and the frame it is charged."""
    kind = "QAT encoder" if name == "ae" else "float twin (same architecture, unquantised)"
    frame = (
        f"frame 5 header + 9 sum + 16 x {ae_latent_bits(elinks)} latent + 2 spare = {ae_frame_bits(elinks)} bits"
        if name == "ae"
        else f"charged the QAT frame's {ae_frame_bits(elinks)} bits, though its latents are floats"
    )
    summed = "; the decoder also reads the decoded 5E4M module sum" if module_sum else ""
    file = MODEL_FILES.get(name, name)
    return (
        f"autoencoder of run {run_name}: {kind} ({file}) at L = {elinks}, input normalised {normalisation} in "
        f"layout {layout}, decoded off-detector and scaled back by the wafer's normalisation scale{summed}; {frame}"
    )


def autoencoder_candidates(run: RunModels, calq: np.ndarray) -> list[Candidate]:
    """``ae`` and ``ae_float`` of ``run`` on ``calq`` (non-empty wafers), at the run's L."""
    if run.elinks is None:
        return []
    return [
        autoencoder(name, describe(run, name), calq, reconstruct(run, name, calq), ae_frame_bits(run.elinks))
        for name in run.models
    ]
