"""The wafers ``micae evaluate`` scores: integer CALQ rows from a file or the generator, with their provenance.

* ``econt-csv`` / ``npz``: the file's rows in file order; ``--rows START:STOP`` (:mod:`micae.data.rows`)
  keeps consecutive rows, so a run trained on a file's first 80 % is judged on the rest.
* ``hgcal-synth``: without ``--n``/``--seed``, the run's own test split (regenerated exactly as it trained,
  wafers it never trained on); with them, freshly generated wafers.

The rows keep their all-zero wafers: the chip sees every bunch crossing (the Threshold-Sum buffer drains
on an empty one); only the non-empty wafers are scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from micae.data.rows import RowRange, select_rows
from micae.errors import ConfigError, DataError

KINDS = ("econt-csv", "npz", "hgcal-synth")
DEFAULT_SYNTH_WAFERS = 10_000


@dataclass(frozen=True)
class DataRequest:
    """What the command line asked for."""

    kind: str | None = None
    path: Path | None = None
    rows: str | None = None
    preset: str | None = None
    n: int | None = None
    seed: int | None = None


@dataclass
class EvalData:
    """``calq_rows`` (M, 48) int64: the selected rows, empty ones included; ``info``: DataInfo fields."""

    calq_rows: np.ndarray
    info: dict
    stem: str  # names the default output folder

    @property
    def n_nonempty(self) -> int:
        return int((self.calq_rows.sum(axis=1) > 0).sum())


def resolve_kind(req: DataRequest) -> str:
    if req.kind is not None:
        if req.kind not in KINDS:
            raise ConfigError(f"--dataset {req.kind!r} is not one micae evaluate reads", f"use one of {KINDS}")
        return req.kind
    if req.path is None:
        return "hgcal-synth"
    suffix = req.path.suffix.lower()
    if suffix == ".npz":
        return "npz"
    if suffix in (".csv", ".txt"):
        return "econt-csv"
    raise ConfigError(f"cannot tell the format of {req.path} from its name", "pass --dataset econt-csv or npz")


def integer_calq(x: np.ndarray, where: str) -> np.ndarray:
    """``x`` as int64 CALQ, or a DataError naming the first cell that is not a non-negative integer."""
    x = np.asarray(x)
    bad = ~np.isfinite(x) | (x < 0) | (x != np.floor(x)) if x.dtype.kind == "f" else x < 0
    if bad.any():
        r, c = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{where}: row {r}, CALQ_{c} = {x[r, c]!r} is not a non-negative integer; the chip's algorithms "
            "read integer trigger charges (CALQ counts)",
            "pass the raw CALQ_0..47 integers, not normalised charges",
        )
    return x.astype(np.int64)


def load_data(req: DataRequest, run=None) -> EvalData:
    """The rows to score (``run``: the :class:`~micae.evaluate.autoencoder.RunModels`, for provenance)."""
    kind = resolve_kind(req)
    if kind == "hgcal-synth":
        if req.path is not None:
            raise ConfigError("hgcal-synth is generated, it reads no file", "drop --data, or pass --dataset econt-csv")
        return _synth(req, run)
    if req.path is None:
        raise ConfigError(f"--dataset {kind} needs a file", "pass --data FILE")
    if req.preset is not None or req.n is not None or req.seed is not None:
        raise ConfigError("--preset, --n and --seed set the generator", "drop them, or use --dataset hgcal-synth")
    if kind == "econt-csv":
        from micae.data.econt_csv import load_econt_csv

        charges, src = load_econt_csv(req.path, keep_zero_rows=True)
    else:
        charges, src = _npz(req.path)
    calq = integer_calq(charges, str(req.path))
    span = select_rows(req.rows, len(calq))
    seen, why = _file_seen(run, src["sha256"], span)
    info = {
        "kind": kind,
        "generated": False,
        "description": f"real data file {Path(src['path']).name}, {_rows_text(span)} (sha256 {src['sha256'][:12]})",
        "path": src["path"],
        "sha256": src["sha256"],
        "rows": _rows(span),
        "split": None,
        "generator": None,
        "seen_in_training": seen,
        "seen_in_training_why": why,
        "order": "file order: consecutive rows are consecutive bunch crossings of one module",
    }
    stem = req.path.stem if span.whole else f"{req.path.stem}_rows{span.start}-{span.stop}"
    return EvalData(calq[span.start : span.stop], info, stem)


def _npz(path: Path) -> tuple[np.ndarray, dict]:
    from micae.data import npz

    x, _, src = npz.read_npz(path)
    if not npz.is_tc_charges(x):
        raise DataError(f"{path}: 'x' has shape {x.shape}, not (N, 48) trigger-cell charges", "save x as (N, 48) CALQ")
    return x, src


def _rows(span: RowRange) -> dict:
    return {"spec": span.spec, "start": span.start, "stop": span.stop, "total": span.total}


def _rows_text(span: RowRange) -> str:
    if span.whole:
        return f"all {span.total} rows"
    return f"rows {span.start}-{span.stop - 1} of {span.total} (--rows {span.spec})"


def _file_seen(run, sha256: str, span: RowRange) -> tuple[str, str]:
    """Did the run train on these rows? Compared by the file's sha256 (and rows, when the run chose rows)."""
    if run is None:
        return "unknown", "no run given"
    d = run.cfg.dataset
    path = d.get("path")
    if d.get("name") == "hgcal-synth" or not path:
        return "no", f"the run trained on {d.get('name')} data"
    from micae.data.dataset import file_sha256

    if not Path(path).is_file():
        return "unknown", f"the run trained on {path}, which is not here to compare"
    if file_sha256(path) != sha256:
        return "no", f"the run trained on {path}, a different file (sha256 differs)"
    trained_rows = d.get("rows")
    if trained_rows:
        t = select_rows(str(trained_rows), span.total)
        if t.stop <= span.start or span.stop <= t.start:
            return "no", f"the run trained on rows {t.start}-{t.stop - 1} of this file; these rows are disjoint"
    return "partly", (
        f"the run trained on this file ({path}, same sha256) with a random train/val/test split: "
        "some of these rows were training rows; pass --rows to keep to rows it did not see"
    )


def _synth(req: DataRequest, run) -> EvalData:
    own = run is not None and run.cfg.dataset.get("name") == "hgcal-synth"
    if own and req.n is None and req.seed is None and req.preset in (None, _preset(run)):
        return _run_test_split(run, req)
    n = DEFAULT_SYNTH_WAFERS if req.n is None else int(req.n)
    if n < 1:
        raise ConfigError(f"--n {req.n}: generate at least one wafer", "pass e.g. --n 10000")
    run_seed = int(run.cfg.seed) if run is not None else 0
    seed = run_seed + 1 if req.seed is None else int(req.seed)
    preset = req.preset or (_preset(run) if own else None)
    charges = _generate(n, seed, preset)
    span = select_rows(req.rows, len(charges))
    same = own and seed == run_seed and (preset or "legacy") == (_preset(run) or "legacy")
    if run is None:
        seen = ("unknown", "no run given")
    elif same:
        seen = ("partly", "the run trained on wafers of this generator with the same seed and preset")
    elif own:
        seen = ("no", "a generator seed or preset other than the run's own")
    else:
        seen = ("no", "the run did not train on hgcal-synth")
    name = f"hgcal-synth preset {preset or 'legacy'}"
    info = {
        "kind": "hgcal-synth",
        "generated": True,
        "description": f"generated: {name}, {n} wafers with seed {seed}, {_rows_text(span)}",
        "path": None,
        "sha256": None,
        "rows": _rows(span),
        "split": None,
        "generator": {"preset": preset or "legacy", "seed": seed, "wafers": n},
        "seen_in_training": seen[0],
        "seen_in_training_why": seen[1],
        "order": "generated wafers are independent; the Threshold-Sum buffer sees them as consecutive crossings",
    }
    stem = f"hgcal-synth_{preset or 'legacy'}_n{n}_seed{seed}"
    if not span.whole:
        stem += f"_rows{span.start}-{span.stop}"
    return EvalData(integer_calq(charges[span.start : span.stop], name), info, stem)


def _preset(run) -> str | None:
    return run.cfg.dataset.get("preset") if run is not None else None


def _generate(n: int, seed: int, preset: str | None) -> np.ndarray:
    from micae.data import hgcal_synth

    if preset in (None, "legacy"):
        return hgcal_synth.generate(n, seed=seed)[0]
    try:
        return hgcal_synth.generate(n, seed=seed, preset=preset)[0]
    except TypeError:
        raise ConfigError(f"--preset {preset}: this micae's hgcal-synth has no presets", "drop --preset") from None


def _run_test_split(run, req: DataRequest) -> EvalData:
    """The run's own test wafers: its dataset regenerated with its seed and split (as ``micae train`` did)."""
    from micae.train.run import load_run_dataset

    ds = load_run_dataset(run.cfg)
    calq = ds.aux.get("test", {}).get("calq")
    if calq is None:
        raise DataError(f"run {run.path}: its dataset keeps no integer CALQ", "pass --n N to generate fresh wafers")
    calq = np.asarray(calq).reshape(-1, 48)
    span = select_rows(req.rows, len(calq))
    d = run.cfg.dataset
    preset = d.get("preset") or "legacy"
    total = sum(ds.sizes.values())
    info = {
        "kind": "hgcal-synth",
        "generated": True,
        "description": (
            f"generated: hgcal-synth preset {preset}, the run's test split ({len(calq)} of {total} samples, "
            f"seed {run.cfg.seed}), {_rows_text(span)}"
        ),
        "path": None,
        "sha256": None,
        "rows": _rows(span),
        "split": "test",
        "generator": {"preset": preset, "seed": int(run.cfg.seed), "wafers": int(total * ds.n_parts)},
        "seen_in_training": "no",
        "seen_in_training_why": "the run's test split: it neither trained nor early-stopped on these wafers",
        "order": "the test split is a random draw: the Threshold-Sum buffer sees its wafers as consecutive crossings",
    }
    stem = "hgcal-synth_test" if span.whole else f"hgcal-synth_test_rows{span.start}-{span.stop}"
    return EvalData(integer_calq(calq[span.start : span.stop], "the run's test split"), info, stem)
