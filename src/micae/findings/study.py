"""``micae findings``: the whole study, written atomically to ``<out>/<name>/``.

Order: findings 1-4 (three approaches per dataset, in this process), then the latent sweeps (Dask),
then the verdicts, figures, findings.json and findings.html. The study works in
``<name>.incomplete/``; ``--resume`` continues there (finished approaches and sweep points are reused),
and a finished ``<name>/`` is replaced only with ``--force``.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from micae.findings.config import StudyConfig
from micae.jsonable import jsonable
from micae.log import info


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def method_notes(study: StudyConfig, config_file: str) -> list[str]:
    ds_lines = [
        f"{d.label}: base {d.base.name}, {d.latent} latents per part for findings 1-4 and 6, sweep {d.sweep_latents}, "
        f"overrides {d.overrides}"
        for d in study.datasets
    ]
    return [
        f"Reproduce: micae findings --config {config_file} --force (or make findings); one seed ({study.seed}) for "
        "every run: differences between approaches smaller than the seed-to-seed spread are not resolved by one seed.",
        *ds_lines,
        f"Sweep points' synthesis options: {study.sweep_synth} (the RTL route is off to keep the study short; the "
        "integer model, the hls4ml C model and csim still compare integers).",
        "Files: findings.json (every number on this page), records/<dataset>_<approach>.json, runs/ (the training "
        "runs), sweeps/latent_<dataset>/ (results.csv, points/), plots/.",
    ]


def _write_page(result: dict, work: Path, config_text: str) -> None:
    from micae.findings import page, plots

    plot_dir = work / "plots"
    plot_dir.mkdir(exist_ok=True)
    checks5 = [c for f in result["findings"] if f["id"] == 5 for c in f["checks"]]
    figures = {
        "compare": plots.comparison_figure(result["comparisons"], plot_dir / "comparison.png"),
        "sweep": plots.sweep_figure(
            result["sweeps"], checks5, result["tolerances"]["saturation"], plot_dir / "latent_sweep.png"
        ),
        "curves": plots.curves_figure(result["comparisons"], plot_dir / "loss_curves.png"),
    }
    (work / "findings.json").write_text(json.dumps(jsonable(result), indent=1) + "\n")
    (work / "findings.html").write_text(page.render(result, work, figures, config_text), encoding="utf-8")


def run_findings(
    study: StudyConfig, out_root: str | Path, *, force: bool = False, resume: bool = False, workers: int | None = None
) -> tuple[Path, dict]:
    """Run the study; returns the final folder and the content of findings.json."""
    from micae.findings.analysis import findings
    from micae.findings.compare import compare_dataset, cpu_seconds
    from micae.findings.latent_sweep import run_latent_sweeps, sweep_spec
    from micae.outputs import check_target, staged_output

    final = Path(out_root) / study.name
    check_target(final, force=force, resume=resume)
    for ds in study.datasets:  # every sweep point's config is built and checked before anything trains
        sweep_spec(study, ds)
    wall0, cpu0, child0 = time.perf_counter(), cpu_seconds(), _children_cpu()
    config_text = study.source.read_text() if study.source else yaml.safe_dump(study.raw, sort_keys=False)
    config_file = str(study.source) if study.source else "(in memory)"
    workers = workers or study.workers
    stages: dict = {}
    with staged_output(final, force=force, resume=resume) as work:
        (work / "study.yaml").write_text(config_text)
        comparisons = {}
        for ds in study.datasets:
            t0 = time.perf_counter()
            comparisons[ds.label] = compare_dataset(ds, study.seed, work)
            stages[f"compare_{ds.label}_wall_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        sweeps = run_latent_sweeps(study, work, workers=workers, resume=resume)
        stages["latent_sweeps_wall_s"] = round(time.perf_counter() - t0, 1)
        info("computing the verdicts and writing findings.html")
        result = {
            "name": study.name,
            "created": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.node(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "seed": study.seed,
            "workers": workers,
            "config_file": config_file,
            "tolerances": study.tolerances,
            "sweep_synth": study.sweep_synth,
            "comparisons": comparisons,
            "sweeps": sweeps,
            "findings": findings(comparisons, sweeps, study.tolerances),
            "method": method_notes(study, config_file),
            "timing": {
                "wall_s": round(time.perf_counter() - wall0, 1),
                "cpu_self_s": round(cpu_seconds() - cpu0, 1),
                "cpu_children_s": round(_children_cpu() - child0, 1),
                **stages,
            },
        }
        _write_page(result, work, config_text)
    for f in result["findings"]:
        info(f"finding {f['id']}: {f['status']} ({f['summary']}): {f['claim']}")
    info(f"{result['timing']['wall_s']:.0f} s wall; page: {final / 'findings.html'}")
    return final, result


def rejudge(study: StudyConfig, out_root: str | Path) -> tuple[Path, dict]:
    """Recompute the verdicts of a finished study with ``study``'s tolerances and rewrite its page (no training)."""
    from micae.errors import ConfigError
    from micae.findings.analysis import findings

    final = Path(out_root) / study.name
    path = final / "findings.json"
    if not path.is_file():
        raise ConfigError(f"{path} does not exist", "run the study first (micae findings without --page-only)")
    result = json.loads(path.read_text())
    config_text = study.source.read_text() if study.source else yaml.safe_dump(study.raw, sort_keys=False)
    result["tolerances"] = study.tolerances
    result["findings"] = findings(result["comparisons"], result["sweeps"], study.tolerances)
    result["method"] = method_notes(study, result["config_file"])
    result["rejudged"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    _write_page(result, final, config_text)
    info(f"verdicts recomputed with the tolerances of {result['config_file']}: {final / 'findings.html'}")
    return final, result
