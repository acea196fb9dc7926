"""report.json, report.md and report.html for a synthesized encoder."""

from __future__ import annotations

import json
from pathlib import Path

from micae.jsonable import jsonable


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def verification_table(verification: dict) -> list[str]:
    lines = ["| level | vectors | mismatches | max LSB error | note |", "|---|---:|---:|---:|---|"]
    for level, v in verification.items():
        if "vectors" in v:
            note = v.get("run", "")
            if v.get("mismatches"):
                first = v["first_mismatches"][0]
                note += f" first mismatch: vector {first[0]} ({first[-1]})"
            lines.append(
                f"| {level} | {v['vectors']} | {v['mismatches']} | {_fmt(v.get('max_abs_lsb_error'))} | {note} |"
            )
        else:
            lines.append(f"| {level} | - | - | - | {v.get('status', '')}: {v.get('reason', v.get('run', ''))} |")
    return lines


def routes_table(routes: list[dict]) -> list[str]:
    lines = [
        "| route | kind | estimator | LUT | FF | CARRY | DSP | BRAM | cycles | interval | ns |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in routes:
        res, lat = r.get("resources") or {}, r.get("latency") or {}
        lines.append(
            f"| {r['route']} | {r['kind']} | {res.get('estimator', '-')} | {_fmt(res.get('LUT'))} | {_fmt(res.get('FF'))} | "
            f"{_fmt(res.get('CARRY'))} | {_fmt(res.get('DSP'))} | {_fmt(res.get('BRAM'))} | {_fmt(lat.get('cycles_max'))} | "
            f"{_fmt(lat.get('interval'))} | {_fmt(lat.get('ns'))} |"
        )
    return lines


def markdown(report: dict) -> str:
    m = report["model"]
    out = [f"# micae firmware report: `{m['name']}`", ""]
    ok = all(v.get("mismatches", 0) == 0 for v in report["verification"].values())
    out.append(f"**Verification: {'PASS, every latent value bit-identical' if ok else 'FAIL, see mismatches below'}**")
    out.append("")
    out.append("## Model")
    out.append(f"- file: `{m['file']}`, input shape {m['input_shape']}, {m['parameters']} parameters")
    if "bit_budget" in m:
        b = m["bit_budget"]
        out.append(
            f"- bit budget: {b['input_values']} inputs x {b['input_bits_each']} bits = {b['input_bits']} bits -> "
            f"{b['latent_values']} latents x {b['latent_bits_each']} bits = {b['latent_bits']} bits; "
            f"compression factor {b['compression_factor']:.3f}"
        )
        for s in m["stages"]:
            out.append(
                f"- `{s['layer']}` ({s['kind']}) -> `{s['quantizer']}`: accumulator {s['accumulator']['width']} bits, "
                f"output {s['out_type']['width']} bits ({'signed' if s['out_type']['signed'] else 'unsigned'}, {s['out_type']['frac']} fractional)"
            )
    if m.get("problems"):
        out.append("- **not exact** (--allow-inexact): " + "; ".join(m["problems"]))
    out += ["", "## Verification", ""]
    vec = report.get("vectors", {})
    out.append(
        "Vectors: " + ", ".join(f"{k} {v}" for k, v in vec.get("sources", {}).items()) + f" (total {vec.get('total')})"
    )
    for c in vec.get("coverage", []):
        out.append(
            f"- `{c['quantizer']}`: {c['tie_values']} rounding ties in {c['vectors_with_ties']} vectors; "
            f"{c['saturated_high']} values saturated high, {c['saturated_low']} low"
        )
    out.append("")
    out += verification_table(report["verification"])
    out += ["", "## Resources and latency", ""]
    if report.get("routes"):
        out += routes_table(report["routes"])
    else:
        out.append("No route produced resource figures (no vendor tool, RTL route off).")
    rtl = report.get("rtl")
    if rtl:
        out += [
            "",
            "## RTL",
            "",
            f"- top `{rtl['top']}`, latency {rtl['latency_cycles']} cycles at {rtl.get('clock_ns')} ns",
        ]
        for d in ("input", "output"):
            p = rtl["ports"][d]
            out.append(
                f"- {d}: {p.get('count')} x {p.get('width')} bits, {p.get('frac')} fractional, "
                f"{'signed' if p.get('signed') else 'unsigned'}, bus {p.get('bus_width')} bits, order: {p.get('order')}"
            )
        out.append(f"- files: {', '.join(rtl.get('files', []))}")
    vendor = report.get("vendor") or {}
    out += ["", "## Vendor tools", "", f"- {vendor.get('status', '-')}: {vendor.get('reason', vendor.get('tool', ''))}"]
    if vendor.get("stand_in"):
        out.append("- **this was a stand-in executable, not a vendor run**")
    out += ["", "## Seconds per step", "", "| step | s |", "|---|---:|"]
    out += [f"| {k} | {v:.2f} |" for k, v in report.get("timing_s", {}).items()]
    return "\n".join(out) + "\n"


def write_reports(fw_dir: Path, report: dict, run_dir: Path | None = None) -> Path | None:
    """Write report.json, report.md and report.html (with plots/) into ``fw_dir``; returns the HTML path.

    ``run_dir`` is the training run folder the encoder came from (models/<name>/);
    without it the HTML holds only the firmware sections. The HTML is drawn from
    the run's files, which a user may have edited or truncated: if it fails, the
    verified firmware and its json/md reports are kept, a warning says how to
    rebuild the page, and None is returned.
    """
    from micae.log import info
    from micae.report.html import write_html_report

    fw_dir = Path(fw_dir)
    plain = jsonable(report)
    (fw_dir / "report.json").write_text(json.dumps(plain, indent=2) + "\n")
    (fw_dir / "report.md").write_text(markdown(report))
    try:
        return write_html_report(fw_dir, Path(run_dir) if run_dir is not None else None, plain)
    except Exception as exc:  # noqa: BLE001 - the page is secondary to the verified firmware
        name = (report.get("model") or {}).get("name", "<name>")
        info(
            f"warning: report.html was not written ({type(exc).__name__}: {exc}); rebuild it with "
            f"scripts/report.py --name {name} --debug"
        )
        return None
