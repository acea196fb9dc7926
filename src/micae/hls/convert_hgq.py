"""HGQ encoder -> hls4ml project, through HGQ's proxy model (what hls4ml 1.3.0 reads of HGQ).

The load step calibrated the HGQ model with micae's exact per-element ranges (:func:`micae.graph.hgq_front.calibrate`),
so the proxy model's ``FixedPointQuantizer`` layers carry types that hold every value the input type can produce: the
proxy's WRAP never acts, and hls4ml's proxy passes take the precisions from those layers.
"""

from __future__ import annotations

from pathlib import Path

from micae.fixed.graph import IntegerEncoder
from micae.log import progress

REFERENCE = "the latents of the HGQ model's own predict"
"""what the project's expected outputs (tb_data) are"""
README_NOTE = """- HGQ encoder: hls4ml converted HGQ's proxy model (`HGQ.to_proxy_model`), its quantizers calibrated by
  micae with the exact range of every element over the whole input type (not with data), so no value can wrap.
"""
NO_PROXY = (
    "HGQ model: its quantizers keep no min/max record (minmax_record=False), so HGQ cannot build the proxy model "
    "hls4ml reads; C model, csim and vendor levels skipped; the integer model and the RTL levels are exact"
)


def refusal(hgq_model) -> str | None:
    """Why hls4ml cannot convert this HGQ model exactly, or None (the load step calibrated it)."""
    return None if getattr(hgq_model, "micae_proxy", False) else NO_PROXY


def convert(hgq_model, encoder: IntegerEncoder, out_dir: Path, name: str, options):
    """Write the hls4ml project of a calibrated HGQ model into ``out_dir`` and return the hls4ml model."""
    import hls4ml

    from micae.graph.hgq_front import proxy_model
    from micae.hls.convert import hls_config, project_settings

    options.validate()
    with progress("HGQ: proxy model"):
        proxy = proxy_model(hgq_model)
    settings = project_settings(hls_config(proxy, None, options), out_dir, name, options)
    settings.pop("bit_exact")  # hls4ml's own handling of a proxy model (its precisions come from the quantizers)
    with progress("hls4ml: convert (HGQ proxy model)"):
        model = hls4ml.converters.convert_from_keras_model(proxy, **settings)
    with progress("hls4ml: write project"):
        model.write()
    return model
