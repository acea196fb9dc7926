"""The sweep command's search branch (a sweep file with ``search:``): run or list an Optuna study."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from micae.errors import ConfigError

if TYPE_CHECKING:
    from micae.config.commands import SweepCommand


def format_study_table(rows: list[dict], spec) -> str:
    """Search values, status, objectives, front mark; one line per point."""
    labels = [spec.sweep.labels.get(k, k) for k in spec.keys]
    heads = [*labels, "point", "trials", "status", *spec.objectives, "front"]
    table = []
    for r in rows:
        cells = [str(r.get(k, "")) for k in spec.keys] + [r["point"], str(r.get("trials", "")), r["status"]]
        for col in spec.columns:
            v = r.get(col)
            cells.append(f"{v:.4g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "-")
        cells.append("*" if r.get("front") == 1 else "")
        table.append(cells)
    widths = [max(len(h), *(len(t[i]) for t in table)) if table else len(h) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths)), "-" * (sum(widths) + 2 * len(widths))]
    for r, t in zip(rows, table):
        lines.append("  ".join(c.rjust(w) for c, w in zip(t, widths)))
        if r.get("error") and r["status"] != "ok":
            lines.append(f"    {r['point']}: {r['status']}: {r['error']}")
    lines.append("front (*): feasible and non-dominated in all objectives (NSGA-II study, all minimised)")
    return "\n".join(lines)


def main_study(a: SweepCommand, out: Path, where: dict) -> int:
    from micae.sweep.layout import sweep_dir
    from micae.sweep.search import load_study
    from micae.sweep.study import JOURNAL, open_study, run_study
    from micae.sweep.study_report import study_rows

    spec = load_study(a.config)
    root = sweep_dir(out, spec.name).resolve()
    if a.force:
        raise ConfigError(
            "--force does not apply to a search (a study continues where it stopped)",
            f"delete {root / JOURNAL} (and {root / 'points'} to retrain) to start the study over",
        )
    if a.dry_run:
        if not (root / JOURNAL).exists():
            print(f"no study yet in {root}; {spec.trials} trial(s) over {spec.keys}, objectives {spec.objectives}")
            return 0
        rows, _ = study_rows(open_study(spec, root), spec, root)
        print(format_study_table(rows, spec))
        return 0
    outcome = run_study(spec, out, jobs=a.jobs, resume=a.resume, say=lambda m: print(m, flush=True), **where)
    print(format_study_table(outcome.rows, spec))
    counts = ", ".join(f"{n} {s}" for s, n in outcome.counts.items())
    print(
        f"{len(outcome.rows)} points ({counts}) in {outcome.seconds:.0f} s; front: {', '.join(outcome.front) or '-'}; "
        f"results: {outcome.root / 'results.csv'}, summary: {outcome.root / 'summary.md'}, "
        f"plots: {outcome.root / 'study.png'}, {outcome.root / 'pareto.png'}"
    )
    return 0
