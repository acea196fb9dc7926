"""Physical HGCAL wafer generator in MIP units, read out through the ECON-T chain to integer CALQ.

One sample is one CE-E silicon wafer in one bunch crossing. Steps, with units:

1. **Position.** The wafer centre sits at radius ``r`` on a layer at ``z = layer_z_cm``, uniform in area
   between ``eta_range`` (the HGCAL acceptance), with a random orientation; every TC gets its own eta from
   its position (``asinh(z / r_tc)``). Wafers above ``hd_eta_min`` are HD modules (the HGCROC drops 3 bits
   of the TC sum), the others LD (1 bit); the noise is per TC and the same for both.
2. **Particle density.** Rates per unit area fall as ``1 / r**2`` at fixed z (a flat dN/deta), so every
   rate below is quoted at eta = 2 and scaled by ``(r(eta=2) / r_tc)**2`` per TC (per wafer for whole-wafer
   counts).
3. **Deposits, in MIP.** Isolated single-TC hits (pile-up particles, or the soft particles of the hard
   scatter): ``Poisson(hits_per_tc_eta2 * density * spread)`` per TC, where ``spread`` is a per-wafer
   log-normal factor of mean 1 and width ``hit_spread_sigma`` (the layer depth, jets, pile-up fluctuations).
   A fraction ``hit_mip_fraction`` are charged particles crossing the sensor: a Landau (Moyal) of most
   probable value 1 MIP and width ``landau_width_mip``, in absolute MIP, so their CALQ falls as 1/cosh eta.
   The rest are electromagnetic deposits with a transverse spectrum continuous from 0 with a power-law tail
   (Lomax: P(> x) = (1 + x / ``hit_em_scale_mipt``)**-``hit_em_index``, x in MIP_T). Electromagnetic
   showers spread over the TCs: ``Poisson(showers_per_wafer_eta2 * density * spread)`` per wafer, with
   dN/dE_T ~ E_T**-``shower_et_index`` above ``shower_et_min_gev``, a longitudinal gamma-function profile
   at a uniform depth and the Grindhammer transverse profile over the TC cells
   (:func:`micae.data.hgcal_synth.tc_fractions`); a shower leaves ``E_T * f(t) / E_c`` transverse MIPs in
   the layer (the crossing-particle count of a track length ``E / E_c``), with counting fluctuations.
4. **Readout** (:mod:`micae.data.hgcal_chain`): TC charge in ADC (35.1 per MIP) plus Gaussian noise
   ``noise_adc``, rounded and clipped at 0; TC sums below ``tc_threshold_adc`` are zero-suppressed; then
   drop D bits, 4E3M, F2F decode with the emulator's half LSB, ``floor(F2F * CALVALUE / 2**11)`` = CALQ;
   CALQ below ``calq_min`` is set to 0 (a per-channel threshold in CALQ units, like the ECON-T's THRESHV).

Which numbers are facts and which are fitted: ``micae.data.hgcal_presets`` says, per preset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from micae.data.geometry import N_TC, tc_coordinates
from micae.data.hgcal_chain import ADC_PER_MIP, calq_from_adc, calvalue
from micae.errors import ConfigError

_CHUNK = 32768


@dataclass(frozen=True)
class PhysicsParams:
    """Parameters of the physical generator; every one is recorded in the dataset provenance."""

    # position (HGCAL acceptance; an approximate CE-E layer z and HD/LD boundary: not datapath-doc facts)
    eta_range: tuple[float, float] = (1.5, 3.0)
    layer_z_cm: float = 340.0
    hd_eta_min: float = 2.4
    # readout
    noise_adc: float = 2.0
    tc_threshold_adc: float = 0.0
    calq_min: int = 2
    half_lsb: bool = True
    # isolated single-TC hits: pile-up particles, or the soft particles of the hard scatter
    hits_per_tc_eta2: float = 0.0
    hit_spread_sigma: float = 0.0
    hit_mip_fraction: float = 0.5
    hit_em_scale_mipt: float = 0.1
    hit_em_index: float = 1.5
    # electromagnetic showers spread over the TCs
    showers_per_wafer_eta2: float = 0.0
    shower_et_min_gev: float = 0.2
    shower_et_index: float = 2.0
    # shower physics (as the legacy generator: tungsten-like)
    landau_width_mip: float = 0.1
    critical_energy_gev: float = 0.008
    moliere_radius_cm: float = 2.8
    depth_x0: tuple[float, float] = (1.0, 27.0)
    long_b: float = 0.5

    def check(self) -> None:
        lo, hi = self.eta_range
        if not 0 < lo < hi:
            raise ConfigError("hgcal-synth: eta_range must be (low, high) with 0 < low < high", "fix eta_range")
        non_negative = (
            "noise_adc",
            "tc_threshold_adc",
            "calq_min",
            "hits_per_tc_eta2",
            "hit_spread_sigma",
            "showers_per_wafer_eta2",
            "landau_width_mip",
        )
        for name in non_negative:
            if not getattr(self, name) >= 0:
                raise ConfigError(f"hgcal-synth: {name} must be >= 0", f"set a non-negative {name}")
        positive = ("hit_em_scale_mipt", "hit_em_index", "shower_et_min_gev", "critical_energy_gev")
        for name in (*positive, "moliere_radius_cm", "long_b", "layer_z_cm"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"hgcal-synth: {name} must be > 0", f"set a positive {name}")
        if not self.shower_et_index > 1:
            raise ConfigError("hgcal-synth: shower_et_index must be > 1 (dN/dE_T ~ E_T**-index)", "raise it above 1")
        if not 0 <= self.hit_mip_fraction <= 1:
            raise ConfigError("hgcal-synth: hit_mip_fraction must lie in [0, 1]", "fix hit_mip_fraction")

    def to_dict(self) -> dict:
        return asdict(self)


def _radius(eta: np.ndarray | float, z: float) -> np.ndarray:
    return z / np.sinh(eta)


def _positions(n: int, rng: np.random.Generator, prm: PhysicsParams) -> dict[str, np.ndarray]:
    """Wafer centre eta, per-TC eta and radius, and the module type, for ``n`` wafers."""
    from micae.data.hgcal_synth import _wafer_frame

    z = prm.layer_z_cm
    r_lo, r_hi = _radius(prm.eta_range[1], z), _radius(prm.eta_range[0], z)
    r_w = np.sqrt(r_lo**2 + (r_hi**2 - r_lo**2) * rng.random(n))
    centre, _ = _wafer_frame()
    rel = tc_coordinates("cm") - centre  # (48, 2)
    phi = rng.random(n) * 2 * np.pi
    # the wafer's local frame is rotated by phi; its centre sits on the x axis at r_w
    x = r_w[:, None] + np.cos(phi)[:, None] * rel[None, :, 0] - np.sin(phi)[:, None] * rel[None, :, 1]
    y = np.sin(phi)[:, None] * rel[None, :, 0] + np.cos(phi)[:, None] * rel[None, :, 1]
    r_tc = np.hypot(x, y)
    eta_w = np.arcsinh(z / r_w)
    return {"eta": eta_w, "r": r_w, "eta_tc": np.arcsinh(z / r_tc), "r_tc": r_tc, "hd": eta_w > prm.hd_eta_min}


def _landau(rng: np.random.Generator, size: int, width: float) -> np.ndarray:
    """Landau-like energy loss in MIP (Moyal approximation, most probable value 1), clipped at 0."""
    from scipy.stats import moyal

    if size == 0 or width == 0:
        return np.ones(size)
    return np.maximum(1.0 + width * moyal.rvs(size=size, random_state=rng), 0.0)


def _pareto(rng: np.random.Generator, size: int, x_min: float, index: float) -> np.ndarray:
    """Power law above ``x_min``: P(X > x) = (x / x_min)**-index."""
    return x_min * (1.0 - rng.random(size)) ** (-1.0 / index)


def _lomax(rng: np.random.Generator, size: int, scale: float, index: float) -> np.ndarray:
    """Continuous from 0 with a power-law tail: P(X > x) = (1 + x / scale)**-index."""
    return scale * ((1.0 - rng.random(size)) ** (-1.0 / index) - 1.0)


def _hits(n: int, pos: dict, spread: np.ndarray, rng: np.random.Generator, prm: PhysicsParams) -> np.ndarray:
    """``(n, 48)`` deposit of isolated single-TC hits in absolute MIP."""
    out = np.zeros(n * N_TC)
    if prm.hits_per_tc_eta2 <= 0:
        return out.reshape(n, N_TC)
    r2 = _radius(2.0, prm.layer_z_cm)
    mu = prm.hits_per_tc_eta2 * (r2 / pos["r_tc"]) ** 2 * spread[:, None]
    hits = rng.poisson(mu).ravel()
    cell = np.repeat(np.arange(n * N_TC), hits)
    is_mip = rng.random(len(cell)) < prm.hit_mip_fraction
    dep = np.empty(len(cell))
    dep[is_mip] = _landau(rng, int(is_mip.sum()), prm.landau_width_mip)
    cosh = np.cosh(pos["eta_tc"]).ravel()
    dep[~is_mip] = _lomax(rng, int((~is_mip).sum()), prm.hit_em_scale_mipt, prm.hit_em_index) * cosh[cell[~is_mip]]
    out += np.bincount(cell, weights=dep, minlength=n * N_TC)
    return out.reshape(n, N_TC)


def _showers(
    n: int, pos: dict, density: np.ndarray, rng: np.random.Generator, prm: PhysicsParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(n, 48)`` EM shower deposit in absolute MIP, total shower energy per wafer (GeV), shower count and the
    leading shower's impact point ``(n, 2)`` in cm (TC frame; NaN without a shower)."""
    from micae.data.hgcal_synth import _longitudinal_fraction, _wafer_frame, tc_fractions

    k = rng.poisson(prm.showers_per_wafer_eta2 * density)
    wafer = np.repeat(np.arange(n), k)
    s = len(wafer)
    out = np.zeros((n, N_TC))
    if s == 0:
        return out, np.zeros(n), np.zeros(n, dtype=np.int64), np.full((n, 2), np.nan)
    et = _pareto(rng, s, prm.shower_et_min_gev, prm.shower_et_index - 1.0)  # dN/dE_T ~ E_T**-index
    energy = et * np.cosh(pos["eta"][wafer])
    centre, radius = _wafer_frame()
    rr = (radius + 1.5) * np.sqrt(rng.random(s))
    phi = rng.random(s) * 2 * np.pi
    impact = centre + np.stack([rr * np.cos(phi), rr * np.sin(phi)], axis=1)
    depth = rng.uniform(prm.depth_x0[0], prm.depth_x0[1], s)
    frac, tau = _longitudinal_fraction(energy, depth, prm)  # reads critical_energy_gev, long_b
    mipt = et * frac / prm.critical_energy_gev  # transverse MIPs crossing the layer
    per_tc = mipt[:, None] * tc_fractions(impact, tau, prm.moliere_radius_cm)
    per_tc *= np.cosh(pos["eta_tc"][wafer])  # absolute MIPs on each TC
    per_tc = np.maximum(per_tc + np.sqrt(per_tc) * rng.standard_normal(per_tc.shape), 0.0)
    np.add.at(out, wafer, per_tc)
    # impact point of each wafer's leading (highest-E_T) shower; NaN without a shower
    lead = np.full((n, 2), np.nan)
    order = np.lexsort((et, wafer))  # by wafer, then E_T ascending: the last of each wafer leads
    last = np.r_[wafer[order][1:] != wafer[order][:-1], True]
    lead[wafer[order][last]] = impact[order][last]
    return out, np.bincount(wafer, weights=energy, minlength=n), np.bincount(wafer, minlength=n), lead


def readout(mip: np.ndarray, pos: dict, rng: np.random.Generator, prm: PhysicsParams) -> np.ndarray:
    """Absolute MIP per TC -> integer CALQ through noise, zero suppression and the ECON-T chain."""
    adc = mip * ADC_PER_MIP + prm.noise_adc * rng.standard_normal(mip.shape)
    adc = np.clip(np.rint(adc), 0, 2**22 - 1).astype(np.int64)
    adc[adc < prm.tc_threshold_adc] = 0
    drop = np.where(pos["hd"], 3, 1)[:, None]
    calq = calq_from_adc(adc, calvalue(pos["eta_tc"]), drop, half_lsb=prm.half_lsb)
    calq[calq < prm.calq_min] = 0
    return calq


def generate_chunk(n: int, rng: np.random.Generator, prm: PhysicsParams) -> tuple[np.ndarray, dict]:
    """``n`` wafers (all-zero ones included): CALQ int32 ``(n, 48)`` and per-wafer aux."""
    pos = _positions(n, rng, prm)
    # per-wafer activity: the layer depth and the event (jets, pile-up fluctuations), log-normal with mean 1
    spread = np.exp(prm.hit_spread_sigma * rng.standard_normal(n) - prm.hit_spread_sigma**2 / 2)
    density = (_radius(2.0, prm.layer_z_cm) / pos["r"]) ** 2 * spread
    shower, energy, n_showers, lead = _showers(n, pos, density, rng, prm)
    calq = readout(_hits(n, pos, spread, rng, prm) + shower, pos, rng, prm)
    aux = {
        "eta": pos["eta"],
        "hd_module": pos["hd"],
        "energy": energy,
        "n_showers": n_showers,
        "impact_x": lead[:, 0],
        "impact_y": lead[:, 1],
    }
    return calq.astype(np.int32), aux


def generate(n: int, seed: int, prm: PhysicsParams) -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
    """``n`` non-empty wafers (CALQ int32 ``(n, 48)``), their aux and a record of how many empty ones were dropped.

    Wafers are generated in chunks of a fixed size, each with its own random stream spawned from ``seed``,
    and the all-zero ones are dropped (as upstream in the public files); the first ``n`` non-empty wafers
    are kept. So (n, seed, params) fixes the output, and a larger n extends a smaller one.
    """
    prm.check()
    root = np.random.SeedSequence([int(seed), 0x9A7A])
    qs: list[np.ndarray] = []
    auxes: list[dict] = []
    kept = used = 0
    while kept < n:
        q, aux = generate_chunk(_CHUNK, np.random.default_rng(root.spawn(1)[0]), prm)
        nonzero = np.flatnonzero((q > 0).any(axis=1))[: n - kept]
        # wafers generated up to and including the last one kept from this chunk
        used += _CHUNK if kept + len(nonzero) < n else int(nonzero[-1]) + 1
        qs.append(q[nonzero])
        auxes.append({key: v[nonzero] for key, v in aux.items()})
        kept += len(nonzero)
        if used >= 8 * _CHUNK and kept < 0.01 * used:
            raise ConfigError(
                f"hgcal-synth: only {kept} of {used} generated wafers have a non-zero TC",
                "raise the particle rates or lower the thresholds of these parameters",
            )
    if not qs:
        return np.zeros((0, N_TC), dtype=np.int32), {}, {"wafers_generated": 0, "empty_wafers_dropped": 0}
    aux = {key: np.concatenate([a[key] for a in auxes]) for key in auxes[0]}
    return np.concatenate(qs), aux, {"wafers_generated": used, "empty_wafers_dropped": used - n}
