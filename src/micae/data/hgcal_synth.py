"""``hgcal-synth``: synthetic HGCAL wafer data on the 48 ECON-T trigger cells.

Presets (:mod:`micae.data.hgcal_presets`, ``generate(..., preset=...)``): ``legacy`` is the model described
below, unchanged so that every run made before the presets reproduces; ``pileup`` and ``nopileup`` are the
physical generator of :mod:`micae.data.hgcal_physics` (MIP units, the ECON-T readout chain, integer CALQ),
fitted to the public ECON-T files.

The legacy model. One sample is one silicon wafer in one CE-E layer, read out as 48 TC charges
(integer ADC-like counts, as in the CALQ columns of the ECON-T CSVs). Model:

1. Showers per wafer: 0 (probability ``p_no_shower``), 2 (``p_two_showers``)
   or 1. Each shower has a transverse-equivalent energy ``E`` drawn
   log-uniformly in [``e_min_gev``, ``e_max_gev``] and an impact point
   uniform in a disk covering the wafer plus ``impact_margin_cm``.
2. Longitudinal: the layer sits at a depth ``t`` (X0) drawn uniformly in
   ``depth_x0``; the shower leaves the fraction ``dE/dt(t) * 1 X0`` of its
   energy there, with the gamma-function profile
   ``dE/dt = b (bt)^(a-1) exp(-bt) / Gamma(a)``, ``t_max = (a-1)/b =
   ln(E/E_c) - 0.5``. Visible charge = ``gain_adc_per_gev * E * fraction``,
   smeared by a stochastic term ``stochastic / sqrt(E)``.
3. Transverse: a Grindhammer-like two-component radial profile, per unit area
   ``p * k(r; R_C) + (1-p) * k(r; R_T)`` with ``k(r; R) = R^2 / (pi (r^2+R^2)^2)``
   (each component integrates to 1). ``R_C``, ``R_T`` (in Moliere radii) and the
   core fraction ``p`` depend on the relative depth ``tau = t / t_max``
   (Grindhammer & Peters parametrisation for tungsten, at a fixed E of 50 GeV,
   ``tau`` binned into a few classes). The fraction in each TC is the
   profile integrated over the TC cell: the hexagon of pitch 2.4168 cm around
   its centre (inradius = ``emd_unit_cm``), split by nearest centre where
   quadrants meet so cells never overlap. Per ``tau`` class one table of the
   48 fractions versus impact point (0.2 cm grid over the wafer plus 3 cm,
   built once per process by FFT convolution, ~1 s) is interpolated bilinearly.
4. Per-TC fluctuation ``sqrt(q * fluct_adc)`` (Gaussian approximation of
   counting statistics), pile-up (Poisson(``pileup_mean_hits``) soft hits on
   random TCs with exponential charges of mean ``pileup_mean_adc``) and
   Gaussian electronics noise ``noise_adc`` on every TC.
5. Digitisation: round, clip to [0, ``adc_max``] (22-bit, as the ECON-T CALQ).

``generate`` is vectorised numpy in chunks; each chunk has its own random
stream spawned from ``seed``, so (n, seed, params) fixes the output exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy.spatial import cKDTree
from scipy.special import gammaln

from micae.data.geometry import N_TC, load_geometry, tc_coordinates
from micae.errors import ConfigError

TC_PITCH_CM = 2.4168015
_CHUNK = 65536
# Transverse tables: impact grid with step _STEP (cm) over the wafer disk plus _TABLE_MARGIN_CM.
_STEP = 0.2
_TABLE_MARGIN_CM = 3.0
# Class edges in tau = t / t_max; the profile of each class is taken at its centre.
_TAU_EDGES = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.5, np.inf])


@dataclass(frozen=True)
class SynthParams:
    """Generator parameters (recorded in dataset provenance)."""

    e_min_gev: float = 1.0
    e_max_gev: float = 200.0
    p_no_shower: float = 0.25
    p_two_showers: float = 0.15
    impact_margin_cm: float = 1.5
    depth_x0: tuple[float, float] = (1.0, 27.0)
    moliere_radius_cm: float = 2.8
    critical_energy_gev: float = 0.008
    long_b: float = 0.5
    gain_adc_per_gev: float = 100.0
    stochastic: float = 0.25
    fluct_adc: float = 1.0
    pileup_mean_hits: float = 2.0
    pileup_mean_adc: float = 6.0
    noise_adc: float = 0.8
    adc_max: int = 2**22 - 1

    def check(self) -> None:
        if not 0 < self.e_min_gev <= self.e_max_gev:
            raise ConfigError("hgcal-synth: need 0 < e_min_gev <= e_max_gev", "fix the energy range")
        if not (self.p_no_shower >= 0 and self.p_two_showers >= 0 and self.p_no_shower + self.p_two_showers <= 1):
            raise ConfigError(
                "hgcal-synth: p_no_shower and p_two_showers must be >= 0 and sum to at most 1",
                "fix the shower-multiplicity probabilities",
            )
        for name in ("moliere_radius_cm", "critical_energy_gev", "long_b", "gain_adc_per_gev"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"hgcal-synth: {name} must be > 0", f"set a positive {name}")
        for name in ("stochastic", "fluct_adc", "pileup_mean_hits", "pileup_mean_adc", "noise_adc", "impact_margin_cm"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"hgcal-synth: {name} must be >= 0", f"set a non-negative {name}")
        if self.impact_margin_cm > _TABLE_MARGIN_CM:
            raise ConfigError(
                f"hgcal-synth: impact_margin_cm must be at most {_TABLE_MARGIN_CM} (the transverse tables end there)",
                f"use impact_margin_cm <= {_TABLE_MARGIN_CM}",
            )
        if not 0 <= self.depth_x0[0] < self.depth_x0[1]:
            raise ConfigError("hgcal-synth: depth_x0 must be (low, high) with 0 <= low < high", "fix depth_x0")


def _grindhammer(tau: float, energy_gev: float = 50.0, z: float = 74.0) -> tuple[float, float, float]:
    """(R_C, R_T in Moliere radii, core fraction p) at relative depth tau (tungsten, Z=74)."""
    ln_e = np.log(energy_gev)
    r_c = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0421 * ln_e
    r_t = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    x = (p2 - tau) / p3
    p = float(np.clip(p1 * np.exp(x - np.exp(x)), 0.05, 0.95))
    return float(r_c), float(r_t), p


def _wafer_frame() -> tuple[np.ndarray, float]:
    """Centre of the wafer (mean TC position) and radius of the disk that covers its TC cells."""
    coords = tc_coordinates("cm")
    centre = coords.mean(axis=0)
    edge = np.linalg.norm(coords - centre, axis=1).max() + TC_PITCH_CM / np.sqrt(3)
    return centre, float(edge)


def _table_grid() -> tuple[np.ndarray, int]:
    """Lower-left corner (x, y) and side (pixels) of the square grid of the transverse tables."""
    centre, radius = _wafer_frame()
    half = radius + _TABLE_MARGIN_CM
    side = int(np.ceil(2 * half / _STEP)) + 1
    return centre - half, side


def _cell_coverage(sub: int = 4) -> np.ndarray:
    """``(48, G, G)``: fraction of each grid pixel that belongs to each TC cell.

    A point belongs to the TC whose centre is nearest, if it also lies inside
    that TC's hexagon (pitch 2.4168 cm); points outside all hexagons belong to
    no TC. Inside a quadrant this is the hexagon itself; at quadrant borders,
    where centres are closer than one pitch, neighbouring cells do not overlap.
    """
    origin, g = _table_grid()
    coords = tc_coordinates("cm")
    off = (np.arange(g)[:, None] + (np.arange(sub) + 0.5)[None, :] / sub - 0.5).ravel() * _STEP
    yy, xx = np.meshgrid(origin[1] + off, origin[0] + off, indexing="ij")
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    nearest = cKDTree(coords).query(pts)[1]
    rel = pts - coords[nearest]
    inside = np.ones(len(pts), dtype=bool)
    for ang in (np.pi / 6, np.pi / 2, 5 * np.pi / 6):  # hexagon edge normals = TC-neighbour directions
        inside &= np.abs(rel[:, 0] * np.cos(ang) + rel[:, 1] * np.sin(ang)) <= TC_PITCH_CM / 2
    label = np.where(inside, nearest, N_TC).reshape(g, sub, g, sub).transpose(0, 2, 1, 3).reshape(g, g, -1)
    cover = np.stack([(label == i).mean(axis=-1) for i in range(N_TC)])
    return cover


def _radial_kernel(size: int, r_c: float, r_t: float, p: float, sub: int = 3) -> np.ndarray:
    """Profile integrated over each pixel of a ``(2*size+1)^2`` offset grid (sub x sub samples per pixel)."""
    off = (np.arange(-size, size + 1)[:, None] + (np.arange(sub) + 0.5)[None, :] / sub - 0.5).ravel() * _STEP
    r2 = off[:, None] ** 2 + off[None, :] ** 2
    dens = p * r_c**2 / (np.pi * (r2 + r_c**2) ** 2) + (1 - p) * r_t**2 / (np.pi * (r2 + r_t**2) ** 2)
    m = 2 * size + 1
    return dens.reshape(m, sub, m, sub).mean(axis=(1, 3)) * _STEP**2


@lru_cache(maxsize=2)
def _tc_response_tables(moliere_radius_cm: float) -> np.ndarray:
    """``(n_classes * G * G, 48)`` float32: fraction of a shower in each TC vs impact pixel.

    Row ``cls * G * G + iy * G + ix`` is a shower of depth class ``cls`` hitting
    grid pixel (ix, iy). Built by FFT convolution of the TC coverage maps with
    the pixel-integrated radial profile (about a second, once per process).
    """
    cover = _cell_coverage()
    g = cover.shape[-1]
    # Circular convolution of length >= 2g - 1 leaves the wanted part of the full one un-aliased.
    shape = [sfft.next_fast_len(2 * g - 1, real=True)] * 2
    cover_f = sfft.rfft2(cover, shape, workers=-1)
    tables = []
    for lo, hi in zip(_TAU_EDGES[:-1], _TAU_EDGES[1:]):
        tau = 0.5 * (lo + hi) if np.isfinite(hi) else lo + 0.5
        r_c, r_t, p = _grindhammer(tau)
        kern = _radial_kernel(g - 1, r_c * moliere_radius_cm, r_t * moliere_radius_cm, p)
        full = sfft.irfft2(cover_f * sfft.rfft2(kern, shape, workers=-1), shape, workers=-1)
        # Full convolution: impact pixel m sits at index m + (g - 1).
        tab = full[:, g - 1 : 2 * g - 1, g - 1 : 2 * g - 1]
        tables.append(np.clip(tab, 0.0, None).transpose(1, 2, 0).astype(np.float32))
    out = np.ascontiguousarray(np.stack(tables).reshape(-1, N_TC))
    out.setflags(write=False)
    return out


def tc_fractions(impact_xy: np.ndarray, tau: np.ndarray, moliere_radius_cm: float = 2.8) -> np.ndarray:
    """``(S, 48)`` fraction of each shower's visible energy in each TC.

    ``impact_xy`` is ``(S, 2)`` in cm (TC coordinate frame), ``tau`` the relative
    depth per shower. Impacts beyond the table (more than ``_TABLE_MARGIN_CM``
    outside the wafer) give zeros.
    """
    impact_xy = np.asarray(impact_xy, dtype=np.float64).reshape(-1, 2)
    table = _tc_response_tables(float(moliere_radius_cm))
    origin, g = _table_grid()
    n_cls = len(_TAU_EDGES) - 1
    cls = np.clip(np.searchsorted(_TAU_EDGES, tau, side="right") - 1, 0, n_cls - 1)
    out = np.empty((len(impact_xy), N_TC), dtype=np.float64)
    for i in range(0, len(impact_xy), _CHUNK):
        sl = slice(i, i + _CHUNK)
        fx = (impact_xy[sl, 0] - origin[0]) / _STEP
        fy = (impact_xy[sl, 1] - origin[1]) / _STEP
        valid = (fx >= 0) & (fx <= g - 1) & (fy >= 0) & (fy <= g - 1)
        ix = np.clip(fx, 0, g - 1.000001).astype(np.int64)
        iy = np.clip(fy, 0, g - 1.000001).astype(np.int64)
        wx = np.clip(fx - ix, 0, 1)[:, None]
        wy = np.clip(fy - iy, 0, 1)[:, None]
        base = cls[sl] * (g * g) + iy * g + ix
        out[sl] = (1 - wy) * ((1 - wx) * table[base] + wx * table[base + 1]) + wy * (
            (1 - wx) * table[base + g] + wx * table[base + g + 1]
        )
        out[sl][~valid] = 0.0
    return out


def _longitudinal_fraction(energy: np.ndarray, depth: np.ndarray, prm: SynthParams) -> tuple[np.ndarray, np.ndarray]:
    """(fraction of E deposited in a 1-X0 layer at ``depth``, tau = depth / t_max)."""
    t_max = np.maximum(np.log(energy / prm.critical_energy_gev) - 0.5, 0.5)
    b = prm.long_b
    a = b * t_max + 1.0
    bt = b * depth
    frac = b * np.exp((a - 1) * np.log(bt) - bt - gammaln(a))
    return frac, depth / t_max


def _generate_chunk(n: int, rng: np.random.Generator, prm: SynthParams) -> tuple[np.ndarray, dict]:
    centre, radius = _wafer_frame()
    u = rng.random(n)
    n_sh = np.where(u < prm.p_no_shower, 0, np.where(u < prm.p_no_shower + prm.p_two_showers, 2, 1))
    wafer = np.repeat(np.arange(n), n_sh)
    s = len(wafer)
    energy = prm.e_min_gev * np.exp(rng.random(s) * np.log(prm.e_max_gev / prm.e_min_gev))
    r = (radius + prm.impact_margin_cm) * np.sqrt(rng.random(s))
    phi = rng.random(s) * 2 * np.pi
    impact = centre + np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    depth = rng.uniform(prm.depth_x0[0], prm.depth_x0[1], s)
    frac, tau = _longitudinal_fraction(energy, depth, prm)
    smear = np.maximum(1 + prm.stochastic / np.sqrt(energy) * rng.standard_normal(s), 0.0)
    visible = prm.gain_adc_per_gev * energy * frac * smear

    charge = np.zeros((n, N_TC))
    deposits = visible[:, None] * tc_fractions(impact, tau, prm.moliere_radius_cm)
    first = np.ones(s, dtype=bool)
    first[1:] = wafer[1:] != wafer[:-1]
    charge[wafer[first]] += deposits[first]  # indices unique within each slot
    charge[wafer[~first]] += deposits[~first]
    if prm.fluct_adc > 0:
        charge += np.sqrt(charge * prm.fluct_adc) * rng.standard_normal(charge.shape)

    n_pu = rng.poisson(prm.pileup_mean_hits, n)
    pu_cell = np.repeat(np.arange(n), n_pu) * N_TC + rng.integers(0, N_TC, n_pu.sum())
    pu_q = rng.exponential(prm.pileup_mean_adc, len(pu_cell))
    charge += np.bincount(pu_cell, weights=pu_q, minlength=n * N_TC).reshape(n, N_TC)
    charge += prm.noise_adc * rng.standard_normal(charge.shape)
    q = np.clip(np.rint(charge), 0, prm.adc_max).astype(np.int32)

    # Impact point of the leading (highest-energy) shower; at most 2 showers per wafer.
    e_tot = np.bincount(wafer, weights=energy, minlength=n)
    lead_x = np.full(n, np.nan)
    lead_y = np.full(n, np.nan)
    lead_x[wafer[first]], lead_y[wafer[first]] = impact[first, 0], impact[first, 1]
    second = np.flatnonzero(~first)
    second = second[energy[second] > energy[second - 1]]
    lead_x[wafer[second]], lead_y[wafer[second]] = impact[second, 0], impact[second, 1]
    aux = {"energy": e_tot, "impact_x": lead_x, "impact_y": lead_y, "n_showers": n_sh.astype(np.int64)}
    return q, aux


def generate(
    n: int, seed: int = 0, params: SynthParams | None = None, preset: str = "legacy"
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Generate ``n`` wafers: ``(charges int32 (n, 48), aux)``; :func:`generate_with_info` also says how.

    ``preset`` (:mod:`micae.data.hgcal_presets`): ``legacy`` (default) is the model above with ``params``;
    ``pileup`` and ``nopileup`` are the physical generator (:mod:`micae.data.hgcal_physics`), which returns
    ``n`` non-empty wafers of integer CALQ (``params`` must then be None or a ``PhysicsParams``).

    legacy aux: ``energy`` (total shower E in GeV, 0 without shower), ``impact_x``/``impact_y``
    (cm, leading shower; NaN without shower), ``n_showers`` (int).
    """
    return generate_with_info(n, seed, params, preset)[:2]


def generate_with_info(
    n: int, seed: int = 0, params=None, preset: str = "legacy"
) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """:func:`generate`, plus its provenance record (:func:`describe`, and the empty wafers dropped)."""
    from micae.data import hgcal_physics, hgcal_presets

    hgcal_presets.check_preset(preset)
    if int(n) != n or n < 0:
        raise ConfigError(f"hgcal-synth: number of wafers must be a non-negative integer, got {n!r}", "pass n >= 0")
    if preset != "legacy":
        prm = params if params is not None else hgcal_presets.physics_params(preset)
        if not isinstance(prm, hgcal_physics.PhysicsParams):
            raise ConfigError(f"hgcal-synth preset {preset!r} takes PhysicsParams", "pass params=None")
        charges, aux, info = hgcal_physics.generate(int(n), seed, prm)
        return charges, aux, {**describe(params, preset), **info}
    charges, aux = _generate_legacy(int(n), seed, params or SynthParams())
    return charges, aux, describe(params, preset)


def _generate_legacy(n: int, seed: int, prm: SynthParams) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    prm.check()
    n_chunks = max(1, -(-n // _CHUNK))
    streams = np.random.SeedSequence(int(seed)).spawn(n_chunks)
    qs, auxes = [], []
    for k in range(n_chunks):
        m = min(_CHUNK, n - k * _CHUNK)
        q, aux = _generate_chunk(m, np.random.default_rng(streams[k]), prm)
        qs.append(q)
        auxes.append(aux)
    aux = {key: np.concatenate([a[key] for a in auxes]) for key in auxes[0]}
    return np.concatenate(qs), aux


def describe(params=None, preset: str = "legacy") -> dict:
    """Provenance record of the generator: preset, parameters (and, for fitted presets, what they were fitted to)."""
    from micae.data import hgcal_presets

    geo = load_geometry()
    if preset == "legacy":
        prm = asdict(params or SynthParams())
        return {"name": "micae.data.hgcal_synth", "preset": preset, "params": prm, "geometry": geo["provenance"]}
    prm = params if params is not None else hgcal_presets.physics_params(preset)
    out = {"name": "micae.data.hgcal_physics", "preset": preset, "params": prm.to_dict(), "geometry": geo["provenance"]}
    if params is None and preset in hgcal_presets.FITS:
        out["fit"] = hgcal_presets.FITS[preset]
    return out
