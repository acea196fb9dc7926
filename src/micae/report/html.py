"""report.html: one self-contained page (inline CSS, PNGs as data URIs, no scripts, nothing fetched).

The firmware sections come from ``report.json``'s dict; the model-quality
sections (training curves, reconstructions, metric distributions, latent
space) from the training run folder, and are left out with a note when there
is none (an encoder given as a model file). Every plot is also written to
``<fw_dir>/plots/`` and the page links to it by relative path.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path

import numpy as np

from micae.errors import DataError
from micae.report.figures import (
    latent_flags,
    model_label,
    plot_latent_histograms,
    plot_latent_projection,
    plot_metric_histograms,
    plot_reconstructions,
    plot_training,
    read_history,
)

MODELS = ("quantized", "float", "pca_tied", "pca_joint")
HGCAL_LAYOUTS = ("4x4x3", "8x8")
PLOTS = (
    "training.png",
    "metric_histograms.png",
    "reconstructions.png",
    "latent_histograms.png",
    "latent_projection.png",
)


# ------------------------------------------------------------------ run data


def load_run(run_dir: Path) -> dict:
    """What the report uses from a training run folder; files that are missing are simply absent."""
    run_dir = Path(run_dir)
    run: dict = {"dir": run_dir}
    if (run_dir / "metrics.json").exists():
        try:
            run["metrics"] = json.loads((run_dir / "metrics.json").read_text())
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{run_dir / 'metrics.json'} is not valid JSON ({exc})",
                "re-run the training (scripts/train_qat.py --force) to rewrite the run folder",
            ) from exc
    if (run_dir / "history.csv").exists():
        run["history"] = read_history(run_dir / "history.csv")
    for key, name in (("data", "test_data.npz"), ("eval", "test_evaluation.npz")):
        if (run_dir / name).exists():
            with np.load(run_dir / name, allow_pickle=False) as z:
                run[key] = {k: z[k] for k in z.files}
    return run


def _layout(run: dict | None) -> str:
    return str(((run or {}).get("metrics") or {}).get("layout") or "image")


def _rails(report: dict) -> tuple[tuple[float, float] | None, float | None]:
    """(min, max) and LSB of the latent format from report.json's model section."""
    lt = (report.get("model") or {}).get("latent_type")
    if not lt:
        return None, None
    from micae.fixed.types import FixedType

    t = FixedType(width=int(lt["width"]), frac=int(lt["frac"]), signed=bool(lt["signed"]))
    return (t.min_value, t.max_value), t.lsb


def _colourings(run: dict, n: int) -> list[dict]:
    """How to colour the latent projection: digit label; HGCAL energy and impact position; else the input sum."""
    data = run.get("data", {})
    aux = {k[len("aux_") :]: v[:n] for k, v in data.items() if k.startswith("aux_")}
    out = []
    if "label" in aux:
        out.append({"name": "label", "kind": "category", "values": aux["label"]})
    if "energy" in aux:
        out.append(
            {
                "name": "shower energy",
                "kind": "log",
                "values": aux["energy"],
                "unit": "shower energy (GeV)",
                "zero_label": "no shower",
            }
        )
    if "impact_x" in aux and "impact_y" in aux:
        out.append(
            {
                "name": "impact position",
                "kind": "position",
                "values": np.stack([aux["impact_x"], aux["impact_y"]], axis=-1),
            }
        )
    if not out and "y" in aux:
        y = aux["y"]
        few = y.dtype.kind in "iub" and len(np.unique(y)) <= 20
        out.append({"name": "y", "kind": "category" if few else "value", "values": y})
    if not out and "x" in data:
        x = data["x"][:n]
        out.append(
            {
                "name": "input sum",
                "kind": "value",
                "values": x.reshape(len(x), -1).sum(axis=1),
                "unit": "sum of the inputs",
            }
        )
    return out


# ------------------------------------------------------------------- figures


def make_figures(plot_dir: Path, run: dict | None, report: dict) -> dict:
    """Draw every plot the run supports into ``plot_dir``; returns ``{key: {"file", ...facts}}``."""
    for stale in PLOTS:  # a rebuild must not leave plots of an earlier report behind
        (plot_dir / stale).unlink(missing_ok=True)
    if not run:
        return {}
    plot_dir.mkdir(parents=True, exist_ok=True)
    figs: dict = {}
    if run.get("history"):
        figs["training"] = {"file": "training.png", "trends": plot_training(run["history"], plot_dir / "training.png")}
    per_sample = _per_sample_metrics(run)
    figs.update(_metric_figures(plot_dir, run, per_sample))
    if "latents" in run.get("eval", {}):
        figs.update(_latent_figures(plot_dir, run, report))
    return figs


def _per_sample_metrics(run: dict) -> dict:
    """``{metric: {model: values}}`` plus ``per_wafer``: EMD is computed per wafer, so with several
    wafers per sample it holds n_parts values per sample (MSE stays per sample)."""
    ev, data = run.get("eval", {}), run.get("data", {})
    out = {metric: {m: ev[f"{m}__{metric}"] for m in MODELS if f"{m}__{metric}" in ev} for metric in ("emd", "mse")}
    out = {k: v for k, v in out.items() if v}
    n_parts = int(data["x"].shape[1]) if "x" in data else 1
    n_mse = len(next(iter(out.get("mse", {}).values()), []))
    per_wafer = n_parts > 1 and "emd" in out and all(len(v) == n_parts * n_mse for v in out["emd"].values())
    return {"values": out, "per_wafer": per_wafer, "n_parts": n_parts}


def _same(a: dict, b: str, c: str) -> bool:
    return b in a and c in a and np.array_equal(a[b], a[c])


def _metric_figures(plot_dir: Path, run: dict, per_sample: dict) -> dict:
    """Histograms of the per-sample metrics and inputs next to reconstructions."""
    figs: dict = {}
    values, per_wafer, n_parts = per_sample["values"], per_sample["per_wafer"], per_sample["n_parts"]
    notes = []
    if any(_same(v, "pca_joint", "pca_tied") for v in values.values()):
        values = {k: {m: a for m, a in v.items() if m != "pca_joint"} for k, v in values.items()}
        notes.append("PCA (joint) is identical to PCA (tied) for a single-input model and is not drawn.")
    if per_wafer:
        notes.append(f"EMD is computed per wafer ({n_parts} per sample), MSE per sample.")
    if values:
        dropped = plot_metric_histograms(
            values, plot_dir / "metric_histograms.png", units={"emd": "wafer"} if per_wafer else None
        )
        figs["metric_histograms"] = {"file": "metric_histograms.png", "dropped": dropped, "note": " ".join(notes)}

    ev, data = run.get("eval", {}), run.get("data", {})
    recons = {m: ev[f"recon__{m}"] for m in MODELS if f"recon__{m}" in ev}
    if _same(recons, "pca_joint", "pca_tied"):
        recons.pop("pca_joint")
    if recons and "x" in data:
        metric = "emd" if "emd" in values else "mse"
        scores = {
            m: (v.reshape(-1, n_parts) if metric == "emd" and per_wafer else v)
            for m, v in values.get(metric, {}).items()
        }
        shown = plot_reconstructions(
            data["x"],
            recons,
            _layout(run),
            plot_dir / "reconstructions.png",
            scores=scores,
            score_name=metric.upper(),
            labels=data.get("aux_label"),
        )
        figs["reconstructions"] = {
            "file": "reconstructions.png",
            "samples": shown,
            "score": metric,
            "unit": "wafer" if metric == "emd" and per_wafer else "sample",
        }
    return figs


def _latent_figures(plot_dir: Path, run: dict, report: dict) -> dict:
    """Per-dimension histograms with dead/saturated flags, and the 2-D projection."""
    lat = run["eval"]["latents"]
    if lat.ndim == 2:
        lat = lat[:, None, :]
    rails, lsb = _rails(report)
    flags = latent_flags(lat, rails)
    if rails is None:  # no latent format known here: trust the training run's own verdicts
        saturated = (run.get("metrics") or {}).get("saturated_latents", [])
        for f in flags:
            f["saturated"] = f["dim"] in saturated
    plot_latent_histograms(lat, flags, plot_dir / "latent_histograms.png", rails=rails, lsb=lsb)
    figs = {"latent_histograms": {"file": "latent_histograms.png", "flags": flags, "rails": rails, "lsb": lsb}}
    colourings = _colourings(run, len(lat))
    if colourings and lat.shape[1] * lat.shape[2] >= 2 and len(lat) >= 3:
        info = plot_latent_projection(lat, colourings, plot_dir / "latent_projection.png")
        figs["latent_projection"] = {
            "file": "latent_projection.png",
            **info,
            "colourings": [c["name"] for c in colourings],
            "n_parts": int(lat.shape[1]),
        }
    return figs


# ---------------------------------------------------------------- HTML bits


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def num(v, digits: int = 4) -> str:
    """A number for a table cell: integers with thousands separators, floats with ``digits`` significant digits."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}"
    return str(v)


class Raw(str):
    """Markup that is already escaped (table cells that hold HTML)."""


def table(
    head: list[str], rows: list[list], *, numeric: set[int] | None = None, classes: list[str] | None = None
) -> str:
    """An HTML table; cells are escaped unless given as ``Raw``; ``numeric`` columns are right-aligned."""
    numeric = numeric or set()
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr></thead>", "<tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{esc(classes[i])}"' if classes and classes[i] else ""
        cells = "".join(
            f"<td{' class=num' if j in numeric else ''}>{c if isinstance(c, Raw) else esc(c)}</td>"
            for j, c in enumerate(row)
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def figure_html(plot_dir: Path, fig: dict, alt: str, caption: str) -> str:
    """The plot embedded as a data URI, with a caption (plain text) and a link to its PNG file."""
    png = (plot_dir / fig["file"]).read_bytes()
    data = base64.b64encode(png).decode("ascii")
    rel = f"plots/{fig['file']}"
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}" data-file="{esc(rel)}">'
        f'<figcaption>{esc(caption)} <a class=file href="{esc(rel)}">{esc(rel)}</a></figcaption></figure>'
    )


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>\n{body}\n</section>'


def note(text: str, kind: str = "note") -> str:
    return f'<p class="{esc(kind)}">{esc(text)}</p>'


# ----------------------------------------------------------------- sections


def _verified(report: dict) -> tuple[bool, list[str], list[str]]:
    ran = [k for k, v in report.get("verification", {}).items() if "vectors" in v]
    bad = [k for k in ran if report["verification"][k].get("mismatches")]
    return not bad, ran, bad


def summary_cards(report: dict, run: dict | None) -> str:
    ok, ran, bad = _verified(report)
    cards = []
    if bad:
        cards.append(("verification", "FAIL", f"mismatches at {', '.join(bad)}", "fail"))
    elif ran:
        cards.append(("verification", "PASS", f"every latent value bit-identical at {len(ran)} level(s)", "pass"))
    else:
        cards.append(("verification", "NOT RUN", "no verification level ran", "fail"))
    budget = (report.get("model") or {}).get("bit_budget")
    if budget:
        cards.append(
            (
                "compression",
                f"{budget['compression_factor']:.2f}x",
                f"{budget['input_bits']} input bits -> {budget['latent_bits']} latent bits per encoder",
                "",
            )
        )
    res, lat = report.get("resources") or {}, report.get("latency") or {}
    if res:
        cards.append(
            (
                "resources",
                f"{num(res.get('LUT'))} LUT",
                f"{num(res.get('FF'))} FF, {num(res.get('DSP'))} DSP ({res.get('estimator', '?')})",
                "",
            )
        )
    else:
        cards.append(("resources", "-", "no route produced resource figures", "muted"))
    if lat.get("cycles_max") is not None:
        cards.append(
            (
                "latency",
                f"{lat['cycles_max']} cycles",
                f"{num(lat.get('ns'))} ns at {num(lat.get('clock_ns'))} ns clock",
                "",
            )
        )
    q = ((run or {}).get("metrics") or {}).get("quantized")
    if q:
        key = "emd_mean" if "emd_mean" in q else "mse"
        base = ((run or {}).get("metrics") or {}).get("baselines", {})
        vs = ", ".join(f"{model_label(m)} {num(b.get(key))}" for m, b in base.items() if m in ("float", "pca_tied"))
        cards.append(
            (
                "quantized model, " + ("mean EMD" if key == "emd_mean" else "test MSE"),
                num(q[key]),
                f"vs {vs}" if vs else "",
                "",
            )
        )
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {esc(cls)}"><div class="k">{esc(k)}</div><div class="v">{esc(v)}</div><div class="d">{esc(d)}</div></div>'
            for k, v, d, cls in cards
        )
        + "</div>"
    )


def bit_budget_section(report: dict, run: dict | None) -> str:
    m = report.get("model") or {}
    budget = m.get("bit_budget")
    parts = []
    if not budget:
        return note(
            "The encoder could not be read exactly, so no bit budget is known: " + "; ".join(m.get("problems", [])),
            "warn",
        )
    rows = [
        ["inputs per encoder", budget["input_values"], budget["input_bits_each"], budget["input_bits"]],
        ["latents per encoder", budget["latent_values"], budget["latent_bits_each"], budget["latent_bits"]],
    ]
    parts.append(table(["", "values", "bits each", "bits"], rows, numeric={1, 2, 3}))
    factor = f"{budget['compression_factor']:.3f}"
    parts.append(f"<p>Compression factor <b>{esc(factor)}</b> (input bits / latent bits).</p>")
    n_parts = (((run or {}).get("metrics") or {}).get("bit_budget") or {}).get("n_parts")
    if n_parts and n_parts > 1:
        total = budget["latent_bits"] * n_parts
        parts.append(
            note(
                f"MICAE: {n_parts} inputs share this encoder, so {n_parts} x {budget['latent_bits']} = "
                f"{total} latent bits leave the detector per sample."
            )
        )
    for key, label in (("input_type", "input format"), ("latent_type", "latent format")):
        t = m.get(key)
        if t:
            kind = "signed" if t["signed"] else "unsigned"
            hls = ("ap_fixed" if t["signed"] else "ap_ufixed") + f"<{t['width']},{t['integer']}>"
            parts.append(
                f"<p>{esc(label)}: {esc(kind)} {esc(t['width'])} bits, {esc(t['frac'])} fractional "
                f"(HLS <code>{esc(hls)}</code>).</p>"
            )
    stages = m.get("stages") or []
    if stages:
        rows = [
            [
                s["layer"],
                s["kind"],
                s.get("quantizer", ""),
                s["accumulator"]["width"],
                s["out_type"]["width"],
                s["out_type"]["frac"],
                s.get("unrolled_nonzero_weights", "-"),
            ]
            for s in stages
        ]
        parts.append(
            table(
                [
                    "layer",
                    "kind",
                    "quantizer",
                    "accumulator bits",
                    "output bits",
                    "output frac bits",
                    "non-zero weights (unrolled)",
                ],
                rows,
                numeric={3, 4, 5, 6},
            )
        )
    if m.get("problems"):
        parts.append(note("not exact (--allow-inexact): " + "; ".join(m["problems"]), "warn"))
    return "\n".join(parts)


def _first_mismatch(row: list) -> str:
    """``[vector, expected codes, got codes, source]`` -> which latents differ, and by how much."""
    index, expected, got = row[0], list(row[1]), list(row[2])
    source = f" ({row[3]})" if len(row) > 3 else ""
    diff = [(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g]
    shown = ", ".join(f"z{i}: expected {e}, got {g}" for i, e, g in diff[:3])
    more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
    return f"vector {index}{source}: {shown}{more}" if diff else f"vector {index}{source}"


def verification_section(report: dict) -> str:
    parts = []
    vec = report.get("vectors") or {}
    if vec.get("sources"):
        src = ", ".join(f"{k} {v}" for k, v in vec["sources"].items())
        parts.append(f"<p>{esc(num(vec.get('total')))} vectors: {esc(src)}.</p>")
    rows, classes = [], []
    for level, v in (report.get("verification") or {}).items():
        if "vectors" in v:
            first = v.get("first_mismatches") or []
            where = _first_mismatch(first[0]) if first else "-"
            by_source = ", ".join(f"{k} {n}" for k, n in (v.get("mismatches_by_source") or {}).items() if n)
            extra = "; ".join(x for x in (v.get("run", ""), v.get("error", ""), by_source) if x)
            rows.append([level, num(v["vectors"]), num(v["mismatches"]), num(v.get("max_abs_lsb_error")), where, extra])
            classes.append("bad" if v["mismatches"] else "good")
        else:
            reason = v.get("reason") or v.get("run") or ""
            rows.append([level, "-", "-", "-", "-", f"{v.get('status', 'skipped')}: {reason}".strip(": ")])
            classes.append("skip")
    if rows:
        parts.append(
            table(
                ["level", "vectors", "mismatches", "max LSB error", "first mismatch (source)", "note"],
                rows,
                numeric={1, 2, 3},
                classes=classes,
            )
        )
    cov = vec.get("coverage") or []
    if cov:
        crow = [
            [
                c.get("stage", ""),
                c["quantizer"],
                num(c["tie_values"]),
                num(c["vectors_with_ties"]),
                num(c["saturated_high"]),
                num(c["saturated_low"]),
            ]
            for c in cov
        ]
        parts.append("<h3>What the vectors exercised</h3>")
        parts.append(
            table(
                ["stage", "quantizer", "rounding ties", "vectors with ties", "saturated high", "saturated low"],
                crow,
                numeric={2, 3, 4, 5},
            )
        )
    return "\n".join(parts) or note("No verification was recorded.")


def routes_section(report: dict) -> str:
    routes = report.get("routes") or []
    parts = []
    if routes:
        rows, classes = [], []
        for r in routes:
            res, lat = r.get("resources") or {}, r.get("latency") or {}

            def cell(key: str) -> str:
                v, avail = res.get(key), res.get(f"available_{key}")
                if v is None:
                    return "-"
                return f"{num(v)} ({100 * v / avail:.2g}%)" if avail else num(v)

            kind = r.get("kind", "")
            stand_in = r.get("stand_in") or kind.startswith("stand-in")
            rows.append(
                [
                    r.get("route", ""),
                    "stand-in (not a vendor run)" if stand_in else kind,
                    res.get("estimator", "-"),
                    cell("LUT"),
                    cell("FF"),
                    cell("CARRY"),
                    cell("DSP"),
                    cell("BRAM"),
                    num(lat.get("cycles_min")),
                    num(lat.get("cycles_max")),
                    num(lat.get("interval")),
                    num(lat.get("clock_ns")),
                    num(lat.get("ns")),
                ]
            )
            classes.append("skip" if stand_in else "")
        parts.append(
            table(
                [
                    "route",
                    "kind",
                    "estimator",
                    "LUT",
                    "FF",
                    "CARRY",
                    "DSP",
                    "BRAM",
                    "cycles min",
                    "cycles max",
                    "interval",
                    "clock ns",
                    "latency ns",
                ],
                rows,
                numeric=set(range(3, 13)),
                classes=classes,
            )
        )
        parts.append(
            note(
                "Percentages are of the part's available resources, where the tool reported them. "
                "Stand-in rows come from a placeholder executable used for testing the flow: they are not "
                "vendor results."
                if any(c == "skip" for c in classes)
                else "Percentages are of the part's available resources, where the tool reported them."
            )
        )
    else:
        parts.append(note("No route produced resource or latency figures."))
    vendor = report.get("vendor") or {}
    levels = report.get("verification") or {}
    why = []
    if vendor.get("status") and vendor.get("status") != "ran":
        why.append(f"vendor HLS: {vendor.get('status')} ({vendor.get('reason', '')})")
    if "rtl" in levels and "vectors" not in levels["rtl"]:
        why.append(f"open-source RTL: {levels['rtl'].get('reason', levels['rtl'].get('status', ''))}")
    if why:
        parts.append("<ul>" + "".join(f"<li>{esc(w)}</li>" for w in why) + "</ul>")
    rtl = report.get("rtl")
    if rtl:
        parts.append(
            f"<p>RTL top <code>{esc(rtl.get('top', ''))}</code>, {esc(rtl.get('latency_cycles'))} cycles "
            f"at {esc(rtl.get('clock_ns'))} ns.</p>"
        )
    return "\n".join(parts)


def metrics_section(run: dict, figs: dict, plot_dir: Path) -> str:
    m = run.get("metrics") or {}
    parts = []
    models = {"quantized": m.get("quantized"), **(m.get("baselines") or {})}
    models = {k: v for k, v in models.items() if v}
    if models:
        cols = [
            c
            for c in ("mse", "mse_median", "emd_mean", "emd_median", "emd_q16", "emd_q84", "emd_undefined")
            if any(c in v for v in models.values())
        ]
        names = {
            "mse": "MSE mean",
            "mse_median": "MSE median",
            "emd_mean": "EMD mean",
            "emd_median": "EMD median",
            "emd_q16": "EMD 16%",
            "emd_q84": "EMD 84%",
            "emd_undefined": "EMD undefined",
        }
        rows = [[model_label(k)] + [num(v.get(c)) for c in cols] for k, v in models.items()]
        parts.append(table(["model"] + [names[c] for c in cols], rows, numeric=set(range(1, len(cols) + 1))))
        n = m.get("test_samples")
        parts.append(
            note(
                f"On {n} test samples. The float twin has the same architecture without quantization; PCA (tied) "
                "projects every input onto as many components as one encoder has latents, PCA (joint) the whole "
                "MICAE sample onto all latents together."
                + (
                    ""
                    if "emd_mean" in m.get("quantized", {})
                    else " EMD applies to HGCAL wafers only, so it is not shown."
                )
            )
        )
    fig = figs.get("metric_histograms")
    if fig:
        dropped = {k: sum(v.values()) for k, v in fig["dropped"].items() if sum(v.values())}
        extra = "".join(f" {n} non-finite {k.upper()} values (empty wafers) are left out." for k, n in dropped.items())
        parts.append(
            figure_html(
                plot_dir,
                fig,
                "per-sample metric histograms",
                "Per-sample reconstruction error on the test split." + extra + " " + fig["note"],
            )
        )
    return "\n".join(parts) or note("The run folder has no metrics.")


def reconstructions_section(run: dict, figs: dict, plot_dir: Path, layout: str) -> str:
    fig = figs.get("reconstructions")
    if not fig:
        return note("The run folder has no stored reconstructions (test_evaluation.npz / test_data.npz).")
    if layout in HGCAL_LAYOUTS:
        how = (
            "Each panel is one wafer's 48 trigger cells drawn at their positions on the hexagonal wafer; "
            "the colour scale (normalised charge) is shared along a row."
        )
    else:
        how = (
            "Each panel is the whole image: the MICAE tiles (red lines) are put back in place; "
            "the grey scale is shared along a row."
        )
    return figure_html(
        plot_dir,
        fig,
        "inputs and reconstructions",
        f"Test samples from the largest to the smallest total input, next to every model's reconstruction. {how} "
        f"The number under each model is that {fig['unit']}'s {fig['score'].upper()}.",
    )


def training_section(run: dict, figs: dict, plot_dir: Path) -> str:
    parts = []
    fig = figs.get("training")
    if fig:
        parts.append(
            "<ul>" + "".join(f"<li><b>{esc(p)}</b>: {esc(t['text'])}</li>" for p, t in fig["trends"].items()) + "</ul>"
        )
        parts.append(
            figure_html(
                plot_dir,
                fig,
                "training curves",
                "Top: training and validation loss per epoch (log scale). Bottom: validation loss divided by training "
                "loss; a ratio that keeps rising above 1 means the model fits the training set better than unseen data.",
            )
        )
    else:
        parts.append(note("The run folder has no history.csv, so there are no training curves."))
    training = (run.get("metrics") or {}).get("training") or {}
    if training:
        rows = [
            [p, num(t.get("epochs_run")), num(t.get("final_loss")), num(t.get("final_val_loss")), num(t.get("seconds"))]
            for p, t in training.items()
        ]
        parts.append(
            table(
                ["phase", "epochs", "final train loss", "final validation loss", "seconds"], rows, numeric={1, 2, 3, 4}
            )
        )
    return "\n".join(parts)


def _percent(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def latent_section(run: dict, figs: dict, plot_dir: Path) -> str:
    fig = figs.get("latent_histograms")
    if not fig:
        return note("The run folder has no latents (test_evaluation.npz).")
    flags = fig["flags"]
    dead = [f"z{f['dim']}" for f in flags if f["dead"]]
    sat = [f"z{f['dim']}" for f in flags if f["saturated"] and not f["dead"]]
    parts = []
    if dead or sat:
        msg = []
        if dead:
            msg.append(f"dead (constant on the test split): {', '.join(dead)}")
        if sat:
            msg.append(f"saturated (at a rail for more than half the values): {', '.join(sat)}")
        parts.append(
            note(
                f"{len(dead) + len(sat)} of {len(flags)} latent dimensions are unused or clipped: "
                + "; ".join(msg)
                + ". Their bits are wasted; consider fewer latents or another latent range.",
                "warn",
            )
        )
    else:
        parts.append(
            note(f"All {len(flags)} latent dimensions vary and none sits at a rail for more than half the values.")
        )
    rails = fig.get("rails")
    rail_text = (
        f"Each x axis spans the values that dimension takes; its title gives the share of the latent "
        f"format's range ({num(rails[0])} to {num(rails[1])}) it spans: a small share means most of its codes "
        "go unused. Red dotted lines mark a rail when it is in view."
        if rails
        else ""
    )
    parts.append(
        figure_html(
            plot_dir,
            fig,
            "latent histograms",
            "One histogram per latent dimension, pooled over the encoder's inputs. " + rail_text,
        )
    )
    rows, classes = [], []
    for f in flags:
        status = "dead" if f["dead"] else "saturated" if f["saturated"] else "ok"
        rows.append(
            [
                f"z{f['dim']}",
                num(f["mean"]),
                num(f["std"]),
                num(f["min"]),
                num(f["max"]),
                num(f["distinct"]),
                _percent(f["at_low_rail"]),
                _percent(f["at_high_rail"]),
                status,
            ]
        )
        classes.append("bad" if status != "ok" else "")
    parts.append(
        "<details><summary>Per-dimension statistics</summary>"
        + table(
            ["dim", "mean", "std", "min", "max", "distinct codes", "at low rail", "at high rail", "status"],
            rows,
            numeric=set(range(1, 8)),
            classes=classes,
        )
        + "</details>"
    )
    proj = figs.get("latent_projection")
    if proj:
        what = (
            "each wafer's latent vector is one point (the colours belong to single wafers)"
            if proj["points"] == "per part"
            else "the latents of all inputs of a sample are concatenated into one point"
            if proj["n_parts"] > 1
            else "one point per test sample"
        )
        left = "; ".join(
            f"{n} points without {'an impact position (no shower)' if k == 'impact position' else k} are left out of "
            f"the {k} panel"
            for k, n in proj["left_out"].items()
            if n
        )
        parts.append(
            figure_html(
                plot_dir,
                proj,
                "2-D PCA projection of the latent space",
                f"First two principal components of the latent space ({what}; {proj['n_points']} points), coloured by "
                f"{' and by '.join(proj['colourings'])}. " + (left + "." if left else ""),
            )
        )
    return "\n".join(parts)


def timing_section(report: dict, run: dict | None) -> str:
    parts = []
    timing = report.get("timing_s") or {}
    if timing:
        total = timing.get("total") or sum(v for k, v in timing.items() if k != "total") or 1.0
        rows = []
        for k, v in timing.items():
            width = 0 if k == "total" else max(0.0, min(100.0, 100 * v / total))
            bar = Raw(f'<span class="bar" style="width:{width:.1f}%"></span>') if k != "total" else ""
            rows.append([k, f"{v:.2f}", bar])
        parts.append("<h3>Synthesis and verification</h3>")
        parts.append(table(["step", "seconds", "share of total"], rows, numeric={1}))
    training = ((run or {}).get("metrics") or {}).get("training") or {}
    if training:
        rows = [[p, f"{t.get('seconds', 0):.2f}"] for p, t in training.items()]
        total = (run.get("metrics") or {}).get("seconds_total")
        if total is not None:
            rows.append(["whole training run (data, training, evaluation, artifacts)", f"{total:.2f}"])
        parts.append("<h3>Training</h3>")
        parts.append(table(["phase", "seconds"], rows, numeric={1}))
    return "\n".join(parts) or note("No timings were recorded.")


def files_section(report: dict, run: dict | None, plot_dir: Path) -> str:
    items = [("report.json", "report.json"), ("report.md", "report.md")]
    items += (
        [(f"plots/{p.name}", f"plots/{p.name}") for p in sorted(plot_dir.glob("*.png"))] if plot_dir.exists() else []
    )
    links = "".join(f'<li><a href="{esc(h)}">{esc(t)}</a></li>' for h, t in items)
    paths = report.get("paths") or {}
    rows = [["model file", (report.get("model") or {}).get("file", "-")]]
    rows += [[k.replace("_", " "), v] for k, v in paths.items()]
    if run:
        rows.append(["training run", str(run["dir"])])
    rows.append(["micae version", report.get("micae_version", "-")])
    return f"<ul>{links}</ul>" + table(["what", "where"], rows)


# --------------------------------------------------------------------- page

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d2329;margin:0;background:#f4f5f7}
main{max-width:1180px;margin:0 auto;padding:18px 28px 60px;background:#fff}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;border-bottom:2px solid #e3e6ea;padding-bottom:4px;margin-top:34px}
h3{font-size:15px;margin:18px 0 6px}.sub{color:#66707a;margin:0 0 12px}
nav{font-size:13px;margin:8px 0 4px}nav a{margin-right:14px;color:#2a5db0;text-decoration:none}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13px}
th,td{border:1px solid #dde1e5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f4;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.good td:nth-child(3){background:#e5f5e8;color:#1b6e2f;font-weight:600}tr.bad td{background:#fdecea}
tr.skip td{color:#6b7278;background:#fafafa}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid #dde1e5;border-radius:6px;padding:8px 12px;min-width:150px;flex:1}
.card .k{font-size:11px;text-transform:uppercase;color:#66707a;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:600}.card .d{font-size:12px;color:#555d66}
.card.pass{border-color:#7cc48d;background:#eef9f0}.card.pass .v{color:#1b6e2f}
.card.fail{border-color:#e08a80;background:#fdecea}.card.fail .v{color:#a1271b}.card.muted .v{color:#888}
figure{margin:10px 0 18px}figure img{max-width:100%;height:auto;border:1px solid #e3e6ea}
figcaption{font-size:12.5px;color:#4a525a;margin-top:4px;max-width:1000px}
a.file{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11.5px;color:#66707a;margin-left:4px}
p.note{color:#3d454d}p.warn{background:#fff6e0;border-left:4px solid #e0a400;padding:6px 10px}
.bar{display:inline-block;height:9px;background:#7a9cc6;border-radius:2px;vertical-align:middle}
td:has(.bar){min-width:160px}code{font-size:12.5px;background:#f3f4f6;padding:0 3px;border-radius:3px}
details{margin:6px 0 14px}summary{cursor:pointer;color:#2a5db0}
"""


def render(report: dict, run: dict | None, figs: dict, plot_dir: Path) -> str:
    """The whole page as a string (``figs`` from :func:`make_figures`)."""
    m = report.get("model") or {}
    name = m.get("name", "?")
    layout = _layout(run)
    sections = [
        ("budget", "Bit budget", bit_budget_section(report, run)),
        ("verification", "Verification", verification_section(report)),
        ("resources", "Resources and latency", routes_section(report)),
    ]
    if run:
        sections += [
            ("quality", "Reconstruction quality", metrics_section(run, figs, plot_dir)),
            ("reconstructions", "Inputs and reconstructions", reconstructions_section(run, figs, plot_dir, layout)),
            ("training", "Training curves and overfitting check", training_section(run, figs, plot_dir)),
            ("latents", "Latent space", latent_section(run, figs, plot_dir)),
        ]
    else:
        sections.append(
            (
                "quality",
                "Model quality",
                note(
                    "No training run folder was given (the encoder came from a model file), so training curves, "
                    "reconstructions, metric distributions and latent-space plots are not part of this report. To add them, "
                    "rebuild it with: scripts/report.py --run models/<name> --firmware firmware/<name>"
                ),
            )
        )
    sections += [
        ("timing", "Seconds per step", timing_section(report, run)),
        ("files", "Files", files_section(report, run, plot_dir)),
    ]
    nav = "".join(f'<a href="#{esc(a)}">{esc(t)}</a>' for a, t, _ in sections)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    dataset = ((run or {}).get("metrics") or {}).get("dataset")
    sub = f"input shape {m.get('input_shape')}, {m.get('latent_size', '?')} latents, {num(m.get('parameters'))} parameters"
    if dataset:
        n_parts = int(((run or {}).get("metrics") or {}).get("n_parts", 1))
        sub += f"; trained on {dataset} ({layout}, {n_parts} input{'s' if n_parts > 1 else ''} per sample)"
    sub += f"; micae {report.get('micae_version', '?')}; generated {stamp}"
    body = "\n".join(section(a, t, b) for a, t, b in sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>micae report: {esc(name)}</title>
<style>{CSS}</style></head>
<body><main>
<h1>micae firmware report: {esc(name)}</h1>
<p class="sub">{esc(sub)}</p>
{summary_cards(report, run)}
<nav>{nav}</nav>
{body}
</main></body></html>
"""


def write_html_report(fw_dir: Path, run_dir: Path | None, report: dict) -> Path:
    """Write ``fw_dir/report.html`` and its plots (``fw_dir/plots/*.png``); returns the HTML path.

    ``run_dir`` is the training run folder (``models/<name>/``) or None for an encoder
    given as a file, in which case only the firmware sections are written.
    """
    fw_dir = Path(fw_dir)
    plot_dir = fw_dir / "plots"
    run = load_run(run_dir) if run_dir is not None else None
    figs = make_figures(plot_dir, run, report)
    out = fw_dir / "report.html"
    out.write_text(render(report, run, figs, plot_dir), encoding="utf-8")
    return out
