"""A study's outputs: results.csv (one row per point), its Pareto front across all objectives,
a parallel-coordinates plot and summary.md with the front's report links."""

from __future__ import annotations

import math
from pathlib import Path

from micae.sweep.layout import point_paths
from micae.sweep.pareto import mark_fronts, plot_pareto
from micae.sweep.results import columns, point_row, write_csv
from micae.sweep.search import StudySpec, study_point


def study_rows(study, spec: StudySpec, root: Path) -> tuple[list[dict], list[str]]:
    """One row per distinct point in trial order (``trials`` lists its trial numbers), and the front's points."""
    from optuna.trial import TrialState

    rows: dict[str, dict] = {}
    for t in study.get_trials(deepcopy=False):
        if not set(spec.keys) <= set(t.params):  # interrupted while being asked: no point
            continue
        point = study_point(spec, t.params)
        if point.name not in rows:
            rows[point.name] = {**point_row(point, point_paths(root, point.name)), "trials": []}
            if t.state == TrialState.RUNNING and rows[point.name]["status"] == "pending":
                rows[point.name]["status"] = "running"
        rows[point.name]["trials"].append(t.number)
        if t.state == TrialState.FAIL and rows[point.name]["status"] in ("ok", "mismatch"):
            rows[point.name]["error"] = t.user_attrs.get("error", "")
    front = [t.user_attrs.get("point") for t in study.best_trials]
    front = list(dict.fromkeys(p for p in front if p))
    for row in rows.values():
        row["trials"] = " ".join(str(n) for n in row["trials"])
        row["front"] = int(row["point"] in front) if row["status"] in ("ok", "mismatch") else ""
    return list(rows.values()), front


def write_study_results(study, spec: StudySpec, root: Path, *, plots: bool = True) -> tuple[list[dict], list[str]]:
    """results.csv, pareto_front.csv (the study's front), and with ``plots`` pareto.png, study.png, summary.md."""
    rows, front = study_rows(study, spec, root)
    mark_fronts(rows)
    base = columns(spec.keys)
    cols = [*spec.keys, "trials", *base[len(spec.keys) : -3], "pareto", "front", "error", "schema_version"]
    write_csv(root / "results.csv", rows, cols)
    write_csv(root / "pareto_front.csv", [r for r in rows if r.get("front") == 1], cols)
    if plots and rows:
        plot_pareto(rows, root / "pareto.png", title=f"study {spec.name}")
        plot_parallel(rows, spec, root / "study.png")
        (root / "summary.md").write_text(summary_markdown(rows, spec, study))
    return rows, front


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def plot_parallel(rows: list[dict], spec: StudySpec, path: Path) -> None:
    """Parallel coordinates: searched values then objectives, each axis scaled to its range; front in red."""
    from micae.report.draw import figure, save

    axes_keys = [*spec.keys, *spec.columns]
    names = [spec.sweep.labels.get(k, k) for k in spec.keys] + list(spec.objectives)
    done = [r for r in rows if r.get("status") in ("ok", "mismatch")]
    lines = [(r, [_num(r.get(k)) for k in axes_keys]) for r in done]
    lines = [(r, v) for r, v in lines if all(x is not None for x in v)]
    fig, ax = figure(figsize=(max(6, 1.6 * len(axes_keys)), 4.2))
    if not lines:
        ax.text(0.5, 0.5, "no finished trials with every objective", ha="center", va="center", color="0.4")
    else:
        cols = list(zip(*[v for _, v in lines]))
        lo, hi = [min(c) for c in cols], [max(c) for c in cols]
        for r, v in sorted(lines, key=lambda rv: rv[0].get("front") == 1):
            y = [(x - a) / (b - a) if b > a else 0.5 for x, a, b in zip(v, lo, hi)]
            on = r.get("front") == 1
            ax.plot(range(len(y)), y, "-o", color="C3" if on else "0.7", lw=2 if on else 1, ms=3, zorder=3 if on else 2)
            if on:
                ax.annotate(r["point"], (len(y) - 1, y[-1]), textcoords="offset points", xytext=(4, 0), fontsize=7)
        for i, (a, b) in enumerate(zip(lo, hi)):
            ax.text(i, -0.08, f"{a:.4g}", ha="center", va="top", fontsize=7)
            ax.text(i, 1.04, f"{b:.4g}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, fontsize=8)
    ax.set_yticks([])
    ax.set_ylim(-0.15, 1.12)
    for i in range(len(names)):
        ax.axvline(i, color="0.85", lw=0.8, zorder=1)
    ax.set_title(f"study {spec.name}: Pareto front (red) across {', '.join(spec.objectives)}, all minimised")
    save(fig, path)


def summary_markdown(rows: list[dict], spec: StudySpec, study) -> str:
    """The front's points with their objectives and report links (paths relative to the sweep folder)."""
    from optuna.trial import TrialState

    states: dict[str, int] = {}
    for t in study.get_trials(deepcopy=False):
        key = "infeasible (prefilter)" if "skip" in t.user_attrs else t.state.name.lower()
        states[key] = states.get(key, 0) + 1
    labels = [spec.sweep.labels.get(k, k) for k in spec.keys]
    head = ["point", *labels, *spec.objectives, "route", "report"]
    lines = [
        f"# Study {spec.name}",
        "",
        f"NSGA-II (seed {spec.seed}, population {spec.population}) over {', '.join(spec.keys)}; "
        f"objectives {', '.join(f'{n} ({c})' for n, c in zip(spec.objectives, spec.columns))}, all minimised.",
        f"Trials: {', '.join(f'{n} {s}' for s, n in sorted(states.items()))}. "
        f"Running trials left: {sum(1 for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING)}.",
        "",
        "## Pareto front (feasible, non-dominated)",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        if r.get("front") != 1:
            continue
        link = f"points/{r['point']}/firmware/{r['point']}/report.html"
        cells = [r["point"], *[str(r.get(k, "")) for k in spec.keys]]
        cells += [_fmt(r.get(c)) for c in spec.columns]
        route = f"{r.get('route', '')}" + (f" ({r['ns_source']})" if r.get("ns_source") else "")
        cells += [route or "-", f"[report.html]({link})"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "All points: results.csv; plots: study.png (all objectives), pareto.png (quality vs cost/latency).",
        "",
    ]
    return "\n".join(lines)


def _fmt(v) -> str:
    f = _num(v)
    return "-" if f is None else (str(int(f)) if f.is_integer() else f"{f:.4g}")
