"""The ``econt`` config section: the chip's e-link count ``L`` sets the encoder's latent format.

``econt.elinks: L`` (or ``micae train --elinks L``) makes the encoder's latent the chip's (datapath doc B3, B4):
16 latents, each the 9-bit unsigned latent with 1 integer bit and 8 fractional bits, in [0, 2)
(``quantized_relu(9, 1)``, as the CMS models use), of which the frame keeps the top ``B = ae_latent_bits(L)``
bits (3, 5, 7, 9 at L = 2..5), truncated: ``encoder.output_bits = B`` below 9 (the eLink tail,
:func:`micae.models.encoder.elink_output`), nothing cut at ``B = 9``. Unset, the encoder is what the
``encoder`` section says (today's behaviour).

The run's ``config.yaml`` keeps the sections as written; the builders read the encoder section with the derived
``latent_quant`` / ``output_bits`` (:func:`encoder_section`). A config (or ``--latent-bits``) that asks for
another latent format beside ``econt.elinks`` is refused: one setting decides.
"""

from __future__ import annotations

from micae.econt.links import AE_LATENT_WIDTH, MAX_ELINKS, N_LATENTS, ae_latent_bits, check_elinks
from micae.errors import ConfigError

CHIP_LATENT = {"bits": AE_LATENT_WIDTH, "integer": 1, "signed": False, "relu": True}
"""The chip's latent quantizer: ``quantized_relu(9, 1)``, unsigned, 8 fractional bits, in [0, 2)."""
HGCAL_DATASETS = ("hgcal-synth", "econt-csv", "npz")


def chip_latent_format(elinks: int) -> dict:
    """``{"latent_quant": ..., "output_bits": ...}`` of the encoder at ``elinks`` e-links."""
    bits = ae_latent_bits(check_elinks(elinks))
    return {"latent_quant": dict(CHIP_LATENT), "output_bits": bits if bits < AE_LATENT_WIDTH else None}


def _same_quant(given, wanted: dict) -> bool:
    if not isinstance(given, dict):
        return False
    full = {"signed": True, "relu": False, **given}
    return all(full.get(k) == v for k, v in wanted.items()) and set(full) <= set(wanted)


def check_econt_section(raw: dict, *, latent_from: str | None = None) -> None:
    """The rules of ``econt.elinks`` between keys (the schema checked each value alone); ``raw`` is not changed:
    :func:`encoder_section` derives the encoder's latent format from it when a spec is built.

    ``latent_from``: where ``encoder.latent_quant`` was set (``--latent-bits``, a ``--set``), named in the error.
    """
    elinks = (raw.get("econt") or {}).get("elinks")
    if elinks is None:
        return
    check_elinks(elinks, what="econt.elinks (--elinks)", highest=MAX_ELINKS)
    dataset = raw["dataset"]["name"]
    if dataset not in HGCAL_DATASETS:
        raise ConfigError(
            f"econt.elinks = {elinks}: the ECON-T chip's 48 trigger cells; dataset {dataset!r} is not HGCAL data",
            f"use one of {', '.join(HGCAL_DATASETS)}, or drop --elinks / econt.elinks",
        )
    enc = raw.get("encoder") or {}
    if int(enc.get("latent", N_LATENTS)) != N_LATENTS:
        raise ConfigError(
            f"econt.elinks = {elinks}: the chip's frame holds {N_LATENTS} latents, encoder.latent = {enc['latent']}",
            f"set encoder.latent: {N_LATENTS} (or leave it out), or drop econt.elinks",
        )
    want = chip_latent_format(elinks)
    bits = ae_latent_bits(elinks)
    if "latent_quant" in enc and not _same_quant(enc["latent_quant"], want["latent_quant"]):
        source = f" (from {latent_from})" if latent_from else ""
        raise ConfigError(
            f"encoder.latent_quant = {enc['latent_quant']}{source} conflicts with econt.elinks = {elinks}, which "
            f"sends the chip's 9-bit unsigned latent cut to its top {bits} bits",
            "choose the latent width with --elinks / econt.elinks alone (drop --latent-bits and "
            "encoder.latent_quant), or drop econt.elinks",
        )
    if enc.get("output_bits") is not None and enc["output_bits"] != want["output_bits"]:
        raise ConfigError(
            f"encoder.output_bits = {enc['output_bits']} conflicts with econt.elinks = {elinks} ({bits}-bit latents)",
            "drop encoder.output_bits: econt.elinks sets it",
        )


def encoder_section(raw: dict) -> dict:
    """The ``encoder`` section as the builders read it: with ``econt.elinks``, the chip's latent format filled in."""
    enc = dict(raw.get("encoder") or {})
    elinks = (raw.get("econt") or {}).get("elinks")
    if elinks is not None:
        enc.update(chip_latent_format(elinks))
    return enc


def check_module_sum(raw: dict) -> None:
    """``decoder.module_sum`` needs HGCAL integer charges, the plain ``ae`` objective and no stacked levels."""
    if not (raw.get("decoder") or {}).get("module_sum"):
        return
    if raw["dataset"]["name"] not in HGCAL_DATASETS:
        raise ConfigError(
            f"decoder.module_sum feeds the ECON-T module sum to the decoder; dataset {raw['dataset']['name']!r} "
            "has none",
            f"use HGCAL data ({', '.join(HGCAL_DATASETS)}), or set decoder.module_sum: false",
        )
    if raw["train"].get("objective", "ae") != "ae":
        raise ConfigError(
            f"decoder.module_sum works with objective ae, not {raw['train']['objective']}",
            "use --objective ae, or set decoder.module_sum: false",
        )
    if raw["stack"].get("enabled"):
        raise ConfigError(
            "decoder.module_sum is not supported with stacked levels (stack.enabled)",
            "set decoder.module_sum: false for a stacked run",
        )


def run_elinks(run_dir) -> int | None:
    """``econt.elinks`` of a training run folder's ``config.yaml`` (None: no such file, or not set)."""
    from pathlib import Path

    import yaml

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        return None
    value = ((yaml.safe_load(path.read_text()) or {}).get("econt") or {}).get("elinks")
    return None if value is None else check_elinks(value, what=f"econt.elinks of {path}")
