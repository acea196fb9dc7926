"""Finding 5: the latent-size sweep, one micae sweep per dataset on a local Dask cluster.

Each point is a normal sweep point (``micae.sweep``): its training then its synthesis in
subprocesses on a Dask worker, resumable by fingerprint. The study's points are joint MICAE runs of
the dataset's config at every latent size; synthesis (``sweep_synth``, RTL off by default) checks
each encoder bit-exactly and gives its nonzero-weight count. The equivalent sweep file is written
beside the results (``sweeps/latent_<dataset>.yaml``) so ``micae sweep`` can rerun one on a cluster.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from micae.findings.config import DatasetStudy, StudyConfig
from micae.log import info

FINISHED = ("ok", "mismatch")


def sweep_file(study: StudyConfig, ds: DatasetStudy) -> dict:
    """The sweep YAML (as a mapping) of one dataset's latent sweep."""
    return {
        "name": f"latent_{ds.label}",
        "base": str(ds.base),
        "set": {**ds.overrides, "train.mode": "joint", "seed": study.seed},
        "grid": {"encoder.latent": list(ds.sweep_latents)},
        "labels": {"encoder.latent": "latent"},
        "synth": dict(study.sweep_synth),
    }


def sweep_spec(study: StudyConfig, ds: DatasetStudy):
    from micae.sweep.grid import build_spec

    raw = sweep_file(study, ds)
    return build_spec(
        name=raw["name"],
        base=Path(raw["base"]),
        fixed=raw["set"],
        grid=raw["grid"],
        labels=raw["labels"],
        synth=raw["synth"],
    )


LATENT = "encoder.latent"


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def sweep_points(rows: list[dict]) -> list[dict]:
    """The sweep's rows (results.csv cells, read as typed :class:`~micae.sweep.results.SweepRow`) as the findings
    page's points: latent, status, test_mse, emd_mean, compression, weights_nz, ...."""
    from micae.sweep.results import SweepRow

    out = []
    for cells in rows:
        r = SweepRow.from_cells(cells, [LATENT])
        out.append(
            {
                "latent": int(r.grid[LATENT]),
                "point": r.point,
                "status": r.status,
                "test_mse": r.test_mse,
                "emd_mean": r.emd_mean,
                "compression": r.compression,
                "weights_nz": _number(r.weights_nz),
                "mismatches": _number(r.mismatches),
                "seconds": r.seconds,
                "error": r.error,
            }
        )
    return sorted(out, key=lambda p: p["latent"])


def usable(points: list[dict]) -> list[dict]:
    """Points with a trained model and a test MSE (a synthesis mismatch does not change the training)."""
    return [p for p in points if p["status"] in FINISHED and p["test_mse"] is not None]


def run_latent_sweeps(study: StudyConfig, work: Path, *, workers: int, resume: bool) -> dict[str, dict]:
    """Every dataset's latent sweep under ``work/sweeps/``; returns {dataset: {points, root, seconds}}."""
    from micae.sweep.runner import run_sweep

    out_dir = work / "sweeps"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict] = {}
    for ds in study.datasets:
        raw = sweep_file(study, ds)
        (out_dir / f"{raw['name']}.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        spec = sweep_spec(study, ds)
        info(f"[{ds.label}] latent sweep {ds.sweep_latents} on {workers} local Dask worker(s)")
        outcome = run_sweep(
            spec, out_dir, jobs=workers, resume=resume, say=lambda m, lab=ds.label: info(f"[{lab}] {m}")
        )
        results[ds.label] = {
            "points": sweep_points(outcome.rows),
            "root": str(outcome.root.relative_to(work.resolve())),
            "seconds_wall": outcome.seconds,
        }
    return results
