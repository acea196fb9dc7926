"""Latent-space probing arrays: decoded interpolations, a decoded PCA grid and per-latent traversals.

Decoding needs the trained decoder (TensorFlow), so the arrays are computed once, at the end of a
training run (or later by :func:`compute_probing` for a run folder that lacks them), and written to
``models/<name>/probing.npz`` with a description in ``probing.json``; the report only draws them.

Every latent vector handed to the decoder is on the latent format's grid (rounded half-to-even to
its LSB and clipped to its rails): the decoder of ``micae.h5`` was trained on quantized latents and
the hardware only ever sends such codes. The points probed are latent vectors of the decoder's input,
i.e. the latents of all N MICAE inputs concatenated (``D = N * latents per input``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from micae.log import info

PROBING_NPZ = "probing.npz"
PROBING_JSON = "probing.json"
VERSION = 1
DEFAULTS = {"n_pairs": 4, "n_steps": 9, "grid": 7, "span_sigma": 2.0, "max_traversals": 8, "traversal_steps": 9}


def snap(z: np.ndarray, latent_type) -> np.ndarray:
    """``z`` on the latent grid: rounded half-to-even to the LSB, clipped to the rails (unchanged without a type)."""
    z = np.asarray(z, dtype=np.float64)
    if latent_type is None:
        return z
    lsb = float(latent_type.lsb)
    return np.clip(np.round(z / lsb) * lsb, latent_type.min_value, latent_type.max_value)


def decode(decoder, z: np.ndarray, n_parts: int, channels: int) -> np.ndarray:
    """Decoder outputs (H, W, N*C) for latent vectors ``z`` (M, D) -> (M, N, H, W, C), like the reconstructions."""
    out = decoder.predict(np.asarray(z, dtype=np.float32), batch_size=4096, verbose=0)
    return np.stack([out[..., i * channels : (i + 1) * channels] for i in range(n_parts)], axis=1)


def latent_basis(z: np.ndarray) -> dict:
    """The map's axes: PCA of ``z`` (M, D), or the two latents themselves when D = 2.

    Returns ``kind`` ("pca" or "latents"), ``mean`` (D,), ``basis`` (2, D) unit rows, ``sigma`` (2,) the
    standard deviation along each row, ``explained`` (2,) variance fractions and ``map_xy`` (M, 2): the
    principal-component scores, or for D = 2 the raw latent values. PCA signs are fixed so the largest
    entry of each direction is positive (deterministic).
    """
    z = np.asarray(z, dtype=np.float64)
    mean = z.mean(axis=0)
    centred = z - mean
    total = float((centred**2).sum())
    if z.shape[1] == 2:
        basis = np.eye(2)
        map_xy = z.copy()
    else:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        basis = np.zeros((2, z.shape[1]))
        basis[: min(2, len(vt))] = vt[:2]
        flip = np.sign(basis[np.arange(2), np.abs(basis).argmax(axis=1)])
        basis *= np.where(flip == 0, 1.0, flip)[:, None]
        map_xy = centred @ basis.T
    proj = centred @ basis.T
    var = (proj**2).sum(axis=0)
    return {
        "kind": "latents" if z.shape[1] == 2 else "pca",
        "mean": mean,
        "basis": basis,
        "sigma": proj.std(axis=0),
        "explained": var / total if total > 0 else np.zeros(2),
        "map_xy": map_xy,
    }


def pick_pairs(x: np.ndarray, n_pairs: int, seed: int, labels: np.ndarray | None = None) -> np.ndarray:
    """``n_pairs`` (a, b) test-sample indices, seeded: non-empty samples, no sample twice, different labels if given."""
    total = np.asarray(x).reshape(len(x), -1).sum(axis=1)
    cand = np.flatnonzero(total > 0)
    cand = cand if len(cand) >= 2 else np.arange(len(x))
    order = np.random.default_rng(seed).permutation(cand)
    used: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for a in order:
        if len(pairs) == n_pairs:
            break
        if a in used:
            continue
        for b in order:
            if b == a or b in used or (labels is not None and labels[b] == labels[a]):
                continue
            pairs.append((int(a), int(b)))
            used.update((a, b))
            break
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def interpolations(z: np.ndarray, pairs: np.ndarray, n_steps: int, latent_type) -> tuple[np.ndarray, np.ndarray]:
    """Linear paths ``(1 - t) z_a + t z_b`` on the latent grid: (alpha (T,), latents (P, T, D))."""
    alpha = np.linspace(0.0, 1.0, n_steps)
    za, zb = z[pairs[:, 0]], z[pairs[:, 1]]
    path = (1 - alpha)[None, :, None] * za[:, None, :] + alpha[None, :, None] * zb[:, None, :]
    path[:, 0], path[:, -1] = za, zb  # the ends are the samples' own codes, not a rounded sum
    return alpha, snap(path, latent_type)


def meshgrid(basis: dict, size: int, span: float, latent_type) -> tuple[np.ndarray, np.ndarray, int]:
    """Latents (size, size, D) at mean + a*sigma1*v1 + b*sigma2*v2, a and b in [-span, span] (index [a, b]).

    Returns the steps in sigma units, the latents on the grid, and how many values hit a rail.
    """
    steps = np.linspace(-span, span, size)
    d1, d2 = basis["sigma"][0] * basis["basis"][0], basis["sigma"][1] * basis["basis"][1]
    raw = basis["mean"][None, None] + steps[:, None, None] * d1 + steps[None, :, None] * d2
    snapped = snap(raw, latent_type)
    clipped = 0
    if latent_type is not None:
        clipped = int(((raw < latent_type.min_value) | (raw > latent_type.max_value)).sum())
    return steps, snapped, clipped


def traversal_dims(z: np.ndarray, max_dims: int) -> tuple[np.ndarray, str]:
    """Which latents to traverse: all varying ones, or the ``max_dims`` of largest standard deviation."""
    std = z.std(axis=0)
    live = np.flatnonzero(std > 0)
    if len(live) <= max_dims:
        return live, f"all {len(live)} varying latents" + (
            f" ({z.shape[1] - len(live)} constant)" if len(live) < z.shape[1] else ""
        )
    top = live[np.argsort(-std[live], kind="stable")][:max_dims]
    return top, f"the {max_dims} of {z.shape[1]} latents with the largest standard deviation on the test split"


def traversals(z: np.ndarray, dims: np.ndarray, n_steps: int, latent_type, ref: int) -> dict:
    """Vary one latent over its observed range (on the grid), the others held at sample ``ref``'s codes.

    ``valid`` marks the first step of each distinct code (a narrow range has fewer codes than steps).
    """
    values = np.zeros((len(dims), n_steps))
    valid = np.zeros((len(dims), n_steps), dtype=bool)
    lat = np.repeat(np.repeat(z[ref][None, None], len(dims), axis=0), n_steps, axis=1)
    for row, d in enumerate(dims):
        v = snap(np.linspace(z[:, d].min(), z[:, d].max(), n_steps), latent_type)
        values[row] = v
        _, first = np.unique(v, return_index=True)
        valid[row, first] = True
        lat[row, :, d] = v
    return {"values": values, "valid": valid, "latents": lat}


def reference_sample(z: np.ndarray, x: np.ndarray) -> int:
    """The non-empty test sample whose latents are nearest the per-latent median (a typical sample)."""
    total = np.asarray(x).reshape(len(x), -1).sum(axis=1)
    cand = np.flatnonzero(total > 0)
    cand = cand if len(cand) else np.arange(len(x))
    med = np.median(z[cand], axis=0)
    return int(cand[np.argmin(((z[cand] - med) ** 2).sum(axis=1))])


def probe(
    decoder,
    latents: np.ndarray,
    x: np.ndarray,
    latent_type,
    *,
    labels: np.ndarray | None = None,
    seed: int = 0,
    options: dict | None = None,
    module_sums: np.ndarray | None = None,
) -> tuple[dict, dict]:
    """Every probing array for test latents (S, N, K) and inputs (S, N, H, W, C); returns (arrays, description).

    ``decoder`` maps concatenated latents (D = N*K) to (H, W, N*C). ``labels`` (digits) makes the
    interpolation pairs join different digits. A decoder that also takes the N module sums
    (``decoder.module_sum``) decodes every probed point at the test median of each part's ``module_sums``.
    """
    o = {**DEFAULTS, **(options or {})}
    s, n_parts, k = np.shape(latents)
    channels = int(np.shape(x)[-1])
    z = snap(np.asarray(latents, dtype=np.float64).reshape(s, n_parts * k), latent_type)
    basis = latent_basis(z)
    pairs = pick_pairs(x, int(o["n_pairs"]), seed, labels)
    alpha, path = interpolations(z, pairs, int(o["n_steps"]), latent_type)
    steps, grid, clipped = meshgrid(basis, int(o["grid"]), float(o["span_sigma"]), latent_type)
    dims, chosen = traversal_dims(z, int(o["max_traversals"]))
    ref = reference_sample(z, x)
    trav = traversals(z, dims, int(o["traversal_steps"]), latent_type, ref)
    g = len(steps)
    flat = np.concatenate(
        [path.reshape(-1, z.shape[1]), grid.reshape(-1, z.shape[1]), trav["latents"].reshape(-1, z.shape[1])]
    )
    fill = _sum_fill(decoder, n_parts * k, n_parts, module_sums)
    if fill is not None:
        flat = np.concatenate([flat, np.broadcast_to(fill, (len(flat), n_parts))], axis=1)
    out = decode(decoder, flat, n_parts, channels) if len(flat) else np.zeros((0, *np.shape(x)[1:]), np.float32)
    n_path, n_grid = path.shape[0] * path.shape[1], g * g
    arrays = {
        "map_xy": basis["map_xy"].astype(np.float32),
        "basis_mean": basis["mean"],
        "basis": basis["basis"],
        "basis_sigma": basis["sigma"],
        "basis_explained": basis["explained"],
        "interp_pairs": pairs,
        "interp_alpha": alpha,
        "interp_latents": path,
        "interp_decoded": out[:n_path].reshape(*path.shape[:2], *out.shape[1:]),
        "interp_inputs": np.asarray(x)[pairs.reshape(-1)].reshape(len(pairs), 2, *np.shape(x)[1:]),
        "grid_steps": steps,
        "grid_latents": grid,
        "grid_decoded": out[n_path : n_path + n_grid].reshape(g, g, *out.shape[1:]),
        "trav_dims": dims.astype(np.int64),
        "trav_values": trav["values"],
        "trav_valid": trav["valid"],
        "trav_latents": trav["latents"],
        "trav_decoded": out[n_path + n_grid :].reshape(*trav["latents"].shape[:2], *out.shape[1:]),
        "trav_ref": np.int64(ref),
        "trav_ref_latent": z[ref],
        "trav_ref_input": np.asarray(x)[ref],
        "trav_std": z.std(axis=0)[dims],
    }
    described = {
        "version": VERSION,
        "seed": int(seed),
        "samples": int(s),
        "n_parts": int(n_parts),
        "latents_per_part": int(k),
        "latent_dims": int(n_parts * k),
        "latent_type": None
        if latent_type is None
        else {
            "width": latent_type.width,
            "frac": latent_type.frac,
            "signed": latent_type.signed,
            "lsb": latent_type.lsb,
        },
        "map": {"kind": basis["kind"], "explained": [float(v) for v in basis["explained"]]},
        "interpolation": {
            "pairs": pairs.tolist(),
            "steps": len(alpha),
            "rule": "seeded random non-empty test samples, no sample twice"
            + (", different labels" if labels is not None else ""),
        },
        "grid": {"size": g, "span_sigma": float(o["span_sigma"]), "values_at_rail": clipped},
        "traversal": {"dims": dims.tolist(), "chosen": chosen, "reference": ref, "steps": int(o["traversal_steps"])},
        "options": o,
    }
    if fill is not None:
        described["module_sum"] = {"fill": [float(v) for v in fill], "rule": "test median of each part's module sum"}
    return arrays, described


def _sum_fill(decoder, n_latent: int, n_parts: int, module_sums) -> np.ndarray | None:
    """The module sums appended to probed latents when the decoder takes them (None when it does not)."""
    width = int(decoder.input_shape[-1])
    if width == n_latent:
        return None
    if width != n_latent + n_parts or module_sums is None:
        from micae.errors import DataError

        raise DataError(
            f"the decoder takes {width} values, the latents are {n_latent}",
            "give the module sums of a decoder.module_sum run (test_data.npz aux_module_sum)",
        )
    return np.median(np.asarray(module_sums, dtype=np.float64).reshape(-1, n_parts), axis=0)


def find_decoder(micae):
    """The decoder inside a MICAE model: the layer named ``decoder``, else its last nested model."""
    names = [layer.name for layer in micae.layers]
    if "decoder" in names:
        return micae.get_layer("decoder")
    nested = [layer for layer in micae.layers if hasattr(layer, "layers")]
    if not nested:
        from micae.errors import DataError

        raise DataError(
            f"model {micae.name!r} has no decoder sub-model (layers: {', '.join(names)})",
            "probing needs the micae.h5 a training run writes (encoder and decoder as nested models)",
        )
    return nested[-1]


def encoder_latent_type(encoder):
    """The latent format of a trained encoder, read back through the exactness guard."""
    from micae.models.extract import extract_encoder

    return extract_encoder(encoder).encoder.latent_type


def write_probing(
    out: Path, decoder, latents, x, latent_type, *, labels=None, seed: int = 0, source: str = "", module_sums=None
) -> dict:
    """Compute the probing arrays and write ``out/probing.npz`` and ``out/probing.json``; returns the description."""
    start = time.perf_counter()
    arrays, described = probe(decoder, latents, x, latent_type, labels=labels, seed=seed, module_sums=module_sums)
    described["decoder"] = source or "the decoder of micae.h5 (trained with the quantized encoder)"
    described["seconds"] = round(time.perf_counter() - start, 2)
    np.savez_compressed(Path(out) / PROBING_NPZ, **arrays)
    (Path(out) / PROBING_JSON).write_text(json.dumps(described, indent=2) + "\n")
    return described


def probe_trained_run(out: Path, cfg, ds, trained: dict, evaluation: dict) -> dict | None:
    """The training run's probing (called by ``write_artifacts``): test samples as kept in test_data.npz.

    Probing is a picture, not a product: a failure is logged and the run folder is kept without it.
    """
    from micae.train.shared import N_KEEP

    try:
        labels = ds.aux.get("test", {}).get("label")
        sums = ds.aux.get("test", {}).get("module_sum")
        return write_probing(
            out,
            find_decoder(trained["micae"]),
            evaluation["latents"][:N_KEEP],
            ds.x_test[:N_KEEP],
            encoder_latent_type(trained["encoder"]),
            labels=None if labels is None else labels[:N_KEEP],
            seed=cfg.seed,
            module_sums=None if sums is None else sums[:N_KEEP],
        )
    except Exception as exc:  # noqa: BLE001 - the trained models must not be lost to a plot
        info(f"warning: latent probing skipped ({type(exc).__name__}: {exc}); micae report computes it later")
        return None


def compute_probing(run_dir: Path, *, force: bool = False) -> Path:
    """Write ``probing.npz``/``probing.json`` for an existing run folder (from its files); returns the npz path.

    Reads micae.h5 (decoder), encoder.h5 (latent format), test_evaluation.npz (latents), test_data.npz
    (inputs, labels) and config.yaml (seed). Does nothing when probing.npz exists, unless ``force``.
    """
    import yaml

    from micae.errors import DataError
    from micae.models.io import load_model

    run_dir = Path(run_dir)
    target = run_dir / PROBING_NPZ
    if target.exists() and not force:
        return target
    need = ("micae.h5", "encoder.h5", "test_evaluation.npz", "test_data.npz")
    missing = [f for f in need if not (run_dir / f).is_file()]
    if missing:
        raise DataError(
            f"{run_dir} lacks {', '.join(missing)}, which latent probing needs",
            "give the run folder micae train wrote (models/<name>), or re-train it",
        )
    with np.load(run_dir / "test_evaluation.npz") as ev, np.load(run_dir / "test_data.npz") as data:
        if "latents" not in ev.files:
            raise DataError(f"{run_dir / 'test_evaluation.npz'} has no latents", "re-train the run")
        latents, x = ev["latents"], data["x"]
        labels = data["aux_label"] if "aux_label" in data.files else None
        sums = data["aux_module_sum"] if "aux_module_sum" in data.files else None
    n = min(len(latents), len(x))
    cfg_file = run_dir / "config.yaml"
    seed = int((yaml.safe_load(cfg_file.read_text()) or {}).get("seed", 0)) if cfg_file.is_file() else 0
    write_probing(
        run_dir,
        find_decoder(load_model(run_dir / "micae.h5")),
        latents[:n] if latents.ndim == 3 else latents[:n, None, :],
        x[:n],
        encoder_latent_type(load_model(run_dir / "encoder.h5")),
        labels=None if labels is None else labels[:n],
        seed=seed,
        module_sums=None if sums is None else sums[:n],
    )
    return target
