"""Datasets for micae: one entry point, :func:`load_dataset`.

Sources: ``hgcal-synth`` (default, generated), ``econt-csv`` (public ECON-T
CSV), ``digits`` (scikit-learn 8x8 digits), ``npz`` (user arrays).
HGCAL data (synth, csv, npz with ``x`` of shape (N, 48)) are normalised per
wafer, then arranged into ``layout`` ("4x4x3" or "8x8"); with ``n_parts > 1``
consecutive wafers form one MICAE sample ``(n_parts, H, W, C)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from micae import __version__
from micae.data.dataset import SPLITS, Dataset, split_indices, validate_array
from micae.data.geometry import arrange, arrangement_names, arrangement_shape, tc_coordinates, unarrange
from micae.data.normalise import normalise
from micae.errors import ConfigError, DataError

DATASETS = ("hgcal-synth", "econt-csv", "digits", "npz")
DEFAULT_SYNTH_SAMPLES = 50_000
"""Generated samples when ``n_samples`` is not given (the one default: run configs leave it unset)."""

__all__ = [
    "DATASETS",
    "Dataset",
    "arrange",
    "load_dataset",
    "normalise",
    "split_indices",
    "tc_coordinates",
    "unarrange",
    "validate_array",
]


def _check_common(n_samples: int | None, n_parts: int) -> None:
    if n_samples is not None and (int(n_samples) != n_samples or n_samples < 1):
        raise ConfigError(f"n_samples must be a positive integer, got {n_samples!r}", "pass e.g. n_samples=10000")
    if int(n_parts) != n_parts or n_parts < 1:
        raise ConfigError(f"n_parts must be a positive integer, got {n_parts!r}", "pass n_parts=1 for a single encoder")


def _need_path(name: str, path: str | None) -> Path:
    if path is None:
        raise ConfigError(f"dataset {name!r} needs a file", f"pass path=... (the {name} file to read)")
    return Path(path)


def _finish(
    name: str,
    x: np.ndarray,
    aux: dict[str, np.ndarray],
    *,
    input_shape: tuple,
    n_parts: int,
    layout: str,
    seed: int,
    split: tuple,
    meta: dict,
) -> Dataset:
    """Split ``x`` (samples, n_parts, ...) and its aux into train/val/test and build the Dataset."""
    idx = split_indices(len(x), split, seed)
    meta = {
        **meta,
        "dataset": name,
        "micae_version": __version__,
        "seed": int(seed),
        "split_fractions": [float(f) for f in split],
        "sizes": {s: int(len(i)) for s, i in zip(SPLITS, idx)},
        "layout": layout,
        "n_parts": int(n_parts),
        "input_shape": list(input_shape),
    }
    return Dataset(
        name=name,
        x_train=x[idx[0]],
        x_val=x[idx[1]],
        x_test=x[idx[2]],
        input_shape=tuple(input_shape),
        n_parts=int(n_parts),
        layout=layout,
        aux={s: {k: v[i] for k, v in aux.items()} for s, i in zip(SPLITS, idx)},
        meta=meta,
    )


def _from_tc(
    name: str,
    charges: np.ndarray,
    aux: dict[str, np.ndarray],
    *,
    layout: str,
    normalisation: str,
    n_parts: int,
    input_shape,
    seed: int,
    split: tuple,
    meta: dict,
    dropped_before: int = 0,
) -> Dataset:
    """Normalise (N, 48) charges, arrange into ``layout`` and group ``n_parts`` wafers per sample.

    All-zero wafers are dropped; ``dropped_before`` counts those a loader already dropped, so the
    provenance's ``wafers_dropped_zero_sum`` is the total.
    """
    if layout not in arrangement_names():
        raise ConfigError(
            f"layout {layout!r} does not apply to HGCAL trigger-cell data",
            f"use one of: {', '.join(arrangement_names())}",
        )
    shape = arrangement_shape(layout)
    if input_shape is not None and tuple(input_shape) != shape:
        raise ConfigError(
            f"input_shape {tuple(input_shape)} does not match layout {layout!r} {shape}",
            "leave input_shape unset for HGCAL data or pick the matching layout",
        )
    keep = charges.sum(axis=1) > 0
    charges = charges[keep]
    aux = {k: v[keep] for k, v in aux.items()}
    values, scale = normalise(charges, normalisation)
    aux["norm_scale"] = scale
    aux.update(_module_sums(charges, scale))
    if _integer(charges):  # the raw CALQ, for the chip's algorithms (normalisation may have truncated bits)
        aux["calq"] = charges.astype(np.int32)
    n_samples = len(values) // n_parts
    if n_samples == 0:
        raise DataError(
            f"{name}: {len(values)} non-empty wafers are fewer than n_parts={n_parts}",
            "use more data or fewer parts",
        )
    m = n_samples * n_parts
    x = arrange(values[:m], layout).reshape(n_samples, n_parts, *shape)
    aux = {k: (v[:m].reshape(n_samples, n_parts, *v.shape[1:]) if n_parts > 1 else v[:m]) for k, v in aux.items()}
    norm_desc = {
        "sumlog2": "each wafer divided by 2**floor(log2(sum of its 48 charges)); values in [0, 2)",
        "chip": "the ECON-T chip's converter: floor(CALQ * 2**(7 - msb(sum))) / 128, truncated; values in [0, 2)",
        "cmssw": "CMSSW: each wafer divided by 2**int(log2(sum)) (1 below 2), rounded to 1/256; values in [0, 2)",
        "maxcharge": "each wafer divided by its largest charge; values in [0, 1]",
        "none": "raw charges",
    }[normalisation]
    meta = {
        **meta,
        "normalisation": {"method": normalisation, "description": norm_desc, "scale_in_aux": "norm_scale"},
        "n_wafers": int(m),
        "wafers_dropped_zero_sum": int((~keep).sum()) + int(dropped_before),
    }
    return _finish(name, x, aux, input_shape=shape, n_parts=n_parts, layout=layout, seed=seed, split=split, meta=meta)


def _module_sums(charges: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    """The chip's 9-bit 5E4M module sum of integer charges (``module_sum_code``) and what a receiver decodes
    from it, divided by the wafer's normalisation scale (``module_sum``; the lower bin edge, so for the
    ``chip`` normalisation ``floor(16 * SUM / 2**msb) / 16`` in [1, 2) once the sum is 16 or more).
    Nothing for non-integer charges: the chip's sum code is not defined there."""
    from micae.data.normalise import integer_charges
    from micae.econt.codes import SUM_5E4M
    from micae.econt.normaliser import module_sum_code

    if not integer_charges(charges):
        return {}
    code = module_sum_code(charges)
    return {"module_sum_code": code, "module_sum": (SUM_5E4M.decode(code) / scale).astype(np.float32)}


def _integer(charges: np.ndarray) -> bool:
    """Non-negative integer charges that fit the chip's 22-bit CALQ (int32 keeps them exactly)."""
    c = np.asarray(charges)
    if not c.size:
        return False
    ints = c.dtype.kind in "iu" or bool(np.all(c == np.floor(c)))
    return ints and c.min() >= 0 and c.max() < 2**22


def _load_hgcal_synth(name: str, o: dict) -> Dataset:
    from micae.data import hgcal_synth

    n = DEFAULT_SYNTH_SAMPLES if o["n_samples"] is None else int(o["n_samples"])
    charges, aux, info = hgcal_synth.generate_with_info(n * o["n_parts"], seed=o["seed"], preset=o["preset"])
    dropped = int(info.get("empty_wafers_dropped", 0))
    return _from_tc(name, charges, aux, meta={"generator": info}, dropped_before=dropped, **_tc_options(o))


RESERVED_AUX = ("norm_scale", "calq", "module_sum", "module_sum_code")
"""aux keys micae writes itself; a metadata column may not take these names."""


def _load_econt_csv(name: str, o: dict) -> Dataset:
    from micae.data.econt_csv import read_econt_csv

    path = _need_path(name, o["path"])
    table = _file_rows(read_econt_csv(path, keep_zero_rows=True), o)
    clash = sorted(set(table.columns) & set(RESERVED_AUX))
    if clash:
        raise DataError(
            f"{path}: metadata column {clash[0]!r} has a name micae uses for its own per-wafer data",
            f"rename that column in the header (reserved: {', '.join(RESERVED_AUX)})",
        )
    meta = {"source": table.info, "metadata_columns": sorted(table.columns)}
    dropped = table.info["rows_dropped_zero_sum"]
    return _from_tc(name, table.charges, dict(table.columns), meta=meta, dropped_before=dropped, **_tc_options(o))


def _file_rows(table, o: dict):
    """The table cut to ``o["rows"]`` (consecutive rows in file order, :mod:`micae.data.rows`), its all-zero
    wafers dropped and counted, then its first ``n_samples * n_parts`` rows; ``info["rows"]`` records the cut."""
    import dataclasses

    from micae.data.rows import select_rows

    span = select_rows(o.get("rows"), len(table.charges))
    charges = table.charges[span.start : span.stop]
    keep = charges.sum(axis=1) > 0
    stop = None if o["n_samples"] is None else int(o["n_samples"]) * o["n_parts"]
    charges = charges[keep][:stop]
    columns = {k: v[span.start : span.stop][keep][:stop] for k, v in table.columns.items()}
    rows = {"spec": span.spec, "start": span.start, "stop": span.stop, "total": span.total}
    info = {**table.info, "rows": rows, "rows_dropped_zero_sum": int((~keep).sum()), "rows_kept": len(charges)}
    return dataclasses.replace(table, charges=charges, columns=columns, info=info)


def _load_digits(name: str, o: dict) -> Dataset:
    from micae.data.digits import load_digits_tiled

    tiles, n_parts, input_shape = o["tiles"], o["n_parts"], o["input_shape"]
    x, labels = load_digits_tiled(tiles)
    if n_parts not in (1, tiles):
        raise ConfigError(
            f"digits: n_parts={n_parts} does not match tiles={tiles}",
            "for digits the number of parts is set by tiles; leave n_parts at 1",
        )
    if input_shape is not None and tuple(input_shape) != x.shape[2:]:
        raise ConfigError(
            f"digits: input_shape {tuple(input_shape)} does not match the {tiles}-tile shape {x.shape[2:]}",
            "leave input_shape unset for digits",
        )
    if o["n_samples"] is not None:
        x, labels = x[: o["n_samples"]], labels[: o["n_samples"]]
    meta = {
        "source": {"name": "sklearn.datasets.load_digits", "tiles": tiles, "tile_order": "row-major"},
        "normalisation": {"method": "divide-by-16", "description": "pixel values 0..16 scaled to [0, 1]"},
    }
    return _finish(
        name, x, {"label": labels}, input_shape=x.shape[2:], n_parts=tiles, layout="image", meta=meta, **_split(o)
    )


def _load_npz(name: str, o: dict) -> Dataset:
    from micae.data import npz

    p = _need_path(name, o["path"])
    x, y, info = npz.read_npz(p)
    aux = {} if y is None else {"y": y}
    n_samples, n_parts, layout, input_shape = o["n_samples"], o["n_parts"], o["layout"], o["input_shape"]
    if layout in arrangement_names() and npz.is_tc_charges(x):
        charges = npz.check_tc_charges(x, str(p))
        if n_samples is not None:
            m = n_samples * n_parts
            charges, aux = charges[:m], {k: v[:m] for k, v in aux.items()}
        return _from_tc(name, charges, aux, meta={"source": info}, **_tc_options(o))
    if input_shape is None:
        if layout in arrangement_names():
            input_shape = arrangement_shape(layout)
        else:
            input_shape = x.shape[1:] if n_parts == 1 else x.shape[2:]
    xm = npz.as_model_input(x, tuple(input_shape), n_parts, str(p))
    if n_samples is not None:
        xm, aux = xm[:n_samples], {k: v[:n_samples] for k, v in aux.items()}
    meta = {"source": info, "normalisation": {"method": "none", "description": "x used as stored"}}
    return _finish(
        name, xm, aux, input_shape=tuple(input_shape), n_parts=n_parts, layout=layout, meta=meta, **_split(o)
    )


_LOADERS = {"hgcal-synth": _load_hgcal_synth, "econt-csv": _load_econt_csv, "digits": _load_digits, "npz": _load_npz}


def _split(o: dict) -> dict:
    return {"seed": o["seed"], "split": o["split"]}


def _tc_options(o: dict) -> dict:
    keys = ("layout", "normalisation", "n_parts", "input_shape")
    return {**{k: o[k] for k in keys}, **_split(o)}


def load_dataset(
    name: str,
    *,
    seed: int = 0,
    n_samples: int | None = None,
    path: str | None = None,
    layout: str = "4x4x3",
    normalisation: str = "sumlog2",
    tiles: int = 4,
    input_shape=None,
    n_parts: int = 1,
    split: tuple = (0.8, 0.1, 0.1),
    preset: str = "legacy",
    rows: str | None = None,
) -> Dataset:
    """Load or generate a dataset by name and split it (deterministically by ``seed``).

    * ``hgcal-synth``: ``n_samples`` MICAE samples (default :data:`DEFAULT_SYNTH_SAMPLES`) of generated wafers,
      from the generator ``preset`` (:mod:`micae.data.hgcal_presets`: ``legacy``, ``pileup``, ``nopileup``;
      the physical presets give non-empty wafers of integer CALQ). Other datasets ignore ``preset``.
    * ``econt-csv``: ``path`` to an ECON-T CSV; ``rows`` (``START:STOP``, :mod:`micae.data.rows`) keeps
      consecutive rows in file order, so the rest of the file stays unseen; ``n_samples`` keeps the first
      non-empty ones of those (default: all).
    * ``digits``: 1797 images in [0, 1], cut into ``tiles`` row-major tiles (``n_parts = tiles``);
      ``layout`` is "image"; ``normalisation`` is not used.
    * ``npz``: ``path`` to an .npz with ``x`` (and ``y``, kept as ``aux[split]["y"]``). An ``x`` of
      shape (N, 48) with an HGCAL ``layout`` is treated as TC charges; otherwise ``x`` must be
      (N, n_parts, *input_shape) and is used as is (``input_shape`` defaults to the layout's shape,
      or to x's own shape for other layouts).
    """
    _check_common(n_samples, n_parts)
    if name not in _LOADERS:
        raise ConfigError(f"unknown dataset {name!r}", f"use one of: {', '.join(DATASETS)}")
    options = {
        "seed": seed,
        "n_samples": n_samples,
        "path": path,
        "layout": layout,
        "normalisation": normalisation,
        "tiles": tiles,
        "input_shape": input_shape,
        "n_parts": int(n_parts),
        "split": tuple(split),
        "preset": preset,
        "rows": rows,
    }
    if rows not in (None, "", ":") and name != "econt-csv":
        raise ConfigError(
            f"dataset.rows {rows!r} selects rows of an econt-csv file; {name} has no file rows to select",
            "drop --rows, or use --dataset econt-csv",
        )
    if name == "hgcal-synth":
        from micae.data.hgcal_presets import check_preset

        check_preset(preset)
    return _LOADERS[name](name, options)
