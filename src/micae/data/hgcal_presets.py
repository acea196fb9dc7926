"""Named ``hgcal-synth`` presets: which parameters are facts, which were fitted, and to what.

* ``legacy``: the generator as it was before the presets (ADC-like counts, no readout chain; parameters
  :class:`micae.data.hgcal_synth.SynthParams`), kept so that old runs reproduce bit for bit.
* ``pileup``: one CE-E wafer per bunch crossing at 200 pile-up, calibrated to ``CALQ_output_head.csv``.
* ``nopileup``: ttbar-like wafers without pile-up, calibrated to ``ttbar_0PU.csv`` (all-zero wafers dropped,
  as upstream).

The physical presets use :class:`micae.data.hgcal_physics.PhysicsParams`. Fixed, not fitted: the readout
chain (datapath doc A1/A3: 35.1 ADC per MIP, D = 1 LD / 3 HD, 4E3M, the F2F half LSB, CALVALUE =
round(2**11 / cosh eta)); ``calq_min = 2``, the smallest non-zero CALQ in both public files (neither holds
a single 1); the HGCAL acceptance 1.5 < eta < 3.0; and approximations of the layout (layer z = 340 cm,
HD above eta 2.4) and of the shower physics (Landau width, E_c = 8 MeV, Moliere radius 2.8 cm, as the
legacy generator). Fitted: the parameters named in :data:`FITS`, by ``bench/fit_synth_presets.py``, which
minimises the summed Kullback-Leibler divergence of the binned real distributions of lit TCs per wafer,
of non-zero CALQ and of the wafer sum from the generated ones, on the first 80 % of the file's rows (the
last 20 % are held out); the KS statistics are never the objective and the per-TC occupancy is not fitted.
``FITS`` records the result.

What the fits say about the files (read them as descriptions, not measurements of the detector): both
files are best described with few MIP-like isolated deposits (``hit_mip_fraction`` 4 %): their spectra
show no MIP peak, which at 35.1 counts per MIP_T and 1/cosh eta would sit at 3.5-15 counts; the smooth
spectrum down to the 2-count floor comes from electromagnetic deposits, noise above a zero-suppression
threshold of 10-14 ADC (0.27-0.41 MIP) and the chain's quantisation.
"""

from __future__ import annotations

from micae.data.hgcal_physics import PhysicsParams
from micae.errors import ConfigError

PRESETS = ("legacy", "pileup", "nopileup")
DEFAULT_PRESET = "legacy"
"""What ``hgcal-synth`` generates when a run names no preset (so every run made before the presets reproduces)."""

PHYSICS: dict[str, PhysicsParams] = {
    "pileup": PhysicsParams(
        noise_adc=2.4042,
        tc_threshold_adc=14.2685,
        hits_per_tc_eta2=0.9656,
        hit_spread_sigma=0.788,
        hit_mip_fraction=0.0433,
        hit_em_scale_mipt=0.5316,
        hit_em_index=1.7917,
    ),
    "nopileup": PhysicsParams(
        noise_adc=3.5379,
        tc_threshold_adc=9.6004,
        hits_per_tc_eta2=0.0207,
        hit_spread_sigma=1.0577,
        hit_mip_fraction=0.0401,
        hit_em_scale_mipt=0.4278,
        hit_em_index=1.2834,
        showers_per_wafer_eta2=0.0874,
        shower_et_min_gev=0.1564,
        shower_et_index=4.8747,
    ),
}

FITS: dict[str, dict] = {
    "nopileup": {
        "date": "2026-12-02",
        "script": "bench/fit_synth_presets.py --preset nopileup --n 20000 --maxfev 700 --seed 1",
        "data": {
            "file": "ttbar_0PU.csv",
            "sha256": "b9394895d3578e46e38a849144dc1ce9ea3fe40a9984df475c2cce66bad4d57f",
            "rows": 38382,
            "fit_rows": "first 30705",
        },
        "fitted": {
            "noise_adc": 3.5379,
            "tc_threshold_adc": 9.6004,
            "hits_per_tc_eta2": 0.0207,
            "hit_spread_sigma": 1.0577,
            "hit_mip_fraction": 0.0401,
            "hit_em_scale_mipt": 0.4278,
            "hit_em_index": 1.2834,
            "showers_per_wafer_eta2": 0.0874,
            "shower_et_min_gev": 0.1564,
            "shower_et_index": 4.8747,
        },
        "objective": {"start": 0.4795, "end": 0.04032, "evaluations": 700},
        "ks_fit_rows": {"lit_cells": 0.0285, "nonzero_charge": 0.0399, "tc_occupancy": 0.0052, "wafer_sum": 0.065},
        "ks_held_out_rows": {"lit_cells": 0.0326, "nonzero_charge": 0.0665, "tc_occupancy": 0.0126, "wafer_sum": 0.051},
        "ks_all_rows": {"lit_cells": 0.0293, "nonzero_charge": 0.0453, "tc_occupancy": 0.006, "wafer_sum": 0.0622},
        "ks_real_fit_vs_held_out": {
            "lit_cells": 0.0098,
            "nonzero_charge": 0.0266,
            "tc_occupancy": 0.0091,
            "wafer_sum": 0.0182,
        },
        "fit_seconds": 682,
    },
    "pileup": {
        "date": "2026-12-02",
        "script": "bench/fit_synth_presets.py --preset pileup --n 20000 --maxfev 500 --seed 1",
        "data": {
            "file": "CALQ_output_head.csv",
            "sha256": "c0b2a8b4c187eed2d90185edd64862b79b7249d331789bf380e77eb65e6c6352",
            "rows": 4000,
            "fit_rows": "first 3200",
        },
        "fitted": {
            "noise_adc": 2.4042,
            "tc_threshold_adc": 14.2685,
            "hits_per_tc_eta2": 0.9656,
            "hit_spread_sigma": 0.788,
            "hit_mip_fraction": 0.0433,
            "hit_em_scale_mipt": 0.5316,
            "hit_em_index": 1.7917,
        },
        "objective": {"start": 0.1064, "end": 0.08168, "evaluations": 500},
        "ks_fit_rows": {"lit_cells": 0.0183, "nonzero_charge": 0.0225, "tc_occupancy": 0.0017, "wafer_sum": 0.0495},
        "ks_held_out_rows": {
            "lit_cells": 0.0569,
            "nonzero_charge": 0.0217,
            "tc_occupancy": 0.0058,
            "wafer_sum": 0.0362,
        },
        "ks_all_rows": {"lit_cells": 0.0224, "nonzero_charge": 0.0222, "tc_occupancy": 0.0018, "wafer_sum": 0.0429},
        "ks_real_fit_vs_held_out": {
            "lit_cells": 0.0509,
            "nonzero_charge": 0.0201,
            "tc_occupancy": 0.0056,
            "wafer_sum": 0.0556,
        },
        "fit_seconds": 319,
    },
}
"""Per physical preset: the data file it was fitted to (name, sha256, rows), the fitted values, the objective
(start, end, evaluations), and the KS statistics of 100,000 generated wafers (seed 1001, not the fit's seed)
against the fit rows, the held-out rows and the whole file, next to KS(fit rows, held-out rows) of the real
file itself: the sample-to-sample floor a perfect generator would still show on the held-out rows."""


def physics_params(preset: str) -> PhysicsParams:
    """The parameters of a physical preset (``pileup`` or ``nopileup``)."""
    if preset not in PHYSICS:
        raise ConfigError(f"unknown hgcal-synth preset {preset!r}", f"use one of: {', '.join(PRESETS)}")
    return PHYSICS[preset]


def check_preset(preset: str) -> str:
    if preset not in PRESETS:
        raise ConfigError(f"unknown hgcal-synth preset {preset!r}", f"use one of: {', '.join(PRESETS)}")
    return preset
